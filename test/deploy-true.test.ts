/**
 * What `pulumi up`, the Pulumi CLI and the clouds really do, reproduced:
 * the engine's order of steps and Google's soft deletes (support/engine-model.ts),
 * the Node.js program runner printing a bad registry (a fake engine receives
 * its logs), kits built from stack outputs.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Value } from "@sinclair/typebox/value";
import { KitSchema } from "../client/src/kit";
import { CLOUDWATCH_ROLE_TRUST } from "../components/aws/partner-api";
import { stackConfigMap } from "../tools/stack-config";
import { SynthResource } from "../tools/synth";
import { deploymentSnapshots, softDeleteConflicts, steps } from "./support/engine-model";
import { startFakeEngine } from "./support/fake-engine";
import { InputError } from "../components/plan/problems";
import { AT, ROOT, planFor, registryFile, sampleRegistryObject, tempDir } from "./support/fixtures";
import { kitOf, StackOutputs } from "../tools/kits";
import { cliInProcess, deployedOutputsFile, doc, ofType, one, synthStack } from "./support/synth-runs";
import { variant, variantRun } from "./support/variants";

describe("deploy-true: removed routes disappear", () => {
    const previous = synthStack("prod");
    let after: { resources: SynthResource[] };
    before(async () => (after = await variant("routeRemoved")));

    it("describes the API by one OpenAPI body (SigV4 on every operation), no resource per route", () => {
        for (const type of ["aws:apigateway/resource:Resource", "aws:apigateway/method:Method", "aws:apigateway/integration:Integration"]) {
            assert.equal(after.resources.filter((r) => r.type === type).length, 0, type);
        }
        const api = after.resources.find((r) => r.type === "aws:apigateway/restApi:RestApi")!;
        assert.equal(api.inputs.putRestApiMode, "overwrite");
        for (const ops of Object.values<any>(JSON.parse(api.inputs.body as string).paths)) for (const op of Object.values<any>(ops)) assert.deepEqual(op.security, [{ sigv4: [] }]);
    });

    it("takes the new deployment after the API is updated, so no stage serves the removed route", () => {
        const ops = steps(previous.resources, after.resources);
        const apiStep = ops.findIndex((o) => o.after?.type === "aws:apigateway/restApi:RestApi");
        const deployStep = ops.findIndex((o) => o.after?.type === "aws:apigateway/deployment:Deployment");
        assert.equal(ops[apiStep].op, "update", "the route change is an in-place update of the API");
        assert.equal(ops[deployStep].op, "replace", "and a new deployment");
        assert.ok(apiStep < deployStep);
        const snapshots = deploymentSnapshots(previous.resources, after.resources);
        assert.equal(snapshots.length, 1);
        assert.ok(!snapshots[0].includes("PUT /invoices/{invoiceId}"), snapshots[0].join(", "));
        assert.ok(snapshots[0].includes("GET /invoices/{invoiceId}"));
        // Nothing deleted at the end of the update carries a route.
        assert.deepEqual(ops.filter((o) => o.op === "delete").map((o) => o.before!.type), []);
    });

    it("(the model is not vacuous) shows a per-route Method deleted last would still be in the snapshot", () => {
        const method = (route: string): SynthResource => ({ urn: `urn:method:${route}`, type: "aws:apigateway/method:Method", name: route, inputs: { httpMethod: route.split(" ")[0], resourcePath: route.split(" ")[1] } });
        const deployment = (hash: string): SynthResource => ({ urn: "urn:deployment", type: "aws:apigateway/deployment:Deployment", name: "d", inputs: { triggers: { redeployment: hash } } });
        const old = [method("GET /a"), method("PUT /a"), deployment("1")];
        const next = [method("GET /a"), deployment("2")];
        assert.deepEqual(deploymentSnapshots(old, next), [["GET /a", "PUT /a"]]);
    });
});

describe("deploy-true: soft-deleted Google ids are never created again", () => {
    it("removes a partner's federation and every GCP route, then adds them back within a month: no create is refused", async () => {
        const v1 = synthStack("prod");
        const v2 = await variant("withoutGcp");
        const v3 = await variant("backAgain");
        assert.ok(!v2.resources.some((r) => r.type === "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider" || r.type === "gcp:endpoints/service:Service"), "version 2 deleted them");
        assert.deepEqual(softDeleteConflicts([v1.resources, v2.resources, v3.resources]), []);
        // The model refuses what Google refuses: the same ids created again (as fixed ids would be, i.e. version 1 once more).
        const conflicts = softDeleteConflicts([v1.resources, v2.resources, v1.resources]);
        assert.ok(conflicts.some((c) => /provider .*aws-210987654322/.test(c)) && conflicts.some((c) => /endpoints /.test(c)), conflicts.join("\n"));
    });
});

describe("deploy-true: smaller traps", () => {
    const s = synthStack("prod");

    it("trusts API Gateway's CloudWatch role as AWS documents it (no condition AWS does not promise to send)", () => {
        const role = s.resources.find((r) => r.type === "aws:iam/role:Role" && String(r.inputs.name).endsWith("-apigw-logs"))!;
        assert.deepEqual(doc(role.inputs.assumeRolePolicy), JSON.parse(CLOUDWATCH_ROLE_TRUST));
        assert.deepEqual(doc(role.inputs.assumeRolePolicy).Statement[0].Principal, { Service: "apigateway.amazonaws.com" });
    });

    it("refuses a project whose real number differs from gcpProjectNumber", async () => {
        const run = await variantRun("mismatch");
        assert.notEqual(run.status, 0);
        assert.match(run.stderr, /gcpProjectNumber is 100000000002, but project example-partner-prod has number 999999999/);
    });

    it("keeps a retained bucket's guards if the stack is ever destroyed, and sets no Bucket Key for SSE-S3", () => {
        for (const type of ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"]) {
            assert.equal(one(s, type).options?.retainOnDelete, true, type);
        }
        assert.deepEqual(one(s, "aws:s3/bucket:Bucket").options, { protect: true, retainOnDelete: true });
        const files = ofType(s, "gcp:storage/bucket:Bucket").find((b) => b.inputs.name === s.plan.names.gcsBucket)!;
        assert.deepEqual(files.options, { protect: true, retainOnDelete: true });
        const rule = one(s, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules[0];
        assert.deepEqual(rule, { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } });
    });

    it("refuses a Workload Identity condition over Google's 4,096 characters before anything registers", () => {
        const reg = sampleRegistryObject();
        reg.partners[0].identities.prod.aws = Array.from({ length: 80 }, (_, i) => `arn:aws:iam::210987654322:role/integration-role-with-a-long-name-${i}`);
        assert.throws(() => planFor("prod", reg), (e: InputError) => e.problems.some((p) => p.partner === "acme-logistics" && /Workload Identity condition for AWS account 210987654322 .* over Google's 4096/.test(p.message)));
    });
});

describe("deploy-true: a bad registry under the real program runner", () => {
    it("prints exactly the list of problems, no stack trace and no 'unhandled exception'", async function () {
        this.timeout(30_000);
        const engine = await startFakeEngine();
        try {
            const reg = sampleRegistryObject();
            reg.partners[0].identities.prod.aws = ["*"];
            reg.partners[1].contact = "nobody";
            const config = { ...stackConfigMap("prod"), "partner-access:registryFile": registryFile(reg) };
            // As the Node.js language host runs a program (sdk/nodejs/cmd/pulumi-language-nodejs): the run harness, config in PULUMI_CONFIG.
            const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", require.resolve("@pulumi/pulumi/cmd/run", { paths: [ROOT] }),
                `--monitor=${engine.address}`, `--engine=${engine.address}`, "--project=partner-access", "--stack=prod", `--pwd=${ROOT}`, "--dry-run", ROOT], {
                cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", PULUMI_CONFIG: JSON.stringify(config), PULUMI_NODEJS_STACK: "prod", PULUMI_NODEJS_PROJECT: "partner-access" },
                stdio: ["ignore", "pipe", "pipe"],
            });
            let output = "";
            child.stdout.on("data", (d) => (output += d));
            child.stderr.on("data", (d) => (output += d));
            const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
            const errors = engine.logs.filter((l) => l.severity >= 3).map((l) => l.message).join("\n");
            assert.equal(code, 32, `the runner's "already reported" exit code, so the CLI adds nothing: ${output}`);
            assert.match(errors, /2 problem\(s\) in partner-access input/);
            assert.match(errors, /partners\.yaml:\d+:\d+: partner "acme-logistics": field "identities\.prod\.aws\[0\]"/);
            assert.match(errors, /partner "globex": field "contact"/);
            assert.doesNotMatch(errors + output, /unhandled exception|\n\s+at .*\.ts:\d+/);
        } finally {
            await engine.close();
        }
    });
});

describe("deploy-true: kits from the deployed stack", () => {
    const s = synthStack("prod");

    it("builds kits from `pulumi stack output --json`, valid for the partner client, with the real ids", async () => {
        // What a deployed stack's outputs look like: real ids throughout (here: the mocked ones, renamed consistently).
        const outputs = deployedOutputsFile(s, { [s.outputs.aws.apiId]: "realapi123" });
        const deployed = JSON.parse(fs.readFileSync(outputs, "utf8"));
        const out = tempDir("kits");
        const r = await cliInProcess(["kits", "--stack", "prod", "--outputs", outputs, "--out", out]);
        assert.equal(r.status, 0, r.stderr);
        for (const slug of s.plan.partners.map((p) => p.slug)) {
            const kit = JSON.parse(fs.readFileSync(path.join(out, "prod", "kits", `${slug}.json`), "utf8"));
            assert.ok(Value.Check(KitSchema, kit), JSON.stringify([...Value.Errors(KitSchema, kit)].slice(0, 3)));
            assert.equal(kit.source, "stack");
            if (kit.aws?.api) assert.equal(kit.aws.api.invokeUrl, deployed.aws.invokeUrl);
        }
        const direct = JSON.parse(fs.readFileSync(path.join(out, "prod", "kits", "globex.json"), "utf8"));
        assert.ok(JSON.stringify(direct.aws.identityPolicy).includes(`:${s.plan.stage.aws.accountId}:realapi123/prod/`), "a direct partner's identity policy names the real API");
        const wrong = await cliInProcess(["kits", "--stack", "stag", "--outputs", outputs, "--out", out]);
        assert.equal(wrong.status, 1, `outputs of another stage are refused: ${wrong.stderr}`);
    });

    it("refuses to build kits or a proxy config from an offline synth's outputs: their ids are mocked", async () => {
        for (const args of [["kits", "--stack", "prod"], ["proxy-config", "--stack", "prod", "--cloud", "gcp"]]) {
            const r = await cliInProcess([...args, "--outputs", path.join(s.dir, "outputs.json"), "--out", tempDir("refused")]);
            assert.equal(r.status, 1, `${args[0]}: ${r.stderr}`);
            assert.match(r.stderr, /offline synth: every id in them is mocked/);
        }
    });

    it("gives every kit a must-be-refused probe the partner's check performs by default, on each cloud it grants", () => {
        const outputs: StackOutputs = JSON.parse(JSON.stringify(s.outputs));
        const kits = Object.fromEntries(Object.keys(outputs.partners).map((slug) => [slug, kitOf(outputs, slug, "stack", AT)]));
        for (const [slug, kit] of Object.entries(kits)) {
            assert.ok(Value.Check(KitSchema, kit), slug);
            for (const cloud of ["aws", "gcp"] as const) {
                if (!kit[cloud]) continue;
                const bucket = cloud === "aws" ? outputs.aws.bucketName : outputs.gcp.bucketName;
                // Listing the shared parent prefix: outside the partner's own, names no other partner, needs no file grant.
                assert.deepEqual(kit.mustBeRefused.filter((r) => r.cloud === cloud && r.kind === "list"), [{ cloud, kind: "list", bucket, prefix: "partners/" }], `${slug} ${cloud}`);
                for (const r of kit.mustBeRefused.filter((p) => p.cloud === cloud && p.kind === "route")) {
                    assert.match((r as { route: string }).route, /^(GET|HEAD) /, `${slug} ${cloud}: the check skips a mutating probe`);
                    assert.ok(!kit[cloud]!.api!.routes.includes((r as { route: string }).route), `${slug} ${cloud}: probes a granted route`);
                }
            }
        }
        // initech: GCP routes but no GCP files; globex: every AWS route granted. Both still get a probe there.
        assert.ok(kits.initech.gcp && !kits.initech.gcp.files && kits.initech.mustBeRefused.some((r) => r.cloud === "gcp" && r.kind === "list"));
        assert.deepEqual(outputs.api.routes.filter((r) => !kits.globex.aws!.api!.routes.includes(r)), []);
        assert.ok(kits.globex.mustBeRefused.some((r) => r.cloud === "aws" && r.kind === "list"));

        // Granted GET /catalog and GET /orders: the ungranted POST /orders comes first, but the probe is a GET.
        outputs.api.routes = ["GET /catalog", "GET /orders", "POST /orders", "GET /orders/{orderId}"];
        outputs.partners.initech.aws.routes = ["GET /catalog", "GET /orders"];
        assert.deepEqual(kitOf(outputs, "initech", "stack", AT).mustBeRefused.filter((r) => r.cloud === "aws"), [
            { cloud: "aws", kind: "list", bucket: outputs.aws.bucketName, prefix: "partners/" },
            { cloud: "aws", kind: "route", route: "GET /orders/{orderId}" },
        ]);
        // Only mutating routes left ungranted: no route probe (the check would skip it), the bucket probe remains.
        outputs.partners.initech.aws.routes = ["GET /catalog", "GET /orders", "GET /orders/{orderId}"];
        assert.deepEqual(kitOf(outputs, "initech", "stack", AT).mustBeRefused.filter((r) => r.cloud === "aws"), [
            { cloud: "aws", kind: "list", bucket: outputs.aws.bucketName, prefix: "partners/" },
        ]);
    });

    it("marks synth's kits as previews, never to be sent", () => {
        const kit = JSON.parse(fs.readFileSync(path.join(s.dir, "preview-kits", "acme-logistics.json"), "utf8"));
        assert.equal(kit.source, "preview");
        assert.match(fs.readFileSync(path.join(s.dir, "preview-kits", "acme-logistics.md"), "utf8"), /^> \*\*PREVIEW: built by an offline synth from MOCKED ids/);
    });

    it("gives snippets that work as written: no empty session token, curl 7.76+, a credential source for roles, env credentials for users", () => {
        const md = Object.fromEntries(s.plan.partners.map((p) => [p.slug, fs.readFileSync(path.join(s.dir, "preview-kits", `${p.slug}.md`), "utf8")]));
        for (const text of Object.values(md)) {
            assert.doesNotMatch(text, /-H "x-amz-security-token: \$AWS_SESSION_TOKEN" \\/, "never an unconditional, possibly empty, token header");
            if (text.includes("--aws-sigv4")) assert.match(text, /curl 7\.76\+/);
            assert.doesNotMatch(text, /source_profile = default/);
            // Every shell block parses.
            for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
                const r = spawnSync("bash", ["-n"], { input: block[1], encoding: "utf8" });
                assert.equal(r.status, 0, `${r.stderr}\n${block[1]}`);
            }
        }
        assert.match(md["acme-logistics"], /credential_source = Ec2InstanceMetadata/);
        assert.match(md["acme-logistics"], /aws configure export-credentials --profile partner-access-prod --format env/);
        assert.match(md["acme-logistics"], /--if-none-match '\*'/, "S3 writes are create-only");
        assert.match(md["globex"], /"environment_id": "aws1",\n\s+"regional_cred_verification_url"/, "a credential config for environment credentials (IAM users)");
        assert.match(md["globex"], /upload\/storage\/v1\/b\/.*ifGenerationMatch=0/, "a write-only GCS grant uploads through the JSON API (gcloud storage cp reads the destination first)");
    });
});
