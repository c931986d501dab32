/**
 * The partner registry (`partners.yaml`): parsed and validated into plain data.
 * Every problem is collected and reported at once; nothing here knows Pulumi.
 */
import * as fs from "fs";
import * as YAML from "yaml";
import {
    AWS_ROLE_OR_USER_ARN, AWS_ROOT_ARN, ENVIRONMENT, EXTERNAL_ID, GCP_SERVICE_ACCOUNT_EMAIL, GCP_UNIQUE_ID, SLUG,
    wildcardReason,
} from "./identifiers";
import { InputError, PartnerProblems, Problems } from "./problems";
import { Route, RoutePattern, matches, parseRoute, parseRoutePattern, routeKey } from "./routes";

export const FILE_ACCESS = ["none", "read", "write", "read-write"] as const;
export type FileAccess = (typeof FILE_ACCESS)[number];
export const CONNECT_MODES = ["assume-role", "direct"] as const;
export type ConnectMode = (typeof CONNECT_MODES)[number];

export interface GcpIdentity {
    email: string;
    /** Numeric unique id; present only when the account may federate into AWS. */
    uniqueId?: string;
}

export interface EnvironmentIdentities {
    aws: string[];
    gcp: GcpIdentity[];
}

export interface CloudGrant {
    files: FileAccess;
    /** "all" or route patterns, resolved against the catalogue by the plan. */
    api: "all" | RoutePattern[];
}

export interface Partner {
    slug: string;
    name: string;
    contact: string;
    /** Account root ARNs (`arn:aws:iam::ACCOUNT:root`) trust a whole account: only with this opt-in. */
    allowAccountRoot: boolean;
    identities: Record<string, EnvironmentIdentities>;
    aws: CloudGrant & { connect: ConnectMode; externalId?: string };
    gcp: CloudGrant;
}

export interface Registry {
    file: string;
    routes: Route[];
    partners: Partner[];
}

export const MAX_API_RESOURCES = 300; // API Gateway REST API: resources per API (default quota)

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Obj, allowed: string[], field: string, report: (m: string, f: string) => void): void {
    for (const k of Object.keys(obj)) {
        if (!allowed.includes(k)) {
            const at = field ? `${field}.${k}` : k;
            report(`unknown field "${k}" (allowed: ${allowed.join(", ")})`, at);
        }
    }
}

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
    const problems = new Problems(file);
    const doc = YAML.parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) {
        for (const e of doc.errors) problems.add(`not valid YAML: ${e.message.split("\n")[0]}`);
        problems.throwIfAny();
    }
    const root = doc.toJS();
    if (!isObj(root)) {
        problems.add("the registry must be a YAML mapping with `version`, `api` and `partners`");
        problems.throwIfAny();
    }
    checkKeys(root, ["version", "api", "partners"], "", (m, f) => problems.add(m, f));
    if (root.version !== 1) problems.add(`unsupported version ${JSON.stringify(root.version)} (expected 1)`, "version");

    const routes = parseCatalogue(root.api, problems);
    const partners: Partner[] = [];
    if (!Array.isArray(root.partners) || root.partners.length === 0) {
        problems.add("the registry lists no partners (an empty registry would revoke everyone at once; remove the stack instead)", "partners");
    } else {
        const seen = new Map<string, number>();
        root.partners.forEach((raw: unknown, i: number) => {
            const label = isObj(raw) && typeof raw.slug === "string" && raw.slug ? raw.slug : `#${i}`;
            if (seen.has(label) && !label.startsWith("#")) {
                problems.add(`duplicate slug (also partners[${seen.get(label)}])`, `partners[${i}].slug`, label);
            }
            seen.set(label, i);
            const p = parsePartner(raw, problems.forPartner(label), routes);
            if (p) partners.push(p);
        });
        checkIdentitiesUnique(partners, problems);
    }
    problems.throwIfAny();
    return { file, routes, partners };
}

