/**
 * Reading IAM policy documents the way AWS does: a JSON string or an object,
 * keys in any case AWS accepts, single values or lists.
 */

export interface NormalStatement {
    effect: string;
    principal: unknown;
    notPrincipal: unknown;
    actions: string[];
    condition: Record<string, Record<string, string[]>>;
    raw: Record<string, unknown>;
}

export type Parsed = { statements: NormalStatement[] } | { error: string };

const lowerKeys = (o: unknown): Record<string, unknown> =>
    typeof o === "object" && o !== null && !Array.isArray(o) ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v])) : {};

export const list = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

export function parsePolicy(doc: unknown): Parsed {
    let value = doc;
    if (typeof doc === "string") {
        try {
            value = JSON.parse(doc);
        } catch (e) {
            return { error: `the policy is not valid JSON (${(e as Error).message})` };
        }
    }
    if (typeof value !== "object" || value === null) return { error: "the policy is not a JSON object" };
    const top = lowerKeys(value);
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
                condition,
                raw: st,
            };
        }),
    };
}

/** Every principal string of a Principal element: `"*"`, or the values of AWS/Federated/Service/CanonicalUser. */
export function principalValues(principal: unknown): string[] {
    if (principal === undefined || principal === null) return [];
    if (typeof principal === "string") return [principal];
    return Object.values(lowerKeys(principal)).flatMap((v) => list(v).map(String));
}

/** Why a principal string admits more than one identity, or undefined. */
export function wildcardPrincipal(p: string): string | undefined {
    if (p === "*") return `principal "*" (anyone)`;
    if (p.includes("*") || p.includes("?")) return `principal "${p}" contains a wildcard`;
    return undefined;
}

export const isAllow = (s: NormalStatement) => s.effect.toLowerCase() === "allow";
