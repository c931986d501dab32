import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import {
    NormalStatement, coversEverythingUnder, exact, globMatch, isAllow, isDeny, isEveryone, lowerKeys, list, parsePolicy, pinnedValues,
    principalValues, principalsOfKind, readYamlOrJson, wildcardPrincipal,
} from "./documents";
import { known } from "./exceptions";
import { stackContext } from "./stack-context";
import { GCP_UNIQUE_ID } from "./identifiers";

/**
 * Resource types that carry an IAM policy document, and the property holding
 * it. Type tokens and property names checked against @pulumi/aws 7.48 (the
 * `__pulumiType` of each class and its Args; research aws.md §7).
 */
export const RESOURCE_POLICY_PROPERTIES: Record<string, string> = {
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:s3/accessPoint:AccessPoint": "policy",
    "aws:s3control/accessPointPolicy:AccessPointPolicy": "policy",
    "aws:s3control/bucketPolicy:BucketPolicy": "policy",
    "aws:apigateway/restApi:RestApi": "policy",
    "aws:apigateway/restApiPolicy:RestApiPolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:sqs/queue:Queue": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:ecr/registryPolicy:RegistryPolicy": "policy",
    "aws:ecrpublic/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:glacier/vault:Vault": "accessPolicy",
    "aws:glacier/vaultLock:VaultLock": "policy",
    "aws:opensearch/domain:Domain": "accessPolicies",
    "aws:opensearch/domainPolicy:DomainPolicy": "accessPolicies",
    "aws:elasticsearch/domain:Domain": "accessPolicies",
    "aws:elasticsearch/domainPolicy:DomainPolicy": "accessPolicies",
    "aws:efs/fileSystemPolicy:FileSystemPolicy": "policy",
    "aws:backup/vaultPolicy:VaultPolicy": "policy",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "policyDocument",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "policy",
    "aws:kinesis/resourcePolicy:ResourcePolicy": "policy",
    "aws:dynamodb/resourcePolicy:ResourcePolicy": "policy",
    "aws:glue/resourcePolicy:ResourcePolicy": "policy",
    "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy": "policyDocument",
    "aws:codeartifact/domainPermissions:DomainPermissions": "policyDocument",
    "aws:mediastore/containerPolicy:ContainerPolicy": "policy",
    "aws:s3control/accessGrantsInstanceResourcePolicy:AccessGrantsInstanceResourcePolicy": "policy",
};

/** Resource types whose `principal` input names who is granted (an account, an IAM principal, a service, or `*`). */
export const PRINCIPAL_PROPERTY_TYPES = new Set(["aws:lambda/permission:Permission", "aws:lambda/layerVersionPermission:LayerVersionPermission"]);

/**
 * Every policy document the resource carries, with where it came from. A REST
 * API also takes one in its OpenAPI body (`x-amazon-apigateway-policy`), which
 * applies when `policy` is not set (Terraform aws_api_gateway_rest_api: "If
 * importing an OpenAPI specification via the body argument, this corresponds
 * to the x-amazon-apigateway-policy extension"): both are read. A body that
 * cannot be read is refused by api-methods-authenticated.
 */
export function resourcePolicies(args: Pick<ResourceValidationArgs, "type" | "props">): { prop: string; doc: unknown }[] {
    const prop = RESOURCE_POLICY_PROPERTIES[args.type];
    if (!prop) return [];
    const present = (doc: unknown) => doc !== undefined && doc !== null && doc !== "";
    const out = present(args.props[prop]) ? [{ prop, doc: args.props[prop] }] : [];
    if (args.type === "aws:apigateway/restApi:RestApi" && typeof args.props.body === "string") {
        const read = readYamlOrJson(args.props.body); // an unreadable body is refused by api-methods-authenticated
        const body = "value" in read ? read.value : undefined;
        const inBody = typeof body === "object" && body !== null ? (body as Record<string, unknown>)["x-amazon-apigateway-policy"] : undefined;
        if (present(inBody)) out.push({ prop: "body x-amazon-apigateway-policy", doc: inBody });
    }
    return out;
}

