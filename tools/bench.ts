/**
 * `npx partner-access bench`: for generated registries of several sizes
 * (every option mixed), the synth of one stage and its review (`access`),
 * each in a fresh process; wall time, peak memory, resources per partner, and
 * the largest document of each kind against its limit. Writes out/bench.json.
 * Long by design: never part of `npm test`.
 *
 * `--with-cdk` adds AWS CDK's synth of the same AWS access (tools/cdk-synth.ts)
 * beside our synth of an AWS-only copy of the same registry (no `gcp` grants,
 * no outbound hosts: what the CDK rendering covers; our GCP baseline of pool,
 * bucket and project services, 11 resources whatever the size, stays), and CDK's synth again
 * without its built-in template validation, in turn in fresh processes,
 * CDK_ROUNDS times each, medians reported.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsDocumentSizes } from "../components/aws/limits";
import { openApiDocument } from "../components/gcp/openapi";
import { awsProviderSpecs } from "../components/gcp/workload-identity-providers";
import { loadAccessPlan } from "../components/plan/load";
import { AWS_ROLE_QUOTA, CONFIG_NAMESPACE } from "../components/plan/stage-config";
import * as YAML from "yaml";
import { generateRegistry, generateRegistryYaml } from "./generate-registry";
import { copyProject } from "./project-copy";
import { PROJECT_DIR, stackConfigSource } from "./stack-config";

export interface BenchRow {
    partners: number;
    resources: number;
    resourcesPerPartner: number;
    synth: { seconds: number; peakMiB: number };
    access: { seconds: number; peakMiB: number; cells: number; findings: number };
    largest: Record<string, { size: number; limit: number }>;
    /** With --with-cdk: our synth of the AWS-only registry (resources: all it registers; awsResources: those of the AWS provider). */
    synthAwsOnly?: Timing & { resources: number; awsResources: number };
    /** With --with-cdk: CDK's synth of the same AWS access (resources: CloudFormation resources over every template). */
    cdk?: Timing & { resources: number; stacks: number };
    /**
     * With --with-cdk: the same, without the CloudFormation validation CDK runs on every synth since
     * 2.262 (CDK_VALIDATION=false): a WASM linter, most of CDK's time and memory at these sizes.
     */
    cdkNoValidation?: Timing;
}

/** Median of CDK_ROUNDS runs, each run kept. */
interface Timing { seconds: number; peakMiB: number; runs: { seconds: number; peakMiB: number }[] }

/** aws-cdk-lib and constructs, exactly: installed on demand into CDK_CACHE, never a project dependency. */
export const CDK_PACKAGES = { "aws-cdk-lib": "2.276.0", constructs: "10.8.1" } as const;
const CDK_CACHE = path.join(PROJECT_DIR, "node_modules", ".cache", "partner-access-cdk");
const CDK_ROUNDS = 3;

const AT = "2026-12-01T00:00:00Z";

