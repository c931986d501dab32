/**
 * The pack's GCP surface rules (policy-pack/policies/gcp-surface.ts): what each refuses, checked on variants
 * of the real rendered stages and on hand-built resources, run as the CLI runs
 * the pack (the stack's config and registry); and that both real stages, as
 * rendered, pass them. The variants are those the red-team review found
 * missed (Endpoints issuers and open operations, pools of other projects,
 * providers of other accounts or issuers, mappings that hand out another
 * role, impersonation grants), and more of each kind.
 */
import { strict as assert } from "assert";
import * as YAML from "yaml";
import { policies } from "../policy-pack/policies";
import { exceptionsConfig } from "../policy-pack/policies/exceptions";
import { AWS_ATTRIBUTE_MAPPING, JWKS_BASE } from "../policy-pack/policies/rendered";
import { AWS_ATTRIBUTE_MAPPING as RENDERER_MAPPING } from "../components/gcp/workload-identity-providers";
import { JWKS_BASE as RENDERER_JWKS_BASE } from "../components/gcp/openapi";
import { Violation, runPoliciesAsCli } from "../tools/policy-run";
import { SynthResource } from "../tools/synth";
import { stackConfigMap } from "../tools/stack-config";
import { synthStack } from "./support/synth-runs";
import { variant } from "./support/variants";

type Stack = "prod" | "stag";
const NEW_RULES = [
    "endpoints-operations-authenticated",
    "endpoints-issuers-own-keys",
];

let n = 0;
const res = (type: string, inputs: Record<string, unknown>, stack: Stack = "prod", name = `g${n++}`): SynthResource =>
    ({ urn: `urn:pulumi:${stack}::partner-access::${type}::${name}`, type, name, inputs });

interface Run { stack?: Stack; config?: Record<string, string>; policyConfig?: Record<string, object> }
function findings(policy: string, resources: SynthResource[], run: Run = {}): Violation[] {
    const stack = run.stack ?? "prod";
    return runPoliciesAsCli(resources, stack, run.config ?? stackConfigMap(stack), run.policyConfig).filter((v) => v.policy === policy);
}
const mandatory = (vs: Violation[]) => vs.filter((v) => v.enforcementLevel === "mandatory");
function refuses(policy: string, resources: SynthResource[], why?: RegExp, run: Run = {}): void {
    const v = mandatory(findings(policy, resources, run));
    assert.ok(v.length > 0, `${policy} let through ${JSON.stringify(resources.map((r) => r.inputs)).slice(0, 2000)}`);
    if (why) assert.ok(v.some((x) => why.test(x.message)), `${policy}: no message matching ${why} in ${JSON.stringify(v.map((x) => x.message))}`);
}
function passes(policy: string, resources: SynthResource[], run: Run = {}): void {
    assert.deepEqual(findings(policy, resources, run).map((v) => v.message), [], `${policy} refused ${JSON.stringify(resources.map((r) => r.inputs)).slice(0, 2000)}`);
}

const rendered = (stack: Stack) => synthStack(stack).resources as SynthResource[];
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
/** One rendered resource of a type (and name), copied: variants edit the copy. */
function renderedOne(stack: Stack, type: string, name?: string): SynthResource {
    const r = rendered(stack).find((x) => x.type === type && (name === undefined || x.name === name));
    assert.ok(r, `no ${type} ${name ?? ""} rendered in ${stack}`);
    return clone(r);
}