export const noWildcardPrincipals: ResourceValidationPolicy = {
    name: "no-wildcard-principals",
    description: "Resource and trust policies name exact principals: no \"*\", no wildcard in an ARN, no NotPrincipal with Allow " +
        "(Checkov CKV_AWS_70/283; a Deny may name everyone). Lambda permissions and layer permissions likewise (a layer shared with \"*\" is shared with every AWS account). " +
        "Remediation: list the partner's account and pin its role ARNs with an aws:PrincipalArn condition (what partner-access renders).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (PRINCIPAL_PROPERTY_TYPES.has(args.type)) {
            const why = wildcardPrincipal(String(args.props.principal ?? ""));
            if (why) report(`${args.type.split(":").pop()} grants ${why}.`);
            return;
        }
        for (const found of resourcePolicies(args)) {
            const parsed = parsePolicy(found.doc);
            if ("error" in parsed) {
                report(`${found.prop}: ${parsed.error}; it cannot be checked, so it is refused.`);
                continue;
            }
            parsed.statements.forEach((s, i) => {
                if (!isAllow(s)) return;
                if (s.notPrincipal !== undefined) report(`${found.prop} statement ${i}: NotPrincipal with Allow grants everyone not listed.`);
                for (const p of principalValues(s.principal)) {
                    const why = wildcardPrincipal(p);
                    if (why) report(`${found.prop} statement ${i} allows ${why}.`);
                }
            });
        }
    },
};

/** The issuer's condition-key prefix: `accounts.google.com`, or an OIDC provider ARN's host and path. */
const issuerKey = (issuer: string) => issuer.replace(/^arn:aws[\w-]*:iam::\d{12}:oidc-provider\//, "");
const GOOGLE_ID = new RegExp(GCP_UNIQUE_ID);

/** Why a web-identity trust statement admits more than one identity of its issuer, or undefined. */
export function weakFederation(s: NormalStatement, issuer: string): string | undefined {
    const host = issuerKey(issuer);
    const sub = pinnedValues(s, `${host}:sub`)?.filter((v) => v !== "");
    const aud = pinnedValues(s, `${host}:aud`)?.filter((v) => v !== "");
    if (host.toLowerCase() === "accounts.google.com") {
        // IAM User Guide, keys for web identity federation: for tokens with `azp` (every service account's
        // ID token) `accounts.google.com:aud` is the azp, i.e. the account's numeric unique id, and `:sub`
        // its unique id; an OAuth client id or an e-mail there pins nothing that identifies one account
        // (research aws.md §6). Both are required, as partner-access renders them.
        const bad = [["aud", aud], ["sub", sub]].filter(([, v]) => !v || (v as string[]).length === 0 || !(v as string[]).every((x) => GOOGLE_ID.test(x)));
        if (bad.length > 0) return `accounts.google.com:${bad.map(([k]) => k).join(" and :")} ${bad.length > 1 ? "are" : "is"} not pinned (StringEquals) to a service account's numeric unique id (21 digits)`;
        return undefined;
    }
    // Any OIDC issuer: `aud` is the client the token was issued to, shared by every user of that client;
    // only `sub` names one identity. StringLike without wildcards is exact too.
    if (!sub || sub.length === 0) return `no exact ${host}:sub condition${aud && aud.length > 0 ? " (pinned on aud only: every subject holding a token for that audience is admitted)" : ""}`;
    if (!sub.every(exact)) return `${host}:sub is matched with a wildcard`;
    return undefined;
}

export const pinnedFederation: ResourceValidationPolicy = {
    name: "pinned-federation",
    description: "A role trusting a web identity pins one identity: Google trusts pin accounts.google.com:aud and :sub to the service account's " +
        "21-digit unique id; other OIDC trusts pin <issuer>:sub to exact values (aud alone admits every user of the client). Only StringEquals/StringLike " +
        "count: IfExists, ForAllValues and Not operators pass when the claim is absent or different. Remediation: StringEquals on <issuer>:aud and <issuer>:sub.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:iam/role:Role" || args.props.assumeRolePolicy === undefined) return;
        const parsed = parsePolicy(args.props.assumeRolePolicy);
        if ("error" in parsed) return; // reported by no-wildcard-principals
        parsed.statements.forEach((s, i) => {
            if (!isAllow(s)) return;
            // SAML providers are out of scope: the IdP's assertion names the role (not used by partner-access).
            for (const issuer of principalsOfKind(s.principal, "federated").filter((f) => !/:saml-provider\//.test(f))) {
                const why = weakFederation(s, issuer);
                if (why) report(`trust statement ${i} lets more than one identity of ${issuer} assume the role: ${why}.`);
            }
        });
    },
};

