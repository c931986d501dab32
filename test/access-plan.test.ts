import { strict as assert } from "assert";
import fc from "fast-check";
import { buildPlan } from "../components/plan/access-plan";
import { parseRegistry } from "../components/plan/registry";
import { generateRegistry, generateRegistryYaml } from "../tools/generate-registry";
import { planFor, stageConfig } from "./support/fixtures";

describe("access plan", () => {
    const stag = planFor("stag");
    const prod = planFor("prod");
    const partner = (plan: typeof stag, slug: string) => {
        const p = plan.partners.find((x) => x.slug === slug);
        assert.ok(p, `${slug} not in the ${plan.stage.stage} plan`);
        return p!;
    };

    it("accepts only the stage's partner environments", () => {
        assert.deepEqual(partner(stag, "acme-logistics").environments, ["dev", "stag"]);
        assert.deepEqual(partner(prod, "acme-logistics").environments, ["prod"]);
        assert.deepEqual(partner(stag, "acme-logistics").aws.principals, [
            "arn:aws:iam::210987654321:role/acme-exchange-dev", "arn:aws:iam::210987654321:role/integration/acme-exchange-stag"]);
        assert.deepEqual(partner(prod, "acme-logistics").aws.principals, ["arn:aws:iam::210987654322:role/acme-exchange"]);
    });

    it("leaves out a partner with no identity for the stage, and says why", () => {
        assert.ok(!prod.partners.some((p) => p.slug === "umbrella"));
        assert.deepEqual(prod.excluded, [{ slug: "umbrella", reason: "no identities for prod" }]);
        assert.equal(partner(stag, "umbrella").gcp.serviceAccounts.length, 1);
    });

    it("gives each partner its own prefix and exactly its file actions", () => {
        const acme = partner(prod, "acme-logistics");
        assert.equal(acme.prefix, "partners/acme-logistics/");
        assert.deepEqual(acme.aws.files, { objectActions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], list: true });
        assert.deepEqual(partner(prod, "globex").aws.files, { objectActions: ["s3:GetObject"], list: true });
        assert.deepEqual(partner(prod, "initech").aws.files, { objectActions: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], list: false });
        assert.ok(!JSON.stringify(prod).includes("s3:DeleteObject"), "no partner may delete");
        assert.deepEqual(partner(prod, "globex").gcp.storageRoles, ["roles/storage.objectCreator"]);
        assert.deepEqual(partner(prod, "initech").gcp.storageRoles, []);
    });

    it("expands route patterns against the catalogue", () => {
        const key = (rs: { method: string; path: string }[]) => rs.map((r) => `${r.method} ${r.path}`);
        assert.deepEqual(key(partner(prod, "initech").aws.routes), ["GET /invoices/{invoiceId}", "PUT /invoices/{invoiceId}"]);
        assert.deepEqual(key(partner(prod, "acme-logistics").gcp.routes), ["GET /orders/{orderId}", "GET /orders/{orderId}/items"]);
        assert.equal(partner(prod, "globex").aws.routes.length, prod.routes.length);
    });

    it("gives a role to assume-role partners and to federating Google accounts only", () => {
        assert.equal(partner(prod, "acme-logistics").aws.role?.arn, "arn:aws:iam::222222222222:role/partner-access/prod/partner-access-prod-acme-logistics");
        assert.deepEqual(partner(prod, "acme-logistics").aws.googleIdentities, [{ email: "acme-sync@acme-prod-4711.iam.gserviceaccount.com", uniqueId: "104857600000000000002" }]);
        assert.equal(partner(prod, "globex").aws.role, undefined, "direct partners without Google federation need no role");
        const umbrella = partner(stag, "umbrella");
        assert.deepEqual({ aws: umbrella.aws.role?.trustsAwsPrincipals, google: umbrella.aws.role?.trustsGoogle }, { aws: false, google: true });
    });

    it("federates AWS identities into GCP for files only, never an account root", () => {
        assert.deepEqual(partner(prod, "initech").gcp.federatedAwsPrincipals, [], "initech's prod identity is an account root");
        assert.deepEqual(partner(prod, "acme-logistics").gcp.federatedAwsPrincipals, ["arn:aws:iam::210987654322:role/acme-exchange"]);
    });

    it("never lets a production plan hold a non-production identity (generated registries)", () => {
        fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1_000_000 }), (count, seed) => {
            const raw = generateRegistry({ count, seed });
            const registry = parseRegistry(generateRegistryYaml({ count, seed }), "generated.yaml");
            const prodIds = new Set((raw.partners as any[]).flatMap((p) => [...p.identities.prod.aws, ...p.identities.prod.gcp.flatMap((g: any) => [g.email, g.uniqueId])]));
            const plan = buildPlan(registry, stageConfig("prod"));
            for (const p of plan.partners) {
                const held = [...p.aws.principals, ...p.aws.googleIdentities.flatMap((g) => [g.email, g.uniqueId]), ...p.gcp.serviceAccounts, ...p.gcp.federatedAwsPrincipals];
                for (const id of held) assert.ok(prodIds.has(id), `${p.slug} holds non-prod identity ${id}`);
            }
        }), { numRuns: 25 });
    });
});
