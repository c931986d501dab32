/**
 * The heart of the AWS side: the policies synth rendered, evaluated by a real
 * IAM evaluator, grant each partner exactly its plan, and nobody else anything.
 */
import { strict as assert } from "assert";
import { PartnerPlan } from "../components/plan/access-plan";
import { Route } from "../components/plan/routes";
import { Decision, Request, decide } from "../tools/access/iam-eval";
import { SynthOutput, doc, ofType, one, synthStack } from "./support/synth-runs";
import { sampleRegistryObject } from "./support/fixtures";

interface Caller {
    label: string;
    principal: string;
    identityPolicies: unknown[];
}

function rendered(s: SynthOutput) {
    const roles = ofType(s, "aws:iam/role:Role");
    const grants = ofType(s, "aws:iam/rolePolicy:RolePolicy");
    return {
        account: s.plan.stage.aws.accountId,
        bucket: s.outputs.aws.bucketName as string,
        apiId: s.outputs.aws.apiId as string,
        bucketPolicy: doc(one(s, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy),
        apiPolicy: doc(one(s, "aws:apigateway/restApiPolicy:RestApiPolicy").inputs.policy),
        trust: (roleName: string) => doc(roles.find((r) => r.inputs.name === roleName)!.inputs.assumeRolePolicy),
        grant: (roleName: string) => doc(grants.find((g) => g.inputs.role === roleName)!.inputs.policy),
    };
}

/** How a partner calls us on AWS: as its role in our account, or (direct) as its own principals. */
function callers(s: SynthOutput, p: PartnerPlan): Caller[] {
    const r = rendered(s);
    const out: Caller[] = [];
    if (p.aws.role) out.push({ label: `${p.slug} role`, principal: p.aws.role.arn, identityPolicies: [r.grant(p.aws.role.name)] });
    if (p.aws.connect === "direct") {
        for (const arn of p.aws.principals) out.push({ label: `${p.slug} ${arn}`, principal: arn, identityPolicies: [s.outputs.partners[p.slug].aws.identityPolicy] });
    }
    return out;
}

const concrete = (route: Route) => route.path.replace(/\{[^}]+\}/g, "42");

function ask(s: SynthOutput, c: Caller, action: string, target: { object?: string; list?: string; route?: Route }, context: Record<string, string> = {}): Promise<Decision> {
    const r = rendered(s);
    const base = { principal: c.principal, identityPolicies: c.identityPolicies, context };
    let req: Request;
    if (target.object !== undefined) req = { ...base, action, resource: `arn:aws:s3:::${r.bucket}/${target.object}`, resourceAccount: r.account, resourcePolicy: r.bucketPolicy };
    else if (target.list !== undefined) req = { ...base, action: "s3:ListBucket", resource: `arn:aws:s3:::${r.bucket}`, resourceAccount: r.account, resourcePolicy: r.bucketPolicy, context: { ...context, "s3:prefix": target.list } };
    else req = { ...base, action: "execute-api:Invoke", resource: `arn:aws:execute-api:${s.plan.stage.aws.region}:${r.account}:${r.apiId}/${s.plan.names.apiStageName}/${target.route!.method}${concrete(target.route!)}`, resourceAccount: r.account, resourcePolicy: r.apiPolicy };
    return decide(req);
}

const ALL_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"];

