/**
 * Every AWS policy document the stage needs, built from the access plan by
 * pure functions. Components only attach what these return.
 */
import { AccessPlan, PartnerPlan } from "../plan/access-plan";
import { accountOfArn } from "../plan/identities";
import { Window, isoInstant } from "../plan/validity";
import { Condition, PolicyDocument, Statement, mergeConditions, one, policy, principalBlocks, sid } from "./iam-document";
import { routeGrant } from "./route-coverage";

export const ASSUME_ROLE_ACTIONS = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"];

export function bucketArn(plan: AccessPlan): string {
    return `arn:aws:s3:::${plan.names.awsBucket}`;
}

/** `arn:aws:execute-api:REGION:ACCOUNT:API_ID` */
export function apiArn(plan: AccessPlan, apiId: string): string {
    return `arn:aws:execute-api:${plan.stage.aws.region}:${plan.stage.aws.accountId}:${apiId}`;
}

/**
 * Resource policies name the API in API Gateway's short form, which it
 * expands to the API's own ARN when it saves the policy ("API Gateway
 * resource policy examples": `execute-api:/stage-name/GET/pets` becomes
 * `arn:aws:execute-api:REGION:ACCOUNT:API_ID/stage-name/GET/pets`). The policy
 * then needs no API id: it is known in a first preview and can live on the
 * RestApi itself.
 */
export const API_SELF = "execute-api:";

/** Where a route glob points: below the stage of `api` (an ARN, or API_SELF). */
const stageResource = (plan: AccessPlan, api: string, glob: string) => `${api}/${plan.names.apiStageName}/${glob}`;

/** `aws:CurrentTime` bounds: IAM enforces the window at every request, with no deploy on the day. */
export function windowCondition(w: Window): Condition | undefined {
    const c: Condition = {};
    if (w.notBefore) c.DateGreaterThanEquals = { "aws:CurrentTime": isoInstant(w.notBefore) };
    if (w.expires) c.DateLessThan = { "aws:CurrentTime": isoInstant(w.expires) };
    return Object.keys(c).length > 0 ? c : undefined;
}

function objectResource(plan: AccessPlan, p: PartnerPlan): string {
    return `${bucketArn(plan)}/${p.prefix}*`;
}

const listCondition = (p: PartnerPlan): Condition => ({ StringLike: { "s3:prefix": [p.prefix, `${p.prefix}*`] } });

/** The S3 statements of a partner's grant, without a principal. */
function s3Statements(plan: AccessPlan, p: PartnerPlan): Statement[] {
    const out: Statement[] = [];
    const s3 = p.aws.files;
    const when = windowCondition(p.aws.window);
    if (s3.objectActions.length > 0) {
        out.push({ Sid: sid(p.slug, "objects"), Effect: "Allow", Action: one(s3.objectActions), Resource: objectResource(plan, p), Condition: when });
    }
    if (s3.list) {
        out.push({ Sid: sid(p.slug, "list"), Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn(plan), Condition: mergeConditions(listCondition(p), when) });
    }
    return out;
}

