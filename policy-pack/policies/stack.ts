import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { PRINCIPAL_PROPERTY_TYPES, RESOURCE_POLICY_PROPERTIES, deniesInsecureTransport, resourcePolicies } from "./aws";
import { NormalStatement, Parsed, exact, isAllow, lowerKeys, list, parsePolicy, pinnedValues, principalsOfKind, wildcardPrincipal } from "./documents";
import { WIF_PROVIDER, gcpGrants, isGcpIamType } from "./gcp";
import { ENDPOINTS_SERVICE } from "./gcp-surface";
import { AwsIdentity, awsIdentityKey, covers, overlaps, parseAwsIdentity } from "./identities";
import { NamedIdentity, namedIdentities } from "./principals";
import { known } from "./exceptions";
import { StackContext, findProjectDir, stackContext } from "./stack-context";

const S3_GUARDS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

export const s3BucketsGuarded: StackValidationPolicy = {
    name: "s3-buckets-guarded",
    description: "Every S3 bucket of the stack has a public access block with all four settings and a bucket policy that denies requests without TLS. " +
        "Remediation: add aws.s3.BucketPublicAccessBlock and aws.s3.BucketPolicy (denying plain HTTP to the bucket and its objects) for the bucket (partner-access's FileExchange does).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const of = (type: string) => args.resources.filter((r) => r.type === type);
        for (const bucket of of("aws:s3/bucket:Bucket")) {
            const names = [known(() => bucket.props.bucket), known(() => bucket.props.id)].filter((v) => v !== undefined);
            // Its side resources name it by id (unknown in a first preview) and depend on it (always known).
            const mine = (r: PolicyResource) => (r.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn) || names.includes(known(() => r.props.bucket));
            const blocks = of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").filter(mine);
            if (!blocks.some((b) => S3_GUARDS.every((k) => b.props[k] === true))) report(`bucket ${names[0]} has no public access block with all four settings.`, bucket.urn);
            const name = typeof names[0] === "string" ? names[0] : undefined;
            if (!of("aws:s3/bucketPolicy:BucketPolicy").filter(mine).some((p) => deniesInsecureTransport(p.props.policy, name))) {
                report(`bucket ${names[0]} has no bucket policy denying requests without TLS to the bucket and all its objects.`, bucket.urn);
            }
        }
    },
};

/** The registry's environments and the identities listed under each, as the pack needs them. */
export interface RegistryIdentities {
    environments: Record<string, { production: boolean }>;
    /** Every listed identity with its owner (`partner/environment`). */
    identities: { owner: string; environment: string; aws?: AwsIdentity; gcp?: string }[];
    /** Outbound hosts and, per stage (stack), our identities allowed to call them through the token broker. */
    outbound: { partner: string; host: string; callers: Record<string, { aws: string[]; gcp: string[] }> }[];
}

export function registryIdentities(registryText: string): RegistryIdentities {
    const reg = YAML.parse(registryText) ?? {};
    const out: RegistryIdentities = { environments: reg.environments ?? {}, identities: [], outbound: [] };
    for (const p of reg.partners ?? []) {
        for (const o of p?.outbound ?? []) {
            const callers = Object.fromEntries(Object.entries<any>(o?.callers ?? {}).map(([stage, c]) => [stage, { aws: (c?.aws ?? []).map(String), gcp: (c?.gcp ?? []).map(String) }]));
            out.outbound.push({ partner: String(p.slug), host: String(o?.host), callers });
        }
        for (const [env, ids] of Object.entries<any>(p?.identities ?? {})) {
            const owner = `${p.slug}/${env}`;
            for (const arn of ids?.aws ?? []) {
                const aws = parseAwsIdentity(String(arn));
                if (aws) out.identities.push({ owner, environment: env, aws });
            }
            for (const g of ids?.gcp ?? []) {
                if (g?.email) out.identities.push({ owner, environment: env, gcp: `email:${String(g.email).toLowerCase()}` });
                if (g?.uniqueId) out.identities.push({ owner, environment: env, gcp: `uid:${g.uniqueId}` });
            }
        }
    }
    return out;
}

const registryCache = new Map<string, RegistryIdentities>();

type Listed = RegistryIdentities["identities"][number];

/** The registry's identities by what a named principal can be compared with: AWS account, GCP member. */
interface IdentityIndex { byAccount: Map<string, Listed[]>; byGcp: Map<string, Listed[]> }
const indexes = new WeakMap<RegistryIdentities, IdentityIndex>();

