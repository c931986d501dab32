/**
 * The heart of the AWS side: the policies synth rendered, evaluated by a real
 * IAM evaluator, grant each partner exactly its plan, and nobody else anything.
 */
import { strict as assert } from "assert";
import { Decision, decide } from "../tools/access/iam-eval";
import { AwsCaller, AwsTarget, awsCallers, awsRequest } from "../tools/access/matrix";
import { SynthOutput, doc, ofType, synthStack } from "./support/synth-runs";
import { sampleRegistryObject } from "./support/fixtures";

/** The rendered trust policy of a role. */
const trust = (s: SynthOutput, roleName: string) => doc(ofType(s, "aws:iam/role:Role").find((r) => r.inputs.name === roleName)!.inputs.assumeRolePolicy);

function ask(s: SynthOutput, c: AwsCaller, action: string, target: AwsTarget, context: Record<string, string> = {}): Promise<Decision> {
    return decide(awsRequest(s, c, action, target, context));
}

/** Any principal with an identity policy allowing everything: only resource and trust policies stand in its way. */
const anything = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }];

const ALL_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"];

for (const stack of ["stag", "prod"]) {
    describe(`AWS access, evaluated (${stack})`, () => {
        const s = synthStack(stack);
        const withAws = s.plan.partners.filter((p) => awsCallers(s, p).length > 0);

        it("has partners that reach AWS in this stage", () => assert.ok(withAws.length >= 2));

        for (const p of s.plan.partners) {
            for (const c of awsCallers(s, p)) {
                it(`${p.slug} as ${c.via}: exactly its own prefix's actions, nothing of others'`, async () => {
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

                it(`${p.slug} as ${c.via}: exactly its own routes`, async () => {
                    const granted = new Set(p.aws.routes.map((r) => `${r.method} ${r.path}`));
                    for (const route of s.plan.routes) {
                        const got = await ask(s, c, "execute-api:Invoke", { route });
                        assert.equal(got === "Allowed", granted.has(`${route.method} ${route.path}`), `${route.method} ${route.path}: ${got}`);
                    }
                });

                it(`${p.slug} as ${c.via}: refused without TLS`, async () => {
                    const action = p.aws.files.objectActions[0] ?? "s3:GetObject";
                    assert.equal(await ask(s, c, action, { object: `${p.prefix}report.csv` }, { "aws:SecureTransport": "false" }), "ExplicitlyDenied");
                });
            }
        }

        it("refuses anonymous callers everywhere", async () => {
            const anonymous = { via: "anonymous", principal: "anonymous", identityPolicies: [] };
            for (const p of s.plan.partners) {
                assert.notEqual(await ask(s, anonymous, "s3:GetObject", { object: `${p.prefix}x` }), "Allowed");
                assert.notEqual(await ask(s, anonymous, "s3:ListBucket", { list: p.prefix }), "Allowed");
            }
            for (const route of s.plan.routes) assert.notEqual(await ask(s, anonymous, "execute-api:Invoke", { route }), "Allowed");
        });

        it("refuses an unrelated principal of our own account on the API, even with a broad identity policy", async () => {
            const admin = { via: "admin", principal: `arn:aws:iam::${s.plan.stage.aws.accountId}:role/ops-admin`, identityPolicies: [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "execute-api:Invoke", Resource: "*" }] }] };
            assert.equal(await ask(s, admin, "execute-api:Invoke", { route: s.plan.routes[0] }), "ExplicitlyDenied");
        });

        it("lets each partner's accepted principals assume its role, with the external id where one is set", async () => {
            for (const p of s.plan.partners.filter((x) => x.aws.role?.trustsAwsPrincipals)) {
                for (const arn of p.aws.principals) {
                    const principal = arn.endsWith(":root") ? arn.replace(":root", ":role/any-role-in-that-account") : arn;
                    const req = {
                        principal, action: "sts:AssumeRole", resource: p.aws.role!.arn, resourceAccount: s.plan.stage.aws.accountId,
                        resourcePolicy: trust(s, p.aws.role!.name), identityPolicies: [s.outputs.partners[p.slug].aws.identityPolicy],
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
            const other = stack === "prod" ? ["dev", "stag"] : ["prod"];
            const registry = sampleRegistryObject();
            for (const p of s.plan.partners) {
                const foreign: string[] = other.flatMap((env) => registry.partners.find((x: any) => x.slug === p.slug).identities[env]?.aws ?? []);
                for (const arn of foreign) {
                    const principal = arn.endsWith(":root") ? arn.replace(":root", ":role/any") : arn;
                    if (p.aws.role) {
                        assert.notEqual(await decide({ principal, action: "sts:AssumeRole", resource: p.aws.role.arn, resourceAccount: s.plan.stage.aws.accountId, resourcePolicy: trust(s, p.aws.role.name), identityPolicies: anything, context: p.aws.externalId ? { "sts:ExternalId": p.aws.externalId } : {} }), "Allowed", `${arn} assumes ${p.slug}'s ${stack} role`);
                    }
                    const c = { via: arn, principal, identityPolicies: anything };
                    assert.notEqual(await ask(s, c, "s3:GetObject", { object: `${p.prefix}x` }), "Allowed", `${arn} reads ${p.slug}'s ${stack} files`);
                    assert.notEqual(await ask(s, c, "execute-api:Invoke", { route: s.plan.routes[0] }), "Allowed", `${arn} calls the ${stack} API`);
                }
            }
        });

        it("lets a Google service account assume its partner's role only with its pinned unique id and our audience", async () => {
            const federated = s.plan.partners.filter((p) => p.aws.googleIdentities.length > 0);
            assert.ok(federated.length > 0);
            for (const p of federated) {
                const base = { principal: "accounts.google.com", action: "sts:AssumeRoleWithWebIdentity", resource: p.aws.role!.arn, resourceAccount: s.plan.stage.aws.accountId, resourcePolicy: trust(s, p.aws.role!.name) };
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
