/**
 * GCP side of the review: folder IAM policies (members reasoned against the
 * plan, conditions evaluated in CEL at the evaluation time), bucket-level
 * grants (none is planned), Workload Identity providers (their mapping and
 * condition evaluated in CEL for planned and hostile AWS callers), and the
 * Endpoints document (which issuers each route accepts). Managed folder
 * policies apply to the objects whose names start with the folder's name
 * (Cloud Storage, "Managed folders": "the access granted in the policy also
 * applies to any object ... that has the managed folder's name as a prefix").
 */
import { GCS_PROBED_PERMISSIONS, GCS_ROLE_PERMISSIONS, gcsPermissions } from "../../components/plan/capabilities";
import { PartnerPlan } from "../../components/plan/access-plan";
import { accountOfArn, awsRoleAttribute } from "../../components/plan/identities";
import { routeKey } from "../../components/plan/routes";
import { windowState } from "../../components/plan/validity";
import { federatedMember, partnerMembers } from "../../components/gcp/folder-policy";
import { conditionHolds, providerAdmits } from "./cel-eval";
import { Cell, Finding } from "./review-types";
import { RenderedStage } from "./rendered";
import { SynthOutput } from "./synth-output";

const PUBLIC = /^(allUsers|allAuthenticatedUsers)$|^(domain|group|user):/i;

