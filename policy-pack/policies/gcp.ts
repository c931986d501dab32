import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { AwsAssertion, DEFAULT_AWS_MAPPING, providerAdmits } from "./cel";
import { lowerKeys, list } from "./documents";
import { isUnknownError } from "./exceptions";
import { AWS_ROLE_ATTRIBUTE } from "./rendered";

/** A grant read from a GCP IAM member, binding or policy resource. */
export interface GcpGrant {
    role?: string;
    member: string;
}

const GCP_IAM_TYPE = /^gcp:[^:]+:[A-Za-z]*IAM(Member|Binding|Policy)$/i;

export const isGcpIamType = (type: string) => GCP_IAM_TYPE.test(type);

export const WIF_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider";

/**
 * The grants of any GCP IAM member, binding or policy resource. `policyData`
 * is read as the provider reads it: Go's encoding/json, which matches keys
 * case-insensitively (`"Bindings"`, `"MEMBERS"`: terraform-provider-google
 * tpgiamresource/resource_iam_policy.go unmarshalIamPolicy; research gcp.md
 * §4), so keys are read in any case here too. The property is read before
 * parsing so that an unknown value (preview) is reported as such, not as
 * unparseable.
 */
export function gcpGrants(type: string, props: Record<string, any>): { grants: GcpGrant[] } | { error: string } {
    if (!isGcpIamType(type)) return { grants: [] };
    if (props.member !== undefined) return { grants: [{ role: props.role, member: String(props.member) }] };
    if (props.members !== undefined) return { grants: list(props.members).map((m) => ({ role: props.role, member: String(m) })) };
    const policyData = props.policyData;
    if (policyData === undefined) return { grants: [] };
    try {
        const data = lowerKeys(typeof policyData === "string" ? JSON.parse(policyData) : policyData);
        return { grants: list(data.bindings).flatMap((b) => { const bb = lowerKeys(b); return list(bb.members).map((m) => ({ role: bb.role === undefined ? undefined : String(bb.role), member: String(m) })); }) };
    } catch (e) {
        if (isUnknownError(e)) throw e;
        return { error: `policyData cannot be read (${(e as Error).message})` };
    }
}

const PUBLIC = /^(allUsers|allAuthenticatedUsers)$|^domain:/i;

/** IAM resources of Cloud Run services: a public run.invoker there is judged with the service in view (cloud-run-invoker-not-public). */
const CLOUD_RUN_IAM = new Set([
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding", "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy",
    "gcp:cloudrun/iamMember:IamMember", "gcp:cloudrun/iamBinding:IamBinding", "gcp:cloudrun/iamPolicy:IamPolicy",
]);
const deferredToCloudRun = (type: string, g: GcpGrant) => CLOUD_RUN_IAM.has(type) && g.role === "roles/run.invoker" && /^(allUsers|allAuthenticatedUsers)$/i.test(g.member);

export const noPublicGcpMembers: ResourceValidationPolicy = {
    name: "no-public-gcp-members",
    description: "No allUsers, allAuthenticatedUsers or domain-wide member on any GCP IAM member, binding or policy, policyData included " +
        "(Checkov CKV_GCP_28/113, Trivy GCP-0001). A public roles/run.invoker on a Cloud Run service is judged by cloud-run-invoker-not-public, which sees the service. " +
        "Remediation: grant the partner's service account or a Workload Identity principalSet for one AWS role.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const read = gcpGrants(args.type, args.props);
        if ("error" in read) return report(`${read.error}; it cannot be checked, so it is refused.`);
        for (const g of read.grants) {
            if (PUBLIC.test(g.member) && !deferredToCloudRun(args.type, g)) {
                report(`member "${g.member}" grants ${/^domain:/i.test(g.member) ? "a whole domain" : "the public"} role ${g.role ?? "(unknown)"}.`);
            }
        }
    },
};

/** The one principalSet form partner-access grants: the callers of one AWS role (or user) through Google's default AWS mapping. */
const EXACT_AWS_PRINCIPAL_SET = new RegExp(String.raw`^principalSet://iam\.googleapis\.com/projects/\d+/locations/global/workloadIdentityPools/[a-z0-9-]+/attribute\.aws_role/${AWS_ROLE_ATTRIBUTE}$`);

/** Why a member names a set of identities that the registry does not list one by one, or undefined. */
export function broadMember(member: string): string | undefined {
    if (/^group:/i.test(member)) return "a Google group: who is in it is decided outside the registry and its review";
    if (/^(projectOwner|projectEditor|projectViewer):/i.test(member)) return "every holder of a basic role on a project";
    if (/^principalSet:/i.test(member) && !EXACT_AWS_PRINCIPAL_SET.test(member)) {
        return "a pool-wide or attribute-wide principalSet (only .../attribute.aws_role/<one exact AWS role ARN> names one identity)";
    }
    return undefined;
}