function indexOf(registry: RegistryIdentities): IdentityIndex {
    let index = indexes.get(registry);
    if (!index) {
        index = { byAccount: new Map(), byGcp: new Map() };
        const add = (m: Map<string, Listed[]>, k: string, v: Listed) => m.set(k, [...(m.get(k) ?? []), v]);
        for (const i of registry.identities) {
            if (i.aws) add(index.byAccount, i.aws.account, i);
            if (i.gcp) add(index.byGcp, i.gcp, i);
        }
        indexes.set(registry, index);
    }
    return index;
}

/** The listed identities a named principal could be (or cover): those of its AWS account, or its GCP member. */
function candidates(registry: RegistryIdentities, n: { aws?: AwsIdentity; gcp?: string }): Listed[] {
    const index = indexOf(registry);
    return (n.aws ? index.byAccount.get(n.aws.account) : n.gcp ? index.byGcp.get(n.gcp) : undefined) ?? [];
}

/** What the pack knows of the stack's stage from its config alone (no registry needed). */
export interface StageNames {
    stack: string;
    /** `partner-access:namePrefix` (default as in components/plan/stage-config.ts). */
    namePrefix: string;
    awsAccountId?: string;
    gcpProject?: string;
}

export function stageNames(ctx: StackContext = stackContext()): StageNames | undefined {
    if (!ctx.stack) return undefined;
    return {
        stack: ctx.stack,
        namePrefix: ctx.config["partner-access:namePrefix"] || "partner-access",
        awsAccountId: ctx.config["partner-access:awsAccountId"],
        gcpProject: ctx.config["partner-access:gcpProject"],
    };
}

/** The stack's stage, whether it is production, and the registry it is rendered from. */
export function stageOf(ctx = stackContext()): { stack: string; production: boolean; accepted: string[]; registry: RegistryIdentities } | { error: string } | undefined {
    if (!ctx.stack) return undefined;
    const accepted = (() => {
        try {
            return JSON.parse(ctx.config["partner-access:acceptedEnvironments"] ?? "[]") as string[];
        } catch {
            return [];
        }
    })();
    const found = findProjectDir(ctx);
    if (!found.dir) return { error: `the project directory was not found (looked in ${found.searched.join(", ")}): set PARTNER_ACCESS_PROJECT_DIR` };
    const file = path.resolve(found.dir, ctx.config["partner-access:registryFile"] ?? "partners.yaml");
    if (!fs.existsSync(file)) return { error: `registry ${file} not found` };
    if (!registryCache.has(file)) registryCache.set(file, registryIdentities(fs.readFileSync(file, "utf8")));
    const registry = registryCache.get(file)!;
    return { stack: ctx.stack, production: accepted.some((e) => registry.environments[e]?.production === true), accepted, registry };
}

/** Our identities the registry lets call the outbound broker in this stage: AWS by what IAM compares, GCP by e-mail. */
const callerSets = new WeakMap<RegistryIdentities, Map<string, Set<string>>>();
function ourCallers(registry: RegistryIdentities, stack: string): Set<string> {
    if (!callerSets.has(registry)) callerSets.set(registry, new Map());
    const byStack = callerSets.get(registry)!;
    if (!byStack.has(stack)) {
        const keys = registry.outbound.flatMap((o) => [
            ...(o.callers[stack]?.aws ?? []).map((arn) => parseAwsIdentity(arn)).filter((id): id is AwsIdentity => !!id).map(awsIdentityKey),
            ...(o.callers[stack]?.gcp ?? []).map((email) => `email:${email.toLowerCase()}`),
        ]);
        byStack.set(stack, new Set(keys));
    }
    return byStack.get(stack)!;
}

/** Resource types whose inputs name who is trusted or granted: every type the other rules read principals from. */
const ACCESS_GRANT = "aws:s3control/accessGrant:AccessGrant";
const grantsAccess = (type: string) =>
    type in RESOURCE_POLICY_PROPERTIES || PRINCIPAL_PROPERTY_TYPES.has(type) || isGcpIamType(type) || [WIF_PROVIDER, ENDPOINTS_SERVICE, ACCESS_GRANT].includes(type);

/**
 * The resource's policies, parsed once per resource: rootPinned asks for every
 * root a policy names, and principals-from-registry and stage-isolation both
 * ask (a bucket policy at 1,000 partners names hundreds).
 */
const parsedPolicies = new WeakMap<object, { prop: string; parsed: Parsed }[]>();
function policiesOf(args: { type: string; props: Record<string, any> }): { prop: string; parsed: Parsed }[] {
    let out = parsedPolicies.get(args.props);
    if (!out) parsedPolicies.set(args.props, (out = resourcePolicies(args).map((p) => ({ prop: p.prop, parsed: parsePolicy(p.doc) }))));
    return out;
}

/**
 * Whether every Allow statement of the resource's policy that names this
 * account root pins `aws:PrincipalArn` to exact ARNs that `allowed` accepts:
 * then the root admits only those (the form partner-access renders). A root
 * named anywhere else (a Lambda permission, a condition) is unpinned.
 */
