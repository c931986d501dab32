/**
 * The AWS side, as the clouds will judge it: the documents synth rendered,
 * evaluated by an IAM evaluator no one here wrote, grant each partner exactly
 * its plan, at the time asked, and nobody else anything.
 */
import { strict as assert } from "assert";
import { Decision, decide, decideAll } from "../tools/access/iam-eval";
import { AwsCaller, AwsTarget, awsCallers, awsRequest } from "../tools/access/aws-review";
import { rendered } from "../tools/access/rendered";
import { sampleRegistryObject } from "./support/fixtures";
import { SynthOutput, synthStack } from "./support/synth-runs";

const anything = [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }];
const ALL_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"];

function asker(s: SynthOutput) {
    const r = rendered(s);
    return {
        r,
        ask: (c: AwsCaller, action: string, target: AwsTarget, context: Record<string, string> = {}): Promise<Decision> => decide(awsRequest(s, r, c, action, target, context)),
        callers: (slug: string) => awsCallers(r, s.plan.partners.find((p) => p.slug === slug)!),
    };
}

for (const stack of ["stag", "prod"]) {
    describe(`AWS access, evaluated (${stack})`, () => {
        const s = synthStack(stack);
        const { r, ask } = asker(s);

        for (const p of s.plan.partners) {
            for (const c of awsCallers(r, p)) {
                it(`${p.slug} as ${c.via}: exactly its own prefix's actions, nothing of others'`, async () => {
                    for (const action of ALL_OBJECT_ACTIONS) {
                        const got = await ask(c, action, { object: `${p.prefix}report-1.csv` });
                        assert.equal(got === "Allowed", p.aws.files.objectActions.includes(action), `${action} on own prefix: ${got}`);
                    }
                    assert.equal(await ask(c, "s3:ListBucket", { list: p.prefix }), p.aws.files.list ? "Allowed" : "ImplicitlyDenied", "list own prefix");
                    assert.notEqual(await ask(c, "s3:ListBucket", { list: "partners/" }), "Allowed", "list all partners");
                    for (const q of s.plan.partners.filter((x) => x.slug !== p.slug)) {
                        for (const action of ALL_OBJECT_ACTIONS) assert.notEqual(await ask(c, action, { object: `${q.prefix}report.csv` }), "Allowed", `${action} on ${q.slug}'s prefix`);
                        assert.notEqual(await ask(c, "s3:ListBucket", { list: q.prefix }), "Allowed", `list ${q.slug}'s prefix`);
                    }
                    // A prefix that merely starts with the slug belongs to someone else.
                    assert.notEqual(await ask(c, "s3:GetObject", { object: `partners/${p.slug}-evil/x` }), "Allowed");
                    assert.notEqual(await ask(c, "s3:GetObject", { object: `partners/${p.slug}` }), "Allowed");
                });
            }
        }

        it("refuses overwriting a partner file (create-only), while allowing a new upload and multipart parts", async () => {
            const writer = s.plan.partners.find((p) => p.aws.files.objectActions.includes("s3:PutObject") && p.aws.role)!;
            const c = awsCallers(r, writer)[0];
            const key = { object: `${writer.prefix}report.csv` };
            assert.equal(await ask(c, "s3:PutObject", key), "Allowed", "PutObject with If-None-Match: *");
            assert.equal(await ask(c, "s3:PutObject", key, { "s3:if-none-match": "" }), "ExplicitlyDenied", "PutObject without If-None-Match (may overwrite)");
            assert.equal(await ask(c, "s3:PutObject", key, { "s3:if-none-match": "", "s3:ObjectCreationOperation": "false" }), "Allowed", "UploadPart / CreateMultipartUpload carry no header");
            // Even an administrator of our own account cannot overwrite partner files without the header.
            const admin = { partner: "", via: "admin", principal: `arn:aws:iam::${s.plan.stage.aws.accountId}:role/ops-admin`, identityPolicies: anything };
            assert.equal(await ask(admin, "s3:PutObject", key, { "s3:if-none-match": "" }), "ExplicitlyDenied");
        });

        it("refuses every request without TLS", async () => {
            for (const p of s.plan.partners) for (const c of awsCallers(r, p)) {
                assert.equal(await ask(c, p.aws.files.objectActions[0] ?? "s3:GetObject", { object: `${p.prefix}report.csv` }, { "aws:SecureTransport": "false" }), "ExplicitlyDenied");
            }
        });

        it("refuses anonymous callers, and principals of our own account on the API even with a broad identity policy", async () => {
            const anonymous = { partner: "", via: "anonymous", principal: "anonymous", identityPolicies: [] };
            for (const p of s.plan.partners) assert.notEqual(await ask(anonymous, "s3:GetObject", { object: `${p.prefix}x` }), "Allowed");
            const admin = { partner: "", via: "admin", principal: `arn:aws:iam::${s.plan.stage.aws.accountId}:role/ops-admin`, identityPolicies: [{ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "execute-api:Invoke", Resource: "*" }] }] };
            for (const route of s.plan.routes) {
                const request = { method: route.method, path: route.path.replace(/\{[^}]+\}/g, "7") };
                assert.notEqual(await ask(anonymous, "execute-api:Invoke", { request }), "Allowed");
                assert.equal(await ask(admin, "execute-api:Invoke", { request }), "ExplicitlyDenied");
            }
        });

        it("refuses the other stage's identities, on roles, bucket and API", async () => {
            const registry = sampleRegistryObject();
            const other = Object.keys(registry.environments).filter((e) => !s.plan.stage.acceptedEnvironments.includes(e));
            for (const p of s.plan.partners) {
                const foreign: string[] = other.flatMap((env) => registry.partners.find((x: any) => x.slug === p.slug).identities[env]?.aws ?? []);
                for (const arn of foreign) {
                    const principal = arn.endsWith(":root") ? arn.replace(":root", ":role/any") : arn;
                    if (p.aws.role) {
                        assert.notEqual(await decide({ principal, action: "sts:AssumeRole", resource: p.aws.role.arn, resourceAccount: s.plan.stage.aws.accountId, resourcePolicy: r.roles.get(p.aws.role.name)!.trust, identityPolicies: anything, context: { "aws:CurrentTime": s.plan.evaluatedAt, ...(p.aws.externalId ? { "sts:ExternalId": p.aws.externalId } : {}) } }), "Allowed", `${arn} assumes ${p.slug}'s ${stack} role`);
                    }
                    const c = { partner: p.slug, via: arn, principal, identityPolicies: anything };
                    assert.notEqual(await ask(c, "s3:GetObject", { object: `${p.prefix}x` }), "Allowed", `${arn} reads ${p.slug}'s ${stack} files`);
                    assert.notEqual(await ask(c, "execute-api:Invoke", { request: { method: "GET", path: "/catalog" } }), "Allowed", `${arn} calls the ${stack} API`);
                }
            }
        });

        it("lets a Google service account assume its partner's role only with its pinned unique id and our audience", async () => {
            const federated = s.plan.partners.filter((p) => p.aws.googleIdentities.length > 0);
            assert.ok(federated.length > 0);
            for (const p of federated) {
                const base = { principal: "accounts.google.com", action: "sts:AssumeRoleWithWebIdentity", resource: p.aws.role!.arn, resourceAccount: s.plan.stage.aws.accountId, resourcePolicy: r.roles.get(p.aws.role!.name)!.trust };
                for (const g of p.aws.googleIdentities) {
                    const claims = { "aws:CurrentTime": s.plan.evaluatedAt, "accounts.google.com:aud": g.uniqueId, "accounts.google.com:sub": g.uniqueId, "accounts.google.com:oaud": s.plan.stage.aws.googleAudience };
                    assert.equal(await decide({ ...base, context: claims }), "Allowed");
                    const other = "999999999999999999999";
                    assert.equal(await decide({ ...base, context: { ...claims, "accounts.google.com:aud": other, "accounts.google.com:sub": other } }), "ImplicitlyDenied", "another Google account");
                    assert.equal(await decide({ ...base, context: { ...claims, "accounts.google.com:sub": other } }), "ImplicitlyDenied", "mismatched subject");
                    assert.equal(await decide({ ...base, context: { ...claims, "accounts.google.com:oaud": "https://evil.example" } }), "ImplicitlyDenied", "token for another audience");
                }
            }
        });
    });
}

