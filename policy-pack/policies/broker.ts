/**
 * The outbound token broker: our services reach partners' APIs through it,
 * and it alone reads the partners' tokens. Two things keep that true:
 *
 * - who may invoke it: exactly the identities the registry lists as callers
 *   of a partner's hosts for this stage (`partners[].outbound[].callers.<stage>`);
 * - who may read its secrets: the broker's own identity, nobody else.
 *
 * The broker's resources are recognised by the names the program gives them
 * (`<namePrefix>-<stage>-token-broker` for the function, its role and the
 * Cloud Run service of the function; secrets `<namePrefix>/<stage>/outbound/...`
 * on AWS and `<namePrefix>-<stage>-outbound-...` on GCP), namePrefix and stage
 * coming from the stack the CLI hands the pack. Outside a stack (offline runs
 * without one) there is nothing to compare with, and these rules stay silent;
 * wildcards are refused by no-wildcard-principals and no-public-gcp-members anyway.
 */
import { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { NormalStatement, coversAction, exact, isDeny, isEveryone, parsePolicy } from "./documents";
import { known } from "./exceptions";
import { GcpGrant, gcpGrants } from "./gcp";
import { awsIdentityKey, parseAwsIdentity } from "./identities";
import { RegistryIdentities, StageNames, stageNames, stageOf } from "./stack";

export const brokerName = (s: StageNames) => `${s.namePrefix}-${s.stack}-token-broker`;
const awsSecretPrefix = (s: StageNames) => `${s.namePrefix}/${s.stack}/outbound/`;
const gcpSecretPrefix = (s: StageNames) => `${s.namePrefix}-${s.stack}-outbound-`;

const lastSegment = (v: unknown) => String(v ?? "").split("/").pop() ?? "";
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A Lambda function reference (name, ARN, partial ARN, optionally qualified) naming the broker. */
export function namesBrokerFunction(ref: unknown, s: StageNames): boolean {
    return new RegExp(`(?:^|:function:)${escape(brokerName(s))}(?::[\\w$-]+)?$`).test(String(ref ?? ""));
}

/** Callers of this stage, per partner, from the registry. */
function callersOf(registry: RegistryIdentities, stack: string, cloud: "aws" | "gcp", partnerFilter?: (slug: string) => boolean): string[] {
    return registry.outbound.filter((o) => !partnerFilter || partnerFilter(o.partner)).flatMap((o) => o.callers[stack]?.[cloud] ?? []);
}

/**
 * Who a Lambda permission lets invoke the broker, judged against the callers
 * listed for this stage. An alias is named after its partner
 * (`<partner>-<hash of host>`), so a qualified permission is held to that
 * partner's callers; an unqualified one to every listed caller.
 */
function invokerProblem(principal: string, qualifier: string | undefined, registry: RegistryIdentities, stack: string): string | undefined {
    if (principal.includes("*") || principal.includes("?")) return `"${principal}" is a wildcard`;
    const partnerMatch = qualifier ? (slug: string) => qualifier.startsWith(`${slug}-`) : undefined;
    const listed = callersOf(registry, stack, "aws", partnerMatch).map(parseAwsIdentity).filter((x) => !!x);
    const id = parseAwsIdentity(/^\d{12}$/.test(principal) ? `arn:aws:iam::${principal}:root` : principal);
    if (!id) return `"${principal}" is not an IAM role`;
    if (id.kind === "root") return `"${principal}" is a whole account (every principal of it)`;
    if (!listed.some((l) => awsIdentityKey(l!) === awsIdentityKey(id))) {
        return `"${principal}" is not listed as a caller${qualifier ? ` of alias ${qualifier}` : ""} for stage ${stack} in the registry`;
    }
    return undefined;
}

/**
 * The one role a broker secret's policy lets read the value: a Deny of
 * secretsmanager:GetSecretValue to everyone (`Principal: "*"`) on the secret,
 * unless aws:PrincipalArn is exactly that role, with no other condition (any
 * other would narrow the deny). An explicit deny wins over every allow, an
 * administrator's included (IAM policy evaluation logic), which is why the
 * program renders this form (research: reference.md, "Saved policies replace
 * a role ARN principal": aws:PrincipalArn is compared as text).
 */
export function secretReader(doc: unknown): { reader: string } | { error: string } {
    const parsed = parsePolicy(doc);
    if ("error" in parsed) return parsed;
    const guards = parsed.statements.filter((s: NormalStatement) => isDeny(s) && isEveryone(s) && s.notPrincipal === undefined &&
        coversAction(s, "secretsmanager:GetSecretValue") && s.notResources.length === 0 && s.resources.includes("*"));
    for (const s of guards) {
        const ops = Object.entries(s.condition);
        if (ops.length !== 1 || !/^(arnnotequals|stringnotequals)$/.test(ops[0][0])) continue;
        const keys = Object.entries(ops[0][1]);
        if (keys.length !== 1 || keys[0][0] !== "aws:principalarn" || keys[0][1].length !== 1 || !exact(keys[0][1][0])) continue;
        const id = parseAwsIdentity(keys[0][1][0]);
        if (id?.kind === "role") return { reader: keys[0][1][0] };
    }
    return { error: "no Deny of secretsmanager:GetSecretValue to Principal \"*\" on \"*\" unless aws:PrincipalArn is one exact role (ArnNotEquals), with no other condition" };
}

/** Roles of Secret Manager that do not read payloads (IAM roles reference, Secret Manager). Any other role may. */
const SECRET_METADATA_ROLES = new Set(["roles/secretmanager.viewer", "roles/secretmanager.secretVersionAdder", "roles/secretmanager.secretVersionManager"]);
/** Roles that read every secret of a project when granted on the project. */
const PROJECT_SECRET_READERS = new Set(["roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner"]);

const CLOUD_RUN_IAM = /^gcp:cloudrunv2\/serviceIam(Member|Binding|Policy):/;
const FUNCTION_IAM = /^gcp:cloudfunctionsv2\/functionIam(Member|Binding|Policy):/;
const SECRET_IAM = /^gcp:secretmanager\/secretIam(Member|Binding|Policy):/;
const PROJECT_IAM = /^gcp:projects\/iAM(Member|Binding|Policy):/;

function gcpReaderProblem(grants: GcpGrant[], names: StageNames): string | undefined {
    const readers = [...new Set(grants.filter((g) => !SECRET_METADATA_ROLES.has(String(g.role))).map((g) => g.member))];
    if (readers.length !== 1) return `${readers.length} members may read it (${readers.join(", ") || "none"}): exactly one, the broker's service account, may`;
    const [m] = readers;
    const project = names.gcpProject ? escape(names.gcpProject) : "[a-z][a-z0-9-]{4,28}[a-z0-9]";
    if (!new RegExp(`^serviceAccount:[a-z][a-z0-9-]{4,28}[a-z0-9]@${project}\\.iam\\.gserviceaccount\\.com$`).test(m)) {
        return `${m} may read it, which is not a service account of the stage's project`;
    }
    return undefined;
}

function validateBroker(args: ResourceValidationArgs, report: (m: string) => void): void {
    const names = stageNames();
    if (!names) return;
    const p = args.props;
    const needRegistry = (): { registry: RegistryIdentities } | undefined => {
        const stage = stageOf();
        if (!stage) return undefined;
        if ("error" in stage) {
            report(`cannot check the broker's callers: ${stage.error}.`);
            return undefined;
        }
        return { registry: stage.registry };
    };
    switch (true) {
        case args.type === "aws:lambda/permission:Permission" && namesBrokerFunction(p.function, names): {
            const r = needRegistry();
            if (!r) return;
            const qualifier = p.qualifier ?? (String(p.function).match(/:function:[^:]+:([\w$-]+)$/)?.[1]);
            const why = invokerProblem(String(p.principal ?? ""), qualifier, r.registry, names.stack);
            if (why) report(`the token broker may be invoked (${p.action}) by ${why}.`);
            return;
        }
        case args.type === "aws:lambda/functionUrl:FunctionUrl" && namesBrokerFunction(p.functionName, names):
            report("the token broker has a function URL: it is invoked through its aliases by listed callers only.");
            return;
        case args.type === "aws:secretsmanager/secretPolicy:SecretPolicy" && String(p.secretArn ?? "").includes(`:secret:${awsSecretPrefix(names)}`):
        case args.type === "aws:secretsmanager/secret:Secret" && String(p.name ?? "").startsWith(awsSecretPrefix(names)) && p.policy !== undefined: {
            const found = secretReader(p.policy);
            if ("error" in found) return report(`broker secret policy: ${found.error}.`);
            const id = parseAwsIdentity(found.reader)!;
            if (names.awsAccountId && id.account !== names.awsAccountId) report(`broker secret is readable by ${found.reader}, a role outside the stage's account ${names.awsAccountId}.`);
            return;
        }
        case (CLOUD_RUN_IAM.test(args.type) && lastSegment(p.name) === brokerName(names)) || (FUNCTION_IAM.test(args.type) && lastSegment(p.cloudFunction) === brokerName(names)): {
            const read = gcpGrants(args.type, p);
            if ("error" in read) return; // reported by no-public-gcp-members
            const r = needRegistry();
            if (!r) return;
            const listed = new Set(callersOf(r.registry, names.stack, "gcp").map((e) => `serviceaccount:${e.toLowerCase()}`));
            for (const g of read.grants) {
                if (!listed.has(g.member.toLowerCase())) report(`${g.member} (${g.role}) may invoke the token broker but is not listed as a caller for stage ${names.stack} in the registry.`);
            }
            return;
        }
        case SECRET_IAM.test(args.type) && lastSegment(p.secretId).startsWith(gcpSecretPrefix(names)): {
            if (!/Policy:/.test(args.type)) return report("a broker secret's IAM is set with SecretIamPolicy (authoritative), so no other grant on it survives; Member and Binding add to whatever is there.");
            const read = gcpGrants(args.type, p);
            if ("error" in read) return;
            const why = gcpReaderProblem(read.grants, names);
            if (why) report(`broker secret ${lastSegment(p.secretId)}: ${why}.`);
            return;
        }
        case PROJECT_IAM.test(args.type): {
            const read = gcpGrants(args.type, p);
            if ("error" in read) return;
            for (const g of read.grants.filter((x) => PROJECT_SECRET_READERS.has(String(x.role)))) {
                report(`${g.member} gets ${g.role} on the whole project: it may read every secret, the token broker's included.`);
            }
            return;
        }
    }
}

export const outboundBroker: ResourceValidationPolicy = {
    name: "outbound-broker",
    description: "The outbound token broker is invocable only by the identities the registry lists as callers for this stage (no wildcard, no account, no other role or " +
        "service account; no function URL), and its secrets are readable only by one identity of the stage (AWS: a Deny of GetSecretValue to all but one role of the " +
        "stage's account; GCP: an authoritative SecretIamPolicy with one service account of the stage's project; no project-wide secret reader). " +
        "Remediation: list the caller under partners[].outbound[].callers.<stage>, or remove the grant.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => validateBroker(args, report),
};

/** The policy resources that guard one secret: by dependency (known in preview) or by name. */
const guarding = (secret: PolicyResource, candidates: PolicyResource[], depKey: string, matches: (r: PolicyResource) => boolean) =>
    candidates.filter((r) => (r.propertyDependencies?.[depKey] ?? []).some((d) => d.urn === secret.urn) || matches(r));

export const outboundBrokerSecretsGuarded: StackValidationPolicy = {
    name: "outbound-broker-secrets-guarded",
    description: "Every token secret of the broker has its guard in the stack, naming the broker itself: on AWS a secret policy whose only reader is the broker " +
        "function's role (without it, any principal of the account with secretsmanager:GetSecretValue reads the token); on GCP a SecretIamPolicy whose only " +
        "reader is the broker function's service account. Remediation: render the secret with its policy (the broker component does).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const names = stageNames();
        if (!names) return;
        const of = (type: string) => args.resources.filter((r) => r.type === type);
        const awsBroker = of("aws:lambda/function:Function").find((f) => known(() => f.props.name) === brokerName(names));
        const brokerRole = awsBroker ? known(() => awsBroker.props.role) : undefined;
        for (const secret of of("aws:secretsmanager/secret:Secret")) {
            const name = known(() => secret.props.name);
            if (typeof name !== "string" || !name.startsWith(awsSecretPrefix(names))) continue;
            const docs = [...(known(() => secret.props.policy) !== undefined ? [secret.props.policy] : []),
                ...guarding(secret, of("aws:secretsmanager/secretPolicy:SecretPolicy"), "secretArn", (r) => String(known(() => r.props.secretArn) ?? "").includes(`:secret:${name}`)).map((r) => r.props.policy)];
            const readers = docs.map(secretReader).filter((x): x is { reader: string } => "reader" in x).map((x) => x.reader);
            if (readers.length === 0) report(`broker secret ${name} has no policy limiting GetSecretValue to the broker: every principal of the account allowed by its own policy reads it.`, secret.urn);
            else if (typeof brokerRole === "string" && readers.some((r) => r !== brokerRole)) report(`broker secret ${name} is readable by ${readers.filter((r) => r !== brokerRole).join(", ")}, not the broker's role ${brokerRole}.`, secret.urn);
        }
        const gcpBroker = of("gcp:cloudfunctionsv2/function:Function").find((f) => known(() => f.props.name) === brokerName(names));
        const brokerSa = gcpBroker ? known(() => gcpBroker.props.serviceConfig?.serviceAccountEmail) : undefined;
        for (const secret of of("gcp:secretmanager/secret:Secret")) {
            const id = known(() => secret.props.secretId);
            if (typeof id !== "string" || !id.startsWith(gcpSecretPrefix(names))) continue;
            const policies = guarding(secret, of("gcp:secretmanager/secretIamPolicy:SecretIamPolicy"), "secretId", (r) => lastSegment(known(() => r.props.secretId)) === id);
            if (policies.length === 0) {
                report(`broker secret ${id} has no SecretIamPolicy: grants on it are not limited to the broker's service account.`, secret.urn);
                continue;
            }
            for (const pol of policies) {
                const read = gcpGrants(pol.type, pol.props);
                if ("error" in read) continue;
                const others = read.grants.filter((g) => !SECRET_METADATA_ROLES.has(String(g.role)) && typeof brokerSa === "string" && g.member !== `serviceAccount:${brokerSa}`);
                if (others.length > 0) report(`broker secret ${id} is readable by ${others.map((g) => g.member).join(", ")}, not the broker's service account ${brokerSa}.`, pol.urn);
            }
        }
    },
};