function rootPinned(args: { type: string; props: Record<string, any> }, account: string, allowed: (id: AwsIdentity) => boolean): boolean {
    const parsed = policiesOf(args).map((p) => p.parsed);
    if (parsed.length === 0 || parsed.some((p) => "error" in p)) return false;
    const names = (st: NormalStatement) => principalsOfKind(st.principal, "aws").some((p) => p === account || p === `arn:aws:iam::${account}:root`);
    const naming = parsed.flatMap((p) => ("statements" in p ? p.statements : [])).filter((st) => isAllow(st) && names(st));
    return naming.length > 0 && naming.every((st) => {
        const pinned = pinnedValues(st, "aws:PrincipalArn");
        return !!pinned && pinned.length > 0 && pinned.every((v) => {
            const id = exact(v) ? parseAwsIdentity(v) : undefined;
            return !!id && id.kind !== "root" && allowed(id);
        });
    });
}

/** The only web identity provider partner-access trusts: Google, for partners' service accounts (pinned to unique ids by pinned-federation). */
const GOOGLE_WEB_IDENTITY = "accounts.google.com";

/**
 * Principals of the resource's policies read as AWS reads them, for what the
 * text scan of principals.ts cannot see: an account id written as a number,
 * and principals no registry entry can stand for, which are reported through
 * `refuse`: ARNs of other partitions or kinds (federated users, services'
 * roles), canonical users, web identity providers other than Google's, and
 * principal kinds AWS may add. Wildcards are no-wildcard-principals' to report.
 */
function policyPrincipals(args: { type: string; props: Record<string, any> }, refuse: (why: string) => void): NamedIdentity[] {
    const out: NamedIdentity[] = [];
    for (const { prop, parsed } of policiesOf(args)) {
        if ("error" in parsed) continue; // refused by no-wildcard-principals
        parsed.statements.forEach((st, i) => {
            if (!isAllow(st) || typeof st.principal !== "object" || st.principal === null) return;
            for (const [kind, values] of Object.entries(lowerKeys(st.principal))) {
                for (const v of list(values).map((x) => String(x).trim())) {
                    if (wildcardPrincipal(v)) continue;
                    const where = `${prop} statement ${i}`;
                    if (kind === "service") continue; // service-principals-conditioned
                    if (kind === "federated") {
                        if (v.toLowerCase() !== GOOGLE_WEB_IDENTITY) refuse(`trusts the identity provider ${v} in ${where}; the registry federates only Google service accounts (${GOOGLE_WEB_IDENTITY}).`);
                    } else if (kind === "aws") {
                        const arn = /^\d{12}$/.test(v) ? `arn:aws:iam::${v}:root` : v;
                        const aws = parseAwsIdentity(arn);
                        if (aws) out.push({ text: v, aws });
                        else refuse(`names ${v} in ${where}, which is not an account, role or user the registry could list (an ARN of another kind or partition).`);
                    } else {
                        refuse(`names a ${kind} principal (${v}) in ${where}; the registry lists only AWS accounts, roles and users, and Google service accounts.`);
                    }
                }
            }
        });
    }
    return out;
}

/**
 * Every principal, account and federated subject a grant, trust or federation
 * names is one the registry lists for an environment this stage accepts, one
 * of our own (the stage's account and project), or an outbound caller listed
 * for this stage. An account root passes only if the registry lists the root
 * itself, or if each statement naming it pins the ARNs it admits to listed
 * ones. A principal added by hand, or by a bug, that no registry entry
 * explains is refused.
 */
