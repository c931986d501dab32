/**
 * AWS side of the review, in time linear in the partners:
 * - structure: every Allow statement of every rendered document, its
 *   principals, actions, resources and conditions, reasoned against the plan
 *   (who it admits by coverage, what it reaches). A foreign principal, an
 *   over-broad resource, a cross-partner or cross-stage reach anywhere is a
 *   finding, whatever the number of partners;
 * - evaluation: each identity against its own grants (each planned action must
 *   be allowed) and adversarial probes (a neighbour's prefix, a look-alike
 *   prefix, the bucket root, deleting and overwriting, the other stage's
 *   identities, every ungranted route with hostile path values), through the
 *   IAM policy evaluator.
 * `full` adds the quadratic product: every identity against every partner.
 */
import { S3_PROBED_ACTIONS } from "../../components/plan/capabilities";
import { AccessPlan, PartnerPlan } from "../../components/plan/access-plan";
import { AwsIdentity, covers, overlaps, parseAwsIdentity } from "../../components/plan/identities";
import { Route, isParam, routeFor, routeKey, segments } from "../../components/plan/routes";
import { windowState } from "../../components/plan/validity";
import { ASSUME_ROLE_ACTIONS } from "../../components/aws/policy-documents";
import { Decision, Request, decideAll } from "./iam-eval";
import { Cell, Effect, Finding, Progress } from "./review-types";
import { RenderedStage } from "./rendered";
import { SynthOutput } from "./synth-output";

export interface AwsCaller {
    partner: string;
    via: string;
    principal: string;
    identityPolicies: unknown[];
}

/** How a partner calls us on AWS: as its role in our account, and (direct) as its own principals. */
export function awsCallers(r: RenderedStage, p: PartnerPlan): AwsCaller[] {
    const out: AwsCaller[] = [];
    if (p.aws.role) out.push({ partner: p.slug, via: p.aws.role.arn, principal: p.aws.role.arn, identityPolicies: r.roles.get(p.aws.role.name)?.policies ?? [] });
    if (p.aws.connect === "direct") {
        for (const arn of p.aws.principals) {
            // An account root stands for any principal of that account; the partner attaches our identity policy to it.
            const principal = arn.endsWith(":root") ? arn.replace(/:root$/, ":role/any-principal") : arn;
            out.push({ partner: p.slug, via: arn, principal, identityPolicies: [partnerSidePolicy(p.slug)] });
        }
    }
    return out;
}

/** Placeholder replaced by the exported identity policy (outputs) when requests are built. */
const partnerSidePolicy = (slug: string) => ({ $partnerSide: slug });

/** What to ask for: an object key, a listing under a prefix, or a concrete request path. */
export type AwsTarget = { object: string } | { list: string } | { request: { method: string; path: string } };

