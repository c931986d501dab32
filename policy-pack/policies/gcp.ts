import { ResourceValidationPolicy } from "@pulumi/policy";
import { list } from "./documents";

const PUBLIC = /^(allUsers|allAuthenticatedUsers)$|^domain:/i;

/** Members of any GCP IAM member, binding or policy resource. */
export function gcpMembers(type: string, props: Record<string, any>): string[] {
    if (!/^gcp:[^:]+:[A-Za-z]*IAM(Member|Binding|Policy)$/i.test(type)) return [];
    if (props.member !== undefined) return [String(props.member)];
    if (props.members !== undefined) return list(props.members).map(String);
    if (props.policyData !== undefined) {
        try {
            const data = typeof props.policyData === "string" ? JSON.parse(props.policyData) : props.policyData;
            return list(data?.bindings).flatMap((b: any) => list(b?.members).map(String));
        } catch {
            return ["<unparseable policyData>"];
        }
    }
    return [];
}

export const noPublicGcpMembers: ResourceValidationPolicy = {
    name: "no-public-gcp-members",
    description: "No allUsers, allAuthenticatedUsers or domain-wide member on any GCP IAM resource. The one exception is roles/run.invoker on the ESPv2 gateway " +
        "(a Cloud Run service whose name ends in -gateway), which authenticates every call itself. Remediation: grant the partner's service account or a Workload Identity principalSet.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        for (const m of gcpMembers(args.type, args.props)) {
            const gateway = args.type === "gcp:cloudrunv2/serviceIamMember:ServiceIamMember" && args.props.role === "roles/run.invoker" &&
                m === "allUsers" && /-gateway$/.test(String(args.props.name ?? ""));
            if (m === "<unparseable policyData>") report("policyData is not valid JSON; it cannot be checked, so it is refused.");
            else if (PUBLIC.test(m) && !gateway) report(`member "${m}" grants ${m.startsWith("domain:") ? "a whole domain" : "the public"} role ${args.props.role ?? "(policy)"}.`);
        }
    },
};

export const gcsBucketPrivate: ResourceValidationPolicy = {
    name: "gcs-bucket-private",
    description: "Every GCS bucket enforces public access prevention and uniform bucket-level access. Remediation: publicAccessPrevention \"enforced\", uniformBucketLevelAccess true.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "gcp:storage/bucket:Bucket") return;
        if (args.props.publicAccessPrevention !== "enforced") report(`publicAccessPrevention is ${JSON.stringify(args.props.publicAccessPrevention)}, not "enforced".`);
        if (args.props.uniformBucketLevelAccess !== true) report("uniformBucketLevelAccess is not true: object ACLs could make objects public.");
    },
};

export const workloadIdentityConditioned: ResourceValidationPolicy = {
    name: "workload-identity-conditioned",
    description: "Every Workload Identity pool provider has an attribute condition, so only named identities of the external account get in. " +
        "Remediation: attributeCondition admitting exactly the partner's role ARNs.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider") return;
        if (!String(args.props.attributeCondition ?? "").trim()) report("the provider has no attribute condition: every identity of the external account may federate.");
    },
};
