/**
 * The routes table bundled next to the broker as `routes.json`: one entry per
 * outbound host, as the lead's registry validation produces it.
 */
import { createHash } from "node:crypto";
import { isHeaderName } from "./envelope";

export type TokenPlacement =
    /** The token is the whole value of this header, e.g. `X-Api-Key: <token>`. */
    | { header: string; scheme?: undefined }
    /** `Authorization: Bearer <token>` (header is normally "Authorization"). */
    | { header: string; scheme: "Bearer" }
    /** The token is this query parameter, e.g. `?api_key=<token>`. */
    | { query: string };

export interface Route {
    partner: string;
    host: string;
    token: TokenPlacement;
    callers: { aws?: string[]; gcp?: string[] };
    /** Secret slot per cloud: Secrets Manager secret name (AWS), Secret Manager secret resource name `projects/<p>/secrets/<id>` (GCP). */
    secret: { aws?: string; gcp?: string };
}

export interface BrokerRoutes {
    stage: string;
    routes: Route[];
}

/** File name of the routes table inside the deployed bundle (beside index.js). */
export const ROUTES_FILE = "routes.json";

/** Host names compare lower-case and without a trailing dot. */
export function normalizeHost(host: string): string {
    return host.toLowerCase().replace(/\.$/, "");
}

const ALIAS_MAX = 128;

/**
 * The Lambda alias that serves one outbound host: `<partner>-<first 10 hex of
 * sha256(host)>`. Valid alias name ([a-zA-Z0-9-_]+, at most 128 characters,
 * never all digits because of the dash), deterministic, and stable while the
 * partner slug and host stay the same.
 */
export function aliasName(partner: string, host: string): string {
    const hash = createHash("sha256").update(normalizeHost(host), "utf8").digest("hex").slice(0, 10);
    const slug = partner.replace(/[^a-zA-Z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "partner";
    return `${slug.slice(0, ALIAS_MAX - hash.length - 1)}-${hash}`;
}

/** Problems with a routes table; empty when it is usable. (The lead validates the registry; this guards the bundle.) */
export function routesProblems(table: unknown): string[] {
    const problems: string[] = [];
    if (typeof table !== "object" || table === null) return ["routes table must be an object {stage, routes}"];
    const t = table as Partial<BrokerRoutes>;
    if (typeof t.stage !== "string" || !t.stage) problems.push("stage must be a non-empty string");
    if (!Array.isArray(t.routes)) return [...problems, "routes must be an array"];
    const hosts = new Set<string>();
    const aliases = new Map<string, string>();
    t.routes.forEach((r, i) => {
        const at = `routes[${i}]`;
        if (typeof r !== "object" || r === null) return problems.push(`${at} must be an object`);
        if (typeof r.partner !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(r.partner)) problems.push(`${at}.partner must be a lower-case slug`);
        if (typeof r.host !== "string" || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(r.host)) {
            problems.push(`${at}.host must be a lower-case DNS name`);
        } else if (hosts.has(r.host)) {
            problems.push(`${at}.host ${r.host} is listed twice`);
        } else {
            hosts.add(r.host);
            const alias = aliasName(r.partner ?? "", r.host);
            if (aliases.has(alias)) problems.push(`${at}: alias ${alias} collides with ${aliases.get(alias)}`);
            aliases.set(alias, r.host);
        }
        const tok = r.token as Record<string, unknown> | undefined;
        if (!tok || typeof tok !== "object") problems.push(`${at}.token is missing`);
        else if ("query" in tok) {
            if (typeof tok.query !== "string" || !tok.query) problems.push(`${at}.token.query must be a parameter name`);
        } else if (typeof tok.header !== "string" || !isHeaderName(tok.header)) problems.push(`${at}.token.header must be a header name`);
        else if (tok.scheme !== undefined && tok.scheme !== "Bearer") problems.push(`${at}.token.scheme can only be "Bearer"`);
        if (typeof r.callers !== "object" || r.callers === null) problems.push(`${at}.callers is missing`);
        if (typeof r.secret !== "object" || r.secret === null) problems.push(`${at}.secret is missing`);
        return undefined;
    });
    return problems;
}

export function assertRoutes(table: unknown): BrokerRoutes {
    const problems = routesProblems(table);
    if (problems.length) throw new Error(`invalid broker routes table:\n  ${problems.join("\n  ")}`);
    return table as BrokerRoutes;
}