describe("AWS access over time: the rendered policies alone enforce each window", () => {
    const s = synthStack("prod");
    const { r, ask, callers } = asker(s);
    // initech: notBefore 2026-01-01, expires 2027-12-31; its role trusts the root of account 444455556667.
    const initech = s.plan.partners.find((p) => p.slug === "initech")!;
    const role = callers("initech")[0];
    const times: [string, boolean][] = [["2025-12-31T23:59:59Z", false], ["2026-01-01T00:00:00Z", true], ["2027-06-01T12:00:00Z", true], ["2027-12-30T23:59:59Z", true], ["2027-12-31T00:00:00Z", false], ["2030-01-01T00:00:00Z", false]];
    for (const [at, allowed] of times) {
        it(`at ${at}: initech ${allowed ? "may" : "may not"} assume its role, write files or call its routes`, async () => {
            const when = { "aws:CurrentTime": at };
            const trust = await decide({ principal: "arn:aws:iam::444455556667:role/any", action: "sts:AssumeRole", resource: initech.aws.role!.arn, resourceAccount: s.plan.stage.aws.accountId,
                resourcePolicy: r.roles.get(initech.aws.role!.name)!.trust, identityPolicies: anything, context: when });
            assert.equal(trust === "Allowed", allowed, `assume role: ${trust}`);
            assert.equal((await ask(role, "s3:PutObject", { object: `${initech.prefix}report.csv` }, when)) === "Allowed", allowed, "write");
            assert.equal((await ask(role, "execute-api:Invoke", { request: { method: "GET", path: "/invoices/7" } }, when)) === "Allowed", allowed, "invoke");
        });
    }
});

