/**
 * The pack's GCP surface and federation rules (policy-pack/policies/
 * gcp-surface.ts, gcp-federation.ts): what each refuses, checked on variants
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
import { AWS_ATTRIBUTE_MAPPING, JWKS_BASE, isStagePoolId } from "../policy-pack/policies/rendered";
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
    "workload-identity-members-ours",
    "workload-identity-providers-listed",
    "workload-identity-mapping-rendered",
    "service-account-impersonation-rendered",
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

describe("policy pack: GCP surface and federation rules", () => {
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
            it(`${stack}: the rendered Endpoints service, providers and grants pass every new rule (and each rule had something to judge)`, () => {
                const resources = rendered(stack);
                const types = new Set(resources.map((r) => r.type));
                assert.ok(types.has("gcp:endpoints/service:Service") && types.has("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"));
                assert.ok(resources.some((r) => JSON.stringify(r.inputs).includes("principalSet://")), "no principalSet member rendered");
                // partner-access renders no service-account IAM: the impersonation rule's "only what is rendered" is "nothing".
                assert.deepEqual(resources.filter((r) => r.type.startsWith("gcp:serviceaccount/iAM")), []);
                const v = runPoliciesAsCli(resources, stack, stackConfigMap(stack)).filter((x) => NEW_RULES.includes(x.policy));
                assert.deepEqual(v, []);
            });
        }

        it("a first preview (ids unknown): no mandatory finding from the new rules, unknowns reported as not checkable", async () => {
            const resources = (await variant("preview")).resources as SynthResource[];
            const v = runPoliciesAsCli(resources, "prod", stackConfigMap("prod")).filter((x) => NEW_RULES.includes(x.policy));
            assert.deepEqual(mandatory(v), []);
            // The Endpoints document carries the service name, unknown before the service exists; the folder policies carry the pool id.
            assert.ok(v.some((x) => x.policy === "endpoints-operations-authenticated" && /can't run during preview/.test(x.message)), JSON.stringify(v));
            assert.ok(v.some((x) => x.policy === "workload-identity-members-ours" && x.urn!.endsWith("::gcs-file-exchange-acme-logistics") && /can't run during preview/.test(x.message)));
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
            refuses(P, [res(SERVICE, { serviceName: "s", openapiConfig: 'swagger: "2.0"\nx-ok: &sec [{partner: []}]\npaths: {"/x": {get: {security: *sec}}}\n' })], /it uses an (anchor|alias)/);
            refuses(P, [res(SERVICE, { serviceName: "s", openapiConfig: "{not: [json" })], /cannot be read as Service Management would.*refused/);
            refuses(P, [res(SERVICE, { serviceName: "s", openapiConfig: '{"swagger":"2.0","paths":{},"paths":{"/x":{"get":{}}}}' })], /cannot be read as Service Management would \(Map keys must be unique/);
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

    describe("workload-identity-members-ours", () => {
        const P = "workload-identity-members-ours";
        const ACME_PROD = "attribute.aws_role/arn:aws:sts::210987654322:assumed-role/acme-exchange";
        const pool = (project: string, poolId: string, location = "global") => `iam.googleapis.com/projects/${project}/locations/${location}/workloadIdentityPools/${poolId}`;
        const OUR_POOL = pool("100000000002", "partner-access-prod-b7605b");
        /** The rendered prod folder policy of Globex with one more member. */
        const folderPlus = (member: string) => {
            const r = renderedOne("prod", "gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy", "gcs-file-exchange-globex");
            const p = JSON.parse(r.inputs.policyData as string);
            p.bindings.push({ role: "roles/storage.objectViewer", members: [member] });
            r.inputs.policyData = JSON.stringify(p);
            return [r];
        };
        it("accepts the rendered members (this stage's pool, in this stage's project), in both stages", () => {
            for (const stack of ["prod", "stag"] as const) passes(P, rendered(stack).filter((r) => r.type.startsWith("gcp:storage/managedFolderIam")), { stack });
            passes(P, folderPlus(`principalSet://${OUR_POOL}/${ACME_PROD}`));
            passes(P, [res("gcp:projects/iAMMember:IAMMember", { project: "example-partner-prod", role: "roles/viewer", member: `principalSet://${pool("100000000002", "partner-access-prod-0a1b2c")}/${ACME_PROD}` })]);
            assert.ok(isStagePoolId("partner-access-prod-b7605b", "partner-access", "prod") && !isStagePoolId("partner-access-prod-b7605b", "partner-access", "stag"));
        });
        const refused: [string, string, RegExp][] = [
            ["a listed role in a pool of a foreign project (red-team G7)", `principalSet://${pool("999999999999", "evil")}/${ACME_PROD}`, /project 999999999999, not this stage's project number 100000000002/],
            ["a listed role in the stag project's pool (red-team S8a)", `principalSet://${pool("100000000001", "partner-access-stag-b7605b")}/${ACME_PROD}`, /project 100000000001/],
            ["our project number but another pool", `principalSet://${pool("100000000002", "evil-pool")}/${ACME_PROD}`, /pool evil-pool, not this stage's pool/],
            ["our project number but the stag stage's pool name", `principalSet://${pool("100000000002", "partner-access-stag-b7605b")}/${ACME_PROD}`, /not this stage's pool/],
            ["our project's id instead of its number", `principalSet://${pool("example-partner-prod", "partner-access-prod-b7605b")}/${ACME_PROD}`, /project example-partner-prod/],
            ["a location other than global", `principalSet://${pool("100000000002", "partner-access-prod-b7605b", "europe-west1")}/${ACME_PROD}`, /location europe-west1/],
            ["a single subject of a foreign pool", `principal://${pool("999999999999", "evil")}/subject/arn:aws:sts::210987654322:assumed-role/acme-exchange/s`, /project 999999999999/],
            ["a workforce pool (organisation users)", "principalSet://iam.googleapis.com/locations/global/workforcePools/contractors/attribute.aws_role/arn:aws:sts::210987654322:assumed-role/acme-exchange", /not a member of a Workload Identity pool of this stage/],
            ["a managed workload identity", "principal://evil.global.999999999999.workload.id.goog/ns/default/sa/x", /not a member of a Workload Identity pool of this stage/],
            ["every service account of a project", "principalSet://cloudresourcemanager.googleapis.com/projects/999999999999/type/ServiceAccount", /not a member of a Workload Identity pool/],
            ["a foreign pool spelled in another case", `PrincipalSet://${pool("999999999999", "evil")}/${ACME_PROD}`, /not a member of a Workload Identity pool of this stage/],
        ];
        for (const [what, member, why] of refused) {
            it(`refuses ${what}, in a folder policy and as a service-account or project member`, () => {
                refuses(P, folderPlus(member), why);
                refuses(P, [res("gcp:projects/iAMMember:IAMMember", { project: "example-partner-prod", role: "roles/viewer", member })], why);
                refuses(P, [res("gcp:serviceaccount/iAMBinding:IAMBinding", { serviceAccountId: "projects/example-partner-prod/serviceAccounts/partner-access-prod-esp@example-partner-prod.iam.gserviceaccount.com", role: "roles/iam.serviceAccountViewer", members: [member] })], why);
            });
        }
        it("refuses a foreign pool named in a condition, not only as a member", () => {
            const r = folderPlus(`principalSet://${OUR_POOL}/${ACME_PROD}`)[0];
            const p = JSON.parse(r.inputs.policyData as string);
            p.bindings[0].condition = { title: "t", expression: `request.auth.principal.startsWith("//${pool("999999999999", "evil")}")` };
            r.inputs.policyData = JSON.stringify(p);
            refuses(P, [r], /refers to pool iam\.googleapis\.com\/projects\/999999999999\/locations\/global\/workloadIdentityPools\/evil, in project 999999999999/);
        });
        it("says it cannot check when the stack config has no gcpProjectNumber", () => {
            const { ["partner-access:gcpProjectNumber"]: _, ...config } = stackConfigMap("prod");
            refuses(P, folderPlus(`principalSet://${OUR_POOL}/${ACME_PROD}`), /no partner-access:gcpProjectNumber/, { config });
        });
    });

    describe("workload-identity-providers-listed", () => {
        const P = "workload-identity-providers-listed";
        const provider = (inputs: Record<string, unknown>, stack: Stack = "prod") => [res("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", {
            project: `example-partner-${stack}`, workloadIdentityPoolId: `partner-access-${stack}-b7605b`, workloadIdentityPoolProviderId: "p",
            attributeMapping: AWS_ATTRIBUTE_MAPPING, attributeCondition: "true", ...inputs,
        }, stack)];
        it("accepts the rendered providers in both stages", () => {
            for (const stack of ["prod", "stag"] as const) passes(P, rendered(stack).filter((r) => r.type.endsWith("WorkloadIdentityPoolProvider")), { stack });
        });
        it("refuses OIDC, SAML and X.509 providers (red-team G13), and a provider with no aws block", () => {
            refuses(P, provider({ oidc: { issuerUri: "https://attacker.example" } }), /is OIDC/);
            refuses(P, provider({ oidc: { issuerUri: "https://token.actions.githubusercontent.com" }, aws: { accountId: "210987654322" } }), /is OIDC/);
            refuses(P, provider({ saml: { idpMetadataXml: "<x/>" } }), /is SAML/);
            refuses(P, provider({ x509: { trustStore: { trustAnchors: [{ pemCertificate: "x" }] } } }), /is X509/);
            refuses(P, provider({}), /no aws block/);
        });
        const refused: [string, string, Stack, RegExp][] = [
            ["an account the registry never lists (red-team G14)", "999999999999", "prod", /999999999999 has no role or user the registry lists for prod:/],
            ["acme's dev account in prod (red-team S7)", "210987654321", "prod", /lists acme-logistics\/dev/],
            ["acme's prod account in stag", "210987654322", "stag", /lists acme-logistics\/prod/],
            ["an account listed in prod only as a root (never federated)", "444455556667", "prod", /initech\/prod.*only an account root/],
            ["our own AWS account", "222222222222", "prod", /222222222222 has no role/],
            ["an account id that is not one", "12345", "prod", /not an AWS account id/],
        ];
        for (const [what, account, stack, why] of refused) it(`refuses ${what}`, () => refuses(P, provider({ aws: { accountId: account } }, stack), why, { stack }));
    });

    describe("workload-identity-mapping-rendered (CEL evaluation of the condition against hostile callers of the account)", () => {
        const P = "workload-identity-mapping-rendered";
        const A = "210987654322"; // acme-logistics prod; the registry lists role acme-exchange here for prod
        const ROLE = (name: string, account = A) => `arn:aws:sts::${account}:assumed-role/${name}`;
        const renderedProvider = (stack: Stack, account: string) => renderedOne(stack, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", `workload-identity-aws-${account}`);
        const withCondition = (attributeCondition: string, attributeMapping: unknown = AWS_ATTRIBUTE_MAPPING) => {
            const r = renderedProvider("prod", A);
            Object.assign(r.inputs, { attributeCondition, attributeMapping });
            return [r];
        };
        it("accepts the rendered providers, and the rendered form of condition on the listed role", () => {
            for (const stack of ["prod", "stag"] as const) passes(P, rendered(stack).filter((r) => r.type.endsWith("WorkloadIdentityPoolProvider")), { stack });
            passes(P, withCondition(`assertion.account == "${A}" && attribute.aws_role in ["${ROLE("acme-exchange")}"]`));
        });
        it("refuses any other form of condition, even an exact one: only the rendered form can be judged for every caller", () => {
            for (const condition of [`attribute.aws_role == "${ROLE("acme-exchange")}"`, `google.subject.extract('assumed-role/{r}/') == 'acme-exchange' && assertion.account == "${A}"`]) {
                refuses(P, withCondition(condition), /not in the form partner-access renders/);
            }
        });
        it("refuses conditions that admit callers no probe name hits (red-team: a regular expression, a concatenated prefix)", () => {
            for (const extra of [`assertion.arn.matches("^arn:aws:sts::[0-9]+:assumed-role/ops-[a-z]+/")`, `attribute.aws_role.startsWith("arn:aws:sts::" + assertion.account + ":assumed-role/o" + "ps")`]) {
                refuses(P, withCondition(`(assertion.account == "${A}" && attribute.aws_role in ["${ROLE("acme-exchange")}"]) || ${extra}`), /not in the form partner-access renders/);
            }
        });
        it("refuses the rendered form naming a role the registry does not list for the account, or another account", () => {
            refuses(P, withCondition(`assertion.account == "${A}" && attribute.aws_role in ["${ROLE("acme-exchange")}", "${ROLE("ops-admin")}"]`), /admits .*ops-admin, which the registry does not list/);
            refuses(P, withCondition(`assertion.account == "999999999999" && attribute.aws_role in ["${ROLE("acme-exchange")}"]`), /names account 999999999999/);
            // A user under an "assumed-role" path: Google maps user/assumed-role/victim/anyone to user/assumed-role/victim.
            refuses(P, withCondition(`assertion.account == "${A}" && attribute.aws_role in ["${ROLE("acme-exchange")}", "arn:aws:iam::${A}:user/assumed-role/acme-uploader"]`), /not in the form partner-access renders/);
        });
        const hostile: [string, string][] = [
            ["true", "true"],
            ["the account only", `assertion.account == "${A}"`],
            ["a role-name prefix (acme-exchange-x, acme-exchange-dev)", `attribute.aws_role.startsWith("${ROLE("acme")}")`],
            ["a suffix (a user named acme-exchange matches)", `attribute.aws_role.endsWith("/acme-exchange")`],
            ["a substring of the subject (a session named acme-exchange matches)", `google.subject.contains("acme-exchange")`],
            ["the dev role of the same partner, in a prod stack", `attribute.aws_role in ["${ROLE("acme-exchange")}", "${ROLE("acme-exchange-dev")}"]`],
            ["another partner's role name", `attribute.aws_role in ["${ROLE("acme-exchange")}", "${ROLE("globex-prod")}"]`],
            ["a role whose name is a prefix of the listed one", `"${ROLE("acme-exchange")}".startsWith(attribute.aws_role)`],
            ["a role whose name is a suffix of the listed one", `"${ROLE("acme-exchange")}".endsWith(attribute.aws_role.extract('assumed-role/{r}'))`],
            ["a regular expression", `attribute.aws_role.matches("acme")`],
            ["extract() of a role or user name (a user named like the role gets in)", `assertion.arn.extract('assumed-role/{r}/') == 'acme-exchange' || assertion.arn.extract('user/{r}') == 'acme-exchange'`],
        ];
        for (const [what, condition] of hostile) {
            it(`refuses a condition on ${what}: a caller the registry does not list gets in`, () => refuses(P, withCondition(condition), /admits arn:aws:/));
        }
        it("refuses a condition it cannot evaluate, or one on claims the AWS assertion does not carry", () => {
            refuses(P, withCondition("attribute.aws_role ==="), /cannot be evaluated/);
            refuses(P, withCondition(`assertion.userid == "AROA"`), /cannot be evaluated/);
            refuses(P, withCondition(""), /no attribute condition/);
        });
        const mappings: [string, Record<string, string> | undefined][] = [
            ["aws_role a constant of another partner (red-team G15)", { "google.subject": "assertion.arn", "attribute.aws_role": `'${ROLE("globex-prod", "333333333334")}'` }],
            ["aws_role a concatenation naming the prod role (red-team S8b)", { ...AWS_ATTRIBUTE_MAPPING, "attribute.aws_role": `'arn:aws:sts::' + '${A}' + ':assumed-role/acme-exchange'` }],
            ["aws_role from the session name", { ...AWS_ATTRIBUTE_MAPPING, "attribute.aws_role": `'${ROLE("")}' + assertion.arn.extract('assumed-role/{r}')` }],
            ["Google's default mapping (no aws_account)", { "google.subject": "assertion.arn", "attribute.aws_role": AWS_ATTRIBUTE_MAPPING["attribute.aws_role"] }],
            ["an extra attribute", { ...AWS_ATTRIBUTE_MAPPING, "attribute.team": "'acme'" }],
            ["none at all", undefined],
        ];
        for (const [what, mapping] of mappings) {
            it(`refuses a mapping with ${what}, even under the rendered condition`, () => {
                const r = renderedProvider("prod", A);
                r.inputs.attributeMapping = mapping;
                if (mapping === undefined) delete r.inputs.attributeMapping;
                refuses(P, [r], /not the one partner-access renders/);
            });
        }
        it("stag: refuses acme's dev-account provider mapping its callers to the prod role by concatenation, and a condition admitting the prod role's name", () => {
            const r = renderedProvider("stag", "210987654321");
            r.inputs.attributeMapping = { ...AWS_ATTRIBUTE_MAPPING, "attribute.aws_role": "'arn:aws:sts::' + '210987654322' + ':assumed-role/acme-exchange'" };
            refuses(P, [r], /not the one partner-access renders/, { stack: "stag" });
            const c = renderedProvider("stag", "210987654321");
            c.inputs.attributeCondition = `attribute.aws_role in ["${ROLE("acme-exchange-dev", "210987654321")}", "${ROLE("acme-exchange", "210987654321")}"]`;
            refuses(P, [c], /admits arn:aws:sts::210987654321:assumed-role\/acme-exchange\//, { stack: "stag" });
        });
    });

    describe("service-account-impersonation-rendered", () => {
        const P = "service-account-impersonation-rendered";
        const POOL = "principalSet://iam.googleapis.com/projects/100000000002/locations/global/workloadIdentityPools/partner-access-prod-b7605b";
        const ACME_ROLE = `${POOL}/attribute.aws_role/arn:aws:sts::210987654322:assumed-role/acme-exchange`;
        const sa = (email: string) => `projects/${email.split("@")[1].split(".")[0]}/serviceAccounts/${email}`;
        const BROKER = sa("partner-access-prod-broker@example-partner-prod.iam.gserviceaccount.com");
        const ESP = sa("partner-access-prod-esp@example-partner-prod.iam.gserviceaccount.com");
        const ACME_SA = sa("acme-sync@acme-prod-4711.iam.gserviceaccount.com");
        const member = (serviceAccountId: string, role: string, m: string) => [res("gcp:serviceaccount/iAMMember:IAMMember", { serviceAccountId, role, member: m })];
        it("accepts the rendered stages (no impersonation grant at all) and roles that do not act as the account", () => {
            for (const stack of ["prod", "stag"] as const) passes(P, rendered(stack), { stack });
            passes(P, member(BROKER, "roles/iam.serviceAccountViewer", "serviceAccount:orders-sync@example-partner-prod.iam.gserviceaccount.com"));
            passes(P, [res("gcp:projects/iAMMember:IAMMember", { project: "example-partner-prod", role: "roles/servicemanagement.serviceController", member: "serviceAccount:partner-access-prod-esp@example-partner-prod.iam.gserviceaccount.com" })]);
        });
        const refused: [string, SynthResource[], RegExp][] = [
            ["a listed partner role as workloadIdentityUser of the broker's account (red-team G12)", member(BROKER, "roles/iam.workloadIdentityUser", ACME_ROLE), /of partner acme-logistics.*holds roles\/iam.workloadIdentityUser on service account partner-access-prod-broker@.*\(one of ours\)/],
            ["a partner service account as token creator of the gateway's account", member(ESP, "roles/iam.serviceAccountTokenCreator", "serviceAccount:acme-sync@acme-prod-4711.iam.gserviceaccount.com"), /serviceAccountTokenCreator on service account partner-access-prod-esp/],
            ["serviceAccountUser through a binding", [res("gcp:serviceaccount/iAMBinding:IAMBinding", { serviceAccountId: BROKER, role: "roles/iam.serviceAccountUser", members: ["serviceAccount:orders-sync@example-partner-prod.iam.gserviceaccount.com"] })], /serviceAccountUser/],
            ["OpenID token creator through a policy (keys in any case)", [res("gcp:serviceaccount/iAMPolicy:IAMPolicy", { serviceAccountId: BROKER, policyData: JSON.stringify({ Bindings: [{ Role: "roles/iam.serviceAccountOpenIdTokenCreator", Members: [ACME_ROLE] }] }) })], /serviceAccountOpenIdTokenCreator/],
            ["another partner's role as workloadIdentityUser of acme's account", member(ACME_SA, "roles/iam.workloadIdentityUser", `${POOL}/attribute.aws_role/arn:aws:sts::333333333334:assumed-role/globex-prod`), /of partner globex, another partner.*\(of partner acme-logistics\)/],
            ["another partner's service account as token creator of acme's account", member(ACME_SA, "roles/iam.serviceAccountTokenCreator", "serviceAccount:globex-files@globex-prod.iam.gserviceaccount.com"), /another partner/],
            ["acme's own role on acme's own account (the renderer grants the folder directly, never impersonation)", member(ACME_SA, "roles/iam.workloadIdentityUser", ACME_ROLE), /partner-access renders no such grant/],
            ["key admin (creates the account's keys)", member(BROKER, "roles/iam.serviceAccountKeyAdmin", "serviceAccount:orders-sync@example-partner-prod.iam.gserviceaccount.com"), /serviceAccountKeyAdmin/],
            ["owner of the account", member(BROKER, "roles/owner", "serviceAccount:orders-sync@example-partner-prod.iam.gserviceaccount.com"), /roles\/owner/],
            ["a custom role on the account, which cannot be judged", member(BROKER, "projects/example-partner-prod/roles/impersonate", ACME_ROLE), /custom role permits cannot be judged/],
            ["token creator on the whole project (every service account in it)", [res("gcp:projects/iAMMember:IAMMember", { project: "example-partner-prod", role: "roles/iam.serviceAccountTokenCreator", member: ACME_ROLE })], /every service account of example-partner-prod/],
            ["workloadIdentityUser on a folder", [res("gcp:folder/iAMBinding:IAMBinding", { folder: "folders/1", role: "roles/iam.workloadIdentityUser", members: [ACME_ROLE] })], /every service account of folders\/1/],
            // Red-team: editor includes iam.serviceAccounts.actAs; the IAM admin roles can grant any role; a custom role may hold either.
            ["editor on the project", [res("gcp:projects/iAMMember:IAMMember", { project: "example-partner-prod", role: "roles/editor", member: "serviceAccount:acme-sync@acme-prod-4711.iam.gserviceaccount.com" })], /roles\/editor on every service account of example-partner-prod/],
            ["security admin on the project", [res("gcp:projects/iAMMember:IAMMember", { project: "example-partner-prod", role: "roles/iam.securityAdmin", member: ACME_ROLE })], /securityAdmin/],
            ["a custom role on the project", [res("gcp:projects/iAMMember:IAMMember", { project: "example-partner-prod", role: "projects/example-partner-prod/roles/impersonator", member: ACME_ROLE })], /custom role permits cannot be judged/],
        ];
        for (const [what, resources, why] of refused) it(`refuses ${what}`, () => refuses(P, resources, why));
    });

    it("service-account-impersonation-rendered: a known impersonation grant is refused even while the account it is on is unknown (preview)", () => {
        const unknown = require("@pulumi/policy/proxy").unknownStringValue;
        refuses("service-account-impersonation-rendered", [res("gcp:serviceaccount/iAMMember:IAMMember", { serviceAccountId: unknown, role: "roles/iam.workloadIdentityUser", member: "serviceAccount:y@q.iam.gserviceaccount.com" })], /on service account \(not known yet\)/);
    });

    describe("exceptions and unknown values", () => {
        const bad: [string, SynthResource][] = [
            ["endpoints-operations-authenticated", res("gcp:endpoints/service:Service", { openapiConfig: JSON.stringify({ swagger: "2.0", "x-google-allow": "all", paths: {} }) })],
            ["endpoints-issuers-own-keys", res("gcp:endpoints/service:Service", { openapiConfig: JSON.stringify({ swagger: "2.0", paths: {}, securityDefinitions: { g: { type: "oauth2", "x-google-issuer": "https://accounts.google.com" } } }) })],
            ["workload-identity-members-ours", res("gcp:projects/iAMMember:IAMMember", { project: "p", role: "roles/viewer", member: "principalSet://iam.googleapis.com/projects/999999999999/locations/global/workloadIdentityPools/evil/*" })],
            ["workload-identity-providers-listed", res("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", { aws: { accountId: "999999999999" }, attributeMapping: AWS_ATTRIBUTE_MAPPING, attributeCondition: "true" })],
            ["workload-identity-mapping-rendered", res("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", { aws: { accountId: "210987654322" }, attributeCondition: "true" })],
            ["service-account-impersonation-rendered", res("gcp:serviceaccount/iAMMember:IAMMember", { serviceAccountId: "projects/p/serviceAccounts/x@p.iam.gserviceaccount.com", role: "roles/iam.serviceAccountTokenCreator", member: "serviceAccount:y@q.iam.gserviceaccount.com" })],
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
            ["workload-identity-members-ours", res("gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy", { policyData: unknown })],
            ["workload-identity-members-ours", res("gcp:projects/iAMMember:IAMMember", { role: "roles/viewer", member: unknown })],
            ["workload-identity-providers-listed", res("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", { aws: { accountId: unknown } })],
            ["workload-identity-mapping-rendered", res("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", { aws: { accountId: "210987654322" }, attributeMapping: AWS_ATTRIBUTE_MAPPING, attributeCondition: unknown })],
            ["service-account-impersonation-rendered", res("gcp:serviceaccount/iAMMember:IAMMember", { serviceAccountId: "projects/p/serviceAccounts/x@p.iam.gserviceaccount.com", role: "roles/iam.workloadIdentityUser", member: unknown })],
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
