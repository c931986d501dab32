/**
 * The policy pack run as the Pulumi CLI runs it, without the CLI: the Node.js
 * language host's RunPlugin for an analyzer (pulumi/pulumi
 * sdk/nodejs/cmd/pulumi-language-nodejs/main.go, snapshot 1b594989) starts
 *
 *     node <pack>/node_modules/@pulumi/pulumi/cmd/run-policy-pack <engine address> <pack dir>
 *
 * with the working directory set to the pack's folder (`cmd.Dir =
 * req.Info.ProgramDirectory`), its own environment plus PULUMI_NODEJS_PROJECT,
 * PULUMI_NODEJS_STACK, PULUMI_NODEJS_DRY_RUN and PULUMI_CONFIG (the stack's
 * config, JSON "ns:key" -> string) taken from the engine's ConfigureStack
 * (research pulumi-cli.md §1). run-policy-pack registers ts-node with type
 * checking on, as under the CLI, so a pack that does not type-check fails here.
 * The pack prints its port; the engine then calls GetAnalyzerInfo, Configure
 * (with the schema defaults when no --policy-pack-config is given:
 * pkg/engine/update.go, ReconcilePolicyPackConfig), ConfigureStack, Analyze
 * for each resource and AnalyzeStack. This file plays the engine over the
 * production stage's synth output, on 127.0.0.1 only.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { SynthResource } from "../tools/synth";
import { stackConfigMap } from "../tools/stack-config";
import { RUN_POLICY_PACK, RunningPack, packProcess, stopPack } from "./support/policy-pack-process";
import { synthStack } from "./support/synth-runs";

const analyzerpb = require("@pulumi/pulumi/proto/analyzer_pb");
const structpb = require("google-protobuf/google/protobuf/struct_pb");
const emptypb = require("google-protobuf/google/protobuf/empty_pb");
const LEVEL = ["advisory", "mandatory", "disabled", "remediate"];

interface Diagnostic { policy: string; level: string; urn: string; message: string }


const rpc = <T>(client: any, method: string, req: unknown): Promise<T> =>
    new Promise((resolve, reject) => client[method](req, { deadline: Date.now() + 30_000 }, (e: Error | null, r: T) => (e ? reject(e) : resolve(r))));

const struct = (v: unknown) => structpb.Struct.fromJavaScript(JSON.parse(JSON.stringify(v ?? {})));

function options(r: SynthResource) {
    const o = new analyzerpb.AnalyzerResourceOptions();
    o.setProtect(!!r.options?.protect);
    if (r.options?.deleteBeforeReplace !== undefined) { o.setDeletebeforereplacedefined(true); o.setDeletebeforereplace(r.options.deleteBeforeReplace); }
    if (r.parent) o.setParent(r.parent);
    return o;
}

function analyzeRequest(r: SynthResource) {
    const req = new analyzerpb.AnalyzeRequest();
    req.setType(r.type); req.setProperties(struct(r.inputs)); req.setUrn(r.urn); req.setName(r.name); req.setOptions(options(r));
    return req;
}

function stackRequest(resources: SynthResource[]) {
    const req = new analyzerpb.AnalyzeStackRequest();
    req.setResourcesList(resources.map((r) => {
        const a = new analyzerpb.AnalyzerResource();
        a.setType(r.type); a.setProperties(struct(r.inputs)); a.setUrn(r.urn); a.setName(r.name); a.setOptions(options(r));
        if (r.parent) a.setParent(r.parent);
        a.setDependenciesList(r.dependencies ?? []);
        for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
            const d = new analyzerpb.AnalyzerPropertyDependencies(); d.setUrnsList(urns); a.getPropertydependenciesMap().set(k, d);
        }
        return a;
    }));
    return req;
}

const diagnostics = (resp: any): Diagnostic[] => resp.getDiagnosticsList().map((d: any) => ({
    policy: d.getPolicyname(), level: LEVEL[d.getEnforcementlevel()], urn: d.getUrn(), message: d.getMessage(),
}));

/** What the CLI does once the pack is up, with no --policy-pack-config: info, Configure with the schema defaults, ConfigureStack. */
async function configureAsCli(p: RunningPack, stack: string): Promise<any> {
    const info = await rpc<any>(p.client, "getAnalyzerInfo", new emptypb.Empty());
    if (info.getSupportsconfig()) {
        const req = new analyzerpb.ConfigureAnalyzerRequest();
        for (const policy of info.getPoliciesList()) {
            const defaults = Object.fromEntries(Object.entries<any>(policy.getConfigschema()?.getProperties()?.toJavaScript() ?? {})
                .filter(([, s]) => s && s.default !== undefined).map(([k, s]) => [k, s.default]));
            const c = new analyzerpb.PolicyConfig();
            c.setEnforcementlevel(policy.getEnforcementlevel());
            c.setProperties(struct(defaults));
            req.getPolicyconfigMap().set(policy.getName(), c);
        }
        await rpc(p.client, "configure", req);
    }
    const cs = new analyzerpb.AnalyzerStackConfigureRequest();
    cs.setStack(stack); cs.setProject("partner-access"); cs.setDryRun(true);
    for (const [k, v] of Object.entries(stackConfigMap(stack))) cs.getConfigMap().set(k, v);
    await rpc(p.client, "configureStack", cs);
    return info;
}

