import { ResourceValidationPolicy } from "@pulumi/policy";
import { isAllow, list, parsePolicy, principalValues, wildcardPrincipal } from "./documents";

/** Resource types that carry a resource policy, and the property holding it. */
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
};

export const noWildcardPrincipals: ResourceValidationPolicy = {
    name: "no-wildcard-principals",
    description: "Resource and trust policies must name exact principals: no \"*\", no wildcard in an ARN, no NotPrincipal with Allow. " +
        "Remediation: list the partner's account and pin its role ARNs with an aws:PrincipalArn condition (what partner-access renders).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type === "aws:lambda/permission:Permission") {
            const why = wildcardPrincipal(String(args.props.principal ?? ""));
            if (why) report(`Lambda permission grants ${why}.`);
            return;
        }
        const prop = RESOURCE_POLICY_PROPERTIES[args.type];
        if (!prop || args.props[prop] === undefined) return;
        const parsed = parsePolicy(args.props[prop]);
        if ("error" in parsed) return report(`${prop}: ${parsed.error}; it cannot be checked, so it is refused.`);
        parsed.statements.forEach((s, i) => {
            if (!isAllow(s)) return;
            if (s.notPrincipal !== undefined) report(`${prop} statement ${i}: NotPrincipal with Allow grants everyone not listed.`);
            for (const p of principalValues(s.principal)) {
                const why = wildcardPrincipal(p);
                if (why) report(`${prop} statement ${i} allows ${why}.`);
            }
        });
    },
};

/** Condition keys that pin a federated caller, per issuer. */
function pins(condition: Record<string, Record<string, string[]>>, issuer: string): boolean {
    const exact = { ...(condition["stringequals"] ?? {}), ...(condition["forallvalues:stringequals"] ?? {}) };
    return ["sub", "aud"].some((claim) => {
        const values = exact[`${issuer.toLowerCase()}:${claim}`];
        return !!values && values.length > 0 && values.every((v) => v !== "" && !v.includes("*") && !v.includes("?"));
    });
}

export const pinnedFederation: ResourceValidationPolicy = {
    name: "pinned-federation",
    description: "A role trusting a web identity (accounts.google.com or any OIDC provider) must pin the subject or audience with StringEquals on exact values. " +
        "Remediation: add StringEquals on <issuer>:aud and <issuer>:sub with the partner service account's unique id.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:iam/role:Role" || args.props.assumeRolePolicy === undefined) return;
        const parsed = parsePolicy(args.props.assumeRolePolicy);
        if ("error" in parsed) return; // reported by no-wildcard-principals
        parsed.statements.forEach((s, i) => {
            if (!isAllow(s)) return;
            const federated = list((s.principal as any)?.Federated ?? (s.principal as any)?.federated).map(String);
            for (const issuer of federated) {
                const host = issuer.replace(/^arn:aws:iam::\d{12}:oidc-provider\//, "");
                if (!pins(s.condition, host)) report(`trust statement ${i} lets any identity of ${issuer} assume the role: no exact ${host}:sub or ${host}:aud condition.`);
            }
        });
    },
};

export const s3PublicAccessBlocked: ResourceValidationPolicy = {
    name: "s3-public-access-block",
    description: "Every S3 public access block sets all four settings. Remediation: blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") return;
        for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) {
            if (args.props[k] !== true) report(`${k} is not true.`);
        }
    },
};

export const apiMethodsAuthenticated: ResourceValidationPolicy = {
    name: "api-methods-authenticated",
    description: "No API Gateway method without authorization. Remediation: authorization AWS_IAM (SigV4), as partner-access renders every route.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:apigateway/method:Method") return;
        if (String(args.props.authorization ?? "NONE").toUpperCase() === "NONE") report(`method ${args.props.httpMethod} has authorization NONE: anyone can call it.`);
    },
};

/** True when a bucket policy denies every request made without TLS. */
export function deniesInsecureTransport(policy: unknown): boolean {
    const parsed = parsePolicy(policy);
    if ("error" in parsed) return false;
    return parsed.statements.some((s) => s.effect.toLowerCase() === "deny" &&
        (principalValues(s.principal).includes("*")) &&
        s.actions.some((a) => a === "s3:*") &&
        Object.entries(s.condition).some(([op, kv]) => /^bool(ifexists)?$/.test(op) && (kv["aws:securetransport"] ?? []).some((v) => v.toLowerCase() === "false")));
}

export const s3DenyInsecureTransport: ResourceValidationPolicy = {
    name: "s3-deny-insecure-transport",
    description: "Every S3 bucket policy denies requests without TLS. Remediation: a Deny of s3:* for Principal \"*\" when aws:SecureTransport is false.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:s3/bucketPolicy:BucketPolicy" || args.props.policy === undefined) return;
        if (!deniesInsecureTransport(args.props.policy)) report("the bucket policy does not deny requests made without TLS (aws:SecureTransport false).");
    },
};