function parseCatalogue(api: unknown, problems: Problems): Route[] {
    if (!isObj(api)) {
        problems.add("missing the API route catalogue (`api.routes`)", "api");
        return [];
    }
    checkKeys(api, ["routes"], "api", (m, f) => problems.add(m, f));
    if (!Array.isArray(api.routes) || api.routes.length === 0) {
        problems.add("must list the routes the API exposes", "api.routes");
        return [];
    }
    const routes: Route[] = [];
    const keys = new Set<string>();
    api.routes.forEach((r: unknown, i: number) => {
        const parsed = parseRoute(r);
        if (typeof parsed === "string") return problems.add(parsed, `api.routes[${i}]`);
        if (keys.has(routeKey(parsed))) return problems.add(`duplicate route "${routeKey(parsed)}"`, `api.routes[${i}]`);
        keys.add(routeKey(parsed));
        routes.push(parsed);
    });
    const resources = new Set<string>();
    for (const r of routes) {
        const segs = r.path.split("/").slice(1);
        segs.forEach((_, i) => resources.add(segs.slice(0, i + 1).join("/")));
    }
    if (resources.size > MAX_API_RESOURCES) {
        problems.add(`the catalogue needs ${resources.size} API Gateway resources; a REST API allows ${MAX_API_RESOURCES}`, "api.routes");
    }
    return routes;
}

function str(v: unknown): v is string {
    return typeof v === "string" && v.trim().length > 0;
}

function parsePartner(raw: unknown, problems: PartnerProblems, catalogue: Route[]): Partner | undefined {
    if (!isObj(raw)) {
        problems.add("each partner must be a mapping");
        return undefined;
    }
    checkKeys(raw, ["slug", "name", "contact", "allowAccountRoot", "identities", "aws", "gcp"], "", (m, f) => problems.add(m, f));
    if (!str(raw.slug) || !SLUG.test(raw.slug)) {
        problems.add(`${JSON.stringify(raw.slug)} is not a slug: 2-20 lowercase letters, digits and single hyphens, starting with a letter`, "slug");
    }
    if (!str(raw.name)) problems.add("a display name is required", "name");
    if (!str(raw.contact) || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(raw.contact)) problems.add("a contact e-mail address is required", "contact");
    if (raw.allowAccountRoot !== undefined && typeof raw.allowAccountRoot !== "boolean") problems.add("must be true or false", "allowAccountRoot");
    const allowAccountRoot = raw.allowAccountRoot === true;

    const identities: Record<string, EnvironmentIdentities> = {};
    if (!isObj(raw.identities) || Object.keys(raw.identities).length === 0) {
        problems.add("at least one environment of identities is required (e.g. `prod:`)", "identities");
    } else {
        for (const [env, ids] of Object.entries(raw.identities)) {
            const f = `identities.${env}`;
            if (!ENVIRONMENT.test(env)) problems.add(`"${env}" is not an environment name (lowercase letters, digits, hyphens)`, f);
            identities[env] = parseEnvironment(ids, f, problems, allowAccountRoot);
        }
    }
    const aws = parseGrant(raw.aws, "aws", problems, catalogue, ["connect", "externalId"]);
    const connect = isObj(raw.aws) && raw.aws.connect !== undefined ? raw.aws.connect : "assume-role";
    if (!(CONNECT_MODES as readonly unknown[]).includes(connect)) problems.add(`must be one of ${CONNECT_MODES.join(", ")}`, "aws.connect");
    let externalId: string | undefined;
    if (isObj(raw.aws) && raw.aws.externalId !== undefined) {
        if (typeof raw.aws.externalId !== "string" || !EXTERNAL_ID.test(raw.aws.externalId)) {
            problems.add("must be 2-1224 characters of [A-Za-z0-9+=,.@:/_-]", "aws.externalId");
        } else if (connect !== "assume-role") {
            problems.add("an external id only applies to `connect: assume-role`", "aws.externalId");
        } else externalId = raw.aws.externalId;
    }
    const gcp = parseGrant(raw.gcp, "gcp", problems, catalogue, []);
    return {
        slug: raw.slug as string,
        name: raw.name as string,
        contact: raw.contact as string,
        allowAccountRoot,
        identities,
        aws: { ...aws, connect: connect as ConnectMode, externalId },
        gcp,
    };
}

