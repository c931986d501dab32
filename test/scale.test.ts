/**
 * Scale: every document within its quota at 1,000 and 5,000 partners, quotas
 * refused with the way out, and the blast radius of one partner's change at
 * 1,000 partners. Measured time and memory live in `npx partner-access bench`
 * (never in these tests).
 */
import { strict as assert } from "assert";
import { awsDocumentSizes } from "../components/aws/limits";
import { apiResourcePolicy, bucketPolicy, rolePermissionPolicy, trustPolicy } from "../components/aws/policy-documents";
import { restApiDefinition } from "../components/aws/rest-api-definition";
import { folderPolicies } from "../components/gcp/folder-policy";
import { openApiDocument } from "../components/gcp/openapi";
import { awsProviderSpecs } from "../components/gcp/workload-identity-providers";
import { AccessPlan } from "../components/plan/access-plan";
import { renderProblems } from "../components/stage-inputs";
import { generateRegistry } from "../tools/generate-registry";
import { rawPlanFor } from "./support/fixtures";

/** Every document the stage registers, by the resource that holds it (what synth would send each resource). */
function renderedDocuments(plan: AccessPlan): Map<string, string> {
    const out = new Map<string, string>([
        ["aws bucket policy", JSON.stringify(bucketPolicy(plan))],
        ["aws REST API body", JSON.stringify(restApiDefinition(plan))],
        ["aws REST API policy", JSON.stringify(apiResourcePolicy(plan))],
        ["gcp Endpoints configuration", JSON.stringify(openApiDocument(plan, "svc.endpoints.p.cloud.goog"))],
    ]);
    for (const p of plan.partners) {
        if (p.aws.role) {
            out.set(`aws role ${p.slug} trust`, JSON.stringify(trustPolicy(plan, p)));
            out.set(`aws role ${p.slug} grant`, JSON.stringify(rolePermissionPolicy(plan, p, "0123456789")));
        }
    }
    for (const f of folderPolicies(plan, "pool-123456")) out.set(`gcp folder ${f.slug}`, JSON.stringify(f.bindings));
    for (const spec of awsProviderSpecs(plan)) out.set(`gcp federation provider ${spec.accountId}`, spec.attributeCondition);
    return out;
}

function changed(a: Map<string, string>, b: Map<string, string>): string[] {
    return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
}

describe("scale", () => {
    const registry = generateRegistry({ count: 1000 });
    const plan = rawPlanFor("prod", registry);

    it("1,000 partners: every rendered document within its limit, nothing to refuse (5,000: npx partner-access bench)", () => {
        assert.equal(plan.partners.length, 1000);
        for (const d of awsDocumentSizes(plan)) assert.ok(d.size <= d.limit, `${d.kind} of ${d.owner}: ${d.size} > ${d.limit}`);
        assert.deepEqual(renderProblems(plan).map((p) => p.message), []);
    });

    it("refuses more roles than the account's IAM quota, naming the quota and the way out", () => {
        const tight = { ...plan, stage: { ...plan.stage, aws: { ...plan.stage.aws, roleQuota: 900 } } };
        const problems = renderProblems(tight);
        assert.ok(problems.some((p) => p.configKey === "awsRoleQuota" && /over the IAM roles-per-account quota \(900\).*several stacks/.test(p.message)), JSON.stringify(problems));
    });

    it("refuses too many direct partners for the bucket and API policies, naming the limit and the way out", () => {
        const plan = rawPlanFor("prod", generateRegistry({ count: 120, directEvery: 2 }));
        const problems = renderProblems(plan).map((p) => p.message);
        assert.ok(problems.some((m) => /apiResourcePolicy .* over the AWS limit of 8192: move some `direct` partners to `connect: assume-role`/.test(m)), problems.join("\n"));
    });

    describe("blast radius at 1,000 partners", () => {
        const base = renderedDocuments(plan);
        const withPartner = (p: any) => renderedDocuments(rawPlanFor("prod", { ...registry, partners: [...(registry.partners as any[]), p] }));
        const newcomer = (grants: any) => ({
            slug: "newcomer", name: "Newcomer", contact: "ops@newcomer.example",
            identities: { prod: { aws: ["arn:aws:iam::909090909090:role/newcomer"], gcp: [{ email: "newcomer-sa@newcomer-prod.iam.gserviceaccount.com" }] } },
            ...grants,
        });

        it("adding an assume-role partner with files and AWS routes changes only that partner's documents, on both clouds", function () {
            this.timeout(30_000);
            const diff = changed(base, withPartner(newcomer({ aws: { connect: "assume-role", files: "read-write", api: ["GET /orders"] }, gcp: { files: "read" } })));
            assert.deepEqual(diff, ["aws role newcomer grant", "aws role newcomer trust", "gcp federation provider 909090909090", "gcp folder newcomer"]);
        });

        it("changing one partner's grants changes only that partner's documents", function () {
            this.timeout(30_000);
            const partners = JSON.parse(JSON.stringify(registry.partners));
            const p = partners.find((x: any) => x.aws.connect === "assume-role" && x.aws.files === "read");
            p.aws.files = "read-write";
            const diff = changed(base, renderedDocuments(rawPlanFor("prod", { ...registry, partners })));
            assert.deepEqual(diff, [`aws role ${p.slug} grant`]);
        });

        it("makes the shared cost explicit: a partner with GCP routes changes the one Endpoints configuration", function () {
            this.timeout(30_000);
            const diff = changed(base, withPartner(newcomer({ gcp: { api: ["GET /catalog"] } })));
            assert.deepEqual(diff, ["gcp Endpoints configuration"]);
        });
    });
});
