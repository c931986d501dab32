/** 1,000 partners per stage: every rendered document within its cloud limit, or a refusal that names the limit. */
import { strict as assert } from "assert";
import { LIMITS, awsDocumentSizes, awsLimitProblems } from "../components/aws/limits";
import { openApiDocument } from "../components/gcp/openapi";
import { storageBindings } from "../components/gcp/storage-bindings";
import { awsProviderSpecs } from "../components/gcp/workload-identity-providers";
import { buildPlan } from "../components/plan/access-plan";
import { parseRegistry } from "../components/plan/registry";
import { generateRegistry, generateRegistryYaml } from "../tools/generate-registry";
import { stageConfig } from "./support/fixtures";

describe("1,000 partners per stage", () => {
    const registry = parseRegistry(generateRegistryYaml({ count: 1000 }), "generated.yaml");
    const prodConfig = stageConfig("prod");

    for (const stack of ["stag", "prod"]) {
        it(`${stack}: every AWS document stays within its limit`, () => {
            const config = stageConfig(stack);
            const plan = buildPlan(registry, config);
            const sizes = awsDocumentSizes(plan);
            assert.ok(sizes.filter((d) => d.kind === "trustPolicy").length > 800);
            for (const d of sizes) assert.ok(d.size <= d.limit, `${d.kind} of ${d.owner}: ${d.size} > ${d.limit}`);
            assert.deepEqual(awsLimitProblems(plan, "generated.yaml"), []);
            const bucket = sizes.find((d) => d.kind === "bucketPolicy")!;
            assert.ok(bucket.size > 2500, `the direct partners are really in the bucket policy (${bucket.size})`);
        });
    }

    it("refuses more roles than the account's IAM quota, naming the quota and the way out", () => {
        const plan = buildPlan(registry, { ...prodConfig, aws: { ...prodConfig.aws, roleQuota: 500 } });
        const problems = awsLimitProblems(plan, "generated.yaml");
        assert.equal(problems.length, 1);
        assert.match(problems[0].message, /needs \d{3} partner roles, over partner-access:aws\.roleQuota \(500, the IAM roles-per-account quota\): request an increase/);
    });

    it("refuses too many direct partners for the bucket and API policies, naming the limit and the way out", () => {
        const crowded = parseRegistry(generateRegistryYaml({ count: 200, directEvery: 2 }), "crowded.yaml");
        const problems = awsLimitProblems(buildPlan(crowded, prodConfig), "crowded.yaml");
        assert.ok(problems.some((p) => p.message.startsWith("bucketPolicy") && p.message.includes(`limit of ${LIMITS.bucketPolicy}`) && p.message.includes("connect: assume-role")));
        assert.ok(problems.some((p) => p.message.startsWith("apiResourcePolicy") && p.message.includes(`limit of ${LIMITS.apiResourcePolicy}`)));
    });

    it("keeps every GCP allow policy far below 1,500 members: one managed folder per partner", () => {
        const plan = buildPlan(registry, prodConfig);
        const perFolder = new Map<string, number>();
        for (const b of storageBindings(plan)) perFolder.set(b.folder, (perFolder.get(b.folder) ?? 0) + b.members.length);
        assert.ok(perFolder.size > 500);
        assert.ok(Math.max(...perFolder.values()) <= 10);
        const raw = generateRegistry({ count: 1000 });
        assert.equal((raw.partners as unknown[]).length, 1000);
    });

    it("renders one Workload Identity provider per partner AWS account and an OpenAPI document per stage", () => {
        const plan = buildPlan(registry, prodConfig);
        const specs = awsProviderSpecs(plan);
        assert.equal(new Set(specs.map((s) => s.accountId)).size, specs.length);
        for (const s of specs) assert.ok(s.attributeCondition.length < 4096, "attribute conditions are limited to 4,096 characters");
        const doc = openApiDocument(plan);
        assert.ok(Object.keys(doc.securityDefinitions).length > 500);
    });
});