export const gcpMembersExact: ResourceValidationPolicy = {
    name: "gcp-members-exact",
    description: "GCP IAM members name identities one by one: no group:, no projectOwner/Editor/Viewer:, and a Workload Identity principalSet only as " +
        ".../attribute.aws_role/<exact role ARN> (a pool-wide set admits every identity the pool's providers accept; another attribute admits whoever maps to it). " +
        "Remediation: one member per partner identity, as partner-access renders.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const read = gcpGrants(args.type, args.props);
        if ("error" in read) return; // reported by no-public-gcp-members
        for (const g of read.grants) {
            const why = broadMember(g.member);
            if (why) report(`member "${g.member}" (role ${g.role ?? "(unknown)"}) is ${why}.`);
        }
    },
};

export const gcsBucketPrivate: ResourceValidationPolicy = {
    name: "gcs-bucket-private",
    description: "Every GCS bucket enforces public access prevention and uniform bucket-level access (Checkov CKV_GCP_114/29). Remediation: publicAccessPrevention \"enforced\", uniformBucketLevelAccess true.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "gcp:storage/bucket:Bucket") return;
        if (args.props.publicAccessPrevention !== "enforced") report(`publicAccessPrevention is ${JSON.stringify(args.props.publicAccessPrevention)}, not "enforced".`);
        if (args.props.uniformBucketLevelAccess !== true) report("uniformBucketLevelAccess is not true: object ACLs could make objects public.");
    },
};

/**
 * Names a condition mentions: the IAM-name-like segments of its string
 * literals (`"arn:aws:sts::A:assumed-role/acme"`, `"/acme"`), for probes that
 * resemble them. ARN keywords and account numbers are not names.
 */
export function mentionedNames(condition: string): string[] {
    const literals = [...condition.matchAll(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1] ?? m[2]);
    const names = literals.flatMap((l) => l.split(/[/:]/)).filter((seg) => /^[\w+=,.@-]{1,64}$/.test(seg) && !/^\d+$/.test(seg) &&
        !["arn", "aws", "sts", "iam", "assumed-role", "role", "user", "root"].includes(seg));
    return [...new Set(names)].slice(0, 50);
}

/**
 * Callers of the provider's own AWS account that are none of the identities
 * a condition could mean: an unrelated role and user, and for every name the
 * condition mentions, roles whose names contain it and a user of that name
 * (a `contains`/`startsWith`/`endsWith` test admits them; `==` does not; role
 * names are unique per account whatever their case, so a case variant is the
 * same role and not probed). A user the condition names as a user is not a probe.
 */
export function hostileCallers(account: string, condition: string): AwsAssertion[] {
    const role = (name: string) => ({ arn: `arn:aws:sts::${account}:assumed-role/${name}/policy-probe`, account });
    const user = (name: string) => ({ arn: `arn:aws:iam::${account}:user/${name}`, account });
    return [role("intruder"), user("intruder"), ...mentionedNames(condition).flatMap((n) =>
        [role(`${n}-intruder`), role(`intruder-${n}`), ...(condition.includes(`user/${n}`) ? [] : [user(n)])])];
}

export const workloadIdentityConditioned: ResourceValidationPolicy = {
    name: "workload-identity-conditioned",
    description: "Every Workload Identity pool provider has an attribute condition (Checkov CKV_GCP_118) that admits only named identities: for an AWS provider, " +
        "its mapping and condition are evaluated with a CEL engine against hostile callers of its own account (an unrelated role or user, roles whose names " +
        "contain a named role's); admitting one is a violation, and so is a condition that cannot be evaluated. Remediation: attributeCondition listing the exact role ARNs.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== WIF_PROVIDER) return;
        const condition = String(args.props.attributeCondition ?? "");
        if (!condition.trim()) return report("the provider has no attribute condition: every identity of the external account may federate.");
        const accountId = args.props.aws?.accountId;
        if (accountId === undefined) return; // OIDC/SAML providers: their claims are the issuer's; only the presence of a condition is checked
        const mapping = args.props.attributeMapping && Object.keys(args.props.attributeMapping).length > 0 ? { ...args.props.attributeMapping } : { ...DEFAULT_AWS_MAPPING };
        for (const caller of hostileCallers(String(accountId), condition)) {
            try {
                if (providerAdmits({ accountId: String(accountId), attributeCondition: condition, attributeMapping: mapping, disabled: false }, caller).admitted) {
                    report(`the attribute condition admits ${caller.arn}, an identity it names nowhere: ${condition}`);
                    return;
                }
            } catch (e) {
                return report(`the mapping or condition cannot be evaluated (${(e as Error).message}); it cannot be checked, so it is refused.`);
            }
        }
    },
};

/** The stock ESPv2 serverless image (research gcp.md §6; Pulumi.yaml gcpEspImage default). */
export const DEFAULT_ESP_IMAGES = ["gcr.io/endpoints-release/endpoints-runtime-serverless:"];

export const espImagesProperty = {
    type: "array" as const,
    items: { type: "string" as const, minLength: 1 },
    default: DEFAULT_ESP_IMAGES,
    description: "Image prefixes recognised as ESPv2 (a gateway that authenticates every call itself). Default: the stock serverless image.",
};

