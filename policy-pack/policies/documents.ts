/**
 * Reading IAM policy documents the way AWS does: a JSON string or an object,
 * keys in any case, single values or lists. The rules read what could open
 * access loosely (any key case, any value shape) and what closes it strictly.
 */
import * as YAML from "yaml";

export interface NormalStatement {
    effect: string;
    principal: unknown;
    notPrincipal: unknown;
    /** Lower-cased. */
    actions: string[];
    notActions: string[];
    resources: string[];
    notResources: string[];
    /** operator (lower case) -> condition key (lower case) -> values */
    condition: Record<string, Record<string, string[]>>;
    raw: Record<string, unknown>;
}

export type Parsed = { statements: NormalStatement[] } | { error: string };

class DuplicateKey extends Error {}

/**
 * An object's keys in lower case. Two keys that differ only in case are
 * refused: which one a service would honour is not documented, so a
 * `"Principal"` beside a `"principal"` could hide a grant from a reviewer.
 */
export function lowerKeys(o: unknown): Record<string, unknown> {
    if (typeof o !== "object" || o === null || Array.isArray(o)) return {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
        const lk = k.toLowerCase();
        if (lk in out) throw new DuplicateKey(`keys "${k}" and another differing only in case`);
        out[lk] = v;
    }
    return out;
}

/** A JSON object (not an array, not null). */
export const isObject = (v: unknown): v is Record<string, any> => typeof v === "object" && v !== null && !Array.isArray(v);

export const list = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

/** A JSON string or an object, as the AWS provider accepts for every policy input. */
export function asObject(doc: unknown): { value: unknown } | { error: string } {
    if (typeof doc !== "string") return { value: doc };
    try {
        return { value: JSON.parse(doc) };
    } catch (e) {
        return { error: `the policy is not valid JSON (${(e as Error).message})` };
    }
}

export function parsePolicy(doc: unknown): Parsed {
    const obj = asObject(doc);
    if ("error" in obj) return obj;
    if (typeof obj.value !== "object" || obj.value === null || Array.isArray(obj.value)) return { error: "the policy is not a JSON object" };
    try {
        const top = lowerKeys(obj.value);
        return {
            statements: list(top.statement).map((s) => {
                const st = lowerKeys(s);
                const condition: NormalStatement["condition"] = {};
                for (const [op, kv] of Object.entries(lowerKeys(st.condition))) {
                    condition[op] = Object.fromEntries(Object.entries(lowerKeys(kv)).map(([k, v]) => [k, list(v).map(String)]));
                }
                return {
                    effect: String(st.effect ?? ""),
                    principal: st.principal,
                    notPrincipal: st.notprincipal,
                    actions: list(st.action).map((a) => String(a).toLowerCase()),
                    notActions: list(st.notaction).map((a) => String(a).toLowerCase()),
                    resources: list(st.resource).map(String),
                    notResources: list(st.notresource).map(String),
                    condition,
                    raw: st,
                };
            }),
        };
    } catch (e) {
        if (e instanceof DuplicateKey) return { error: `the policy has ${e.message}` };
        throw e;
    }
}

/** Every principal string of a Principal element: `"*"`, or the values of AWS/Federated/Service/CanonicalUser. */
export function principalValues(principal: unknown): string[] {
    if (principal === undefined || principal === null) return [];
    if (typeof principal === "string") return [principal];
    return Object.values(lowerKeys(principal)).flatMap((v) => list(v).map(String));
}

/** The values under one kind of principal (`aws`, `service`, `federated`), any key case. */
export function principalsOfKind(principal: unknown, kind: string): string[] {
    if (typeof principal !== "object" || principal === null) return [];
    return list(lowerKeys(principal)[kind.toLowerCase()]).map(String);
}

/** Why a principal string admits more than one identity, or undefined. */
export function wildcardPrincipal(p: string): string | undefined {
    if (p === "*") return `principal "*" (anyone)`;
    if (p.includes("*") || p.includes("?")) return `principal "${p}" contains a wildcard`;
    return undefined;
}

