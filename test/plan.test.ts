/** The access plan: who may do what, where and when, in each stage. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { windowState } from "../components/plan/validity";
import { generateRegistry } from "../tools/generate-registry";
import { AT, planFor, rawPlanFor, sampleRegistryObject } from "./support/fixtures";

describe("access plan", () => {
    const stag = planFor("stag");
    const prod = planFor("prod");
    const partner = (plan: typeof stag, slug: string) => {
        const p = plan.partners.find((x) => x.slug === slug);
        assert.ok(p, `${slug} not in the ${plan.stage.stage} plan`);
        return p!;
    };
    const keys = (rs: { method: string; path: string }[]) => rs.map((r) => `${r.method} ${r.path}`);

    it("accepts only the stage's partner environments", () => {
        assert.deepEqual(partner(stag, "acme-logistics").environments, ["dev", "stag"]);
        assert.deepEqual(partner(prod, "acme-logistics").environments, ["prod"]);
        assert.deepEqual(partner(prod, "acme-logistics").aws.principals, ["arn:aws:iam::210987654322:role/acme-exchange"]);
        assert.deepEqual(prod.otherStageIdentities["acme-logistics"].aws, ["arn:aws:iam::210987654321:role/acme-exchange-dev", "arn:aws:iam::210987654321:role/integration/acme-exchange-stag"]);
    });

    it("leaves out a partner with no identity for the stage, and says why", () => {
        assert.ok(!prod.partners.some((p) => p.slug === "umbrella"));
        assert.deepEqual(prod.excluded, [{ slug: "umbrella", reason: "no identities for prod" }]);
    });

    it("gives each partner its own prefix and exactly its file actions: create-only writes, no deletes", () => {
        const acme = partner(prod, "acme-logistics");
        assert.equal(acme.prefix, "partners/acme-logistics/");
        assert.deepEqual(acme.aws.files, { objectActions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], list: true });
        assert.deepEqual(partner(prod, "globex").aws.files, { objectActions: ["s3:GetObject"], list: true });
        assert.ok(!JSON.stringify(prod).includes("s3:DeleteObject"), "no partner may delete");
        assert.deepEqual(partner(prod, "globex").gcp.storageRoles, ["roles/storage.objectCreator"], "create without delete: no overwrite");
        assert.deepEqual(partner(prod, "acme-logistics").gcp.storageRoles, ["roles/storage.objectViewer", "roles/storage.objectCreator"]);
    });

    it("expands route patterns against the catalogue", () => {
        assert.deepEqual(keys(partner(prod, "initech").aws.routes), ["GET /invoices/{invoiceId}", "PUT /invoices/{invoiceId}"]);
        assert.deepEqual(keys(partner(prod, "acme-logistics").gcp.routes), ["GET /orders/{orderId}", "GET /orders/{orderId}/items"]);
        assert.equal(partner(prod, "globex").aws.routes.length, prod.routes.length);
    });

    it("carries validity windows, and serves GCP routes only inside them", () => {
        const acme = partner(prod, "acme-logistics");
        assert.deepEqual(acme.gcp.window, { expires: "2027-09-30" });
        assert.deepEqual(partner(prod, "initech").aws.window, { notBefore: "2026-01-01", expires: "2027-12-31" });
        const later = planFor("prod", sampleRegistryObject(), new Date("2027-10-01T00:00:00Z"));
        assert.deepEqual(partner(later, "acme-logistics").gcp.activeRoutes, [], "expired: the Endpoints document drops it");
        assert.equal(partner(later, "acme-logistics").gcp.routes.length, 2, "the grant itself is still planned (and rendered with its end date)");
        assert.equal(windowState(partner(later, "initech").aws.window, new Date("2028-01-01")), "expired");
    });

    it("gives a role to assume-role partners and to federating Google accounts only", () => {
        assert.equal(partner(prod, "acme-logistics").aws.role?.arn, "arn:aws:iam::222222222222:role/partner-access/prod/partner-access-prod-acme-logistics");
        assert.equal(partner(prod, "globex").aws.role, undefined, "direct partners without Google federation need no role");
        const umbrella = partner(stag, "umbrella");
        assert.deepEqual({ aws: umbrella.aws.role?.trustsAwsPrincipals, google: umbrella.aws.role?.trustsGoogle }, { aws: false, google: true });
    });

    it("federates AWS identities into GCP for files only, never an account root", () => {
        assert.deepEqual(partner(prod, "initech").gcp.federatedAwsPrincipals, [], "initech's prod identity is an account root");
        assert.deepEqual(partner(prod, "acme-logistics").gcp.federatedAwsPrincipals, ["arn:aws:iam::210987654322:role/acme-exchange"]);
    });

    it("plans outbound hosts with this stage's callers only", () => {
        assert.deepEqual(prod.outbound.map(({ partner, host, token, callers }) => ({ partner, host, token, callers })), [{ partner: "acme-logistics", host: "api.acme-logistics.example", token: { header: "X-Api-Key" },
            callers: { aws: ["arn:aws:iam::222222222222:role/orders-sync"], gcp: ["orders-sync@example-partner-prod.iam.gserviceaccount.com"] } }]);
        assert.deepEqual(prod.outbound[0].otherStageCallers.aws, ["arn:aws:iam::111111111111:role/orders-sync"], "kept for review: they must reach nothing here");
        assert.deepEqual(stag.outbound[0].callers.aws, ["arn:aws:iam::111111111111:role/orders-sync"]);
    });

    it("never lets a production plan hold a non-production identity (generated registries)", () => {
        fc.assert(fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 1_000_000 }), (count, seed) => {
            const raw = generateRegistry({ count, seed });
            const prodIds = new Set((raw.partners as any[]).flatMap((p) => [...p.identities.prod.aws, ...p.identities.prod.gcp.flatMap((g: any) => [g.email, g.uniqueId])]));
            const plan = rawPlanFor("prod", generateRegistry({ count, seed }), AT);
            for (const p of plan.partners) {
                const held = [...p.aws.principals, ...p.aws.googleIdentities.flatMap((g) => [g.email, g.uniqueId]), ...p.gcp.serviceAccounts, ...p.gcp.federatedAwsPrincipals];
                for (const id of held) assert.ok(prodIds.has(id), `${p.slug} holds non-prod identity ${id}`);
            }
        }), { numRuns: 20 });
    });
});