export const principalsFromRegistry: ResourceValidationPolicy = {
    name: "principals-from-registry",
    description: "Grants, trusts and federation name only identities the registry lists for an environment this stage accepts, our own account and project, " +
        "and the outbound callers listed for this stage; an account root only if listed itself or pinned (aws:PrincipalArn) to listed roles. " +
        "GCP members other than listed or own service accounts (user:, group:, principal://, ...) are refused. Remediation: list the identity in partners.yaml (reviewed), or remove it.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!grantsAccess(args.type)) return;
        const stage = stageOf();
        if (!stage) return;
        if ("error" in stage) return report(`cannot check principals against the registry: ${stage.error}.`);
        if (stage.accepted.length === 0) return report("cannot check principals against the registry: the stack's config names no accepted environment (partner-access:acceptedEnvironments).");
        const ctx = stackContext();
        const ourAccount = ctx.config["partner-access:awsAccountId"];
        const ourProject = ctx.config["partner-access:gcpProject"];
        const callers = ourCallers(stage.registry, stage.stack);
        const envs = stage.accepted.join(", ");
        const listedFor = (n: { aws?: AwsIdentity; gcp?: string }) => candidates(stage.registry, n).filter((i) => stage.accepted.includes(i.environment));
        const awsAllowed = (id: AwsIdentity) =>
            id.account === ourAccount || callers.has(awsIdentityKey(id)) || listedFor({ aws: id }).some((i) => i.aws && covers(i.aws, id));
        const ourEmail = (email: string) => !!ourProject && email.endsWith(`@${ourProject.toLowerCase()}.iam.gserviceaccount.com`);
        // The text scan and the policies' principals name many identities twice: each is judged once.
        const named = new Map<string, NamedIdentity>();
        for (const n of [...namedIdentities(args.props), ...policyPrincipals(args, (why) => report(`${args.type} ${args.name} ${why}`))]) {
            const key = n.aws ? `aws:${n.aws.arn}` : `gcp:${n.gcp}`;
            if (!named.has(key)) named.set(key, n);
        }
        for (const n of named.values()) {
            if (n.aws) {
                const ok = n.aws.kind === "root"
                    ? n.aws.account === ourAccount || listedFor(n).some((i) => i.aws?.kind === "root") || rootPinned(args, n.aws.account, awsAllowed)
                    : awsAllowed(n.aws);
                if (!ok) report(`${args.type} ${args.name} names ${n.text}, which ${n.aws.kind === "root" ? "is an account root neither listed itself nor pinned to roles listed" : "no identity the registry lists"} for ${envs}${n.aws.kind === "root" ? "" : " covers"}.`);
            } else if (n.gcp) {
                const email = n.gcp.startsWith("email:") ? n.gcp.slice(6) : undefined;
                if (email && (ourEmail(email) || callers.has(n.gcp))) continue;
                if (listedFor(n).length === 0) report(`${args.type} ${args.name} names ${n.text}, which the registry does not list for ${envs}.`);
            }
        }
        // Members the text scan cannot recognise as identities: users, groups, single WIF subjects, other kinds of accounts.
        const read = gcpGrants(args.type, args.props);
        if ("error" in read) return; // reported by no-public-gcp-members
        for (const g of read.grants) {
            const [kind, rest = ""] = [g.member.slice(0, g.member.indexOf(":") + 1).toLowerCase(), g.member.slice(g.member.indexOf(":") + 1)];
            if (/^(allUsers|allAuthenticatedUsers)$/i.test(g.member) || kind === "domain:") continue; // public: no-public-gcp-members
            if (kind === "principalset:") continue; // one exact AWS role (read above) or refused by gcp-members-exact
            if (kind === "serviceaccount:") {
                const email = rest.toLowerCase();
                if (ourEmail(email) || callers.has(`email:${email}`) || listedFor({ gcp: `email:${email}` }).length > 0) continue;
            }
            report(`${args.type} ${args.name} grants ${g.role ?? "a role"} to ${g.member}, which the registry does not list for ${envs}.`);
        }
    },
};

/**
 * A resource policy, not a stack policy: during `pulumi up` resource policies
 * run on each resource's resolved inputs before it is created, stack policies
 * only after everything exists. Unknown values during preview make the SDK
 * report the check as not runnable (advisory) rather than pass it.
 *
 * Needs no policy configuration: the stack, its config and so its registry
 * and accepted environments come from what the CLI hands the pack. Identities
 * are compared by what they cover: a root names every principal of its
 * account, and a role is the same role whatever its path.
 */
export const stageIsolation: ResourceValidationPolicy = {
    name: "stage-isolation",
    description: "A production stack trusts and grants no identity of a non-production partner environment, nor one that covers it (an account root covers its account). " +
        "Remediation: list the identity under the partner's production environment only, or remove it.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const stage = stageOf();
        if (!stage) return; // not under the CLI (no stack): nothing to check against
        if ("error" in stage) return report(`cannot check stage isolation: ${stage.error}.`);
        if (!stage.production) return;
        for (const n of namedIdentities(args.props)) {
            // A root whose every Allow statement pins aws:PrincipalArn admits only the pinned ARNs, which are judged themselves
            // (a prod role and a stag role may share an account: the rendered prod trust names the root, pinned to the prod role).
            if (n.aws?.kind === "root" && rootPinned(args, n.aws.account, () => true)) continue;
            for (const listed of candidates(stage.registry, n)) {
                if (stage.registry.environments[listed.environment]?.production) continue;
                const hit = listed.aws && n.aws ? overlaps(listed.aws, n.aws) : listed.gcp !== undefined && listed.gcp === n.gcp;
                if (hit) report(`${args.type} ${args.name} names ${n.text}, which ${n.aws && listed.aws && n.aws.arn !== listed.aws.arn ? `covers ${listed.aws.arn}, ` : "is "}an identity of ${listed.owner}, in production stack ${stage.stack}.`);
            }
        }
    },
};