export function awsRequest(s: SynthOutput, r: RenderedStage, c: AwsCaller, action: string, target: AwsTarget, context: Record<string, string> = {}): Request {
    const account = s.plan.stage.aws.accountId;
    const bucket = s.plan.names.awsBucket;
    const identityPolicies = c.identityPolicies.map((d: any) => (d?.$partnerSide ? s.outputs.partners[d.$partnerSide].aws.identityPolicy : d));
    const base = { principal: c.principal, identityPolicies, resourceAccount: account, context: { "aws:CurrentTime": s.plan.evaluatedAt, ...context } };
    if ("request" in target) {
        return {
            ...base, action: "execute-api:Invoke",
            resource: `arn:aws:execute-api:${s.plan.stage.aws.region}:${account}:${r.apiId}/${s.plan.names.apiStageName}/${target.request.method}${target.request.path}`,
            resourcePolicy: r.apiPolicy,
        };
    }
    if ("list" in target) return { ...base, action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}`, resourcePolicy: r.bucketPolicy, context: { ...base.context, "s3:prefix": target.list } };
    // Writes carry what a client sends: If-None-Match "*" on object creation (the create-only rule's key).
    const writeContext: Record<string, string> = action === "s3:PutObject" ? { "s3:ObjectCreationOperation": "true", "s3:if-none-match": "*" } : {};
    return { ...base, action, resource: `arn:aws:s3:::${bucket}/${target.object}`, resourcePolicy: r.bucketPolicy, context: { ...writeContext, ...base.context } };
}

/**
 * Concrete request paths that probe route coverage: each route with a plain
 * value, and each parameter set to every literal segment of the catalogue,
 * to an encoded slash, and with extra segments; planned by the routing model
 * (routes.ts), unroutable paths left out (API Gateway refuses them before
 * authorisation).
 */
export function routeProbes(catalogue: Route[]): { method: string; path: string; route: Route }[] {
    const literals = [...new Set(catalogue.flatMap((r) => segments(r.path).filter((s) => !isParam(s))))];
    const out = new Map<string, { method: string; path: string; route: Route }>();
    const add = (method: string, path: string) => {
        const route = routeFor(catalogue, method, path);
        if (route) out.set(`${method} ${path}`, { method, path, route });
    };
    for (const r of catalogue) {
        const segs = segments(r.path);
        const fill = (value: (i: number) => string) => "/" + segs.map((s, i) => (isParam(s) ? value(i) : s)).join("/");
        add(r.method, fill(() => "42"));
        add(r.method, fill(() => "a%2Fb"));
        segs.forEach((s, i) => {
            if (!isParam(s)) return;
            for (const l of literals) add(r.method, fill((j) => (j === i ? l : "42")));
        });
        // Extra segments route elsewhere or nowhere; those that reach a route are probed as that route.
        for (const l of literals) add(r.method, `${fill(() => "42")}/${l}`);
    }
    return [...out.values()];
}

const effect = (d: Decision): Effect => (d === "Allowed" ? "allowed" : "denied");

/** The probes every caller gets: planned effect, evaluator request. */
interface Probe {
    partner: string;
    via: string;
    resource: string;
    action: string;
    planned: Effect;
    window?: Cell["window"];
    request: Request;
}

export async function reviewAws(s: SynthOutput, r: RenderedStage, opts: { full?: boolean; progress?: Progress }): Promise<{ cells: Cell[]; findings: Finding[] }> {
    const findings = structuralFindings(s, r);
    const plan = s.plan;
    const at = new Date(plan.evaluatedAt);
    const probes: Probe[] = [];
    const routeSet = routeProbes(plan.routes);
    const slugs = plan.partners.map((p) => p.slug).sort();
    for (const p of plan.partners) {
        const state = windowState(p.aws.window, at);
        const active = state === "active";
        const granted = new Set(p.aws.routes.map(routeKey));
        const neighbour = slugs[(slugs.indexOf(p.slug) + 1) % slugs.length];
        for (const c of awsCallers(r, p)) {
            const probe = (resource: string, action: string, plannedAllowed: boolean, target: AwsTarget, context?: Record<string, string>) =>
                probes.push({ partner: p.slug, via: c.via, resource, action, planned: plannedAllowed && active ? "allowed" : "denied", window: plannedAllowed && !active ? state : undefined, request: awsRequest(s, r, c, action, target, context) });
            const own = p.aws.files;
            for (const action of S3_PROBED_ACTIONS) {
                if (action === "s3:ListBucket") probe(`files ${p.prefix}`, action, own.list, { list: p.prefix });
                else probe(`files ${p.prefix}`, action, own.objectActions.includes(action), { object: `${p.prefix}report.csv` });
            }
            // Adversarial: the bucket root, a look-alike prefix, the neighbour's files, overwriting, no TLS.
            probe("files partners/", "s3:ListBucket", false, { list: "partners/" });
            probe(`files partners/${p.slug}-x/`, "s3:GetObject", false, { object: `partners/${p.slug}-x/report.csv` });
            probe(`files partners/${p.slug}x/`, "s3:PutObject", false, { object: `partners/${p.slug}x/report.csv` });
            if (neighbour !== p.slug) {
                const q = `partners/${neighbour}/`;
                probe(`files ${q}`, "s3:GetObject", false, { object: `${q}report.csv` });
                probe(`files ${q}`, "s3:PutObject", false, { object: `${q}report.csv` });
                probe(`files ${q}`, "s3:ListBucket", false, { list: q });
            }
            if (own.objectActions.includes("s3:PutObject")) {
                probe(`files ${p.prefix} (overwrite)`, "s3:PutObject", false, { object: `${p.prefix}report.csv` }, { "s3:if-none-match": "" });
            }
            probe(`files ${p.prefix} (no TLS)`, own.objectActions[0] ?? "s3:GetObject", false, { object: `${p.prefix}report.csv` }, { "aws:SecureTransport": "false" });
            for (const rp of routeSet) {
                probe(`api ${rp.method} ${rp.path}${rp.path.includes("%2F") || rp.path !== samplePath(rp.route) ? ` (as ${routeKey(rp.route)})` : ""}`, "execute-api:Invoke", granted.has(routeKey(rp.route)), { request: rp });
            }
            if (opts.full) {
                for (const q of plan.partners) {
                    if (q.slug === p.slug) continue;
                    for (const action of S3_PROBED_ACTIONS) {
                        probe(`files ${q.prefix}`, action, false, action === "s3:ListBucket" ? { list: q.prefix } : { object: `${q.prefix}report.csv` });
                    }
                }
            }
        }
        // The other stage's identities of this partner: never its role, files or API here.
        for (const arn of plan.otherStageIdentities[p.slug]?.aws ?? []) {
            const principal = arn.endsWith(":root") ? arn.replace(":root", ":role/any-principal") : arn;
            const anything = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }];
            const c: AwsCaller = { partner: p.slug, via: `${arn} (another stage's)`, principal, identityPolicies: anything };
            const push = (resource: string, action: string, request: Request) => probes.push({ partner: p.slug, via: c.via, resource, action, planned: "denied", request });
            if (p.aws.role) {
                push(`role ${p.aws.role.name}`, "sts:AssumeRole", { principal, action: "sts:AssumeRole", resource: p.aws.role.arn, resourceAccount: plan.stage.aws.accountId, resourcePolicy: r.roles.get(p.aws.role.name)?.trust, identityPolicies: anything, context: { "aws:CurrentTime": plan.evaluatedAt, ...(p.aws.externalId ? { "sts:ExternalId": p.aws.externalId } : {}) } });
            }
            push(`files ${p.prefix}`, "s3:GetObject", awsRequest(s, r, c, "s3:GetObject", { object: `${p.prefix}report.csv` }));
            if (plan.routes[0]) push(`api ${routeKey(plan.routes[0])}`, "execute-api:Invoke", awsRequest(s, r, c, "execute-api:Invoke", { request: { method: plan.routes[0].method, path: samplePath(plan.routes[0]) } }));
        }
        // Who may assume the role: the planned principals (with the external id) and Google accounts (pinned).
        if (p.aws.role) {
            const trust = r.roles.get(p.aws.role.name)?.trust;
            const base = { action: "sts:AssumeRole", resource: p.aws.role.arn, resourceAccount: plan.stage.aws.accountId, resourcePolicy: trust };
            if (p.aws.role.trustsAwsPrincipals) {
                for (const arn of p.aws.principals) {
                    const principal = arn.endsWith(":root") ? arn.replace(":root", ":role/any-principal") : arn;
                    const ctx = { "aws:CurrentTime": plan.evaluatedAt, ...(p.aws.externalId ? { "sts:ExternalId": p.aws.externalId } : {}) };
                    const allowSelf = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ASSUME_ROLE_ACTIONS, Resource: p.aws.role.arn }] }];
                    probes.push({ partner: p.slug, via: arn, resource: `role ${p.aws.role.name}`, action: "sts:AssumeRole", planned: active ? "allowed" : "denied", window: active ? undefined : state, request: { ...base, principal, identityPolicies: allowSelf, context: ctx } });
                    if (p.aws.externalId) {
                        probes.push({ partner: p.slug, via: `${arn} (wrong external id)`, resource: `role ${p.aws.role.name}`, action: "sts:AssumeRole", planned: "denied", request: { ...base, principal, identityPolicies: allowSelf, context: { ...ctx, "sts:ExternalId": "guess" } } });
                    }
                }
            }
            for (const g of p.aws.googleIdentities) {
                const claims = { "aws:CurrentTime": plan.evaluatedAt, "accounts.google.com:aud": g.uniqueId, "accounts.google.com:sub": g.uniqueId, "accounts.google.com:oaud": plan.stage.aws.googleAudience };
                const web = { ...base, principal: "accounts.google.com", action: "sts:AssumeRoleWithWebIdentity" };
                probes.push({ partner: p.slug, via: g.email, resource: `role ${p.aws.role.name}`, action: "sts:AssumeRoleWithWebIdentity", planned: active ? "allowed" : "denied", window: active ? undefined : state, request: { ...web, context: claims } });
                probes.push({ partner: p.slug, via: `${g.email} (token for another audience)`, resource: `role ${p.aws.role.name}`, action: "sts:AssumeRoleWithWebIdentity", planned: "denied", request: { ...web, context: { ...claims, "accounts.google.com:oaud": "https://evil.example" } } });
                probes.push({ partner: p.slug, via: "another Google account", resource: `role ${p.aws.role.name}`, action: "sts:AssumeRoleWithWebIdentity", planned: "denied", request: { ...web, context: { ...claims, "accounts.google.com:aud": "999999999999999999999", "accounts.google.com:sub": "999999999999999999999" } } });
            }
        }
    }
    // Everyone else: anonymous, and a principal of our own account with a broad identity policy (the API's deny).
    const admin = `arn:aws:iam::${plan.stage.aws.accountId}:role/ops-admin`;
    const broad = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "execute-api:Invoke", Resource: "*" }] }];
    for (const rp of plan.routes.slice(0, 1)) {
        const path = samplePath(rp);
        probes.push({ partner: "(nobody)", via: "anonymous", resource: `api ${routeKey(rp)}`, action: "execute-api:Invoke", planned: "denied", request: awsRequest(s, r, { partner: "", via: "anonymous", principal: "anonymous", identityPolicies: [] }, "execute-api:Invoke", { request: { method: rp.method, path } }) });
        probes.push({ partner: "(nobody)", via: admin, resource: `api ${routeKey(rp)}`, action: "execute-api:Invoke", planned: "denied", request: awsRequest(s, r, { partner: "", via: admin, principal: admin, identityPolicies: broad }, "execute-api:Invoke", { request: { method: rp.method, path } }) });
    }
    const decisions = await decideAll(probes.map((p) => p.request), opts.progress);
    const cells = probes.map((p, i): Cell => ({ partner: p.partner, via: p.via, cloud: "aws", resource: p.resource, action: p.action, effective: effect(decisions[i]), planned: p.planned, ...(p.window ? { window: p.window } : {}) }));
    return { cells, findings };
}

