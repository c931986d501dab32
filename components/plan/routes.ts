/**
 * API routes: the catalogue the API exposes ("METHOD /path") and the patterns a
 * partner is granted. A pattern is a catalogue route, `*` for any method, or a
 * path ending in `/*` for every catalogued path below it.
 */

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface Route {
    method: HttpMethod;
    /** Path with `{param}` segments, as API Gateway and OpenAPI write it, e.g. `/orders/{orderId}`. */
    path: string;
}

const SEGMENT = /^(?:[A-Za-z0-9._~-]+|\{[A-Za-z][A-Za-z0-9_]*\})$/;

export function routeKey(r: Route): string {
    return `${r.method} ${r.path}`;
}

/** Parses a catalogue route; returns an error message instead of throwing. */
export function parseRoute(text: unknown): Route | string {
    if (typeof text !== "string") return `must be a string "METHOD /path", got ${JSON.stringify(text)}`;
    const m = /^([A-Z]+) (\/\S*)$/.exec(text);
    if (!m) return `"${text}" is not "METHOD /path"`;
    const [, method, path] = m;
    if (!(HTTP_METHODS as readonly string[]).includes(method)) return `"${text}": unknown method ${method} (one of ${HTTP_METHODS.join(", ")})`;
    const pathError = checkPath(path, false);
    if (pathError) return `"${text}": ${pathError}`;
    return { method: method as HttpMethod, path };
}

export interface RoutePattern {
    method: HttpMethod | "*";
    path: string;
    /** True when the path ended in `/*`: matches that path's catalogued descendants. */
    prefix: boolean;
}

export function parseRoutePattern(text: unknown): RoutePattern | string {
    if (typeof text !== "string") return `must be a string "METHOD /path", got ${JSON.stringify(text)}`;
    const m = /^([A-Z]+|\*) (\/\S*)$/.exec(text);
    if (!m) return `"${text}" is not "METHOD /path" (METHOD may be *, a path may end in /*)`;
    const [, method, rawPath] = m;
    if (method !== "*" && !(HTTP_METHODS as readonly string[]).includes(method)) return `"${text}": unknown method ${method}`;
    const prefix = rawPath.endsWith("/*");
    const path = prefix ? rawPath.slice(0, -2) || "/" : rawPath;
    const pathError = checkPath(path, true);
    if (pathError) return `"${text}": ${pathError}`;
    return { method: method as HttpMethod | "*", path, prefix };
}

function checkPath(path: string, allowRoot: boolean): string | undefined {
    if (path === "/") return allowRoot ? undefined : "the root path cannot be a route";
    if (path.endsWith("/")) return "path must not end with /";
    const segments = path.slice(1).split("/");
    for (const s of segments) {
        if (!SEGMENT.test(s)) return `path segment "${s}" is not a literal ([A-Za-z0-9._~-]) or a {param}`;
    }
    return undefined;
}

export function matches(pattern: RoutePattern, route: Route): boolean {
    if (pattern.method !== "*" && pattern.method !== route.method) return false;
    if (!pattern.prefix) return pattern.path === route.path;
    return pattern.path === "/" || route.path.startsWith(pattern.path + "/");
}

/** Every catalogue route a list of patterns grants, in catalogue order. */
export function expand(patterns: RoutePattern[], catalogue: Route[]): Route[] {
    return catalogue.filter((r) => patterns.some((p) => matches(p, r)));
}
