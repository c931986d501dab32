import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { doc, ofType, one, runSynth, synthStack } from "./support/synth-runs";
import { sampleRegistryObject, tempDir } from "./support/fixtures";
import { UNKNOWN } from "../tools/synth";

describe("offline synth", () => {
    for (const stack of ["stag", "prod"]) {
        describe(stack, () => {
            it("writes resources, plan and outputs, every resource with urn, type, name and inputs", () => {
                const s = synthStack(stack);
                for (const f of ["resources.json", "plan.json", "outputs.json"]) assert.ok(fs.existsSync(path.join(s.dir, f)));
                assert.ok(s.resources.length > 50);
                for (const r of s.resources) {
                    assert.match(r.urn, new RegExp(`^urn:pulumi:${stack}::partner-access::`));
                    assert.equal(typeof r.inputs, "object");
                }
                const urns = new Set(s.resources.map((r) => r.urn));
                for (const r of s.resources) if (r.parent) assert.ok(urns.has(r.parent) || r.parent.includes("pulumi:pulumi:Stack"), `${r.urn} has unknown parent`);
                assert.equal(s.plan.stage.stage, stack);
                assert.equal(s.outputs.stage, stack);
            });

            it("keeps resource names URN-safe (no \"::\")", () => {
                for (const r of synthStack(stack).resources) assert.ok(!r.name.includes("::"), r.name);
            });

            it("parents every cloud resource to a partner-access component", () => {
                const s = synthStack(stack);
                const byUrn = new Map(s.resources.map((r) => [r.urn, r]));
                for (const r of s.resources) {
                    if (r.type.startsWith("pulumi:providers:") || r.type.startsWith("partner-access:")) continue;
                    assert.ok(r.parent && byUrn.get(r.parent)?.type.startsWith("partner-access:"), `${r.type} ${r.name} is not inside a component`);
                }
            });

            it("pins the AWS provider to the stage's account and the GCP provider to its project", () => {
                const s = synthStack(stack);
                // Provider config reaches the provider JSON-encoded, as the CLI sends it.
                assert.deepEqual(doc(one(s, "pulumi:providers:aws").inputs.allowedAccountIds), [s.plan.stage.aws.accountId]);
                assert.equal(one(s, "pulumi:providers:gcp").inputs.project, s.plan.stage.gcp.project);
                // Every cloud resource goes through those providers, never an unpinned default one.
                for (const cloud of ["aws", "gcp"]) {
                    const provider = one(s, `pulumi:providers:${cloud}`).urn;
                    for (const r of s.resources.filter((x) => x.type.startsWith(`${cloud}:`))) assert.ok(r.provider?.startsWith(`${provider}::`), `${r.type} ${r.name}: ${r.provider}`);
                }
            });

            it("keeps partner data: buckets protected against deletion, versioned, private", () => {
                const s = synthStack(stack);
                const pab = one(s, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs;
                assert.deepEqual([pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets], [true, true, true, true]);
                assert.equal(one(s, "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration.status, "Enabled");
                assert.equal(one(s, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule.objectOwnership, "BucketOwnerEnforced");
                assert.equal(one(s, "aws:s3/bucket:Bucket").inputs.forceDestroy, false);
                const gcs = one(s, "gcp:storage/bucket:Bucket").inputs;
                assert.deepEqual([gcs.uniformBucketLevelAccess, gcs.publicAccessPrevention, gcs.versioning.enabled, gcs.forceDestroy], [true, "enforced", true, false]);
                assert.ok(gcs.softDeletePolicy.retentionDurationSeconds >= 7 * 86400);
                // Only overwritten versions ever expire, on both clouds.
                assert.deepEqual(gcs.lifecycleRules.map((r: any) => [r.action.type, r.condition.withState]), [["Delete", "ARCHIVED"]]);
                const s3Rules = one(s, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
                assert.ok(s3Rules.every((r: any) => !r.expiration), "no S3 rule expires current objects");
            });

            it("requires SigV4 on every API method", () => {
                const s = synthStack(stack);
                const methods = ofType(s, "aws:apigateway/method:Method");
                assert.equal(methods.length, s.plan.routes.length);
                for (const m of methods) assert.equal(m.inputs.authorization, "AWS_IAM", m.name);
            });

            it("redeploys the API stage when the policy changes, with access logging", () => {
                const s = synthStack(stack);
                const policy = one(s, "aws:apigateway/restApiPolicy:RestApiPolicy").inputs.policy;
                const trigger = one(s, "aws:apigateway/deployment:Deployment").inputs.triggers.redeployment;
                const crypto = require("crypto");
                const integration = s.plan.stage.aws.apiBackendUrl ?? "mock";
                const expected = crypto.createHash("sha256").update(JSON.stringify({ routes: s.plan.routes.map((r) => `${r.method} ${r.path}`), backend: integration, policy })).digest("hex");
                assert.equal(trigger, expected);
                assert.match(one(s, "aws:apigateway/stage:Stage").inputs.accessLogSettings.destinationArn, /^arn:aws:logs:/);
            });
        });
    }

    it("proxies to the backend in prod and mocks the integration in stag (no backend configured)", () => {
        const types = (stack: string) => new Set(ofType(synthStack(stack), "aws:apigateway/integration:Integration").map((i) => i.inputs.type));
        assert.deepEqual(types("prod"), new Set(["HTTP_PROXY"]));
        assert.deepEqual(types("stag"), new Set(["MOCK"]));
        const proxied = ofType(synthStack("prod"), "aws:apigateway/integration:Integration").find((i) => i.name.endsWith("GET/orders/{orderId}"))!;
        assert.equal(proxied.inputs.uri, "https://orders-backend.example.com/orders/{orderId}");
        assert.deepEqual(proxied.inputs.requestParameters, { "integration.request.path.orderId": "method.request.path.orderId" });
    });

    it("exports the stage's bucket, API URL and each partner's connection details", () => {
        const o = synthStack("prod").outputs;
        assert.equal(o.aws.bucketName, "partner-access-prod-222222222222-eu-west-1");
        assert.match(o.aws.invokeUrl, /^https:\/\/[a-z0-9]{10}\.execute-api\.eu-west-1\.amazonaws\.com\/prod$/);
        assert.equal(o.partners["acme-logistics"].aws.identityPolicy.Statement[0].Action[0], "sts:AssumeRole");
        assert.equal(o.partners.globex.aws.roleArn, undefined);
        assert.ok(o.partners.globex.aws.identityPolicy.Statement.some((s: any) => s.Action === "execute-api:Invoke"));
        assert.deepEqual(o.excludedPartners, [{ slug: "umbrella", reason: "no identities for prod" }]);
    });

    it("registers the same resources in a first preview, where every id and output is unknown", () => {
        const run = runSynth(["--stack", "prod", "--preview"]);
        assert.equal(run.status, 0, run.stderr);
        const preview = JSON.parse(fs.readFileSync(path.join(run.dir, "prod", "resources.json"), "utf8"));
        assert.deepEqual(preview.map((r: any) => r.urn).sort(), synthStack("prod").resources.map((r) => r.urn).sort());
        const policy = preview.find((r: any) => r.type === "aws:apigateway/restApiPolicy:RestApiPolicy");
        assert.equal(policy.inputs.policy, UNKNOWN, "the API policy depends on the API id");
        assert.ok(!fs.existsSync(path.join(run.dir, "prod", "outputs.json")));
    });

    it("takes another registry with --registry", () => {
        const reg = sampleRegistryObject();
        reg.partners = reg.partners.filter((p: any) => p.slug === "globex");
        const file = path.join(tempDir("registry"), "only-globex.yaml");
        fs.writeFileSync(file, YAML.stringify(reg));
        const s = synthStack("stag", file);
        assert.deepEqual(s.plan.partners.map((p) => p.slug), ["globex"]);
        assert.equal(ofType(s, "aws:iam/role:Role").filter((r) => r.inputs.path === "/partner-access/stag/").length, 0);
    });

    it("fails with every message and registers nothing when the registry is bad", () => {
        const reg = sampleRegistryObject();
        reg.partners[0].identities.prod.aws = ["arn:aws:iam::*:root"];
        reg.partners[1].slug = "acme-logistics";
        const file = path.join(tempDir("registry"), "bad.yaml");
        fs.writeFileSync(file, YAML.stringify(reg));
        const run = runSynth(["--stack", "prod", "--registry", file]);
        assert.equal(run.status, 1);
        assert.match(run.stderr, /bad\.yaml: partner "acme-logistics": field "identities\.prod\.aws\[0\]": .*wildcard/);
        assert.match(run.stderr, /duplicate slug/);
        assert.ok(!fs.existsSync(path.join(run.dir, "prod", "resources.json")));
    });

    it("fails on an unknown stack", () => {
        const run = runSynth(["--stack", "qa"]);
        assert.equal(run.status, 1);
        assert.match(run.stderr, /Pulumi\.qa\.yaml: no such stack config \(stacks: .*prod.*stag/);
    });
});
