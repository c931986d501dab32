/**
 * Every AWS policy document the stage needs, built from the access plan by
 * pure functions. Components only attach what these return.
 */
import { AccessPlan, PartnerPlan } from "../plan/access-plan";
import { accountOfArn } from "../plan/identifiers";
import { Route, routeKey } from "../plan/routes";
import { Condition, PolicyDocument, Statement, mergeConditions, one, policy, principalBlocks, sid } from "./iam-document";

export const ASSUME_ROLE_ACTIONS = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"];

export function bucketArn(plan: AccessPlan): string {
    return `arn:aws:s3:::${plan.names.awsBucket}`;
}

/** `arn:aws:execute-api:REGION:ACCOUNT:API_ID` */
export function apiArn(plan: AccessPlan, apiId: string): string {
    return `arn:aws:execute-api:${plan.stage.aws.region}:${plan.stage.aws.accountId}:${apiId}`;
}

/** execute-api ARN of one route; `{param}` segments become `*`. */
export function routeArn(plan: AccessPlan, apiId: string, r: Route): string {
    const path = r.path.slice(1).split("/").map((s) => (s.startsWith("{") ? "*" : s)).join("/");
    return `${apiArn(plan, apiId)}/${plan.names.apiStageName}/${r.method}/${path}`;
}

/**
 * The fewest execute-api ARNs that grant exactly `routes` of the catalogue:
 * the whole stage, a whole method, or single routes. Paths outside the
 * catalogue do not exist on the API, so a wildcard covering only granted
 * catalogue routes grants nothing more. Keeps resource policies small.
 */
export function routeResources(plan: AccessPlan, apiId: string, routes: Route[]): string[] {
    const granted = new Set(routes.map(routeKey));
    const covers = (pred: (r: Route) => boolean) => plan.routes.filter(pred).every((r) => granted.has(routeKey(r)));
    const stage = `${apiArn(plan, apiId)}/${plan.names.apiStageName}`;
    if (routes.length > 0 && covers(() => true)) return [`${stage}/*`];
    const out: string[] = [];
    for (const method of [...new Set(routes.map((r) => r.method))]) {
        if (covers((r) => r.method === method)) out.push(`${stage}/${method}/*`);
        else out.push(...routes.filter((r) => r.method === method).map((r) => routeArn(plan, apiId, r)));
    }
    return out;
}

