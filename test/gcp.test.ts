import { strict as assert } from "assert";
import SwaggerParser from "@apidevtools/swagger-parser";
import { securityName } from "../components/gcp/openapi";
import { espAccountId } from "../components/gcp/partner-endpoints";
import { awsRoleAttribute } from "../components/gcp/storage-bindings";
import { registryEnvironments } from "./support/registry-identities";
import { SynthOutput, doc, ofType, one, synthStack } from "./support/synth-runs";

function folderMembers(s: SynthOutput) {
    const folders = new Map(ofType(s, "gcp:storage/managedFolder:ManagedFolder").map((f) => [f.name, f.inputs.name as string]));
    return ofType(s, "gcp:storage/managedFolderIamBinding:ManagedFolderIamBinding").flatMap((b) => (b.inputs.members as string[]).map((member) => ({
        folder: b.inputs.managedFolder as string,
        role: b.inputs.role as string,
        member,
        condition: b.inputs.condition as { expression: string } | undefined,
        folders,
    })));
}

for (const stack of ["stag", "prod"]) {
    describe(`GCP access, rendered (${stack})`, () => {
        const s = synthStack(stack);
        const openapi = () => doc(one(s, "gcp:endpoints/service:Service").inputs.openapiConfig);

        it("binds each partner's accepted identities to its own folder with exactly its roles, and nothing else", () => {
            const members = folderMembers(s);
            const expected = new Set<string>();
            for (const p of s.plan.partners) {
                const who = [...p.gcp.serviceAccounts.map((e) => `serviceAccount:${e}`),
                    ...p.gcp.federatedAwsPrincipals.map((a) => `principalSet://iam.googleapis.com/projects/${s.plan.stage.gcp.projectNumber}/locations/global/workloadIdentityPools/${s.plan.names.workloadIdentityPool}/attribute.aws_role/${awsRoleAttribute(a)}`)];
                for (const role of p.gcp.storageRoles) for (const m of who) expected.add(`${p.prefix}|${role}|${m}`);
            }
            assert.deepEqual(new Set(members.map((m) => `${m.folder}|${m.role}|${m.member}`)), expected);
            assert.ok(expected.size > 0);
        });

        it("confines object-creating grants to the prefix with an IAM condition", () => {
            for (const m of folderMembers(s)) {
                if (m.role === "roles/storage.objectCreator") {
                    assert.equal(m.condition?.expression, `resource.name.startsWith("projects/_/buckets/${s.plan.names.gcsBucket}/objects/${m.folder}")`);
                }
            }
        });

        it("never grants the public, a domain or another stage's identities", () => {
            const foreign = registryEnvironments(stack === "prod" ? ["dev", "stag"] : ["prod"]);
            const iamTypes = s.resources.filter((r) => /iam(member|binding|policy)/i.test(r.type));
            for (const r of iamTypes) {
                const member = String(r.inputs.member ?? "");
                if (r.type === "gcp:cloudrunv2/serviceIamMember:ServiceIamMember") {
                    // The ESPv2 gateway itself is reachable by anyone; ESPv2 authenticates every call.
                    assert.deepEqual([member, r.inputs.role], ["allUsers", "roles/run.invoker"]);
                    continue;
                }
                assert.ok(!/^(allUsers|allAuthenticatedUsers|domain:)/.test(member), `${r.name}: ${member}`);
                for (const id of foreign) assert.ok(!member.includes(id), `${r.name} grants ${id}`);
            }
            const issuers = Object.values(openapi().securityDefinitions).map((d: any) => d["x-google-issuer"]);
            for (const id of foreign) assert.ok(!issuers.includes(id), `the API accepts ${id}`);
        });

        it("publishes a valid OpenAPI 2.0 document", async () => {
            await SwaggerParser.validate(openapi());
        });

        it("lets each route be called by exactly the partners granted it", () => {
            const spec = openapi();
            for (const route of s.plan.routes) {
                const grantees = s.plan.partners.filter((p) => p.gcp.routes.some((r) => r.method === route.method && r.path === route.path));
                const op = spec.paths[route.path]?.[route.method.toLowerCase()];
                if (grantees.length === 0) {
                    assert.equal(op, undefined, `${route.method} ${route.path} is served though nobody is granted it`);
                    continue;
                }
                const names = op.security.map((req: object) => Object.keys(req)[0]).sort();
                const expected = grantees.flatMap((p) => p.gcp.serviceAccounts.map((e) => securityName(p.slug, e))).sort();
                assert.deepEqual(names, expected, `${route.method} ${route.path}`);
                for (const req of op.security) assert.deepEqual(Object.values(req), [[]]);
            }
        });

        it("trusts each partner service account as its own JWT issuer with our audience", () => {
            const spec = openapi();
            for (const [name, d] of Object.entries<any>(spec.securityDefinitions)) {
                assert.equal(d.type, "oauth2");
                assert.equal(d["x-google-jwks_uri"], `https://www.googleapis.com/robot/v1/metadata/x509/${d["x-google-issuer"]}`);
                assert.equal(d["x-google-audiences"], s.outputs.gcp.audience);
                assert.ok(name.startsWith(s.plan.partners.find((p) => p.gcp.serviceAccounts.includes(d["x-google-issuer"]))!.slug + "--"));
            }
            assert.equal(spec["x-google-backend"].address, s.plan.stage.gcp.apiBackendUrl);
            assert.equal(spec.host, s.plan.names.endpointsService);
        });

        it("names the ESPv2 service account within Google's 6-30 characters, ending in a letter or digit", () => {
            for (const [prefix, st] of [["partner-access", stack], ["a-very-long-prefix-x", "production"], ["abcdefghijklmnopqrs-", "stag"]]) {
                const id = espAccountId(prefix, st);
                assert.match(id, /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, id);
                assert.ok(id.endsWith(`-${st}-esp`));
            }
        });

        it("serves the document with ESPv2 on Cloud Run, under its own service account", () => {
            const run = one(s, "gcp:cloudrunv2/service:Service").inputs;
            const env = Object.fromEntries(run.template.containers[0].envs.map((e: any) => [e.name, e.value]));
            assert.equal(env.ENDPOINTS_SERVICE_NAME, s.plan.names.endpointsService);
            assert.match(env.ESPv2_ARGS, /--rollout_strategy=managed/);
            assert.match(run.template.serviceAccount, /-esp@/);
            assert.equal(run.deletionProtection, s.plan.stage.production);
        });

        it("admits through Workload Identity only the accepted AWS roles of each partner account", () => {
            const providers = ofType(s, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
            const federated = s.plan.partners.flatMap((p) => p.gcp.federatedAwsPrincipals);
            assert.equal(new Set(providers.map((p) => p.inputs.aws.accountId)).size, providers.length, "one provider per AWS account");
            for (const prov of providers) {
                const acct = prov.inputs.aws.accountId;
                const cond: string = prov.inputs.attributeCondition;
                assert.ok(cond.startsWith(`assertion.account == "${acct}" && attribute.aws_role in [`), cond);
                const admitted = [...cond.matchAll(/"(arn:[^"]+)"/g)].map((m) => m[1]).sort();
                assert.deepEqual(admitted, federated.filter((a) => a.includes(`::${acct}:`)).map(awsRoleAttribute).sort());
            }
            assert.equal(providers.length, new Set(federated.map((a) => a.split(":")[4])).size);
        });
    });
}