describe("policy pack: GCP surface rules", () => {
    it("each new rule is listed last in the pack, mandatory, says why and how to fix it, and takes reasoned exceptions", () => {
        const names = policies.map((p) => p.name);
        assert.deepEqual(names.slice(-NEW_RULES.length), NEW_RULES);
        for (const p of policies.filter((x) => NEW_RULES.includes(x.name))) {
            assert.equal(p.enforcementLevel, "mandatory", p.name);
            assert.match(p.description ?? "", /Remediation:/, p.name);
            assert.ok(p.configSchema?.properties.exceptions, `${p.name} has no exceptions property`);
        }
    });

    it("the renderer and the pack share one definition of the provider mapping and the JWKS URL (imported, not copied)", () => {
        assert.equal(RENDERER_MAPPING, AWS_ATTRIBUTE_MAPPING);
        assert.equal(RENDERER_JWKS_BASE, JWKS_BASE);
    });

    describe("over the real program", () => {
        for (const stack of ["stag", "prod"] as const) {
            it(`${stack}: the rendered Endpoints service passes every new rule (and there is one to judge)`, () => {
                const resources = rendered(stack);
                assert.ok(resources.some((r) => r.type === "gcp:endpoints/service:Service"));
                const v = runPoliciesAsCli(resources, stack, stackConfigMap(stack)).filter((x) => NEW_RULES.includes(x.policy));
                assert.deepEqual(v, []);
            });
        }

        it("a first preview (ids unknown): no mandatory finding from the new rules, unknowns reported as not checkable", async () => {
            const resources = (await variant("preview")).resources as SynthResource[];
            const v = runPoliciesAsCli(resources, "prod", stackConfigMap("prod")).filter((x) => NEW_RULES.includes(x.policy));
            assert.deepEqual(mandatory(v), []);
            // The Endpoints document carries the service name, unknown before the service exists.
            assert.ok(v.some((x) => x.policy === "endpoints-operations-authenticated" && /can't run during preview/.test(x.message)), JSON.stringify(v));
        });
    });

    describe("endpoints-operations-authenticated", () => {
        const P = "endpoints-operations-authenticated";
        const SERVICE = "gcp:endpoints/service:Service";
        /** The rendered prod Endpoints service with its document edited; `yaml` writes it as YAML text instead of JSON. */
        const service = (edit: (doc: any) => void, yaml = false, stack: Stack = "prod") => {
            const r = renderedOne(stack, SERVICE);
            const doc = JSON.parse(r.inputs.openapiConfig as string);
            edit(doc);
            r.inputs.openapiConfig = yaml ? YAML.stringify(doc) : JSON.stringify(doc);
            return [r];
        };
        const firstOp = (doc: any) => Object.values<any>(doc.paths)[0].get ?? Object.values<any>(Object.values<any>(doc.paths)[0])[0];
        const anyName = (doc: any) => Object.keys(doc.securityDefinitions)[0];

        it("accepts the rendered document as JSON and as YAML, and a top-level requirement the operations inherit", () => {
            passes(P, service(() => undefined));
            passes(P, service(() => undefined, true));
            passes(P, service(() => undefined, false, "stag"));
            passes(P, service((d) => { d.security = [{ [anyName(d)]: [] }]; for (const p of Object.values<any>(d.paths)) for (const op of Object.values<any>(p)) delete op.security; }));
            passes(P, service((d) => { d["x-google-allow"] = "configured"; }));
        });
        const refused: [string, (d: any) => void, RegExp][] = [
            ["a new path with no security anywhere (red-team G18)", (d) => { d.paths["/orders"] = { get: { operationId: "open", responses: { 200: { description: "x" } } } }; }, /GET \/orders has no security requirement/],
            ["an operation whose security is []", (d) => { firstOp(d).security = []; }, /empty security list/],
            ["an operation's [] overriding a non-empty top-level requirement", (d) => { d.security = [{ [anyName(d)]: [] }]; firstOp(d).security = []; }, /empty security list/],
            ["an empty alternative {} beside a real one (OR: anyone)", (d) => { firstOp(d).security.push({}); }, /empty security requirement \{\}/],
            ["a requirement naming an undefined scheme", (d) => { firstOp(d).security = [{ nobody: [] }]; }, /"nobody", which securityDefinitions does not define/],
            ["security that is not a list", (d) => { firstOp(d).security = { [anyName(d)]: [] }; }, /not a list/],
            ["an operation key in upper case (GET), which ESPv2 may serve while a reader skips it", (d) => { const [p] = Object.keys(d.paths); d.paths[p].GET = { operationId: "x", responses: {} }; }, /not in lower case/],
            ["a method the renderer never emits (patch), unauthenticated", (d) => { const [p] = Object.keys(d.paths); d.paths[p].patch = { operationId: "p", responses: {} }; }, /PATCH .* has no security requirement/],
            ["x-google-allow: all (red-team G25)", (d) => { d["x-google-allow"] = "all"; }, /x-google-allow is "all"/],
            ["x-google-allow with any other value", (d) => { d["x-google-allow"] = "ALL"; }, /x-google-allow is "ALL"/],
            ["allowCors on the service (OPTIONS reach the backend unauthenticated)", (d) => { d["x-google-endpoints"] = [{ name: d.host, allowCors: true }]; }, /allowCors/],
            ["a path that is a $ref", (d) => { d.paths["/x"] = { $ref: "#/x-paths/x" }; }, /\$ref/],
        ];
        for (const [what, edit, why] of refused) {
            it(`refuses ${what}, in JSON and in YAML`, () => {
                refuses(P, service(edit), why);
                refuses(P, service(edit, true), why);
            });
        }
        it("refuses a document it cannot read: not JSON or YAML, duplicate keys, OpenAPI 3, none, or a gRPC service", () => {
            refuses(P, [res(SERVICE, { serviceName: "s", openapiConfig: "{not: [json" })], /neither JSON nor YAML.*refused/);
            refuses(P, [res(SERVICE, { serviceName: "s", openapiConfig: '{"swagger":"2.0","paths":{},"paths":{"/x":{"get":{}}}}' })], /neither JSON nor YAML/);
            refuses(P, [res(SERVICE, { serviceName: "s", openapiConfig: JSON.stringify({ openapi: "3.0.0", paths: {} }) })], /not an OpenAPI 2.0 document/);
            refuses(P, [res(SERVICE, { serviceName: "s" })], /no OpenAPI document/);
            refuses(P, [res(SERVICE, { serviceName: "s", grpcConfig: "type: google.api.Service", protocOutputBase64: "AA==" })], /gRPC/);
        });
    });

    describe("endpoints-issuers-own-keys", () => {
        const P = "endpoints-issuers-own-keys";
        const SA = "acme-sync@acme-prod-4711.iam.gserviceaccount.com";
        const withDefinition = (def: Record<string, unknown>, stack: Stack = "prod") => {
            const r = renderedOne(stack, "gcp:endpoints/service:Service");
            const doc = JSON.parse(r.inputs.openapiConfig as string);
            const audience = Object.values<any>(doc.securityDefinitions)[0]["x-google-audiences"];
            doc.securityDefinitions.extra = { authorizationUrl: "", flow: "implicit", type: "oauth2", "x-google-audiences": audience, ...def };
            for (const p of Object.values<any>(doc.paths)) for (const op of Object.values<any>(p)) op.security.push({ extra: [] });
            r.inputs.openapiConfig = JSON.stringify(doc);
            return [r];
        };
        it("accepts the rendered definitions (each partner service account verified with its own keys), in both stages", () => {
            passes(P, [renderedOne("prod", "gcp:endpoints/service:Service")]);
            passes(P, [renderedOne("stag", "gcp:endpoints/service:Service")]);
            passes(P, withDefinition({ "x-google-issuer": SA, "x-google-jwks_uri": `${JWKS_BASE}${SA}` }));
        });
        const refused: [string, Record<string, unknown>, RegExp][] = [
            ["issuer https://accounts.google.com with Google's certificates (red-team G17: anyone mints tokens)", { "x-google-issuer": "https://accounts.google.com", "x-google-jwks_uri": "https://www.googleapis.com/oauth2/v3/certs" }, /not a service account e-mail/],
            ["issuer accounts.google.com without a scheme", { "x-google-issuer": "accounts.google.com" }, /not a service account e-mail/],
            ["a Firebase issuer", { "x-google-issuer": "https://securetoken.google.com/some-project", "x-google-jwks_uri": "https://www.googleapis.com/service_accounts/v1/metadata/x509/securetoken@system.gserviceaccount.com" }, /not a service account e-mail/],
            ["a 4-character account id, not a valid service account (red-team G19x)", { "x-google-issuer": "evil@evil-project-1.iam.gserviceaccount.com", "x-google-jwks_uri": `${JWKS_BASE}evil@evil-project-1.iam.gserviceaccount.com` }, /not a service account e-mail/],
            ["an issuer e-mail in upper case", { "x-google-issuer": SA.toUpperCase(), "x-google-jwks_uri": `${JWKS_BASE}${SA.toUpperCase()}` }, /not a service account e-mail/],
            ["a listed issuer verified with another account's keys", { "x-google-issuer": SA, "x-google-jwks_uri": `${JWKS_BASE}evil-robot@evil-project-1.iam.gserviceaccount.com` }, /not the account's own/],
            ["a listed issuer verified with keys anywhere else", { "x-google-issuer": SA, "x-google-jwks_uri": "https://attacker.example/jwks.json" }, /not the account's own/],
            ["a listed issuer with no jwks_uri (ESPv2 would discover keys from the issuer string)", { "x-google-issuer": SA }, /not the account's own/],
            ["the JWK form of the same account's keys, which the renderer does not emit", { "x-google-issuer": SA, "x-google-jwks_uri": `https://www.googleapis.com/service_accounts/v1/jwk/${SA}` }, /not the account's own/],
            ["an API key definition", { type: "apiKey", name: "key", in: "query" }, /not a JWT definition/],
            ["an oauth2 definition without an issuer", { "x-google-jwks_uri": `${JWKS_BASE}${SA}` }, /not a JWT definition/],
        ];
        for (const [what, def, why] of refused) it(`refuses ${what}`, () => refuses(P, withDefinition(def), why));
    });

    describe("exceptions and unknown values", () => {
        const bad: [string, SynthResource][] = [
            ["endpoints-operations-authenticated", res("gcp:endpoints/service:Service", { openapiConfig: JSON.stringify({ swagger: "2.0", "x-google-allow": "all", paths: {} }) })],
            ["endpoints-issuers-own-keys", res("gcp:endpoints/service:Service", { openapiConfig: JSON.stringify({ swagger: "2.0", paths: {}, securityDefinitions: { g: { type: "oauth2", "x-google-issuer": "https://accounts.google.com" } } }) })],
        ];
        for (const [policy, resource] of bad) {
            it(`${policy}: a reasoned exception lifts it on exactly that resource; a reasonless one lifts nothing`, () => {
                refuses(policy, [resource]);
                passes(policy, [resource], { policyConfig: exceptionsConfig([{ policy, urn: resource.urn, reason: "accepted by security review SEC-123 until June" }]) });
                refuses(policy, [resource], undefined, { policyConfig: exceptionsConfig([{ policy, urn: resource.urn, reason: "ok" }]) });
                refuses(policy, [resource, { ...resource, urn: `${resource.urn}-other`, name: "other" }], undefined,
                    { policyConfig: exceptionsConfig([{ policy, urn: resource.urn, reason: "accepted by security review SEC-123 until June" }]) });
            });
        }

        // The analyzer hands policies unknown values as this sentinel; reading one throws UnknownValueError,
        // which the SDK (and our runner) reports as an advisory "can't run during preview": never a pass.
        const unknown = require("@pulumi/policy/proxy").unknownStringValue;
        const cases: [string, SynthResource][] = [
            ["endpoints-operations-authenticated", res("gcp:endpoints/service:Service", { serviceName: "s", openapiConfig: unknown })],
            ["endpoints-issuers-own-keys", res("gcp:endpoints/service:Service", { serviceName: "s", openapiConfig: unknown })],
        ];
        for (const [policy, resource] of cases) {
            const key = Object.keys(resource.inputs).find((k) => JSON.stringify(resource.inputs[k]).includes(unknown));
            it(`${policy}: an unknown ${key} is reported as not checkable, neither a crash nor a pass`, () => {
                const v = findings(policy, [resource]);
                assert.equal(v.length, 1, JSON.stringify(v));
                assert.equal(v[0].enforcementLevel, "advisory");
                assert.match(v[0].message, /can't run during preview/);
            });
        }
    });
});