interface Container { image?: unknown; envs?: unknown; env?: unknown }

/** The containers of a Cloud Run v2 (`template.containers`) or v1 (`template.spec.containers`) service. */
const containersOf = (type: string, props: Record<string, any>): Container[] =>
    list(type === "gcp:cloudrun/service:Service" ? props.template?.spec?.containers : props.template?.containers) as Container[];

/**
 * An ESPv2 gateway, recognised by what it runs rather than by its name: one
 * container, from a configured ESPv2 image, with ENDPOINTS_SERVICE_NAME set
 * (docker/serverless/env_start_proxy.py reads the service to enforce from it;
 * research gcp.md §6). ESPv2 then authenticates every call against the
 * Endpoints configuration, so Cloud Run's own invoker check can be off.
 */
export function isEspGateway(type: string, props: Record<string, any>, espImages: string[]): boolean {
    const containers = containersOf(type, props);
    if (containers.length !== 1) return false;
    const [c] = containers;
    const envs = list(c.envs ?? c.env) as { name?: unknown; value?: unknown }[];
    return typeof c.image === "string" && espImages.some((prefix) => (c.image as string).startsWith(prefix)) &&
        envs.some((e) => e?.name === "ENDPOINTS_SERVICE_NAME" && typeof e.value === "string" && e.value !== "");
}

const CLOUD_RUN_SERVICE = new Set(["gcp:cloudrunv2/service:Service", "gcp:cloudrun/service:Service"]);
const espImagesOf = (config: { espImages?: string[] }) => (Array.isArray(config.espImages) && config.espImages.length > 0 ? config.espImages : DEFAULT_ESP_IMAGES);

export const cloudRunNotPublic: ResourceValidationPolicy = {
    name: "cloud-run-not-public",
    description: "No Cloud Run service with the invoker IAM check disabled (invokerIamDisabled, or the run.googleapis.com/invoker-iam-disabled annotation), " +
        "which makes it public (Cloud Run, \"Allowing public (unauthenticated) access\"), unless it is an ESPv2 gateway recognised by its image (config espImages) " +
        "and ENDPOINTS_SERVICE_NAME. Remediation: keep the invoker check and grant roles/run.invoker to named callers.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { espImages: espImagesProperty } },
    validateResource: (args, report) => {
        if (!CLOUD_RUN_SERVICE.has(args.type)) return;
        const annotations = { ...(args.props.annotations ?? {}), ...(args.props.metadata?.annotations ?? {}) };
        const disabled = args.props.invokerIamDisabled === true || String(annotations["run.googleapis.com/invoker-iam-disabled"] ?? "").toLowerCase() === "true";
        if (disabled && !isEspGateway(args.type, args.props, espImagesOf(args.getConfig()))) {
            report(`service ${args.props.name ?? args.name} disables the invoker IAM check, so anyone on the internet can call it, and it is not a recognised ESPv2 gateway.`);
        }
    },
};

/** The service an IAM resource of Cloud Run applies to: through its dependencies (known during preview) or by name. */
function targetService(r: PolicyResource, services: PolicyResource[]): PolicyResource | undefined {
    const deps = [...(r.propertyDependencies?.name ?? []), ...(r.propertyDependencies?.service ?? [])];
    const byDep = services.find((s) => deps.some((d) => d.urn === s.urn));
    if (byDep) return byDep;
    const name = r.props.name ?? r.props.service;
    return services.find((s) => s.props.name === name || s.props.name === String(name).split("/").pop());
}

export const cloudRunInvokerNotPublic: StackValidationPolicy = {
    name: "cloud-run-invoker-not-public",
    description: "No allUsers or allAuthenticatedUsers roles/run.invoker on a Cloud Run service (Cloud Run's other way of making a service public), unless the service, " +
        "in this stack, is an ESPv2 gateway recognised by its image (config espImages) and ENDPOINTS_SERVICE_NAME. A stack policy because a resource policy cannot see " +
        "the service; `pulumi up` previews first. Remediation: grant roles/run.invoker to named callers only.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { espImages: espImagesProperty } },
    validateStack: (args, report) => {
        const images = espImagesOf(args.getConfig());
        const services = args.resources.filter((r) => CLOUD_RUN_SERVICE.has(r.type));
        for (const r of args.resources.filter((x) => CLOUD_RUN_IAM.has(x.type))) {
            const read = gcpGrants(r.type, r.props);
            if ("error" in read) continue; // reported by no-public-gcp-members
            const publicInvokers = read.grants.filter((g) => deferredToCloudRun(r.type, g));
            if (publicInvokers.length === 0) continue;
            const service = targetService(r, services);
            if (!service || !isEspGateway(service.type, service.props, images)) {
                report(`${publicInvokers.map((g) => g.member).join(", ")} may invoke ${service ? `service ${service.props.name}, which is not a recognised ESPv2 gateway` : "a service not found in this stack"}.`, r.urn);
            }
        }
    },
};