for (const stack of ["stag", "prod"]) {
    describe(`AWS access, evaluated (${stack})`, () => {
        const s = synthStack(stack);
        const withAws = s.plan.partners.filter((p) => callers(s, p).length > 0);

        it("has partners that reach AWS in this stage", () => assert.ok(withAws.length >= 2));

        for (const p of s.plan.partners) {
            for (const c of callers(s, p)) {
                it(`${c.label}: exactly its own prefix's actions, nothing of others'`, async () => {
                    for (const action of ALL_OBJECT_ACTIONS) {
                        const expected = p.aws.files.objectActions.includes(action) ? "Allowed" : "not allowed";
                        const got = await ask(s, c, action, { object: `${p.prefix}report.csv` });
                        assert.equal(got === "Allowed" ? "Allowed" : "not allowed", expected, `${action} on own prefix`);
                    }
                    assert.equal(await ask(s, c, "s3:ListBucket", { list: p.prefix }), p.aws.files.list ? "Allowed" : "ImplicitlyDenied", "list own prefix");
                    assert.notEqual(await ask(s, c, "s3:ListBucket", { list: "partners/" }), "Allowed", "list all partners");
                    assert.notEqual(await ask(s, c, "s3:GetObject", { object: "outside-any-prefix.csv" }), "Allowed");
                    for (const q of s.plan.partners.filter((x) => x.slug !== p.slug)) {
                        for (const action of ALL_OBJECT_ACTIONS) assert.notEqual(await ask(s, c, action, { object: `${q.prefix}report.csv` }), "Allowed", `${action} on ${q.slug}'s prefix`);
                        assert.notEqual(await ask(s, c, "s3:ListBucket", { list: q.prefix }), "Allowed", `list ${q.slug}'s prefix`);
                    }
                    // A prefix that merely starts with the slug belongs to someone else.
                    assert.notEqual(await ask(s, c, "s3:GetObject", { object: `partners/${p.slug}-evil/x` }), "Allowed");
                });

                it(`${c.label}: exactly its own routes`, async () => {
                    const granted = new Set(p.aws.routes.map((r) => `${r.method} ${r.path}`));
                    for (const route of s.plan.routes) {
                        const got = await ask(s, c, "execute-api:Invoke", { route });
                        assert.equal(got === "Allowed", granted.has(`${route.method} ${route.path}`), `${route.method} ${route.path}: ${got}`);
                    }
                });

                it(`${c.label}: refused without TLS`, async () => {
                    const action = p.aws.files.objectActions[0] ?? "s3:GetObject";
                    assert.equal(await ask(s, c, action, { object: `${p.prefix}report.csv` }, { "aws:SecureTransport": "false" }), "ExplicitlyDenied");
                });
            }
        }

        it("refuses anonymous callers everywhere", async () => {
            const r = rendered(s);
            for (const p of s.plan.partners) {
                assert.notEqual(await decide({ principal: "anonymous", action: "s3:GetObject", resource: `arn:aws:s3:::${r.bucket}/${p.prefix}x`, resourceAccount: r.account, resourcePolicy: r.bucketPolicy }), "Allowed");
            }
            for (const route of s.plan.routes) {
                assert.notEqual(await decide({ principal: "anonymous", action: "execute-api:Invoke", resource: `arn:aws:execute-api:${s.plan.stage.aws.region}:${r.account}:${r.apiId}/${stack}/${route.method}${concrete(route)}`, resourceAccount: r.account, resourcePolicy: r.apiPolicy }), "Allowed");
            }
        });

        it("refuses an unrelated principal of our own account on the API, even with a broad identity policy", async () => {
            const r = rendered(s);
            const admin = { label: "admin", principal: `arn:aws:iam::${r.account}:role/ops-admin`, identityPolicies: [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "execute-api:Invoke", Resource: "*" }] }] };
            assert.equal(await ask(s, admin, "execute-api:Invoke", { route: s.plan.routes[0] }), "ExplicitlyDenied");
        });

        it("lets each partner's accepted principals assume its role, with the external id where one is set", async () => {
            const r = rendered(s);
            for (const p of s.plan.partners.filter((x) => x.aws.role?.trustsAwsPrincipals)) {
                for (const arn of p.aws.principals) {
                    const principal = arn.endsWith(":root") ? arn.replace(":root", ":role/any-role-in-that-account") : arn;
                    const req = {
                        principal, action: "sts:AssumeRole", resource: p.aws.role!.arn, resourceAccount: r.account,
                        resourcePolicy: r.trust(p.aws.role!.name), identityPolicies: [s.outputs.partners[p.slug].aws.identityPolicy],
                    };
                    const external: Record<string, string> = p.aws.externalId ? { "sts:ExternalId": p.aws.externalId } : {};
                    assert.equal(await decide({ ...req, context: external }), "Allowed", `${arn} -> ${p.slug}`);
                    if (p.aws.externalId) assert.notEqual(await decide({ ...req, context: { "sts:ExternalId": "guess" } }), "Allowed", "wrong external id");
                    if (!arn.endsWith(":root")) {
                        const sibling = arn.replace(/[^/]+$/, "someone-else");
                        assert.notEqual(await decide({ ...req, principal: sibling, context: external }), "Allowed", `${sibling} is not trusted`);
                    }
                }
            }
        });

        it("refuses the other stage's identities, on roles, bucket and API", async () => {
            const r = rendered(s);
            const other = stack === "prod" ? ["dev", "stag"] : ["prod"];
            const registry = sampleRegistryObject();
            for (const p of s.plan.partners) {
                const foreign: string[] = other.flatMap((env) => registry.partners.find((x: any) => x.slug === p.slug).identities[env]?.aws ?? []);
                for (const arn of foreign) {
                    const principal = arn.endsWith(":root") ? arn.replace(":root", ":role/any") : arn;
                    const anything = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }];
                    if (p.aws.role) {
                        assert.notEqual(await decide({ principal, action: "sts:AssumeRole", resource: p.aws.role.arn, resourceAccount: r.account, resourcePolicy: r.trust(p.aws.role.name), identityPolicies: anything, context: p.aws.externalId ? { "sts:ExternalId": p.aws.externalId } : {} }), "Allowed", `${arn} assumes ${p.slug}'s ${stack} role`);
                    }
                    const c = { label: arn, principal, identityPolicies: anything };
                    assert.notEqual(await ask(s, c, "s3:GetObject", { object: `${p.prefix}x` }), "Allowed", `${arn} reads ${p.slug}'s ${stack} files`);
                    assert.notEqual(await ask(s, c, "execute-api:Invoke", { route: s.plan.routes[0] }), "Allowed", `${arn} calls the ${stack} API`);
                }
            }
        });

        it("lets a Google service account assume its partner's role only with its pinned unique id and our audience", async () => {
            const r = rendered(s);
            const federated = s.plan.partners.filter((p) => p.aws.googleIdentities.length > 0);
            assert.ok(federated.length > 0);
            for (const p of federated) {
                const trust = r.trust(p.aws.role!.name);
                const base = { principal: "accounts.google.com", action: "sts:AssumeRoleWithWebIdentity", resource: p.aws.role!.arn, resourceAccount: r.account, resourcePolicy: trust };
                for (const g of p.aws.googleIdentities) {
                    const claims = { "accounts.google.com:aud": g.uniqueId, "accounts.google.com:sub": g.uniqueId, "accounts.google.com:oaud": s.plan.stage.aws.googleAudience };
                    assert.equal(await decide({ ...base, context: claims }), "Allowed");
                    const other = "999999999999999999999";
                    assert.equal(await decide({ ...base, context: { ...claims, "accounts.google.com:aud": other, "accounts.google.com:sub": other } }), "ImplicitlyDenied", "another Google account");
                    assert.equal(await decide({ ...base, context: { ...claims, "accounts.google.com:sub": other } }), "ImplicitlyDenied", "mismatched subject");
                    assert.equal(await decide({ ...base, context: { ...claims, "accounts.google.com:oaud": "https://evil.example" } }), "ImplicitlyDenied", "token for another audience");
                }
            }
            // Every Google trust in the stage is pinned: no statement trusts accounts.google.com without aud and sub.
            for (const role of ofType(s, "aws:iam/role:Role")) {
                for (const st of doc(role.inputs.assumeRolePolicy).Statement) {
                    if (st.Principal?.Federated) assert.ok(st.Condition?.StringEquals?.["accounts.google.com:aud"] && st.Condition?.StringEquals?.["accounts.google.com:sub"], role.name);
                }
            }
        });
    });
}