/** Runs a CLI command (or another tool: `script`) in a fresh process: wall seconds, and the peak resident MiB it reports. */
function timed(project: string, args: string[], script = "cli.ts", env: Record<string, string> = {}): { seconds: number; peakMiB: number; stdout: string; stderr: string; status: number | null } {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(project, "tools", script), ...args], {
        cwd: project, encoding: "utf8", env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", ...env }, maxBuffer: 1024 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const peak = /peak memory (\d+) MiB/.exec(r.stdout + r.stderr);
    return { seconds: +seconds.toFixed(1), peakMiB: peak ? Number(peak[1]) : NaN, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function largestDocuments(project: string, stack: string, registry: string): BenchRow["largest"] {
    const plan = loadAccessPlan(stackConfigSource(stack, project), { projectDir: project, registryOverride: registry, at: new Date(AT) });
    const out: BenchRow["largest"] = {};
    for (const d of awsDocumentSizes(plan)) if (!out[d.kind] || out[d.kind].size < d.size) out[d.kind] = { size: d.size, limit: d.limit };
    out["wifAttributeCondition"] = { size: Math.max(0, ...awsProviderSpecs(plan).map((s) => s.attributeCondition.length)), limit: 4096 };
    // Google documents no single byte limit for an Endpoints OpenAPI document; shown for trend, against 10 MB.
    out["openApiDocument"] = { size: JSON.stringify(openApiDocument(plan, "x".repeat(60))).length, limit: 10 * 1024 * 1024 };
    return out;
}

/** Installs the pinned aws-cdk-lib and constructs into CDK_CACHE unless they are there; returns the NODE_PATH to load them from. */
function ensureCdk(): string {
    const modules = path.join(CDK_CACHE, "node_modules");
    const installed = (name: string) => {
        const pkg = path.join(modules, name, "package.json");
        return fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).version;
    };
    if (Object.entries(CDK_PACKAGES).some(([name, version]) => installed(name) !== version)) {
        process.stderr.write(`partner-access: installing ${Object.entries(CDK_PACKAGES).map(([n, v]) => `${n}@${v}`).join(" ")} into ${path.relative(PROJECT_DIR, CDK_CACHE)}\n`);
        fs.mkdirSync(CDK_CACHE, { recursive: true });
        const npm = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--no-save", "--prefix", CDK_CACHE, ...Object.entries(CDK_PACKAGES).map(([n, v]) => `${n}@${v}`)], { stdio: ["ignore", 2, 2] });
        if (npm.status !== 0) throw new Error(`npm install of aws-cdk-lib failed (exit ${npm.status})`);
    }
    return modules;
}

/** The generated registry without `gcp` grants or outbound hosts: the AWS access CDK renders too (gcp identities stay). */
export function awsOnlyRegistryYaml(count: number): string {
    const registry = generateRegistry({ count }) as { partners: Record<string, unknown>[] };
    registry.partners = registry.partners.map(({ gcp: _gcp, outbound: _outbound, ...p }) => p);
    return YAML.stringify(registry);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timing = (runs: { seconds: number; peakMiB: number }[]): Timing => ({ seconds: median(runs.map((r) => r.seconds)), peakMiB: median(runs.map((r) => r.peakMiB)), runs });

/**
 * Our synth of the AWS-only registry, CDK's, and CDK's without its built-in
 * CloudFormation validation, in turn (ABC BCA CAB ...), so that none always
 * runs first on a warm or a cold machine.
 */
function compareWithCdk(project: string, stack: string, count: number, dir: string, nodePath: string): Pick<BenchRow, "synthAwsOnly" | "cdk" | "cdkNoValidation"> {
    const registry = path.join(dir, `registry-${count}-aws-only.yaml`);
    fs.writeFileSync(registry, awsOnlyRegistryYaml(count));
    const runs: Record<"ours" | "cdk" | "cdkNoValidation", { seconds: number; peakMiB: number }[]> = { ours: [], cdk: [], cdkNoValidation: [] };
    let resources = 0, awsResources = 0, cdkResources = 0, stacks = 0;
    const runOurs = () => {
        const r = timed(project, ["synth", "--stack", stack, "--registry", registry, "--out", path.join(dir, "aws-only"), "--at", AT]);
        if (r.status !== 0) throw new Error(`AWS-only synth of ${count} partners failed:\n${r.stderr}`);
        resources = Number(/(\d+) resources:/.exec(r.stdout)![1]);
        awsResources = [...r.stdout.matchAll(/^\s+(\d+)\s+aws:/gm)].reduce((n, m) => n + Number(m[1]), 0);
        runs.ours.push({ seconds: r.seconds, peakMiB: r.peakMiB });
    };
    const runCdk = (validation: boolean) => () => {
        const r = timed(project, ["--stack", stack, "--registry", registry, "--out", path.join(dir, "cdk"), "--at", AT], "cdk-synth.ts",
            { NODE_PATH: nodePath, ...(validation ? {} : { CDK_VALIDATION: "false" }) });
        if (r.status !== 0) throw new Error(`CDK synth of ${count} partners failed:\n${r.stdout}${r.stderr}`);
        cdkResources = Number(/^resources (\d+)$/m.exec(r.stdout)![1]);
        stacks = Number(/(\d+) stacks/.exec(r.stdout)![1]);
        runs[validation ? "cdk" : "cdkNoValidation"].push({ seconds: r.seconds, peakMiB: r.peakMiB });
    };
    const order = [runOurs, runCdk(true), runCdk(false)];
    for (let i = 0; i < CDK_ROUNDS; i++) for (let j = 0; j < order.length; j++) order[(i + j) % order.length]();
    return {
        synthAwsOnly: { ...timing(runs.ours), resources, awsResources },
        cdk: { ...timing(runs.cdk), resources: cdkResources, stacks },
        cdkNoValidation: timing(runs.cdkNoValidation),
    };
}

/**
 * The project the bench runs: a scratch copy whose stage has AWS's largest
 * roles-per-account quota (5,000 partners need 5,000 roles; the sample stages
 * declare the default 1,000, and synth refuses more than the quota).
 */
export function benchProject(stack: string): string {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "partner-access-bench-project-"));
    copyProject(project);
    const file = path.join(project, `Pulumi.${stack}.yaml`);
    const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
    doc.setIn(["config", `${CONFIG_NAMESPACE}:awsRoleQuota`], AWS_ROLE_QUOTA.max);
    fs.writeFileSync(file, doc.toString());
    return project;
}

