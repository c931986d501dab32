/** IAM policy document types and helpers shared by every AWS document builder. */
import { accountOfArn, isRootArn } from "../plan/identities";

export type Principal = "*" | { AWS?: string | string[]; Federated?: string; Service?: string | string[] };
export type Condition = Record<string, Record<string, string | string[] | boolean>>;

export interface Statement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: Principal;
    Action: string | string[];
    /** Absent in trust policies, required everywhere else. */
    Resource?: string | string[];
    Condition?: Condition;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: Statement[];
}

export function policy(statements: Statement[]): PolicyDocument {
    return { Version: "2012-10-17", Statement: statements };
}

/** Characters AWS counts against a policy size quota (it ignores white space). */
export function policySize(doc: PolicyDocument): number {
    return JSON.stringify(doc).length;
}

/**
 * Statement ids allow only [A-Za-z0-9] and must be unique in a document. A
 * slug has no capitals, so writing each `-` as `X` and capitalising the other
 * parts is one-to-one: two slugs never share a statement id
 * (`a-1` -> `aX1`, `a1` -> `a1`).
 */
export function sid(slug: string, ...parts: string[]): string {
    return slug.replace(/-/g, "X") + parts.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
}

/**
 * Who a resource or trust policy names for a list of partner ARNs.
 * AWS rewrites a role ARN principal to the role's unique id when it saves a
 * policy: if the partner recreates its role the grant silently dies, and saving
 * fails while the role does not exist. So the principal is the partner's
 * account and the exact ARNs go into an `aws:PrincipalArn` condition, which is
 * compared as text on every request. Account roots (explicit opt-in) trust the
 * whole account and need no condition.
 */
export interface PrincipalBlock {
    Principal: Principal;
    Condition?: Condition;
}

export function principalBlocks(arns: string[]): PrincipalBlock[] {
    const roots = arns.filter(isRootArn);
    const rootAccounts = new Set(roots.map(accountOfArn));
    const named = arns.filter((a) => !isRootArn(a) && !rootAccounts.has(accountOfArn(a)));
    const blocks: PrincipalBlock[] = [];
    if (named.length > 0) {
        const accounts = [...new Set(named.map(accountOfArn))].sort();
        blocks.push({
            Principal: { AWS: one(accounts.map((a) => `arn:aws:iam::${a}:root`)) },
            Condition: { ArnEquals: { "aws:PrincipalArn": one([...named].sort()) } },
        });
    }
    if (roots.length > 0) blocks.push({ Principal: { AWS: one([...roots].sort()) } });
    return blocks;
}

/** AWS accepts a single value or a list; a single value keeps documents small. */
export function one(values: string[]): string | string[] {
    return values.length === 1 ? values[0] : values;
}

export function mergeConditions(a: Condition | undefined, b: Condition | undefined): Condition | undefined {
    if (!a) return b;
    if (!b) return a;
    const out: Condition = { ...a };
    for (const [op, kv] of Object.entries(b)) out[op] = { ...(out[op] ?? {}), ...kv };
    return out;
}