export const s3PublicAccessBlocked: ResourceValidationPolicy = {
    name: "s3-public-access-block",
    description: "Every S3 public access block sets all four settings (Checkov CKV_AWS_53-56). Remediation: blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") return;
        for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) {
            if (args.props[k] !== true) report(`${k} is not true.`);
        }
    },
};

/** A Deny of every S3 action to everyone whenever aws:SecureTransport is false, and on no other condition. */
function isTlsDeny(s: NormalStatement): boolean {
    if (!isDeny(s) || !isEveryone(s) || s.notPrincipal !== undefined || s.notActions.length > 0) return false;
    if (!s.actions.some((a) => a === "s3:*" || a === "*")) return false;
    const ops = Object.entries(s.condition);
    // A second condition would narrow the deny to requests that also meet it.
    return ops.length === 1 && /^bool(ifexists)?$/.test(ops[0][0]) && Object.keys(ops[0][1]).length === 1 &&
        (ops[0][1]["aws:securetransport"] ?? []).some((v) => v.toLowerCase() === "false");
}

/**
 * True when a bucket policy denies every request made without TLS to the
 * bucket AND to all of its objects (cdk-nag S10; AWS's "enforce encryption in
 * transit" policy lists both ARNs). A deny on `arn:aws:s3:::B` alone leaves
 * GetObject over plain HTTP allowed; one on `B/*` alone leaves ListBucket.
 * Without a known bucket name (preview), the buckets the deny names are used.
 */