export function reviewGcp(s: SynthOutput, r: RenderedStage, opts: { full?: boolean }): { cells: Cell[]; findings: Finding[] } {
    const plan = s.plan;
    const at = new Date(plan.evaluatedAt);
    const bucket = plan.names.gcsBucket;
    const cells: Cell[] = [];
    const findings: Finding[] = [];
    const membersOf = new Map(plan.partners.map((p) => [p.slug, new Set(partnerMembers(plan, r.poolId, p))]));
    const ownerOf = new Map<string, string>();
    for (const [slug, ms] of membersOf) for (const m of ms) ownerOf.set(m, slug);
    const otherStage = new Map<string, string>();
    for (const [slug, ids] of Object.entries(plan.otherStageIdentities)) {
        for (const e of ids.gcp) otherStage.set(`serviceAccount:${e}`, slug);
        for (const a of ids.aws) if (!a.endsWith(":root")) otherStage.set(federatedMember(plan, r.poolId, a), slug);
    }

    // Structure: every member of every folder policy is its partner's own, every role planned.
    for (const [folder, policy] of r.folderPolicies) {
        const p = plan.partners.find((x) => x.prefix === folder);
        for (const b of policy.bindings ?? []) {
            const where = `folder ${folder} (${b.role})`;
            if (!p) { findings.push({ cloud: "gcp", where, message: "a folder policy for a prefix no partner of this stage owns" }); continue; }
            if (!p.gcp.storageRoles.includes(b.role)) findings.push({ cloud: "gcp", where, partner: p.slug, message: `grants ${b.role}, which ${p.slug}'s plan does not` });
            for (const m of b.members) {
                const problem = memberProblem(m, p, membersOf.get(p.slug)!, ownerOf, otherStage, r.poolId);
                if (problem) findings.push({ cloud: "gcp", where, partner: p.slug, message: problem });
            }
        }
    }
    for (const g of r.otherStorageGrants) {
        findings.push({ cloud: "gcp", where: `${g.type.split(":").pop()} ${g.name}`, message: `grants ${g.role} to ${g.members.join(", ")}${g.folder ? ` on ${g.folder}` : " on the whole bucket"}: no such grant is planned (folder policies are the only grants)` });
    }

    // Evaluation: each planned member on its own folder (each permission), a neighbour's and a look-alike object.
    const slugs = plan.partners.map((p) => p.slug).sort();
    const effectiveOn = (member: string, object: string): Set<string> => {
        const perms = new Set<string>();
        for (const [folder, policy] of r.folderPolicies) {
            if (!object.startsWith(folder)) continue;
            for (const b of policy.bindings ?? []) {
                if (b.members.includes(member) && conditionHolds(b.condition?.expression, bucket, object, at)) for (const perm of GCS_ROLE_PERMISSIONS[b.role] ?? [`(unknown role ${b.role})`]) perms.add(perm);
            }
        }
        return perms;
    };
    for (const p of plan.partners) {
        const state = windowState(p.gcp.window, at);
        const planned = new Set(state === "active" ? gcsPermissions(p.gcp.storageRoles) : []);
        const neighbour = slugs[(slugs.indexOf(p.slug) + 1) % slugs.length];
        const targets = [p.prefix, `partners/${p.slug}-x/`, ...(neighbour !== p.slug ? [`partners/${neighbour}/`] : []),
            ...(opts.full ? plan.partners.filter((q) => q.slug !== p.slug && q.slug !== neighbour).map((q) => q.prefix) : [])];
        for (const member of membersOf.get(p.slug)!) {
            for (const prefix of targets) {
                const perms = effectiveOn(member, `${prefix}report.csv`);
                for (const action of GCS_PROBED_PERMISSIONS) {
                    const own = prefix === p.prefix;
                    const plannedHere = own && planned.has(action);
                    const wasGranted = own && gcsPermissions(p.gcp.storageRoles).includes(action);
                    cells.push({ partner: p.slug, via: member, cloud: "gcp", resource: `files ${prefix}`, action, effective: perms.has(action) ? "allowed" : "denied", planned: plannedHere ? "allowed" : "denied", ...(wasGranted && state !== "active" ? { window: state } : {}) });
                }
            }
        }
    }

    // Federation: who each provider admits, and which aws_role it maps them to.
    const plannedAccounts = new Map<string, PartnerPlan[]>();
    for (const p of plan.partners) for (const a of p.gcp.federatedAwsPrincipals) plannedAccounts.set(accountOfArn(a), [...(plannedAccounts.get(accountOfArn(a)) ?? []), p]);
    for (const provider of r.wifProviders) {
        const where = `federation provider ${provider.providerId}`;
        const partners = plannedAccounts.get(provider.accountId) ?? [];
        if (partners.length === 0) findings.push({ cloud: "gcp", where, message: `admits AWS account ${provider.accountId}, which no partner federates from in this stage` });
        for (const p of partners) {
            for (const arn of p.gcp.federatedAwsPrincipals.filter((a) => accountOfArn(a) === provider.accountId)) {
                const caller = arn.includes(":role/") ? `${awsRoleAttribute(arn)}/session` : arn;
                const got = providerAdmits(provider, { arn: caller, account: provider.accountId });
                cells.push({ partner: p.slug, via: arn, cloud: "gcp", resource: where, action: "exchange an AWS token", effective: got.admitted && got.awsRole === awsRoleAttribute(arn) ? "allowed" : "denied", planned: "allowed" });
            }
        }
        for (const hostile of [`arn:aws:sts::${provider.accountId}:assumed-role/intruder/session`, `arn:aws:iam::${provider.accountId}:user/intruder`]) {
            cells.push({ partner: partners[0]?.slug ?? "(no partner)", via: hostile, cloud: "gcp", resource: where, action: "exchange an AWS token", effective: providerAdmits(provider, { arn: hostile, account: provider.accountId }).admitted ? "allowed" : "denied", planned: "denied" });
        }
    }

    // Endpoints: each route accepts exactly the service accounts of partners granted it now.
    const issuers = new Map(Object.entries<any>(r.openapi.securityDefinitions ?? {}).map(([n, d]) => [n, String(d["x-google-issuer"] ?? "")]));
    const planOfIssuer = new Map(plan.partners.flatMap((p) => p.gcp.serviceAccounts.map((e) => [e, p] as const)));
    for (const [path, ops] of Object.entries<any>(r.openapi.paths ?? {})) {
        for (const [method, op] of Object.entries<any>(ops)) {
            const key = `${method.toUpperCase()} ${path}`;
            const security = (op.security ?? []) as object[];
            if (security.length === 0 || security.some((req) => Object.keys(req).length === 0)) findings.push({ cloud: "gcp", where: `Endpoints ${key}`, message: "accepts calls without a JWT" });
            for (const req of security) for (const name of Object.keys(req)) {
                const email = issuers.get(name);
                const p = email ? planOfIssuer.get(email) : undefined;
                if (!email || !p) findings.push({ cloud: "gcp", where: `Endpoints ${key}`, message: `accepts tokens of ${email || name}, which belongs to no partner of this stage` });
                else if (!p.gcp.activeRoutes.some((x) => routeKey(x) === key)) findings.push({ cloud: "gcp", where: `Endpoints ${key}`, partner: p.slug, message: `accepts ${email}, but ${p.slug} is not granted ${key} now` });
            }
        }
    }
    for (const p of plan.partners) {
        for (const email of p.gcp.serviceAccounts) {
            const mine = new Set([...issuers].filter(([, e]) => e === email).map(([n]) => n));
            for (const route of plan.routes) {
                const key = routeKey(route);
                const op = r.openapi.paths?.[route.path]?.[route.method.toLowerCase()];
                const allowed = !!op && (op.security ?? []).some((req: object) => Object.keys(req).some((n) => mine.has(n)));
                const granted = p.gcp.routes.some((x) => routeKey(x) === key);
                const active = p.gcp.activeRoutes.some((x) => routeKey(x) === key);
                const state = windowState(p.gcp.window, at);
                cells.push({ partner: p.slug, via: `serviceAccount:${email}`, cloud: "gcp", resource: `api ${key}`, action: "invoke (JWT)", effective: allowed ? "allowed" : "denied", planned: active ? "allowed" : "denied", ...(granted && !active && state !== "active" ? { window: state } : {}) });
            }
        }
    }
    return { cells, findings };
}

function memberProblem(m: string, p: PartnerPlan, mine: Set<string>, ownerOf: Map<string, string>, otherStage: Map<string, string>, poolId: string): string | undefined {
    if (mine.has(m)) return undefined;
    if (PUBLIC.test(m)) return `grants ${m}: public, a whole domain, a group or a person, never a partner's own identity`;
    if (m.startsWith("principalSet://") && !/\/attribute\.aws_role\/arn:aws:sts::\d{12}:assumed-role\/[^/]+$|\/attribute\.aws_role\/arn:aws:iam::\d{12}:user\/.+$/.test(m)) {
        return `grants ${m}: a whole pool or attribute, not one federated role`;
    }
    if (m.startsWith("principalSet://") && !m.includes(`/workloadIdentityPools/${poolId}/`)) return `grants ${m}: a principal of another Workload Identity pool`;
    const other = ownerOf.get(m);
    if (other) return `grants ${m}, an identity of ${other}`;
    const stage = otherStage.get(m);
    if (stage) return `grants ${m}, an identity of ${stage} in an environment this stage does not accept`;
    return `grants ${m}, which belongs to no partner of the plan`;
}