/** IAM's `*` also matches `/`: the ARN of `GET /orders/{id}` covers `GET /orders/1/items` too. */
function arnPatternMatches(pattern: string, arn: string): boolean {
    const re = new RegExp("^" + pattern.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
    return re.test(arn);
}

/**
 * Catalogue routes a partner is NOT granted but whose ARN its granted ARNs
 * match: they get an explicit deny, so a wildcard for a path parameter never
 * reaches a deeper route.
 */
export function shadowedRoutes(plan: AccessPlan, p: PartnerPlan, routes: Route[], apiId: string): Route[] {
    const granted = new Set(routes.map(routeKey));
    const grantedArns = routeResources(plan, apiId, routes);
    return plan.routes.filter((r) => !granted.has(routeKey(r)) &&
        grantedArns.some((g) => arnPatternMatches(g, routeArn(plan, apiId, r).replace(/\*/g, "x"))));
}

function objectResource(plan: AccessPlan, p: PartnerPlan): string {
    return `${bucketArn(plan)}/${p.prefix}*`;
}

const listCondition = (p: PartnerPlan): Condition => ({ StringLike: { "s3:prefix": [p.prefix, `${p.prefix}*`] } });

/** The S3 statements of a partner's grant, without a principal. */
function s3Statements(plan: AccessPlan, p: PartnerPlan): Statement[] {
    const out: Statement[] = [];
    const s3 = p.aws.files;
    if (s3.objectActions.length > 0) {
        out.push({ Sid: sid(p.slug, "objects"), Effect: "Allow", Action: one(s3.objectActions), Resource: objectResource(plan, p) });
    }
    if (s3.list) {
        out.push({ Sid: sid(p.slug, "list"), Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn(plan), Condition: listCondition(p) });
    }
    return out;
}

/** The execute-api statements of a partner's grant, without a principal. */
function invokeStatements(plan: AccessPlan, p: PartnerPlan, apiId: string): Statement[] {
    const out: Statement[] = [];
    if (p.aws.routes.length > 0) {
        out.push({ Sid: sid(p.slug, "invoke"), Effect: "Allow", Action: "execute-api:Invoke", Resource: one(routeResources(plan, apiId, p.aws.routes)) });
        const shadowed = shadowedRoutes(plan, p, p.aws.routes, apiId);
        if (shadowed.length > 0) {
            out.push({ Sid: sid(p.slug, "not", "granted"), Effect: "Deny", Action: "execute-api:Invoke", Resource: one(shadowed.map((r) => routeArn(plan, apiId, r))) });
        }
    }
    return out;
}

/** With principals: one copy of each statement per principal block, Sids kept unique. */
function withPrincipals(statements: Statement[], arns: string[]): Statement[] {
    const blocks = principalBlocks(arns);
    return blocks.flatMap((b, i) => statements.map((s) => ({
        ...s,
        Sid: blocks.length > 1 ? `${s.Sid}${i}` : s.Sid,
        Principal: b.Principal,
        Condition: mergeConditions(s.Condition, b.Condition),
    })));
}

const directPartners = (plan: AccessPlan) => plan.partners.filter((p) => p.aws.connect === "direct" && p.aws.principals.length > 0);

/** Bucket policy: TLS only; `direct` partners' principals on their own prefix. */
export function bucketPolicy(plan: AccessPlan): PolicyDocument {
    const bucket = bucketArn(plan);
    const statements: Statement[] = [{
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucket, `${bucket}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    }];
    for (const p of directPartners(plan)) {
        statements.push(...withPrincipals(s3Statements(plan, p), p.aws.principals));
    }
    return policy(statements);
}

/**
 * REST API resource policy. `direct` partners need it (cross-account callers
 * need identity AND resource policy); partner roles are same-account callers
 * whose identity policy suffices. Everyone who is neither is denied outright.
 */
export function apiResourcePolicy(plan: AccessPlan, apiId: string): PolicyDocument {
    const statements: Statement[] = [];
    const directAccounts = new Set<string>();
    for (const p of directPartners(plan)) {
        if (p.aws.routes.length === 0) continue;
        statements.push(...withPrincipals(invokeStatements(plan, p, apiId), p.aws.principals));
        p.aws.principals.forEach((a) => directAccounts.add(accountOfArn(a)));
    }
    // Denied: anyone neither a partner role of this stage nor in a direct partner's account. Inside such an
    // account only the allowed principals get in: a cross-account caller needs an allow here.
    const condition: Condition = { ArnNotLike: { "aws:PrincipalArn": `arn:aws:iam::${plan.stage.aws.accountId}:role${plan.names.rolePath}*` } };
    if (directAccounts.size > 0) condition.StringNotEquals = { "aws:PrincipalAccount": one([...directAccounts].sort()) };
    statements.push({
        Sid: "DenyEveryoneElse",
        Effect: "Deny",
        Principal: "*",
        Action: "execute-api:Invoke",
        Resource: `${apiArn(plan, apiId)}/*`,
        Condition: condition,
    });
    return policy(statements);
}

/** Trust policy of a partner's role: its accepted AWS principals and/or its pinned Google accounts. */
export function trustPolicy(plan: AccessPlan, p: PartnerPlan): PolicyDocument {
    const role = p.aws.role;
    if (!role) throw new Error(`partner ${p.slug} has no role in stage ${plan.stage.stage}`);
    const statements: Statement[] = [];
    if (role.trustsAwsPrincipals) {
        const external: Condition | undefined = p.aws.externalId ? { StringEquals: { "sts:ExternalId": p.aws.externalId } } : undefined;
        statements.push(...withPrincipals([{ Sid: "PartnerPrincipals", Effect: "Allow", Action: ASSUME_ROLE_ACTIONS, Condition: external }], p.aws.principals));
    }
    // One statement per account: aud and sub pinned together, never an unconditioned Google trust.
    p.aws.googleIdentities.forEach((g, i) => statements.push({
        Sid: `GoogleServiceAccount${i}`,
        Effect: "Allow",
        Principal: { Federated: "accounts.google.com" },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
            StringEquals: {
                "accounts.google.com:aud": g.uniqueId,
                "accounts.google.com:sub": g.uniqueId,
                "accounts.google.com:oaud": plan.stage.aws.googleAudience,
            },
        },
    }));
    return policy(statements);
}

/** Identity policy of a partner's role: exactly its prefix actions and routes. */
export function rolePermissionPolicy(plan: AccessPlan, p: PartnerPlan, apiId: string): PolicyDocument {
    return policy([...s3Statements(plan, p), ...invokeStatements(plan, p, apiId)]);
}

/** The identity policy a partner attaches to its own principals, in its own account. */
export function partnerIdentityPolicy(plan: AccessPlan, p: PartnerPlan, apiId: string): PolicyDocument | undefined {
    if (p.aws.principals.length === 0) return undefined;
    if (p.aws.connect === "assume-role") {
        if (!p.aws.role?.trustsAwsPrincipals) return undefined;
        return policy([{ Sid: "AssumePartnerAccessRole", Effect: "Allow", Action: ASSUME_ROLE_ACTIONS, Resource: p.aws.role.arn }]);
    }
    return policy([...s3Statements(plan, p), ...invokeStatements(plan, p, apiId)]);
}