export function deniesInsecureTransport(policy: unknown, bucket?: string): boolean {
    const parsed = parsePolicy(policy);
    if ("error" in parsed) return false;
    const denies = parsed.statements.filter(isTlsDeny);
    if (denies.some((s) => s.notResources.length > 0)) return false;
    const resources = denies.flatMap((s) => s.resources);
    const buckets = bucket !== undefined ? [bucket] : [...new Set(resources.map((r) => /^arn:aws[\w-]*:s3:::([^/*?]+)$/.exec(r)?.[1]).filter((b): b is string => !!b))];
    return buckets.length > 0 && buckets.every((b) =>
        resources.some((r) => globMatch(r, `arn:aws:s3:::${b}`)) && resources.some((r) => coversEverythingUnder(r, `arn:aws:s3:::${b}/`)));
}

export const s3DenyInsecureTransport: ResourceValidationPolicy = {
    name: "s3-deny-insecure-transport",
    description: "Every S3 bucket policy denies requests without TLS to the bucket and to all its objects (cdk-nag S10). " +
        "Remediation: a Deny of s3:* for Principal \"*\" on arn:aws:s3:::B and arn:aws:s3:::B/* when aws:SecureTransport is false, with no other condition.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:s3/bucketPolicy:BucketPolicy" || args.props.policy === undefined) return;
        const bucket = known(() => args.props.bucket);
        if (!deniesInsecureTransport(args.props.policy, typeof bucket === "string" ? bucket : undefined)) {
            report(`the bucket policy does not deny requests made without TLS (aws:SecureTransport false) to both the bucket ${bucket ?? ""} and all its objects.`);
        }
    },
};

const SERVICE = /^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$/i;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;

/** The account an aws:SourceArn value names resources of, "" for an S3 bucket ARN (which has none), or undefined when it names no one account. */
function sourceArnAccount(v: string): string | undefined {
    const parts = v.split(":");
    if (parts.length < 6 || !/^arn$/i.test(parts[0])) return undefined;
    if (/^\d{12}$/.test(parts[4])) return parts[4];
    return parts[4] === "" && exact(v) ? "" : undefined;
}

/**
 * True when a statement limits the calling service to resources of one
 * account (confused-deputy protection). In a stack, whose account is known,
 * that account must be ours: a source pinned to another account lets that
 * account's service act through the grant, an S3 bucket ARN names no account
 * (anyone's bucket could have that name: pin aws:SourceAccount too, as the S3
 * User Guide's server access logging example does), and an organisation id
 * cannot be compared with anything the stack knows. Outside a stack only the
 * form is judged.
 */
export function sourceConditioned(s: NormalStatement, ourAccount?: string): boolean {
    const ok = (key: string, test: (v: string) => boolean) => {
        const v = pinnedValues(s, key);
        return !!v && v.length > 0 && v.every(test);
    };
    const ours = (account: string) => /^\d{12}$/.test(account) && (ourAccount === undefined || account === ourAccount);
    if (ourAccount !== undefined) return ok("aws:SourceAccount", ours) || ok("aws:SourceArn", (v) => { const a = sourceArnAccount(v); return !!a && ours(a); });
    return ok("aws:SourceAccount", ours) || ok("aws:SourceOrgID", (v) => ORG_ID.test(v)) ||
        ok("aws:SourceArn", (v) => { const a = sourceArnAccount(v); return a === "" || (a !== undefined && ours(a)); });
}

const PUSH_TO_CLOUDWATCH = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs";

/**
 * The one built-in exception: API Gateway's CloudWatch logging role, whose
 * trust AWS documents without any condition (API Gateway Developer Guide,
 * "Set up CloudWatch logging for REST APIs"; the @pulumi/aws Account example),
 * and for which no source key is documented as sent (research aws.md §3).
 * Recognised by what it is: a role whose whole trust is that one statement,
 * with no inline policy and no managed policy but AmazonAPIGatewayPushToCloudWatchLogs.
 */
function isApiGatewayLoggingRole(args: Pick<ResourceValidationArgs, "type" | "props">, statements: NormalStatement[]): boolean {
    if (args.type !== "aws:iam/role:Role" || statements.length !== 1) return false;
    const [s] = statements;
    const principal = lowerKeys(s.principal);
    return isAllow(s) && Object.keys(principal).length === 1 && principalsOfKind(s.principal, "service").join() === "apigateway.amazonaws.com" &&
        s.actions.join() === "sts:assumerole" && s.notActions.length === 0 && Object.keys(s.condition).length === 0 &&
        list(args.props.inlinePolicies).length === 0 && list(args.props.managedPolicyArns).every((a) => a === PUSH_TO_CLOUDWATCH);
}

export const servicePrincipalsConditioned: ResourceValidationPolicy = {
    name: "service-principals-conditioned",
    description: "An AWS service principal allowed in a trust or resource policy (or a Lambda permission) is limited to our resources with aws:SourceAccount, " +
        "aws:SourceArn or aws:SourceOrgID: without it, the service acting for another customer can use the grant (the cross-service confused deputy, IAM User Guide). " +
        "In a stack the source must be the stack's own account (aws:SourceAccount, or an aws:SourceArn naming it; a bucket ARN or an organisation id names no account). Built-in exception: API Gateway's CloudWatch logging role, whose documented trust has no condition. Remediation: add StringEquals aws:SourceAccount <our account>.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const ourAccount = stackContext().config["partner-access:awsAccountId"] || undefined;
        const whose = ourAccount ? ` (our account is ${ourAccount})` : "";
        if (args.type === "aws:lambda/permission:Permission") {
            const principal = String(args.props.principal ?? "");
            // AddPermission: "If you specify a service, use SourceArn or SourceAccount to limit who can invoke the function through that service."
            if (!SERVICE.test(principal)) return;
            // Read directly: an unknown value makes the SDK report the check as not runnable, not pass it.
            const sourceAccount = args.props.sourceAccount;
            const sourceArn = args.props.sourceArn;
            if (!sourceArn && !sourceAccount && !args.props.principalOrgId) {
                report(`Lambda permission for service ${principal} has no sourceArn, sourceAccount or principalOrgId: any customer's ${principal} resource could invoke the function.`);
            } else if (ourAccount && !(sourceAccount === ourAccount || (typeof sourceArn === "string" && sourceArnAccount(sourceArn) === ourAccount))) {
                report(`Lambda permission for service ${principal} is not limited to our account's resources${whose} (sourceAccount, or a sourceArn naming our account; ` +
                    "a bucket ARN or an organisation names none): another account's resources could invoke the function.");
            }
            return;
        }
        for (const found of resourcePolicies(args)) {
            const parsed = parsePolicy(found.doc);
            if ("error" in parsed) continue; // reported by no-wildcard-principals
            if (isApiGatewayLoggingRole(args, parsed.statements)) continue;
            parsed.statements.forEach((s, i) => {
                if (!isAllow(s)) return;
                const services = principalsOfKind(s.principal, "service");
                if (services.length > 0 && !sourceConditioned(s, ourAccount)) {
                    report(`${found.prop} statement ${i} allows service ${services.join(", ")} without an aws:SourceAccount, aws:SourceArn or aws:SourceOrgID condition naming our resources${whose}.`);
                }
            });
        }
    },
};