async function analyzeAll(p: RunningPack, resources: SynthResource[]): Promise<Diagnostic[]> {
    const perResource = await Promise.all(resources.map((r) => rpc<any>(p.client, "analyze", analyzeRequest(r))));
    const stack = await rpc<any>(p.client, "analyzeStack", stackRequest(resources));
    return [...perResource.flatMap(diagnostics), ...diagnostics(stack)];
}

describe("policy pack run as the Pulumi CLI runs it (run-policy-pack, gRPC, no policy config)", function () {
    this.timeout(90_000);
    // Production only: each pack process costs a ts-node type check (6 s of CPU on a 2-core runner). Production is
    // where a pack that cannot find its registry or config blocks deploys; stag runs through the same code in
    // policy-pack.test.ts, with its stack config as the CLI passes it (runPoliciesAsCli).
    const stages = ["prod"];
    const packs = new Map<string, RunningPack>();
    const infos = new Map<string, any>();

    before(async () => {
        assert.ok(fs.existsSync(`${RUN_POLICY_PACK}.js`) || fs.existsSync(RUN_POLICY_PACK), "the pack's dependencies are missing: run `npm ci --prefix policy-pack` (the CLI runs the pack with its own node_modules)");
        const started = await Promise.allSettled(stages.map(async (s) => { const p = await packProcess(s); packs.set(s, p); infos.set(s, await configureAsCli(p, s)); }));
        const failed = started.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
        if (failed) throw failed.reason;
    });
    after(async () => { await Promise.all([...packs.values()].map(stopPack)); });

    it("starts from its own folder, type-checks, and describes every policy with a config schema it can run without", () => {
        const info = infos.get("prod");
        assert.equal(info.getName(), "partner-access-guard");
        const names = info.getPoliciesList().map((p: any) => p.getName());
        for (const n of ["no-wildcard-principals", "stage-isolation", "workload-identity-conditioned", "cloud-run-not-public", "outbound-broker", "service-principals-conditioned", "principals-from-registry"]) assert.ok(names.includes(n), n);
        assert.ok(info.getPoliciesList().every((p: any) => LEVEL[p.getEnforcementlevel()] === "mandatory"));
        assert.equal(info.getSupportsconfig(), true);
    });

    for (const stack of stages) {
        it(`${stack}: no mandatory finding over the synth output, nothing logged as an error`, async () => {
            const resources = synthStack(stack).resources as SynthResource[];
            const found = await analyzeAll(packs.get(stack)!, resources);
            assert.deepEqual(found.filter((d) => d.level === "mandatory"), []);
            assert.deepEqual(packs.get(stack)!.engine.logs.filter((l) => l.severity >= 3), [], "error logs sent to the engine");
            assert.doesNotMatch(packs.get(stack)!.stderr(), /error|exception/i);
        });
    }

    it("prod: a role trusting a dev identity, or an account root covering one, is reported as mandatory stage-isolation", async () => {
        const trust = (aws: string) => ({
            urn: `urn:pulumi:prod::partner-access::aws:iam/role:Role::probe-${aws.split(":").pop()!.replace(/\W/g, "-")}`, type: "aws:iam/role:Role", name: "probe",
            inputs: { assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: aws }, Action: "sts:AssumeRole" }] }) },
        });
        // acme-logistics lists arn:aws:iam::210987654321:role/acme-exchange-dev under dev (partners.yaml).
        const found = await analyzeAll(packs.get("prod")!, [trust("arn:aws:iam::210987654321:role/acme-exchange-dev"), trust("arn:aws:iam::210987654321:root")]);
        const isolation = found.filter((d) => d.policy === "stage-isolation" && d.level === "mandatory").map((d) => d.message);
        assert.ok(isolation.some((m) => /names arn:aws:iam::210987654321:role\/acme-exchange-dev, which is an identity of acme-logistics\/dev/.test(m)), JSON.stringify(isolation));
        // The root covers every role of the account: the dev role and the stag one alike.
        assert.ok(isolation.some((m) => /names arn:aws:iam::210987654321:root, which covers arn:aws:iam::210987654321:role\/acme-exchange-dev/.test(m)), JSON.stringify(isolation));
    });

    it("prod: a public bucket member is reported as mandatory, with the rule's description", async () => {
        const found = await analyzeAll(packs.get("prod")!, [{
            urn: "urn:pulumi:prod::partner-access::gcp:storage/bucketIAMMember:BucketIAMMember::probe", type: "gcp:storage/bucketIAMMember:BucketIAMMember", name: "probe",
            inputs: { bucket: "b", role: "roles/storage.objectViewer", member: "allUsers" },
        }]);
        const hit = found.find((d) => d.policy === "no-public-gcp-members");
        assert.equal(hit?.level, "mandatory");
        assert.match(hit!.message, /grants the public role roles\/storage.objectViewer/);
    });
});