export function benchRow(project: string, stack: string, count: number, cdkNodePath?: string): BenchRow {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "partner-access-bench-"));
    try {
        return benchRowIn(dir, project, stack, count, cdkNodePath);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function benchRowIn(dir: string, project: string, stack: string, count: number, cdkNodePath?: string): BenchRow {
    const registry = path.join(dir, `registry-${count}.yaml`);
    fs.writeFileSync(registry, generateRegistryYaml({ count }));
    const synth = timed(project, ["synth", "--stack", stack, "--registry", registry, "--out", dir, "--at", AT]);
    if (synth.status !== 0) throw new Error(`synth of ${count} partners failed:\n${synth.stderr}`);
    const resources = Number(/(\d+) resources:/.exec(synth.stdout)![1]);
    // The review of that output (fresh for these inputs, so it is not re-synthesised).
    const access = timed(project, ["access", "--stack", stack, "--out", dir, "--at", AT, "--registry", registry]);
    const cells = /(\d+) cells evaluated/.exec(access.stdout);
    const findings = /(\d+) finding\(s\)/.exec(access.stdout);
    if (!cells) throw new Error(`access of ${count} partners failed:\n${access.stderr}`);
    const largest = largestDocuments(project, stack, registry);
    const compared = cdkNodePath ? compareWithCdk(project, stack, count, dir, cdkNodePath) : {};
    return {
        partners: count, resources, resourcesPerPartner: +(resources / count).toFixed(2),
        synth: { seconds: synth.seconds, peakMiB: synth.peakMiB },
        access: { seconds: access.seconds, peakMiB: access.peakMiB, cells: Number(cells[1]), findings: Number(findings?.[1] ?? 0) },
        largest,
        ...compared,
    };
}

export async function benchCommand(o: { sizes: string; stack: string; withCdk?: boolean }): Promise<void> {
    const sizes = o.sizes.split(",").map(Number);
    const rows: BenchRow[] = [];
    const cdkNodePath = o.withCdk ? ensureCdk() : undefined;
    const project = benchProject(o.stack);
    try {
        console.log(`stack ${o.stack} (awsRoleQuota ${AWS_ROLE_QUOTA.max}), ${os.cpus().length} cores, node ${process.version} (wall time includes process start and module loading)\n`);
        console.log("partners  resources  per partner  synth s  synth MiB  access s  access MiB  cells");
        for (const n of sizes) {
            process.stderr.write(`partner-access: bench ${n} partners\n`);
            const r = benchRow(project, o.stack, n, cdkNodePath);
            rows.push(r);
            console.log(`${String(r.partners).padStart(8)}  ${String(r.resources).padStart(9)}  ${String(r.resourcesPerPartner).padStart(11)}  ${String(r.synth.seconds).padStart(7)}  ${String(r.synth.peakMiB).padStart(9)}  ${String(r.access.seconds).padStart(8)}  ${String(r.access.peakMiB).padStart(10)}  ${r.access.cells}`);
        }
        const last = rows[rows.length - 1];
        console.log(`\nlargest document of each kind at ${last.partners} partners:`);
        for (const [kind, d] of Object.entries(last.largest)) console.log(`  ${kind.padEnd(24)} ${String(d.size).padStart(9)} / ${d.limit}  (${((100 * d.size) / d.limit).toFixed(1)}%)`);
        if (o.withCdk) printCdkComparison(rows);
        fs.mkdirSync(path.join(PROJECT_DIR, "out"), { recursive: true });
        const cdk = o.withCdk ? { cdkPackages: CDK_PACKAGES, cdkRounds: CDK_ROUNDS } : {};
        fs.writeFileSync(path.join(PROJECT_DIR, "out", "bench.json"), JSON.stringify({ stack: o.stack, node: process.version, cores: os.cpus().length, ...cdk, rows }, null, 2) + "\n");
    } finally {
        fs.rmSync(project, { recursive: true, force: true });
    }
    console.log("\nwritten to out/bench.json");
}

function printCdkComparison(rows: BenchRow[]): void {
    console.log(`\nsynth of the same AWS access, ${CDK_ROUNDS} runs each in turn (median): ours on both clouds (the one synth above), ours on an AWS-only registry,`);
    console.log(`AWS CDK ${CDK_PACKAGES["aws-cdk-lib"]} (in-process app.synth(), validation on), and CDK without its CloudFormation validation (CDK_VALIDATION=false)`);
    console.log("          pulumi full (both clouds)   pulumi AWS-only                   CDK AWS-only                          CDK, no CFN validation");
    console.log("partners     s    MiB  resources       s    MiB  resources (aws)        s    MiB  CFN resources  stacks        s    MiB");
    const col = (v: number, w: number) => String(v).padStart(w);
    for (const r of rows) {
        const a = r.synthAwsOnly!, c = r.cdk!, n = r.cdkNoValidation!;
        console.log(`${col(r.partners, 8)}  ${col(r.synth.seconds, 5)}  ${col(r.synth.peakMiB, 5)}  ${col(r.resources, 9)}   ${col(a.seconds, 5)}  ${col(a.peakMiB, 5)}  ${col(a.resources, 9)} ${`(${a.awsResources})`.padStart(6)}    ${col(c.seconds, 5)}  ${col(c.peakMiB, 5)}  ${col(c.resources, 13)}  ${col(c.stacks, 6)}    ${col(n.seconds, 5)}  ${col(n.peakMiB, 5)}`);
    }
}