const samplePath = (r: Route) => r.path.replace(/\{[^}]+\}/g, "42");

// ---------------------------------------------------------------------------
// Structure

const list = (v: unknown): any[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const lowerKeys = (o: any): Record<string, any> => Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k.toLowerCase(), v]));

interface StatementView {
    effect: string;
    principals: string[];
    notPrincipal: boolean;
    actions: string[];
    notAction: boolean;
    resources: string[];
    notResource: boolean;
    /** Lower-cased operator -> lower-cased key -> values. */
    condition: Record<string, Record<string, string[]>>;
}

function statements(document: any): StatementView[] {
    return list(lowerKeys(document).statement).map((raw) => {
        const st = lowerKeys(raw);
        const principal = st.principal;
        const principals = principal === "*" ? ["*"] : Object.values(lowerKeys(principal)).flatMap((v) => list(v).map(String));
        const condition: StatementView["condition"] = {};
        for (const [op, kv] of Object.entries(lowerKeys(st.condition))) condition[op] = Object.fromEntries(Object.entries(lowerKeys(kv)).map(([k, v]) => [k, list(v).map(String)]));
        return {
            effect: String(st.effect ?? "").toLowerCase(), principals, notPrincipal: st.notprincipal !== undefined,
            actions: list(st.action ?? st.notaction).map((a) => String(a).toLowerCase()), notAction: st.notaction !== undefined,
            resources: list(st.resource ?? st.notresource).map(String), notResource: st.notresource !== undefined, condition,
        };
    });
}