/** The execute-api statements of a partner's grant, without a principal: exact allow globs and the denies they need. */
function invokeStatements(plan: AccessPlan, p: PartnerPlan, api: string): Statement[] {
    if (p.aws.routes.length === 0) return [];
    const { grant } = routeGrant(plan.routes, p.aws.routes);
    const out: Statement[] = [{
        Sid: sid(p.slug, "invoke"), Effect: "Allow", Action: "execute-api:Invoke",
        Resource: one(grant.allow.map((g) => stageResource(plan, api, g))), Condition: windowCondition(p.aws.window),
    }];
    if (grant.deny.length > 0) {
        out.push({ Sid: sid(p.slug, "notGranted"), Effect: "Deny", Action: "execute-api:Invoke", Resource: one(grant.deny.map((g) => stageResource(plan, api, g))) });
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

export const directPartners = (plan: AccessPlan) => plan.partners.filter((p) => p.aws.connect === "direct" && p.aws.principals.length > 0);

/**
 * Bucket policy: TLS only; nobody overwrites a file under partners/ (see
 * plan/capabilities.ts); `direct` partners' principals on their own prefix.
 */
export function bucketPolicy(plan: AccessPlan): PolicyDocument {
    const bucket = bucketArn(plan);
    const statements: Statement[] = [{
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucket, `${bucket}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    }, {
        Sid: "DenyOverwritingPartnerFiles",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:PutObject",
        Resource: `${bucket}/partners/*`,
        Condition: { Null: { "s3:if-none-match": "true" }, Bool: { "s3:ObjectCreationOperation": "true" } },
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
 * Partner principals are never in our own account (stage-rules.ts), so the
 * accounts exempted here are partners' accounts only.
 */
export function apiResourcePolicy(plan: AccessPlan): PolicyDocument {
    const statements: Statement[] = [];
    const directAccounts = new Set<string>();
    for (const p of directPartners(plan)) {
        if (p.aws.routes.length === 0) continue;
        statements.push(...withPrincipals(invokeStatements(plan, p, API_SELF), p.aws.principals));
        p.aws.principals.forEach((a) => directAccounts.add(accountOfArn(a)));
    }
    const condition: Condition = { ArnNotLike: { "aws:PrincipalArn": `arn:aws:iam::${plan.stage.aws.accountId}:role${plan.names.rolePath}*` } };
    if (directAccounts.size > 0) condition.StringNotEquals = { "aws:PrincipalAccount": one([...directAccounts].sort()) };
    statements.push({
        Sid: "DenyEveryoneElse",
        Effect: "Deny",
        Principal: "*",
        Action: "execute-api:Invoke",
        Resource: `${API_SELF}/*`,
        Condition: condition,
    });
    return policy(statements);
}

/** Trust policy of a partner's role: its accepted AWS principals and/or its pinned Google accounts, within its window. */
export function trustPolicy(plan: AccessPlan, p: PartnerPlan): PolicyDocument {
    const role = p.aws.role;
    if (!role) throw new Error(`partner ${p.slug} has no role in stage ${plan.stage.stage}`);
    const when = windowCondition(p.aws.window);
    const statements: Statement[] = [];
    if (role.trustsAwsPrincipals) {
        const external: Condition | undefined = p.aws.externalId ? { StringEquals: { "sts:ExternalId": p.aws.externalId } } : undefined;
        statements.push(...withPrincipals([{ Sid: "PartnerPrincipals", Effect: "Allow", Action: ASSUME_ROLE_ACTIONS, Condition: mergeConditions(external, when) }], p.aws.principals));
    }
    // One statement per account: aud and sub pinned together, never an unconditioned Google trust.
    p.aws.googleIdentities.forEach((g, i) => statements.push({
        Sid: `GoogleServiceAccount${i}`,
        Effect: "Allow",
        Principal: { Federated: "accounts.google.com" },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: mergeConditions({
            StringEquals: {
                "accounts.google.com:aud": g.uniqueId,
                "accounts.google.com:sub": g.uniqueId,
                "accounts.google.com:oaud": plan.stage.aws.googleAudience,
            },
        }, when),
    }));
    return policy(statements);
}

/** Identity policy of a partner's role: exactly its prefix actions and routes. */
export function rolePermissionPolicy(plan: AccessPlan, p: PartnerPlan, apiId: string): PolicyDocument {
    return policy([...s3Statements(plan, p), ...invokeStatements(plan, p, apiArn(plan, apiId))]);
}

/** The identity policy a partner attaches to its own principals, in its own account. */
export function partnerIdentityPolicy(plan: AccessPlan, p: PartnerPlan, apiId: string): PolicyDocument | undefined {
    if (p.aws.principals.length === 0) return undefined;
    if (p.aws.connect === "assume-role") {
        if (!p.aws.role?.trustsAwsPrincipals) return undefined;
        return policy([{ Sid: "AssumePartnerAccessRole", Effect: "Allow", Action: ASSUME_ROLE_ACTIONS, Resource: p.aws.role.arn }]);
    }
    return policy([...s3Statements(plan, p), ...invokeStatements(plan, p, apiArn(plan, apiId))]);
}