describe("the evaluator's speed-ups change no answer", () => {
    it("localeCompare through a cached collator equals the built-in, for every locale and option, including the ones a cache could confuse (property, seeded)", async () => {
        const { builtinLocaleCompare } = await import("../tools/access/evaluator-speedups");
        await decide({ principal: "anonymous", action: "s3:GetObject", resource: "arn:aws:s3:::b/k", resourceAccount: "111111111111" }); // installs them
        assert.notEqual(String.prototype.localeCompare, builtinLocaleCompare, "installed");
        const alphabet = ["a", "A", "z", "Z", "á", "Á", "ä", "ß", "ss", "İ", "i", "ı", "e\u0301", "é", ":", "/", "*", "?", "$", "{", "0", "9", " ", "-", "_", "ǆ", "Ǆ", "ﬁ"];
        let seed = 42;
        const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
        const word = () => Array.from({ length: rand(6) }, () => alphabet[rand(alphabet.length)]).join("");
        const options: (Intl.CollatorOptions | undefined)[] = [undefined, {}, { sensitivity: "base" }, { sensitivity: "accent" }, { sensitivity: "case" }, { sensitivity: "variant" }, { sensitivity: "accent", numeric: true }, { caseFirst: "upper" }, { ignorePunctuation: true }];
        const locales = [undefined, "en", "tr", "de", "sv"];
        // Calls a cache could confuse: values alike as JSON or text but not to Intl, objects, non-strings, invalid locales.
        const tricky: any[] = [
            { numeric: "false" }, { numeric: false }, { numeric: NaN }, { numeric: Infinity }, { numeric: 0 }, { numeric: "" }, { numeric: undefined },
            { sensitivity: "base", extra: 1 }, { sensitivity: { toString: () => "base" } }, { sensitivity: { toString: () => "variant" } },
            Object.create({ sensitivity: "base" }), { sensitivity: "bogus" }, null, "x", 5,
        ];
        const outcome = (f: () => number) => { try { return Math.sign(f()); } catch (e) { return (e as Error).constructor.name; } };
        const same = (self: unknown, b: unknown, l: unknown, o: unknown) =>
            assert.equal(outcome(() => (String.prototype.localeCompare as any).call(self, b, l, o)), outcome(() => (builtinLocaleCompare as any).call(self, b, l, o)),
                `${String(self)} vs ${String(b)} (${String(l)}, ${JSON.stringify(o)})`);
        for (const o of tricky) for (const [a, b] of [["10", "9"], ["a", "A"], ["a", "á"], ["a-b", "ab"]]) same(a, b, "en", o);
        for (let i = 0; i < 4000; i++) {
            const [a, b, o, l] = [word(), word(), options[rand(options.length)], locales[rand(locales.length)]];
            same(a, b, l, o);
            same(a, b, locales[rand(locales.length)], tricky[rand(tricky.length)]);
        }
        // Options read through a getter are read on every call, as the built-in reads them.
        let sensitivity = "base";
        const live = { get sensitivity() { return sensitivity; } } as Intl.CollatorOptions;
        assert.equal("a".localeCompare("A", "en", live), 0);
        sensitivity = "variant";
        assert.notEqual("a".localeCompare("A", "en", live), 0);
        for (const l of ["", "not a tag!", ["en", "tr"], []]) same("a", "B", l, undefined);
        for (const self of [null, undefined, 5, new String("a"), { toString: () => "b" }]) same(self, "a", undefined, undefined);
        same("a", { toString: () => "b" }, "en", { sensitivity: "base" });
    });

    it("a document is decided by its content: changing one after a decision is refused, and a new one with other content gets its own answer", async () => {
        const ask = (policy: unknown) => decideAll([{ principal: "arn:aws:iam::111111111111:role/r", action: "s3:GetObject", resource: "arn:aws:s3:::b/k", resourceAccount: "111111111111", identityPolicies: [policy] }]);
        const allow = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }] };
        assert.deepEqual(await ask(allow), ["Allowed"]);
        assert.throws(() => { (allow.Statement[0] as any).Effect = "Deny"; }, TypeError, "a decided document cannot change under its answer");
        assert.deepEqual(await ask({ ...allow, Statement: [{ ...allow.Statement[0], Effect: "Deny" }] }), ["ExplicitlyDenied"]);
        assert.deepEqual(await ask(JSON.parse(JSON.stringify(allow))), ["Allowed"]);
    });
});
