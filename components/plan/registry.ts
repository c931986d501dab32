/**
 * The partner registry (`partners.yaml`): parsed, checked against the schema
 * (schema.ts), then against the rules a schema cannot express: references to
 * the catalogue and to declared environments, one owner per identity (by what
 * each identity covers), retired slugs never reused, windows that make sense.
 * Every problem is collected and reported at once; nothing here knows Pulumi.
 */
import * as fs from "fs";
import { AwsIdentity, awsIdentity, gcpIdentityKeys, overlaps } from "./identities";
import { InputError, Problems, dotted } from "./problems";
import { SLUG, re } from "./identifiers";
import { ROUTE, Route, RoutePattern, expand, isParam, parseRoute, parseRoutePattern, routeKey, segments } from "./routes";
import { ConnectMode, DEFAULT_GRANT, FileAccess, OutboundDocument, PartnerDocument, PartnerSchema, RegistryDocument, RegistrySchema, RetiredSchema } from "./schema";
import { checkSchema, isValid } from "./schema-check";
import { Window, instant } from "./validity";
import { YamlSource } from "./yaml-source";

export interface GcpIdentity {
    email: string;
    /** Numeric unique id; present only when the account may federate into AWS. */
    uniqueId?: string;
}

export interface EnvironmentIdentities {
    aws: string[];
    gcp: GcpIdentity[];
}

export interface CloudGrant extends Window {
    files: FileAccess;
    /** "all" or route patterns, resolved against the catalogue by the plan. */
    api: "all" | RoutePattern[];
}

export type Outbound = OutboundDocument;

export interface Partner extends Window {
    slug: string;
    name: string;
    contact: string;
    /** Account root ARNs trust a whole account: only with this opt-in. */
    allowAccountRoot: boolean;
    identities: Record<string, EnvironmentIdentities>;
    aws: CloudGrant & { connect: ConnectMode; externalId?: string };
    gcp: CloudGrant;
    outbound: Outbound[];
}

export interface Retired {
    slug: string;
    retiredOn: string;
    reason: string;
}

export interface Registry {
    file: string;
    /** Partner environments, declared once; `production` ones are accepted only by production stages. */
    environments: Record<string, { production: boolean }>;
    routes: Route[];
    partners: Partner[];
    retired: Retired[];
    /** Line and column of a registry entry, for problems found later (stage rules). */
    locate: (path: (string | number)[]) => { line: number; column: number } | undefined;
}

/** API Gateway REST API: resources per API (default quota). */
export const MAX_API_RESOURCES = 300;

/** Reads and validates a registry file. Throws InputError listing every problem. */
export function loadRegistry(file: string): Registry {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new InputError([{ file, message: `cannot read the registry: ${(e as NodeJS.ErrnoException).code ?? e}` }]);
    }
    return parseRegistry(text, file);
}

export function parseRegistry(text: string, file: string): Registry {
    const source = new YamlSource(file, text);
    source.problems.throwIfAny();
    return checkRegistry(source.value, source.problems, (path) => source.locate(path));
}

/** Checks a registry already parsed from YAML (or built in memory), reporting into `problems`. */
export function checkRegistry(value: unknown, problems: Problems, locate: Registry["locate"] = () => undefined): Registry {
    const file = problems.file;
    const doc = value as RegistryDocument;
    // Problems inside a partner name the partner (by slug, or `#index` while the slug is unusable) and the field within it.
    const label = (i: number) => {
        const slug = (doc as any)?.partners?.[i]?.slug;
        return typeof slug === "string" && /^[a-z][a-z0-9-]*$/.test(slug) ? slug : `#${i}`;
    };
    checkSchema(RegistrySchema, doc, problems, (path) =>
        path[0] === "partners" && typeof path[1] === "number" && path.length > 2 ? { partner: label(path[1]), field: path.slice(2) } : { field: path });

    // The rules below need well-formed parts; they run on every part that is, so one run reports every problem.
    const raw = (doc ?? {}) as Partial<RegistryDocument>;
    const routes = Array.isArray(raw.api?.routes) && raw.api!.routes.every((r) => typeof r === "string" && re(ROUTE).test(r)) ? raw.api!.routes.map(parseRoute) : [];
    const environments = raw.environments && typeof raw.environments === "object" ? raw.environments : {};
    const entries = (Array.isArray(raw.partners) ? raw.partners : []).map((p, index) => ({ index, doc: p as PartnerDocument }))
        .filter((e) => isValid(PartnerSchema, e.doc)).map((e) => ({ ...e, partner: normalise(e.doc) }));
    const retired = Array.isArray(raw.retired) ? raw.retired.filter((r) => isValid(RetiredSchema, r)) : [];
    checkCatalogue(routes, problems);
    for (const e of entries) checkPartner(e.partner, e.index, e.doc, environments, routes, problems);
    const slugs = (Array.isArray(raw.partners) ? raw.partners : []).map((p: any, index) => ({ index, slug: p?.slug }))
        .filter((x): x is { index: number; slug: string } => typeof x.slug === "string" && re(SLUG).test(x.slug));
    checkSlugs(slugs, retired, problems);
    checkIdentityOwners(entries, problems);
    checkOutboundHosts(entries, problems);
    problems.throwIfAny();
    return { file, environments, routes, partners: entries.map((e) => e.partner), retired, locate };
}

