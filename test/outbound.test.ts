/**
 * The outbound token broker as rendered: who can make it call each partner
 * host and who can read its tokens (rendered IAM evaluated like partner
 * grants), the reproducible bundle, the proxy config from outputs, and that no
 * token value has anywhere to go in registry, config, state or outputs.
 *
 * Uses the shared synth of both stages, plus two synths of its own (run in
 * parallel): prod again from a copy of the registry (reproducibility), and
 * stag with three outbound hosts (one more per cloud, one GCP-only).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { aliasName, bundleBroker, hashFiles, parseProxyConfig } from "../broker/src";
import { StageConfigSchema } from "../components/plan/stage-config";
import { InputError } from "../components/plan/problems";
import { Outbound } from "../components/plan/schema";
import { Cell, accessMatrix } from "../tools/access/matrix";
import { INVOKE, READ_TOKEN, WRITE_TOKEN, outboundResource, reviewOutbound } from "../tools/access/outbound-review";
import { rendered } from "../tools/access/rendered";

import { proxyConfigFromOutputs } from "../tools/proxy-config";
import { runPoliciesAsCli } from "../tools/policy-run";
import { stackConfigMap } from "../tools/stack-config";
import { configRenderedWith, readManifest } from "../tools/synth-manifest";
import { AT, planFor, sampleRegistryObject, tempDir } from "./support/fixtures";
import { GLOBEX, INITECH, variant } from "./support/variants";
import { Resource, SynthOutput, cliInProcess, deployedOutputsFile, doc, ofType, one, synthStack } from "./support/synth-runs";

const ACME = "api.acme-logistics.example";
const STAG_ACCOUNT = "111111111111";
const PROD_ACCOUNT = "222222222222";
const sa = (name: string, stage: string) => `${name}@example-partner-${stage}.iam.gserviceaccount.com`;

const brokerResources = (s: SynthOutput) => s.resources.filter((r) => r.parent?.includes("TokenBroker") || r.type.endsWith(":TokenBroker"));
const outboundCells = (cells: Cell[]) => cells.filter((c) => c.resource.startsWith("outbound "));
const cellOf = (cells: Cell[], cloud: string, host: string, action: string, via: string) => {
    const hit = cells.filter((c) => c.cloud === cloud && c.resource === outboundResource(host) && c.action === action && c.via === via);
    assert.equal(hit.length, 1, `one ${cloud} cell ${action} on ${host} as ${via}: ${JSON.stringify(cells.map((c) => `${c.cloud} ${c.resource} ${c.action} ${c.via}`), null, 1)}`);
    return hit[0];
};
const routesJson = (archive: any) => JSON.parse(archive.$archive["routes.json"].$asset.text);
const clone = (s: SynthOutput): SynthOutput => JSON.parse(JSON.stringify(s));
let n = 0;
const add = (s: SynthOutput, type: string, inputs: Record<string, unknown>): void => {
    const name = `tampered-${n++}`;
    s.resources.push({ urn: `urn:pulumi:${s.plan.stage.stage}::partner-access::${type}::${name}`, type, name, inputs } as Resource);
};

describe("outbound token broker", function () {
    this.timeout(180_000);
    let prod: SynthOutput;
    let stag: SynthOutput;
    let prodAgain: SynthOutput;
    let three: SynthOutput;

    before(async () => {
        prod = synthStack("prod");
        stag = synthStack("stag");
        // The sample registry again (another file), from another deploy (another seed of the mock cloud).
        [prodAgain, three] = await Promise.all([variant("backAgain"), variant("threeHosts")]);
    });

    describe("rendering (prod, sample registry)", () => {
        it("renders one broker per cloud: Lambda + alias per host + permission per caller; Cloud Run function + invoker binding", () => {
            const fn = one(prod, "aws:lambda/function:Function");
            assert.equal(fn.inputs.name, "partner-access-prod-token-broker");
            assert.equal(fn.inputs.runtime, "nodejs22.x");
            assert.equal(fn.inputs.handler, "index.handler");
            assert.equal(fn.inputs.timeout, 20);
            assert.equal(fn.inputs.publish, true);
            assert.equal(fn.inputs.vpcConfig, undefined, "no VPC");
            const alias = one(prod, "aws:lambda/alias:Alias");
            assert.equal(alias.inputs.name, aliasName("acme-logistics", ACME));
            assert.equal(alias.inputs.functionVersion, "1", "the published version");
            const perm = one(prod, "aws:lambda/permission:Permission");
            assert.deepEqual({ ...perm.inputs, statementId: undefined }, {
                action: "lambda:InvokeFunction", function: fn.inputs.name, qualifier: alias.inputs.name, principal: `arn:aws:iam::${PROD_ACCOUNT}:role/orders-sync`, statementId: undefined,
            });
            const gfn = one(prod, "gcp:cloudfunctionsv2/function:Function");
            assert.equal(gfn.inputs.buildConfig.runtime, "nodejs22");
            assert.equal(gfn.inputs.buildConfig.entryPoint, "forward");
            assert.equal(gfn.inputs.serviceConfig.ingressSettings, "ALLOW_ALL");
            assert.equal(gfn.inputs.serviceConfig.serviceAccountEmail, "partner-access-prod-broker@example-partner-prod.iam.gserviceaccount.com");
            const bucket = ofType(prod, "gcp:storage/bucket:Bucket").find((b) => b.name === "token-broker-source")!;
            assert.equal(bucket.inputs.uniformBucketLevelAccess, true);
            assert.equal(bucket.inputs.publicAccessPrevention, "enforced");
            const binding = one(prod, "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding");
            assert.deepEqual({ role: binding.inputs.role, name: binding.inputs.name, members: binding.inputs.members },
                { role: "roles/run.invoker", name: gfn.inputs.name, members: [`serviceAccount:${sa("orders-sync", "prod")}`] });
            // Every resource under the stage's explicit providers (the account- and project-pinned ones).
            const children = brokerResources(prod).filter((r) => !r.type.endsWith(":TokenBroker"));
            assert.equal(children.length, 15);
            for (const r of children) assert.match(r.provider ?? "", r.type.startsWith("aws:") ? /::pulumi:providers:aws::aws::/ : /::pulumi:providers:gcp::gcp::/, `${r.type} ${r.name}`);
        });

        it("names secrets per stage: <prefix>/<stage>/outbound/<partner>/<host> and <prefix>-<stage>-outbound-<partner>-<hash8>, with no value", () => {
            assert.equal(one(prod, "aws:secretsmanager/secret:Secret").inputs.name, `partner-access/prod/outbound/acme-logistics/${ACME}`);
            assert.match(one(prod, "gcp:secretmanager/secret:Secret").inputs.secretId, /^partner-access-prod-outbound-acme-logistics-[0-9a-f]{8}$/);
            assert.deepEqual(one(prod, "gcp:secretmanager/secret:Secret").inputs.replication, { auto: {} });
            for (const s of [prod, stag, three]) {
                assert.equal(ofType(s, "aws:secretsmanager/secretVersion:SecretVersion").length, 0);
                assert.equal(ofType(s, "gcp:secretmanager/secretVersion:SecretVersion").length, 0);
            }
        });

        it("exports the outbound output the proxy config is built from", () => {
            assert.deepEqual(prod.outputs.outbound, {
                [ACME]: {
                    partner: "acme-logistics",
                    token: "header X-Api-Key",
                    aws: {
                        functionArn: `arn:aws:lambda:eu-west-1:${PROD_ACCOUNT}:function:partner-access-prod-token-broker`,
                        alias: aliasName("acme-logistics", ACME),
                        secretName: `partner-access/prod/outbound/acme-logistics/${ACME}`,
                    },
                    gcp: {
                        url: "https://partner-access-prod-token-broker-100000000002.europe-west1.run.app",
                        secretName: `projects/example-partner-prod/secrets/${one(prod, "gcp:secretmanager/secret:Secret").inputs.secretId}`,
                    },
                },
            });
        });
    });

    describe("who can invoke it and read its tokens (rendered documents, IAM evaluator)", () => {
        let prodCells: Cell[];
        let stagCells: Cell[];
        let threeCells: Cell[];
        before(async () => {
            const [mp, ms, m3] = await Promise.all([accessMatrix(prod), accessMatrix(stag), accessMatrix(three)]);
            for (const m of [mp, ms, m3]) {
                assert.deepEqual(m.findings, [], `${m.stack}: no finding`);
                assert.deepEqual(m.defects, [], `${m.stack}: no defect`);
            }
            [prodCells, stagCells, threeCells] = [outboundCells(mp.cells), outboundCells(ms.cells), outboundCells(m3.cells)];
        });

        it("AWS: the alias's resource policy admits the listed caller; another stage's caller and an unlisted role of our account are denied", () => {
            assert.equal(cellOf(prodCells, "aws", ACME, INVOKE, `arn:aws:iam::${PROD_ACCOUNT}:role/orders-sync`).effective, "allowed");
            assert.equal(cellOf(prodCells, "aws", ACME, INVOKE, `arn:aws:iam::${STAG_ACCOUNT}:role/orders-sync (another stage's caller)`).effective, "denied");
            assert.equal(cellOf(prodCells, "aws", ACME, INVOKE, `arn:aws:iam::${PROD_ACCOUNT}:role/unlisted-service (not listed)`).effective, "denied");
            assert.equal(cellOf(stagCells, "aws", ACME, INVOKE, `arn:aws:iam::${STAG_ACCOUNT}:role/orders-sync`).effective, "allowed");
            assert.equal(cellOf(stagCells, "aws", ACME, INVOKE, `arn:aws:iam::${PROD_ACCOUNT}:role/orders-sync (another stage's caller)`).effective, "denied");
        });

        it("AWS: another host's caller cannot invoke this host's alias", () => {
            assert.equal(cellOf(threeCells, "aws", ACME, INVOKE, `arn:aws:iam::${STAG_ACCOUNT}:role/billing-sync (caller of another host)`).effective, "denied");
            assert.equal(cellOf(threeCells, "aws", GLOBEX, INVOKE, `arn:aws:iam::${STAG_ACCOUNT}:role/orders-sync (caller of another host)`).effective, "denied");
            assert.equal(cellOf(threeCells, "aws", GLOBEX, INVOKE, `arn:aws:iam::${STAG_ACCOUNT}:role/billing-sync`).effective, "allowed");
            assert.equal(threeCells.filter((c) => c.cloud === "aws" && c.resource === outboundResource(INITECH)).length, 0, "no AWS callers of initech in stag: no alias");
        });

        it("Secrets Manager: the broker's role reads the token; an administrator with secretsmanager:* cannot read but can write it; a caller cannot read it", () => {
            const broker = `arn:aws:iam::${PROD_ACCOUNT}:role/partner-access-prod-token-broker`;
            const admin = `arn:aws:iam::${PROD_ACCOUNT}:role/ops-admin (secretsmanager:*)`;
            assert.equal(cellOf(prodCells, "aws", ACME, READ_TOKEN, broker).effective, "allowed");
            assert.equal(cellOf(prodCells, "aws", ACME, READ_TOKEN, admin).effective, "denied");
            assert.equal(cellOf(prodCells, "aws", ACME, WRITE_TOKEN, admin).effective, "allowed");
            assert.equal(cellOf(prodCells, "aws", ACME, READ_TOKEN, `arn:aws:iam::${PROD_ACCOUNT}:role/orders-sync (a caller, secretsmanager:GetSecretValue)`).effective, "denied");
            const policy = doc(one(prod, "aws:secretsmanager/secretPolicy:SecretPolicy").inputs.policy);
            assert.deepEqual(policy.Statement.map((s: any) => s.Effect), ["Deny"], "the policy only denies");
        });

        it("GCP: the invoker binding is exactly the listed callers; the broker serves each caller only its own hosts", () => {
            assert.equal(cellOf(prodCells, "gcp", ACME, INVOKE, `serviceAccount:${sa("orders-sync", "prod")}`).effective, "allowed");
            assert.equal(cellOf(prodCells, "gcp", ACME, INVOKE, `serviceAccount:${sa("orders-sync", "stag")} (another stage's caller)`).effective, "denied");
            assert.equal(cellOf(prodCells, "gcp", ACME, INVOKE, `serviceAccount:unlisted-service@example-partner-prod.iam.gserviceaccount.com (not listed)`).effective, "denied");
            // Cloud Run admits billing-sync (it calls globex), the bundled routes table refuses it for acme.
            const binding = one(three, "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding");
            assert.deepEqual(binding.inputs.members, [sa("billing-sync", "stag"), sa("orders-sync", "stag"), sa("reports", "stag")].map((e) => `serviceAccount:${e}`));
            assert.equal(cellOf(threeCells, "gcp", ACME, INVOKE, `serviceAccount:${sa("billing-sync", "stag")} (caller of another host)`).effective, "denied");
            assert.equal(cellOf(threeCells, "gcp", INITECH, INVOKE, `serviceAccount:${sa("orders-sync", "stag")} (caller of another host)`).effective, "denied");
            assert.equal(cellOf(threeCells, "gcp", INITECH, INVOKE, `serviceAccount:${sa("reports", "stag")}`).effective, "allowed");
        });

        it("GCP: each secret's IAM policy lets the broker's service account read it, nobody else", () => {
            const brokerSa = "partner-access-prod-broker@example-partner-prod.iam.gserviceaccount.com";
            assert.equal(cellOf(prodCells, "gcp", ACME, READ_TOKEN, `serviceAccount:${brokerSa}`).effective, "allowed");
            assert.equal(cellOf(prodCells, "gcp", ACME, READ_TOKEN, `serviceAccount:${sa("orders-sync", "prod")}`).effective, "denied");
            for (const p of ofType(three, "gcp:secretmanager/secretIamPolicy:SecretIamPolicy")) {
                assert.deepEqual(doc(p.inputs.policyData), { bindings: [{ role: "roles/secretmanager.secretAccessor", members: ["serviceAccount:partner-access-stag-broker@example-partner-stag.iam.gserviceaccount.com"] }] });
            }
        });

        it("each cloud bundles only its own hosts and callers; the outputs give a cloud's part only where it has callers", () => {
            const awsRoutes = routesJson(one(three, "aws:lambda/function:Function").inputs.code);
            const gcpRoutes = routesJson(one(three, "gcp:storage/bucketObject:BucketObject").inputs.source);
            assert.deepEqual(awsRoutes.routes.map((r: any) => r.host).sort(), [ACME, GLOBEX]);
            assert.deepEqual(gcpRoutes.routes.map((r: any) => r.host).sort(), [ACME, GLOBEX, INITECH]);
            assert.deepEqual(gcpRoutes.routes.find((r: any) => r.host === GLOBEX).token, { header: "Authorization", scheme: "Bearer" });
            assert.ok(awsRoutes.routes.every((r: any) => !r.callers.gcp && !r.secret.gcp), "no GCP data in the AWS bundle");
            assert.equal(three.outputs.outbound[INITECH].aws, undefined);
            assert.equal(three.outputs.outbound[INITECH].token, "query api_key");
            assert.equal(three.outputs.outbound[GLOBEX].token, "header Authorization (Bearer)");
            assert.equal(ofType(three, "aws:lambda/alias:Alias").length, 2);
            assert.equal(ofType(three, "gcp:secretmanager/secret:Secret").length, 3);
        });

        it("the policy pack judges an output by the registry it was rendered from (--registry), as `policy` and `diff` run it", async () => {
            const registry = readManifest(three.dir)!.inputs.registryPath;
            // Judged by the stack's own registry, the extra hosts' callers are unlisted: the check is not vacuous.
            assert.ok(runPoliciesAsCli(three.resources, "stag", stackConfigMap("stag")).some((v) => v.policy === "outbound-broker" && v.enforcementLevel === "mandatory"));
            assert.deepEqual(runPoliciesAsCli(three.resources, "stag", configRenderedWith("stag", three.dir)).filter((v) => v.enforcementLevel === "mandatory"), []);
            const run = await cliInProcess(["policy", "--stack", "stag", "--out", path.dirname(three.dir), "--registry", registry, "--at", AT.toISOString()]);
            assert.equal(run.status, 0, run.stdout + run.stderr);
        });
    });

    describe("the review catches a broker that grants what the plan does not", () => {
        const review = async (s: SynthOutput) => reviewOutbound(s, rendered(s));
        const messages = (r: { findings: { message: string }[] }) => r.findings.map((f) => f.message).join("\n");

        it("is clean on the rendered stages", async () => {
            for (const s of [prod, stag, three]) assert.deepEqual((await review(s)).findings, []);
        });

        it("a permission for anyone, or for a role the registry does not list", async () => {
            const s = clone(prod);
            const fn = one(s, "aws:lambda/function:Function").inputs.name;
            const alias = aliasName("acme-logistics", ACME);
            add(s, "aws:lambda/permission:Permission", { action: "lambda:InvokeFunction", function: fn, qualifier: alias, principal: "*", statementId: "open" });
            add(s, "aws:lambda/permission:Permission", { action: "lambda:InvokeFunction", function: fn, qualifier: alias, principal: `arn:aws:iam::${PROD_ACCOUNT}:role/unlisted-service`, statementId: "extra" });
            add(s, "aws:lambda/permission:Permission", { action: "lambda:*", function: fn, principal: PROD_ACCOUNT, statementId: "account" });
            const r = await review(s);
            assert.match(messages(r), /admits \* to alias .* \(anyone\)/);
            assert.match(messages(r), /admits arn:aws:iam::222222222222:role\/unlisted-service to api\.acme-logistics\.example, which the registry does not list/);
            assert.match(messages(r), /on the unqualified function/);
            const unlisted = cellOf(r.cells, "aws", ACME, INVOKE, `arn:aws:iam::${PROD_ACCOUNT}:role/unlisted-service (not listed)`);
            assert.deepEqual([unlisted.effective, unlisted.planned], ["allowed", "denied"], "the evaluator sees the grant: a defect");
        });

        it("a secret others can read, or a token value managed by Pulumi", async () => {
            const s = clone(prod);
            const sp = one(s, "aws:secretsmanager/secretPolicy:SecretPolicy");
            sp.inputs.policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${PROD_ACCOUNT}:root` }, Action: "secretsmanager:GetSecretValue", Resource: "*" }] });
            add(s, "aws:secretsmanager/secretVersion:SecretVersion", { secretId: sp.inputs.secretArn, secretString: "[secret]" });
            const gp = one(s, "gcp:secretmanager/secretIamPolicy:SecretIamPolicy");
            gp.inputs.policyData = JSON.stringify({ bindings: [{ role: "roles/secretmanager.secretAccessor", members: [...doc(gp.inputs.policyData).bindings[0].members, `serviceAccount:${sa("orders-sync", "prod")}`] }] });
            const rp = ofType(s, "aws:iam/rolePolicy:RolePolicy").find((x) => x.inputs.name === "token-broker")!;
            rp.inputs.policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "s3:GetObject"], Resource: "*" }] });
            const r = await review(s);
            assert.match(messages(r), /reads \*, which is not a token secret of this stage's routes/);
            assert.match(messages(r), /allows s3:getobject: the broker needs its tokens and its logs only/);
            assert.match(messages(r), /its resource policy allows .* only the broker's role reads the token/);
            assert.match(messages(r), /the token would be in Pulumi state/);
            assert.match(messages(r), /grants roles\/secretmanager.secretAccessor to serviceAccount:orders-sync@example-partner-prod/);
            const admin = cellOf(r.cells, "aws", ACME, READ_TOKEN, `arn:aws:iam::${PROD_ACCOUNT}:role/ops-admin (secretsmanager:*)`);
            assert.equal(admin.effective, "allowed", "no deny left: an administrator reads the token");
            assert.equal(cellOf(r.cells, "gcp", ACME, READ_TOKEN, `serviceAccount:${sa("orders-sync", "prod")}`).effective, "allowed");
        });

        it("a public or unlisted invoker, and a routes table that lets an unlisted caller through", async () => {
            const s = clone(prod);
            const b = one(s, "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding");
            b.inputs.members = [...b.inputs.members, "allUsers", `serviceAccount:${sa("orders-sync", "stag")}`];
            const obj = one(s, "gcp:storage/bucketObject:BucketObject");
            const table = routesJson(obj.inputs.source);
            table.routes[0].callers.gcp.push(sa("orders-sync", "stag"));
            obj.inputs.source.$archive["routes.json"].$asset.text = JSON.stringify(table);
            const r = await review(s);
            assert.match(messages(r), /allUsers may invoke the broker/);
            assert.match(messages(r), /serviceAccount:orders-sync@example-partner-stag\.iam\.gserviceaccount\.com may invoke the broker, but no host of prod lists it/);
            assert.match(messages(r), /lets orders-sync@example-partner-stag\.iam\.gserviceaccount\.com call api\.acme-logistics\.example, which the registry does not list in prod/);
            assert.equal(cellOf(r.cells, "gcp", ACME, INVOKE, `serviceAccount:${sa("orders-sync", "stag")} (another stage's caller)`).effective, "allowed");
        });
    });

    describe("the bundle", () => {
        it("is reproducible: a second synth (another process, registry copy, other mock seed) renders byte-identical code", () => {
            const code = (s: SynthOutput) => one(s, "aws:lambda/function:Function").inputs;
            const zip = (s: SynthOutput) => one(s, "gcp:storage/bucketObject:BucketObject").inputs;
            assert.deepEqual(code(prodAgain).code, code(prod).code);
            assert.equal(code(prodAgain).sourceCodeHash, code(prod).sourceCodeHash);
            assert.deepEqual(zip(prodAgain).source, zip(prod).source);
            assert.equal(zip(prodAgain).name, zip(prod).name, "the object is named by the bundle hash");
            assert.notEqual(one(prodAgain, "aws:secretsmanager/secretPolicy:SecretPolicy").inputs.secretArn, one(prod, "aws:secretsmanager/secretPolicy:SecretPolicy").inputs.secretArn,
                "the mock cloud did draw other random values");
        });

        it("is the broker's own bundle of the rendered routes table (rebuilt here, same hash)", () => {
            const fn = one(prod, "aws:lambda/function:Function").inputs;
            const rebuilt = bundleBroker("aws", routesJson(fn.code));
            assert.equal(fn.sourceCodeHash, rebuilt.sha256);
            for (const [name, text] of Object.entries(rebuilt.files)) {
                assert.equal(fn.code.$archive[name].$asset.bytes, Buffer.byteLength(text), name);
                assert.equal(fn.code.$archive[name].$asset.sha256, require("crypto").createHash("sha256").update(text).digest("hex"), name);
            }
            const obj = one(prod, "gcp:storage/bucketObject:BucketObject").inputs;
            const gcp = bundleBroker("gcp", routesJson(obj.source));
            assert.equal(obj.metadata["bundle-sha256"], gcp.sha256);
            assert.equal(hashFiles(gcp.files), gcp.sha256);
            assert.ok(obj.name.includes(gcp.sha256.slice(0, 32)));
        });
    });

    describe("proxy config from the stack outputs", () => {
        it("builds the broker's proxy config for each cloud (the alias and URL the stack rendered)", () => {
            const awsCfg = parseProxyConfig(proxyConfigFromOutputs(prod.outputs, { stack: "prod", cloud: "aws" }));
            assert.deepEqual(awsCfg, {
                stage: "prod", cloud: "aws",
                hosts: { [ACME]: { functionArn: `arn:aws:lambda:eu-west-1:${PROD_ACCOUNT}:function:${one(prod, "aws:lambda/function:Function").inputs.name}`, alias: one(prod, "aws:lambda/alias:Alias").inputs.name } },
            });
            const gcpCfg = parseProxyConfig(proxyConfigFromOutputs(three.outputs, { stack: "stag", cloud: "gcp", host: [INITECH], caller: "reports" }));
            assert.deepEqual(gcpCfg, { stage: "stag", cloud: "gcp", hosts: { [INITECH]: { url: "https://partner-access-stag-token-broker-100000000001.europe-west1.run.app" } }, caller: "reports" });
            assert.throws(() => proxyConfigFromOutputs(three.outputs, { stack: "stag", cloud: "aws", host: [INITECH] }), /not served on AWS in stag: api\.initech\.example/);
            assert.throws(() => proxyConfigFromOutputs(prod.outputs, { stack: "stag", cloud: "aws" }), /outputs are of stage "prod", not stag/);
        });

        it("`partner-access proxy-config` writes it from saved outputs; refuses outputs of another stage (exit 1)", async () => {
            const out = path.join(tempDir("proxy-config"), "proxy.json");
            const ok = await cliInProcess(["proxy-config", "--stack", "prod", "--cloud", "gcp", "--outputs", deployedOutputsFile(prod), "--out", out]);
            assert.equal(ok.status, 0, ok.stderr);
            assert.equal(JSON.parse(fs.readFileSync(out, "utf8")).hosts[ACME].url, prod.outputs.outbound[ACME].gcp.url);
            const wrong = await cliInProcess(["proxy-config", "--stack", "stag", "--cloud", "aws", "--outputs", deployedOutputsFile(prod)]);
            assert.equal(wrong.status, 1);
            assert.match(wrong.stderr, /those outputs are of stage "prod", not stag/);
        });
    });

    describe("no token value has anywhere to go", () => {
        it("the registry refuses a token value next to its placement", () => {
            const reg = sampleRegistryObject();
            reg.partners[0].outbound[0].token.value = "tok-must-not-be-here";
            assert.throws(() => planFor("prod", reg), (e: unknown) => e instanceof InputError && /outbound/.test(e.message));
            assert.deepEqual(Object.keys((Outbound as any).properties.token.properties).sort(), ["header", "query", "scheme"]);
        });

        it("the stage config has no key for one", () => {
            assert.deepEqual(Object.keys((StageConfigSchema as any).properties).filter((k) => /token|secret|password|apikey/i.test(k)), []);
        });

        it("state and outputs hold names and placements only: secrets without value inputs, no value in functions, routes or outputs", () => {
            for (const s of [prod, stag, three]) {
                for (const r of ofType(s, "aws:secretsmanager/secret:Secret")) assert.deepEqual(Object.keys(r.inputs).sort(), ["description", "name", "recoveryWindowInDays", "tags"]);
                for (const r of ofType(s, "gcp:secretmanager/secret:Secret")) assert.deepEqual(Object.keys(r.inputs).sort(), ["annotations", "labels", "project", "replication", "secretId"]);
                const fn = one(s, "aws:lambda/function:Function").inputs;
                assert.equal(fn.environment, undefined, "no environment on the Lambda function");
                assert.deepEqual(Object.keys(one(s, "gcp:cloudfunctionsv2/function:Function").inputs.serviceConfig.environmentVariables), ["PARTNER_ACCESS_ROUTES_SHA256"]);
                for (const table of [routesJson(fn.code), routesJson(one(s, "gcp:storage/bucketObject:BucketObject").inputs.source)]) {
                    for (const route of table.routes) {
                        assert.deepEqual(Object.keys(route).sort(), ["callers", "host", "partner", "secret", "token"]);
                        assert.ok(Object.keys(route.token).every((k) => ["header", "query", "scheme"].includes(k)));
                    }
                }
                for (const o of Object.values<any>(s.outputs.outbound)) {
                    assert.ok(Object.keys(o).every((k) => ["partner", "token", "aws", "gcp"].includes(k)));
                    assert.ok(Object.keys(o.aws ?? {}).every((k) => ["functionArn", "alias", "secretName"].includes(k)));
                    assert.ok(Object.keys(o.gcp ?? {}).every((k) => ["url", "secretName"].includes(k)));
                }
                const everything = JSON.stringify([s.resources, s.outputs, s.plan]);
                assert.ok(!/secretString|secretBinary|secretData|"payload"/i.test(everything), "no secret value field anywhere");
            }
        });
    });
});