function parseEnvironment(raw: unknown, field: string, problems: PartnerProblems, allowAccountRoot: boolean): EnvironmentIdentities {
    const result: EnvironmentIdentities = { aws: [], gcp: [] };
    if (!isObj(raw)) {
        problems.add("must be a mapping with `aws` and/or `gcp` identities", field);
        return result;
    }
    checkKeys(raw, ["aws", "gcp"], field, (m, f) => problems.add(m, f));
    if (raw.aws !== undefined) {
        if (!Array.isArray(raw.aws)) problems.add("must be a list of IAM role or user ARNs", `${field}.aws`);
        else raw.aws.forEach((arn: unknown, i: number) => {
            const f = `${field}.aws[${i}]`;
            if (typeof arn !== "string") return problems.add("must be an ARN string", f);
            const wild = wildcardReason(arn);
            if (wild) return problems.add(`"${arn}" ${wild}; name one IAM role or user`, f);
            if (AWS_ROOT_ARN.test(arn)) {
                if (!allowAccountRoot) return problems.add(`"${arn}" trusts every principal of that account; set allowAccountRoot: true to accept it`, f);
            } else if (!AWS_ROLE_OR_USER_ARN.test(arn)) {
                return problems.add(`"${arn}" is not an IAM role or user ARN (arn:aws:iam::<12 digits>:role/<name>)`, f);
            }
            result.aws.push(arn);
        });
    }
    if (raw.gcp !== undefined) {
        if (!Array.isArray(raw.gcp)) problems.add("must be a list of { email, uniqueId? }", `${field}.gcp`);
        else raw.gcp.forEach((sa: unknown, i: number) => {
            const f = `${field}.gcp[${i}]`;
            if (!isObj(sa)) return problems.add("must be a mapping { email, uniqueId? }", f);
            checkKeys(sa, ["email", "uniqueId"], f, (m, ff) => problems.add(m, ff));
            const email = sa.email;
            if (typeof email !== "string") return problems.add("a service account email is required", `${f}.email`);
            const wild = wildcardReason(email);
            if (wild) return problems.add(`"${email}" ${wild}; name one service account`, `${f}.email`);
            if (!GCP_SERVICE_ACCOUNT_EMAIL.test(email)) return problems.add(`"${email}" is not a service account email (<name>@<project>.iam.gserviceaccount.com)`, `${f}.email`);
            let uniqueId: string | undefined;
            if (sa.uniqueId !== undefined) {
                const id = typeof sa.uniqueId === "number" ? String(sa.uniqueId) : sa.uniqueId;
                // A YAML number this long has already lost precision: insist on a quoted string.
                if (typeof sa.uniqueId !== "string" || !GCP_UNIQUE_ID.test(sa.uniqueId)) {
                    return problems.add(`${JSON.stringify(id)} is not a service account unique id (21 digits, quoted)`, `${f}.uniqueId`);
                }
                uniqueId = sa.uniqueId;
            }
            result.gcp.push({ email, uniqueId });
        });
    }
    if (result.aws.length === 0 && result.gcp.length === 0 && raw.aws === undefined && raw.gcp === undefined) {
        problems.add("lists no identity", field);
    }
    return result;
}

function parseGrant(raw: unknown, field: string, problems: PartnerProblems, catalogue: Route[], extra: string[]): CloudGrant {
    const grant: CloudGrant = { files: "none", api: [] };
    if (raw === undefined) return grant;
    if (!isObj(raw)) {
        problems.add("must be a mapping with `files` and `api`", field);
        return grant;
    }
    checkKeys(raw, ["files", "api", ...extra], field, (m, f) => problems.add(m, f));
    if (raw.files !== undefined) {
        if (!(FILE_ACCESS as readonly unknown[]).includes(raw.files)) problems.add(`must be one of ${FILE_ACCESS.join(", ")}`, `${field}.files`);
        else grant.files = raw.files as FileAccess;
    }
    if (raw.api === "all") grant.api = "all";
    else if (raw.api !== undefined) {
        if (!Array.isArray(raw.api)) problems.add('must be "all" or a list of "METHOD /path" patterns', `${field}.api`);
        else {
            const patterns: RoutePattern[] = [];
            raw.api.forEach((text: unknown, i: number) => {
                const p = parseRoutePattern(text);
                if (typeof p === "string") return problems.add(p, `${field}.api[${i}]`);
                if (catalogue.length > 0 && !catalogue.some((r) => matches(p, r))) return problems.add(`"${text}" matches no route of api.routes`, `${field}.api[${i}]`);
                patterns.push(p);
            });
            grant.api = patterns;
        }
    }
    return grant;
}

/** One identity belongs to one partner and one environment, or stage isolation means nothing. */
function checkIdentitiesUnique(partners: Partner[], problems: Problems): void {
    const owner = new Map<string, string>();
    for (const p of partners) {
        for (const [env, ids] of Object.entries(p.identities)) {
            const all = [...ids.aws, ...ids.gcp.map((g) => g.email), ...ids.gcp.flatMap((g) => (g.uniqueId ? [g.uniqueId] : []))];
            for (const id of all) {
                const here = `${p.slug}/${env}`;
                const prev = owner.get(id);
                if (prev && prev !== here) problems.add(`"${id}" is also listed under ${prev}; an identity belongs to one partner environment`, `identities.${env}`, p.slug);
                else owner.set(id, here);
            }
        }
    }
}