interface Entry {
    index: number;
    doc: PartnerDocument;
    partner: Partner;
}

function normalise(p: PartnerDocument): Partner {
    const grant = (g: { files?: FileAccess; api?: "all" | string[]; notBefore?: string; expires?: string } | undefined): CloudGrant => ({
        files: g?.files ?? DEFAULT_GRANT.files,
        api: g?.api === "all" ? "all" : (g?.api ?? []).map(parseRoutePattern),
        notBefore: g?.notBefore,
        expires: g?.expires,
    });
    return {
        slug: p.slug,
        name: p.name,
        contact: p.contact,
        allowAccountRoot: p.allowAccountRoot ?? false,
        notBefore: p.notBefore,
        expires: p.expires,
        identities: Object.fromEntries(Object.entries(p.identities).map(([env, ids]) => [env, { aws: ids.aws ?? [], gcp: ids.gcp ?? [] }])),
        aws: { ...grant(p.aws), connect: p.aws?.connect ?? DEFAULT_GRANT.connect, externalId: p.aws?.externalId },
        gcp: grant(p.gcp),
        outbound: p.outbound ?? [],
    };
}

function checkCatalogue(routes: Route[], problems: Problems): void {
    // API Gateway allows one {param} child per resource: `/orders/{id}` and `/orders/{orderId}` cannot both exist.
    const paramAt = new Map<string, { name: string; index: number }>();
    const resources = new Set<string>();
    routes.forEach((r, i) => {
        const segs = segments(r.path);
        const names = segs.filter(isParam);
        if (new Set(names).size !== names.length) problems.add(`"${routeKey(r)}" names a path parameter twice`, ["api", "routes", i]);
        segs.forEach((s, depth) => {
            const parent = segs.slice(0, depth).join("/");
            resources.add(segs.slice(0, depth + 1).join("/"));
            if (!isParam(s)) return;
            const seen = paramAt.get(parent);
            if (!seen) paramAt.set(parent, { name: s, index: i });
            else if (seen.name !== s) {
                problems.add(`"${routeKey(r)}" has ${s} where api.routes[${seen.index}] has ${seen.name}: one parameter name per position (API Gateway and OpenAPI need it)`, ["api", "routes", i]);
            }
        });
    });
    if (resources.size > MAX_API_RESOURCES) {
        problems.add(`the catalogue needs ${resources.size} API Gateway resources; a REST API allows ${MAX_API_RESOURCES}`, ["api", "routes"]);
    }
}

function checkPartner(p: Partner, i: number, doc: PartnerDocument, environments: Record<string, unknown>, catalogue: Route[], problems: Problems): void {
    const at = (...rest: (string | number)[]) => ["partners", i, ...rest];
    const add = (message: string, ...rest: (string | number)[]) => problems.add(message, at(...rest), p.slug, dotted(rest));
    for (const env of Object.keys(p.identities)) {
        if (!(env in environments)) add(`"${env}" is not a declared environment (declared: ${Object.keys(environments).join(", ")})`, "identities", env);
    }
    for (const cloud of ["aws", "gcp"] as const) {
        const api = doc[cloud]?.api;
        if (Array.isArray(api) && catalogue.length > 0) api.forEach((text, j) => {
            if (expand([parseRoutePattern(text)], catalogue).length === 0) add(`"${text}" matches no route of api.routes`, cloud, "api", j);
        });
        checkWindow(p[cloud], (m, f) => add(m, cloud, f));
    }
    checkWindow(p, (m, f) => add(m, f));
    p.outbound.forEach((o, j) => {
        const header = o.token.header?.toLowerCase();
        if (header && ["host", "connection", "content-length", "transfer-encoding", "cookie", "proxy-authorization", "te", "upgrade"].includes(header)) {
            add(`"${o.token.header}" cannot carry a token: the broker controls that header`, "outbound", j, "token", "header");
        }
        if (o.token.scheme && header !== "authorization") add("scheme: Bearer applies to header: Authorization only", "outbound", j, "token", "scheme");
    });
}