/** The principals an Allow statement admits: named principals, narrowed by an exact aws:PrincipalArn condition. */
function admitted(st: StatementView): { identities: AwsIdentity[]; unknown: string[] } {
    const pinned = [...(st.condition["arnequals"]?.["aws:principalarn"] ?? []), ...(st.condition["stringequals"]?.["aws:principalarn"] ?? [])];
    const named = pinned.length > 0 ? pinned : st.principals.map((p) => (/^\d{12}$/.test(p) ? `arn:aws:iam::${p}:root` : p));
    const identities: AwsIdentity[] = [];
    const unknown: string[] = [];
    for (const n of named) {
        const id = parseAwsIdentity(n);
        if (id) identities.push(id);
        else unknown.push(n);
    }
    // A pinned ARN must also lie within a named principal account, or the statement admits nobody; either way, no more.
    return { identities, unknown };
}

function structuralFindings(s: SynthOutput, r: RenderedStage): Finding[] {
    const plan = s.plan;
    const out: Finding[] = [];
    const bucket = `arn:aws:s3:::${plan.names.awsBucket}`;
    const apiPrefix = `arn:aws:execute-api:${plan.stage.aws.region}:${plan.stage.aws.accountId}:${r.apiId}/${plan.names.apiStageName}/`;
    const owners = ownerIndex(plan);
    const allowGlobs = new Map<string, Set<string>>();

    /** Resources and actions an Allow statement may hold for partner `p`. */
    const checkGrant = (where: string, p: PartnerPlan, st: StatementView): void => {
        if (st.notAction || st.notResource) {
            out.push({ cloud: "aws", where, partner: p.slug, message: "an Allow with NotAction or NotResource grants everything not listed" });
            return;
        }
        for (const a of st.actions) {
            const planned = [...p.aws.files.objectActions, ...(p.aws.files.list ? ["s3:ListBucket"] : []), ...(p.aws.routes.length ? ["execute-api:Invoke"] : [])].map((x) => x.toLowerCase());
            if (!planned.includes(a)) out.push({ cloud: "aws", where, partner: p.slug, message: `allows ${a}, which ${p.slug}'s plan does not grant` });
        }
        for (const res of st.resources) {
            if (res.startsWith(`${bucket}/`)) {
                if (!res.startsWith(`${bucket}/${p.prefix}`)) out.push({ cloud: "aws", where, partner: p.slug, message: `reaches ${res}, outside ${p.slug}'s prefix ${p.prefix}` });
            } else if (res === bucket) {
                const prefixes = [...(st.condition["stringlike"]?.["s3:prefix"] ?? []), ...(st.condition["stringequals"]?.["s3:prefix"] ?? [])];
                if (prefixes.length === 0 || prefixes.some((x) => !x.startsWith(p.prefix))) out.push({ cloud: "aws", where, partner: p.slug, message: `lists the bucket beyond ${p.prefix} (s3:prefix ${JSON.stringify(prefixes)})` });
            } else if (res.startsWith(apiPrefix) || res.startsWith(`arn:aws:execute-api:`)) {
                const glob = res.startsWith(apiPrefix) ? res.slice(apiPrefix.length) : undefined;
                const planned = allowGlobs.get(p.slug) ?? plannedGlobs(plan, p);
                allowGlobs.set(p.slug, planned);
                if (glob === undefined || !planned.has(glob)) out.push({ cloud: "aws", where, partner: p.slug, message: `invokes ${res}, not one of ${p.slug}'s routes` });
            } else {
                out.push({ cloud: "aws", where, partner: p.slug, message: `reaches ${res}, which no partner grant names` });
            }
        }
        if (!(st.condition["datelessthan"]?.["aws:currenttime"]) && p.aws.window.expires) {
            out.push({ cloud: "aws", where, partner: p.slug, message: `does not end on ${p.aws.window.expires}: the grant outlives its window` });
        }
    };

    // Roles: under the partner path, only planned ones; each trusts its own partner's principals and grants its own plan.
    const rolesByName = new Map(plan.partners.filter((p) => p.aws.role).map((p) => [p.aws.role!.name, p]));
    for (const [name, role] of r.roles) {
        const p = rolesByName.get(name);
        if (!p) {
            if (role.arn.includes(`:role${plan.names.rolePath}`)) out.push({ cloud: "aws", where: `role ${name}`, message: `a role under ${plan.names.rolePath} that no partner explains: the API exempts that path from its deny` });
            continue;
        }
        for (const st of statements(role.trust)) {
            if (st.effect !== "allow") continue;
            if (st.notPrincipal || st.principals.includes("*")) { out.push({ cloud: "aws", where: `trust of ${name}`, partner: p.slug, message: "trusts any principal" }); continue; }
            if (st.principals.includes("accounts.google.com")) {
                const subs = st.condition["stringequals"]?.["accounts.google.com:sub"] ?? [];
                const auds = st.condition["stringequals"]?.["accounts.google.com:aud"] ?? [];
                const ids = new Set(p.aws.googleIdentities.map((g) => g.uniqueId));
                if (subs.length === 0 || auds.length === 0 || ![...subs, ...auds].every((x) => ids.has(x))) {
                    out.push({ cloud: "aws", where: `trust of ${name}`, partner: p.slug, message: `trusts Google tokens not pinned to ${p.slug}'s service accounts (sub ${JSON.stringify(subs)}, aud ${JSON.stringify(auds)})` });
                }
                continue;
            }
            const { identities, unknown } = admitted(st);
            for (const u of unknown) out.push({ cloud: "aws", where: `trust of ${name}`, partner: p.slug, message: `trusts ${u}, which belongs to no partner of the plan` });
            for (const id of identities) checkPrincipal(out, `trust of ${name}`, p, id, owners);
        }
        for (const doc of role.policies) for (const st of statements(doc)) if (st.effect === "allow") checkGrant(`policy of ${name}`, p, st);
    }

    // Bucket and API resource policies: Allow only for direct partners, each on its own prefix and routes; the guards are there.
    const direct = plan.partners.filter((p) => p.aws.connect === "direct");
    for (const [where, document] of [["bucket policy", r.bucketPolicy], ["API resource policy", r.apiPolicy]] as const) {
        for (const st of statements(document)) {
            if (st.effect !== "allow") continue;
            if (st.notPrincipal || st.principals.includes("*")) { out.push({ cloud: "aws", where, message: "allows any principal" }); continue; }
            const { identities, unknown } = admitted(st);
            for (const u of unknown) out.push({ cloud: "aws", where, message: `allows ${u}, which belongs to no partner of the plan` });
            const holders = new Set(identities.map((id) => owners.find((o) => overlaps(o.id, id))?.partner).filter(Boolean));
            for (const id of identities) {
                const o = owners.find((x) => covers(x.id, id) || covers(id, x.id));
                if (!o) out.push({ cloud: "aws", where, message: `allows ${id.arn}, which belongs to no partner of the plan` });
                else if (!o.accepted) out.push({ cloud: "aws", where, partner: o.partner, message: `allows ${id.arn}, an identity of ${o.owner}: this stage does not accept ${o.environment}` });
                else if (!direct.some((p) => p.slug === o.partner)) out.push({ cloud: "aws", where, partner: o.partner, message: `allows ${id.arn} of ${o.partner}, which connects by role, not directly` });
                else if (covers(id, o.id) && id.kind === "root" && o.id.kind !== "root") out.push({ cloud: "aws", where, partner: o.partner, message: `allows ${id.arn}: a whole account where the plan names ${o.id.arn}` });
            }
            if (holders.size > 1) out.push({ cloud: "aws", where, message: `one statement admits several partners (${[...holders].join(", ")})` });
            const p = direct.find((x) => x.slug === [...holders][0]);
            if (p) checkGrant(where, p, st);
        }
    }
    const bucketDenies = statements(r.bucketPolicy).filter((st) => st.effect === "deny");
    if (!bucketDenies.some((st) => st.condition["bool"]?.["aws:securetransport"]?.includes("false"))) out.push({ cloud: "aws", where: "bucket policy", message: "does not deny requests without TLS" });
    if (!bucketDenies.some((st) => st.condition["null"]?.["s3:if-none-match"]?.includes("true"))) out.push({ cloud: "aws", where: "bucket policy", message: "does not refuse overwriting partner files (no If-None-Match rule)" });
    const deny = statements(r.apiPolicy).find((st) => st.effect === "deny" && st.principals.includes("*") && st.resources.some((x) => x.endsWith(`${r.apiId}/*`)));
    if (!deny) out.push({ cloud: "aws", where: "API resource policy", message: "has no deny for everyone who is neither a partner role nor a direct partner" });
    else {
        const exempt = deny.condition["stringnotequals"]?.["aws:principalaccount"] ?? [];
        const directAccounts = new Set(direct.flatMap((p) => p.aws.principals.map((a) => a.split(":")[4])));
        for (const a of exempt) {
            if (a === plan.stage.aws.accountId) out.push({ cloud: "aws", where: "API resource policy", message: `exempts our own account ${a} from the deny: any of its roles with execute-api:Invoke would reach every route` });
            else if (!directAccounts.has(a)) out.push({ cloud: "aws", where: "API resource policy", message: `exempts account ${a}, which no direct partner of this stage owns` });
        }
    }
    // Every operation of the API requires SigV4.
    const sigv4 = Object.entries(r.apiBody.securityDefinitions ?? {}).filter(([, d]: [string, any]) => d["x-amazon-apigateway-authtype"] === "awsSigv4").map(([n]) => n);
    for (const [path, ops] of Object.entries<any>(r.apiBody.paths ?? {})) {
        for (const [method, op] of Object.entries<any>(ops)) {
            const ok = list(op.security).length > 0 && list(op.security).every((req: object) => Object.keys(req).some((n) => sigv4.includes(n)));
            if (!ok) out.push({ cloud: "aws", where: `API ${method.toUpperCase()} ${path}`, message: "does not require SigV4 (AWS_IAM)" });
        }
    }
    return out;
}

