/**
 * The GCP side, as Google will judge it: folder IAM policies and Workload
 * Identity conditions evaluated in CEL (an engine no one here wrote), the
 * Endpoints document validated and read route by route.
 */
import { strict as assert } from "assert";
import SwaggerParser from "@apidevtools/swagger-parser";
import { securityName } from "../components/gcp/openapi";
import { ESP_ARGS, espAccountId } from "../components/gcp/partner-endpoints";
import { awsRoleAttribute } from "../components/plan/identities";
import { conditionHolds, providerAdmits } from "../tools/access/cel-eval";
import { rendered } from "../tools/access/rendered";
import { sampleRegistryObject } from "./support/fixtures";
import { doc, ofType, one, synthStack } from "./support/synth-runs";
import { variant } from "./support/variants";

for (const stack of ["stag", "prod"]) {
    describe(`GCP access, rendered (${stack})`, () => {
        const s = synthStack(stack);
        const r = rendered(s);
        const at = new Date(s.plan.evaluatedAt);

        it("owns each partner folder's WHOLE IAM policy, and grants nothing at bucket level", () => {
            assert.equal(ofType(s, "gcp:storage/managedFolderIamBinding:ManagedFolderIamBinding").length, 0);
            assert.equal(ofType(s, "gcp:storage/managedFolderIamMember:ManagedFolderIamMember").length, 0);
            assert.equal(r.otherStorageGrants.length, 0);
            const withFiles = s.plan.partners.filter((p) => p.gcp.storageRoles.length > 0);
            assert.deepEqual([...r.folderPolicies.keys()].sort(), withFiles.map((p) => p.prefix).sort());
        });

        it("binds each partner's accepted identities to its own folder with exactly its roles", () => {
            for (const p of s.plan.partners.filter((x) => x.gcp.storageRoles.length > 0)) {
                const policy = r.folderPolicies.get(p.prefix)!;
                assert.deepEqual(policy.bindings.map((b) => b.role), p.gcp.storageRoles);
                const who = [...p.gcp.serviceAccounts.map((e) => `serviceAccount:${e}`),
                    ...p.gcp.federatedAwsPrincipals.map((a) => `principalSet://iam.googleapis.com/projects/${s.plan.stage.gcp.projectNumber}/locations/global/workloadIdentityPools/${r.poolId}/attribute.aws_role/${awsRoleAttribute(a)}`)].sort();
                for (const b of policy.bindings) assert.deepEqual([...b.members].sort(), who);
            }
        });

        it("lets object-creating grants reach the partner's prefix only, evaluated in CEL", () => {
            const bucket = s.plan.names.gcsBucket;
            for (const [folder, policy] of r.folderPolicies) {
                for (const b of policy.bindings.filter((x) => x.role === "roles/storage.objectCreator")) {
                    assert.equal(conditionHolds(b.condition?.expression, bucket, `${folder}report.csv`, at), true);
                    for (const outside of ["partners/other/report.csv", `${folder.slice(0, -1)}-x/report.csv`, "report.csv"]) {
                        assert.equal(conditionHolds(b.condition?.expression, bucket, outside, at), false, outside);
                    }
                }
            }
        });

        it("never grants the public, a domain, a group or another stage's identities; the gateway is public only as ESPv2", () => {
            const registry = sampleRegistryObject();
            const foreign: string[] = registry.partners.flatMap((p: any) => Object.entries<any>(p.identities)
                .filter(([env]) => !s.plan.stage.acceptedEnvironments.includes(env)).flatMap(([, ids]) => (ids.gcp ?? []).map((g: any) => g.email)));
            const text = JSON.stringify(s.resources.filter((x) => /iam/i.test(x.type)).map((x) => x.inputs));
            assert.doesNotMatch(text, /"(allUsers|allAuthenticatedUsers)"|"(domain|group):/);
            for (const id of foreign) assert.ok(!text.includes(id), `grants ${id}`);
            const gateway = one(s, "gcp:cloudrunv2/service:Service").inputs;
            assert.equal(gateway.invokerIamDisabled, true);
            assert.match(gateway.template.containers[0].image, /^gcr\.io\/endpoints-release\/endpoints-runtime-serverless:/);
        });

        it("publishes a valid OpenAPI 2.0 document whose routes accept exactly the granted partners' service accounts", async () => {
            const openapi = doc(one(s, "gcp:endpoints/service:Service").inputs.openapiConfig);
            await SwaggerParser.validate(JSON.parse(JSON.stringify(openapi)));
            for (const route of s.plan.routes) {
                const op = openapi.paths?.[route.path]?.[route.method.toLowerCase()];
                const expected = s.plan.partners.filter((p) => p.gcp.activeRoutes.some((x) => x.method === route.method && x.path === route.path))
                    .flatMap((p) => p.gcp.serviceAccounts.map((e) => securityName(p.slug, e))).sort();
                if (expected.length === 0) assert.equal(op, undefined, `${route.method} ${route.path} is served to nobody, so it is absent`);
                else assert.deepEqual(op.security.flatMap((x: object) => Object.keys(x)).sort(), expected);
            }
            for (const d of Object.values<any>(openapi.securityDefinitions)) {
                assert.equal(d["x-google-audiences"], `https://${openapi.host}`);
                assert.equal(d["x-google-jwks_uri"], `https://www.googleapis.com/robot/v1/metadata/x509/${d["x-google-issuer"]}`);
            }
            assert.equal(openapi["x-google-backend"].jwt_audience, s.plan.stage.gcp.apiBackendUrl, "the backend receives a Google ID token for its own audience");
        });

        it("runs ESPv2 refusing escaped slashes, without tracing, under a service account of its own", () => {
            const gateway = one(s, "gcp:cloudrunv2/service:Service").inputs;
            const env = Object.fromEntries(gateway.template.containers[0].envs.map((e: any) => [e.name, e.value]));
            assert.deepEqual(env.ESPv2_ARGS.split(","), ESP_ARGS);
            assert.ok(ESP_ARGS.includes("--disallow_escaped_slashes_in_path") && ESP_ARGS.includes("--disable_tracing"));
            assert.equal(env.ENDPOINTS_SERVICE_NAME, one(s, "gcp:endpoints/service:Service").inputs.serviceName);
            const esp = espAccountId(s.plan.stage.namePrefix, stack);
            assert.ok(ofType(s, "gcp:serviceaccount/account:Account").some((a) => a.inputs.accountId === esp));
            assert.deepEqual(ofType(s, "gcp:projects/iAMMember:IAMMember").map((m) => [m.inputs.role, m.inputs.member]), [["roles/servicemanagement.serviceController", `serviceAccount:${esp}@${s.plan.stage.gcp.project}.iam.gserviceaccount.com`]]);
        });

        it("federates each partner AWS account through its own provider, admitting exactly its roles (CEL)", () => {
            for (const provider of r.wifProviders) {
                assert.ok(provider.providerId.length <= 32 && provider.providerId.startsWith(`aws-${provider.accountId}-`), provider.providerId);
                const planned = s.plan.partners.flatMap((p) => p.gcp.federatedAwsPrincipals).filter((a) => a.split(":")[4] === provider.accountId);
                assert.ok(planned.length > 0);
                for (const arn of planned) {
                    // What STS GetCallerIdentity reports: a role session, or the user itself.
                    const caller = arn.includes(":role/") ? `${awsRoleAttribute(arn)}/session-1` : arn;
                    const got = providerAdmits(provider, { arn: caller, account: provider.accountId });
                    assert.deepEqual(got, { admitted: true, awsRole: awsRoleAttribute(arn) });
                }
                for (const hostile of [`arn:aws:sts::${provider.accountId}:assumed-role/intruder/s`, `arn:aws:iam::${provider.accountId}:user/intruder`]) {
                    assert.equal(providerAdmits(provider, { arn: hostile, account: provider.accountId }).admitted, false, hostile);
                }
                assert.equal(providerAdmits(provider, { arn: `arn:aws:sts::999999999999:assumed-role/${planned[0].split("/").pop()}/s`, account: "999999999999" }).admitted, false, "same role name, another account");
            }
            assert.ok(r.poolId.length <= 32);
        });
    });
}

describe("GCP access over time", () => {
    it("ends acme-logistics' folder grants on 2027-09-30 by the IAM condition alone (CEL at several times)", () => {
        const s = synthStack("prod");
        const r = rendered(s);
        const policy = r.folderPolicies.get("partners/acme-logistics/")!;
        const bucket = s.plan.names.gcsBucket;
        for (const [at, held] of [["2026-12-01T00:00:00Z", true], ["2027-09-29T23:59:59Z", true], ["2027-09-30T00:00:00Z", false], ["2028-01-01T00:00:00Z", false]] as const) {
            for (const b of policy.bindings) assert.equal(conditionHolds(b.condition?.expression, bucket, "partners/acme-logistics/report.csv", new Date(at)), held, `${b.role} at ${at}`);
        }
    });

    it("drops expired partners' routes from the Endpoints document at the next deploy", async () => {
        const now = doc(one(synthStack("prod"), "gcp:endpoints/service:Service").inputs.openapiConfig);
        assert.ok(JSON.stringify(now.securityDefinitions).includes("acme-sync@") && JSON.stringify(now.securityDefinitions).includes("initech-api@"));
        // In 2028 both GCP API grants have ended (acme 2027-09-30, initech 2027-12-31): nobody is served, so no Endpoints service.
        const later = await variant("at2028");
        assert.equal(ofType(later, "gcp:endpoints/service:Service").length, 0);
        assert.equal(ofType(later, "gcp:cloudrunv2/service:Service").filter((x) => String(x.inputs.name).endsWith("-gateway")).length, 0);
    });
});
