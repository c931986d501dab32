/**
 * Exact route coverage for execute-api grants. A request for
 * `GET /reports/42/download` is authorised against the resource
 * `.../<stage>/GET/reports/42/download`. A route template matches one value
 * per `{param}` (`[^/]+`); IAM's `*` in a resource matches any characters,
 * `/` included ("IAM JSON policy elements: Resource": wildcards "can be used
 * in any segment of the ARN", and the multi-character match spans `/`). So the
 * grant for `GET /reports/{id}/download` (`GET/reports/*` + `/download`) also
 * covers `GET/reports/internal/x/download`, a request for another route.
 *
 * We decide coverage on the languages themselves (refa: regular expressions
 * as automata, intersection and emptiness), never on sample values:
 * - every ungranted catalogue route whose requests an Allow glob can match
 *   gets an explicit Deny (without relying on routing precedence: safe even if
 *   API Gateway routed an ambiguous path differently from our model);
 * - a Deny that would also match a request served by a granted route (under
 *   the routing model of routes.ts) makes the grant impossible to render
 *   exactly: it is refused before anything registers, naming both routes.
 */
import { DFA, JS, NFA, isDisjointWith } from "refa";
import { Route, isParam, routeKey, segments, specificity } from "../plan/routes";

/** Resource globs below `<api>/<stage>/`: what Allow and Deny statements name. */
export interface RouteGrant {
    allow: string[];
    deny: string[];
}

export interface RouteConflict {
    granted: Route;
    ungranted: Route;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

/** The request paths (after the stage) a route serves: `GET/orders/[^/]+`. */
export function routeLanguage(r: Route): string {
    return `${r.method}\\/${segments(r.path).map((s) => (isParam(s) ? "[^/]+" : escape(s))).join("\\/")}`;
}

/** The paths an IAM resource glob matches: `*` is any run of characters, `/` included. */
export function globLanguage(glob: string): string {
    return glob.split("*").map(escape).join("[^]*");
}

/** The resource glob of one route: `{param}` -> `*`. */
export function routeGlob(r: Route): string {
    return `${r.method}/${segments(r.path).map((s) => (isParam(s) ? "*" : s)).join("/")}`;
}

function nfa(source: string): NFA {
    const { expression, maxCharacter } = JS.Parser.fromLiteral({ source, flags: "" }).parse();
    return NFA.fromRegex(expression, { maxCharacter });
}

const union = (sources: string[]) => nfa(sources.map((s) => `(?:${s})`).join("|"));

/** Requests of `r` that the routing model gives to `r` (not to a more specific route). */
function servedBy(r: Route, catalogue: Route[]): NFA {
    const winners = catalogue.filter((o) => o !== r && o.method === r.method && segments(o.path).length === segments(r.path).length && specificity(o, r) > 0);
    if (winners.length === 0) return nfa(routeLanguage(r));
    const others = DFA.fromFA(union(winners.map(routeLanguage)));
    others.complement();
    return NFA.fromFA(DFA.fromIntersection(DFA.fromFA(nfa(routeLanguage(r))), others));
}

/**
 * The fewest globs that grant exactly `granted`: the whole stage, a whole
 * method, or single routes. Paths outside the catalogue do not exist on the
 * API, so a wildcard covering only granted catalogue routes grants nothing more.
 */
export function allowGlobs(catalogue: Route[], granted: Route[]): string[] {
    const keys = new Set(granted.map(routeKey));
    const covers = (pred: (r: Route) => boolean) => catalogue.filter(pred).every((r) => keys.has(routeKey(r)));
    if (granted.length > 0 && covers(() => true)) return ["*"];
    const out: string[] = [];
    for (const method of [...new Set(granted.map((r) => r.method))]) {
        if (covers((r) => r.method === method)) out.push(`${method}/*`);
        else out.push(...granted.filter((r) => r.method === method).map(routeGlob));
    }
    return out;
}

const cache = new WeakMap<Route[], Map<string, { grant: RouteGrant; conflicts: RouteConflict[] }>>();

/** Allow and Deny globs for a partner's routes, and what cannot be rendered exactly. */
export function routeGrant(catalogue: Route[], granted: Route[]): { grant: RouteGrant; conflicts: RouteConflict[] } {
    const key = granted.map(routeKey).sort().join("\n");
    let byGrant = cache.get(catalogue);
    if (!byGrant) cache.set(catalogue, (byGrant = new Map()));
    const hit = byGrant.get(key);
    if (hit) return hit;

    const allow = allowGlobs(catalogue, granted);
    const keys = new Set(granted.map(routeKey));
    const ungranted = catalogue.filter((r) => !keys.has(routeKey(r)));
    const result: { grant: RouteGrant; conflicts: RouteConflict[] } = { grant: { allow, deny: [] }, conflicts: [] };
    if (allow.length > 0 && ungranted.length > 0) {
        const allowed = union(allow.map(globLanguage));
        const shadowed = ungranted.filter((r) => !isDisjointWith(allowed, nfa(routeLanguage(r))));
        result.grant.deny = shadowed.map(routeGlob);
        for (const r of shadowed) {
            const denied = nfa(globLanguage(routeGlob(r)));
            for (const g of granted) {
                if (!isDisjointWith(denied, servedBy(g, catalogue))) result.conflicts.push({ granted: g, ungranted: r });
            }
        }
    }
    byGrant.set(key, result);
    return result;
}