function plannedGlobs(plan: AccessPlan, p: PartnerPlan): Set<string> {
    // The allow globs of the plan's own rendering are not consulted: a glob is planned if it covers only granted routes.
    const granted = new Set(p.aws.routes.map(routeKey));
    const out = new Set<string>();
    if (p.aws.routes.length > 0 && plan.routes.every((x) => granted.has(routeKey(x)))) out.add("*");
    for (const m of new Set(p.aws.routes.map((x) => x.method))) if (plan.routes.filter((x) => x.method === m).every((x) => granted.has(routeKey(x)))) out.add(`${m}/*`);
    for (const x of p.aws.routes) out.add(`${x.method}/${segments(x.path).map((sg) => (isParam(sg) ? "*" : sg)).join("/")}`);
    return out;
}

interface Owner {
    partner: string;
    owner: string;
    environment: string;
    accepted: boolean;
    id: AwsIdentity;
}

/** Every AWS identity the plan knows, and whether this stage accepts it. */
function ownerIndex(plan: AccessPlan): Owner[] {
    const out: Owner[] = [];
    for (const p of plan.partners) for (const arn of p.aws.principals) out.push({ partner: p.slug, owner: `${p.slug}/${p.environments.join("+")}`, environment: p.environments.join("+"), accepted: true, id: parseAwsIdentity(arn)! });
    for (const [slug, ids] of Object.entries(plan.otherStageIdentities)) for (const arn of ids.aws) out.push({ partner: slug, owner: `${slug} (another stage)`, environment: "another stage", accepted: false, id: parseAwsIdentity(arn)! });
    return out;
}

function checkPrincipal(out: Finding[], where: string, p: PartnerPlan, id: AwsIdentity, owners: Owner[]): void {
    const mine = owners.filter((o) => o.partner === p.slug && o.accepted);
    const others = owners.filter((o) => (o.partner !== p.slug || !o.accepted) && overlaps(o.id, id));
    for (const o of others) out.push({ cloud: "aws", where, partner: p.slug, message: `admits ${id.arn}, which ${id.kind === "root" ? "covers" : "is"} ${o.id.arn} of ${o.owner}` });
    if (!mine.some((o) => covers(o.id, id))) {
        if (!others.length) out.push({ cloud: "aws", where, partner: p.slug, message: `admits ${id.arn}, which belongs to no partner of the plan` });
        else if (mine.some((o) => covers(id, o.id))) out.push({ cloud: "aws", where, partner: p.slug, message: `admits ${id.arn}: more than ${p.slug}'s planned principals` });
    }
}
