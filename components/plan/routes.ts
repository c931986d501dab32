/**
 * API routes: the catalogue the API exposes ("METHOD /path") and the patterns a
 * partner is granted ("METHOD /path", `*` for any method, a path ending in `/*`
 * for every catalogued route below it). The syntax is defined here once, as
 * regular expression sources the JSON Schema uses; the functions below take
 * strings the schema has already accepted.
 */

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A literal segment (never `.` or `..`, which clients and proxies rewrite) or a `{param}`. */
const LITERAL = "(?!\\.\\.?(?:/|$))[A-Za-z0-9._~-]+";
const PARAM = "\\{[A-Za-z][A-Za-z0-9_]*\\}";
const METHOD = `(?:${HTTP_METHODS.join("|")})`;
/** A catalogue route: `GET /orders/{orderId}`. */
export const ROUTE = `^${METHOD} (?:/(?:${LITERAL}|${PARAM}))+$`;
/** A granted pattern: a route, `*` as method, and/or a trailing `/*` (everything catalogued below). */
export const ROUTE_PATTERN = `^(?:${METHOD}|\\*) (?:/\\*|(?:/(?:${LITERAL}|${PARAM}))+(?:/\\*)?)$`;

export interface Route {
    method: HttpMethod;
    /** Path with `{param}` segments, as API Gateway and OpenAPI write it, e.g. `/orders/{orderId}`. */
    path: string;
}

export interface RoutePattern {
    method: HttpMethod | "*";
    path: string;
    /** True when the path ended in `/*`: matches that path's catalogued descendants. */
    prefix: boolean;
}

export function routeKey(r: Route): string {
    return `${r.method} ${r.path}`;
}

/** A route string the schema accepted. */
export function parseRoute(text: string): Route {
    const [method, path] = text.split(" ");
    return { method: method as HttpMethod, path };
}

export function parseRoutePattern(text: string): RoutePattern {
    const [method, rawPath] = text.split(" ");
    const prefix = rawPath.endsWith("/*");
    return { method: method as RoutePattern["method"], path: prefix ? rawPath.slice(0, -2) || "/" : rawPath, prefix };
}

export const segments = (path: string): string[] => path.slice(1).split("/");
export const isParam = (segment: string): boolean => segment.startsWith("{");
export const pathParams = (path: string): string[] => segments(path).filter(isParam).map((s) => s.slice(1, -1));

export function matches(pattern: RoutePattern, route: Route): boolean {
    if (pattern.method !== "*" && pattern.method !== route.method) return false;
    if (!pattern.prefix) return pattern.path === route.path;
    return pattern.path === "/" || route.path.startsWith(pattern.path + "/");
}

/** Every catalogue route a list of patterns grants, in catalogue order. */
export function expand(patterns: RoutePattern[], catalogue: Route[]): Route[] {
    return catalogue.filter((r) => patterns.some((p) => matches(p, r)));
}

/**
 * Which catalogue route serves a concrete request path. A MODEL of API
 * Gateway's REST routing: a literal path part is preferred to a `{param}`
 * sibling, deciding at the first segment where two matching routes differ.
 * AWS documents "the most specific match first" for HTTP APIs ("Routing API
 * requests": an exact match before a path variable) but no precedence for
 * REST APIs; only a real API confirms it. A request no route matches is
 * refused before authorisation. The renderers never rely on this model for
 * safety (components/aws/route-coverage.ts); the review uses it to say which
 * route a hostile path reaches.
 */
export function routeFor(catalogue: Route[], method: string, path: string): Route | undefined {
    const parts = segments(path);
    const candidates = catalogue.filter((r) => r.method === method && segments(r.path).length === parts.length &&
        segments(r.path).every((s, i) => isParam(s) ? parts[i].length > 0 : s === parts[i]));
    return candidates.sort((a, b) => specificity(b, a))[0];
}

/** Positive when `a` wins over `b` for a path both match. */
export function specificity(a: Route, b: Route): number {
    const [sa, sb] = [segments(a.path), segments(b.path)];
    for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
        if (isParam(sa[i]) !== isParam(sb[i])) return isParam(sa[i]) ? -1 : 1;
    }
    return 0;
}
