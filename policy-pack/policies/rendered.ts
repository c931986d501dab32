/**
 * Forms partner-access renders on GCP that the pack checks against, defined
 * once: the program (components/gcp/) imports them from here, so what is
 * rendered and what the pack accepts cannot drift. They live in the pack
 * because the pack must stay self-contained to be published (no import may
 * leave policy-pack/); the program may import from it, as tools/access does
 * with cel.ts. No imports here: the program loads this file as it is.
 */

/**
 * The attribute mapping of every AWS Workload Identity provider: Google's
 * default AWS mapping (magic-modules WorkloadIdentityPoolProvider.yaml; see
 * cel.ts DEFAULT_AWS_MAPPING) written out, plus `attribute.aws_account`, so the
 * principalSet members are stable. `attribute.aws_role` is the caller's role
 * (`arn:aws:sts::A:assumed-role/NAME`, the IAM path and session dropped) or
 * user ARN: derived from the signed GetCallerIdentity, never a constant.
 */
export const AWS_ATTRIBUTE_MAPPING: Readonly<Record<string, string>> = Object.freeze({
    "google.subject": "assertion.arn",
    "attribute.aws_account": "assertion.account",
    "attribute.aws_role":
        "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn",
});

/**
 * The attribute condition of the provider for AWS account `accountId`: that
 * account, and exactly the listed `aws_role` values (rendered by
 * components/gcp/workload-identity-providers.ts, read back by the pack).
 */
export const awsProviderCondition = (accountId: string, roles: readonly string[]): string =>
    `assertion.account == "${accountId}" && attribute.aws_role in [${roles.map((r) => `"${r}"`).join(", ")}]`;

/**
 * An `attribute.aws_role` value: a role's session as Google's mapping gives it
 * (no path), or a user's ARN (with its path) that does not contain
 * "assumed-role", which the mapping would read as a session (identifiers.ts).
 */
export const AWS_ROLE_ATTRIBUTE = String.raw`arn:aws:(?:sts::\d{12}:assumed-role/[\w+=,.@-]+|iam::\d{12}:user/(?![^"\s]*assumed-role)(?:[\w+=,.@-]+/)*[\w+=,.@-]+)`;
const RENDERED_CONDITION = new RegExp(String.raw`^assertion\.account == "(\d{12})" && attribute\.aws_role in \[((?:"${AWS_ROLE_ATTRIBUTE}"(?:, "${AWS_ROLE_ATTRIBUTE}")*)?)\]$`);

/** The account and roles of a condition in exactly the rendered form, or undefined for any other condition. */
export function renderedConditionParts(condition: string): { accountId: string; roles: string[] } | undefined {
    const m = RENDERED_CONDITION.exec(condition);
    if (!m) return undefined;
    return { accountId: m[1], roles: m[2] ? m[2].split(", ").map((r) => r.slice(1, -1)) : [] };
}

/**
 * Where ESPv2 fetches a service account's public keys to verify the JWTs it
 * signs itself: Google's x509 certificates of that account, the raw e-mail in
 * the path, as Cloud Endpoints documents it for a service-account issuer
 * (https://cloud.google.com/endpoints/docs/frameworks/python/service-account-authentication:
 * "https://www.googleapis.com/robot/v1/metadata/x509/YOUR_SERVICE_ACCOUNT_EMAIL").
 */
export const JWKS_BASE = "https://www.googleapis.com/robot/v1/metadata/x509/";

/** The `x-google-jwks_uri` partner-access renders for a service account issuer. */
export const serviceAccountJwksUri = (email: string): string => `${JWKS_BASE}${email}`;

/** Pool and provider ids: 4-32 characters (magic-modules WorkloadIdentityPoolProvider.yaml). */
export const WORKLOAD_IDENTITY_ID_MAX = 32;
/** Google keeps a deleted pool or provider id for 30 days, so each incarnation's id ends in this many random hex digits. */
export const RANDOM_SUFFIX_HEX = 6;

/** `<base>-<hex>` within Google's 32 characters: the base is shortened, never the suffix. */
export function withSuffix(base: string, hex: string): string {
    return `${base.slice(0, WORKLOAD_IDENTITY_ID_MAX - hex.length - 1).replace(/-+$/, "")}-${hex}`;
}

/** The base of a stage's pool id (and Endpoints service name): `<namePrefix>-<stage>`. */
export const stageBase = (namePrefix: string, stage: string): string => `${namePrefix}-${stage}`;

/** Whether `poolId` is an id partner-access gives the stage's pool: its base, shortened as withSuffix does, and a random suffix. */
export function isStagePoolId(poolId: string, namePrefix: string, stage: string): boolean {
    const head = withSuffix(stageBase(namePrefix, stage), "0".repeat(RANDOM_SUFFIX_HEX)).slice(0, -RANDOM_SUFFIX_HEX);
    return poolId.length === head.length + RANDOM_SUFFIX_HEX && poolId.startsWith(head) && /^[0-9a-f]+$/.test(poolId.slice(head.length));
}