export const isAllow = (s: NormalStatement) => s.effect.toLowerCase() === "allow";
export const isDeny = (s: NormalStatement) => s.effect.toLowerCase() === "deny";

/** True when a statement's principal is everyone: `"*"` or `{"AWS": "*"}`. */
export const isEveryone = (s: NormalStatement) => principalValues(s.principal).includes("*");

/**
 * IAM's wildcard matching of ARNs and actions: `*` any run of characters
 * (`/` included), `?` one character (IAM User Guide, "Resource" element,
 * wildcards; research aws.md §5e). Case-sensitive, as ARNs are.
 */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
    const re = "^" + pattern.split("").map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("") + "$";
    return new RegExp(re, ignoreCase ? "is" : "s").test(value);
}

/**
 * True when the pattern matches `prefix` followed by ANY non-empty text: it
 * ends in `*` and what comes before matches a prefix of `prefix`. (Sufficient,
 * not necessary: a pattern it cannot prove is treated as not covering.)
 */
export function coversEverythingUnder(pattern: string, prefix: string): boolean {
    if (!pattern.endsWith("*")) return false;
    const head = pattern.slice(0, -1);
    for (let i = 0; i <= prefix.length; i++) if (globMatch(head, prefix.slice(0, i))) return true;
    return false;
}

/** True when a statement's actions include `action` (IAM actions match case-insensitively, with wildcards). */
export function coversAction(s: NormalStatement, action: string): boolean {
    return s.notActions.length === 0 && s.actions.some((a) => globMatch(a, action.toLowerCase(), true));
}

/** Condition operators that pin a key to the listed values when it is present and refuse when absent. */
const PINNING_OPERATORS = new Set(["stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"]);

/**
 * The values a statement's condition pins `key` to, or undefined when it does
 * not pin it: only positive operators count. `...IfExists` passes when the key
 * is absent, `ForAllValues:` passes on an absent key, `Not...` and
 * `ForAnyValue:` admit other values (IAM User Guide, condition operators).
 */
export function pinnedValues(s: NormalStatement, key: string): string[] | undefined {
    const k = key.toLowerCase();
    const found: string[] = [];
    let pinned = false;
    for (const [op, kv] of Object.entries(s.condition)) {
        if (!PINNING_OPERATORS.has(op) || kv[k] === undefined) continue;
        pinned = true;
        found.push(...kv[k]);
    }
    return pinned ? found : undefined;
}

/** A value with no wildcard character (StringLike/ArnLike treat `*` and `?` as wildcards). */
export const exact = (v: string) => v !== "" && !v.includes("*") && !v.includes("?");

/**
 * A JSON or YAML document as the rules read it, refusing what another parser
 * could read differently: duplicate keys (which one a service keeps is not
 * documented), and anchors, aliases and merge keys (`<<`), which YAML 1.2
 * reads as a literal key but a YAML 1.1 importer would merge, so a policy or
 * an operation could hide in them. partner-access renders JSON.
 */
export function readYamlOrJson(text: string): { value: unknown } | { error: string } {
    const doc = YAML.parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) return { error: doc.errors[0].message.split("\n")[0] };
    let tricky: string | undefined;
    YAML.visit(doc, {
        Alias: () => void (tricky = "an alias"),
        Node: (_, node) => void ((node as { anchor?: string }).anchor && (tricky = "an anchor")),
        // A merge key is the string "<<" in YAML 1.2, and a symbol when the document asks for merging (!!merge, %YAML 1.1).
        Pair: (_, pair) => void (YAML.isScalar(pair.key) && (pair.key.value === "<<" || typeof pair.key.value === "symbol" || pair.key.source === "<<") && (tricky = "a merge key (<<)")),
    });
    if (tricky) return { error: `it uses ${tricky}, which parsers read differently` };
    return { value: doc.toJS() };
}