function checkWindow(w: Window, add: (message: string, field: string) => void): void {
    for (const f of ["notBefore", "expires"] as const) {
        if (w[f] && Number.isNaN(instant(w[f]!).getTime())) add(`"${w[f]}" is not a real date`, f);
    }
    if (w.notBefore && w.expires && instant(w.notBefore) >= instant(w.expires)) add(`expires (${w.expires}) must come after notBefore (${w.notBefore})`, "expires");
}

/** Slugs name resources and data prefixes: unique among partners, and never reused after a partner retires. */
function checkSlugs(slugs: { index: number; slug: string }[], retired: Retired[], problems: Problems): void {
    const seen = new Map<string, number>();
    slugs.forEach(({ slug, index: i }) => {
        const p = { slug };
        if (seen.has(p.slug)) problems.add(`duplicate slug (also partners[${seen.get(p.slug)}])`, ["partners", i, "slug"], p.slug, `partners[${i}].slug`);
        else seen.set(p.slug, i);
        const r = retired.find((x) => x.slug === p.slug);
        if (r) {
            problems.add(`"${p.slug}" retired on ${r.retiredOn} (${r.reason}); a slug is never reused: its data under partners/${p.slug}/ stays the former partner's. Choose another slug.`,
                ["partners", i, "slug"], p.slug, "slug");
        }
    });
    const retiredSeen = new Set<string>();
    retired.forEach((r, i) => {
        if (retiredSeen.has(r.slug)) problems.add(`"${r.slug}" is retired twice`, ["retired", i, "slug"]);
        retiredSeen.add(r.slug);
    });
}

/**
 * One identity belongs to one partner and one environment, or stage isolation
 * means nothing. Compared by what each identity covers: an account root owns
 * every principal of its account; role paths and letter case do not make two
 * principals different.
 */
function checkIdentityOwners(entries: Entry[], problems: Problems): void {
    // Identities of different accounts never overlap: compare within an account only (linear in the registry).
    const byAccount = new Map<string, { id: AwsIdentity; owner: string }[]>();
    const gcp = new Map<string, { owner: string; value: string }>();
    entries.forEach(({ partner: p, index: i }) => {
        for (const [env, ids] of Object.entries(p.identities)) {
            const owner = `${p.slug}/${env}`;
            ids.aws.forEach((arn, j) => {
                const id = awsIdentity(arn);
                const at = ["partners", i, "identities", env, "aws", j];
                const same = byAccount.get(id.account) ?? [];
                for (const other of same) {
                    if (other.owner === owner || !overlaps(id, other.id)) continue;
                    problems.add(`"${arn}" ${relation(id, other.id)} "${other.id.arn}" of ${other.owner}: an identity, and every identity it covers, belongs to one partner environment`,
                        at, p.slug, `identities.${env}.aws[${j}]`);
                }
                same.push({ id, owner });
                byAccount.set(id.account, same);
            });
            ids.gcp.forEach((g, j) => {
                for (const key of gcpIdentityKeys(g)) {
                    const prev = gcp.get(key);
                    if (prev && prev.owner !== owner) {
                        problems.add(`"${key.split(":")[1]}" is also listed under ${prev.owner}; an identity belongs to one partner environment`,
                            ["partners", i, "identities", env, "gcp", j], p.slug, `identities.${env}.gcp[${j}]`);
                    } else gcp.set(key, { owner, value: key });
                }
            });
        }
    });
}

function relation(a: AwsIdentity, b: AwsIdentity): string {
    if (a.kind === "root" && b.kind !== "root") return "covers";
    if (b.kind === "root" && a.kind !== "root") return "is covered by";
    return a.arn === b.arn ? "is also listed as" : "is the same principal as";
}

function checkOutboundHosts(entries: Entry[], problems: Problems): void {
    const owner = new Map<string, string>();
    entries.forEach(({ partner: p, index: i }) => p.outbound.forEach((o, j) => {
        const prev = owner.get(o.host);
        if (prev) problems.add(`host ${o.host} is already an outbound host of ${prev}: one token per host`, ["partners", i, "outbound", j, "host"], p.slug, `outbound[${j}].host`);
        else owner.set(o.host, p.slug);
    }));
}
