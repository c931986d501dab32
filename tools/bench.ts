/**
 * `npx partner-access bench`: for generated registries of several sizes
 * (every option mixed), the synth of one stage and its review (`access`),
 * each in a fresh process; wall time, peak memory, resources per partner, and
 * the largest document of each kind against its limit. Writes out/bench.json.
 * Long by design: never part of `npm test`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsDocumentSizes } from "../components/aws/limits";
import { openApiDocument } from "../components/gcp/openapi";
import { awsProviderSpecs } from "../components/gcp/workload-identity-providers";
import { loadAccessPlan } from "../components/plan/load";
import { generateRegistryYaml } from "./generate-registry";
import { PROJECT_DIR, stackConfigSource } from "./stack-config";

export interface BenchRow {
    partners: number;
    resources: number;
    resourcesPerPartner: number;
    synth: { seconds: number; peakMiB: number };
    access: { seconds: number; peakMiB: number; cells: number; findings: number };
    largest: Record<string, { size: number; limit: number }>;
}

const AT = "2026-12-01T00:00:00Z";

/** Runs a CLI command in a fresh process under GNU time's view of it: wall seconds and peak resident MiB. */
function timed(args: string[]): { seconds: number; peakMiB: number; stdout: string; stderr: string; status: number | null } {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "cli.ts"), ...args], {
        cwd: PROJECT_DIR, encoding: "utf8", env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, maxBuffer: 1024 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const peak = /peak memory (\d+) MiB/.exec(r.stdout + r.stderr);
    return { seconds: +seconds.toFixed(1), peakMiB: peak ? Number(peak[1]) : NaN, stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function largestDocuments(stack: string, registry: string): BenchRow["largest"] {
    const plan = loadAccessPlan(stackConfigSource(stack), { projectDir: PROJECT_DIR, registryOverride: registry, at: new Date(AT) });
    const out: BenchRow["largest"] = {};
    for (const d of awsDocumentSizes(plan)) if (!out[d.kind] || out[d.kind].size < d.size) out[d.kind] = { size: d.size, limit: d.limit };
    out["wifAttributeCondition"] = { size: Math.max(0, ...awsProviderSpecs(plan).map((s) => s.attributeCondition.length)), limit: 4096 };
    // Google documents no single byte limit for an Endpoints OpenAPI document; shown for trend, against 10 MB.
    out["openApiDocument"] = { size: JSON.stringify(openApiDocument(plan, "x".repeat(60))).length, limit: 10 * 1024 * 1024 };
    return out;
}

export function benchRow(stack: string, count: number): BenchRow {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "partner-access-bench-"));
    const registry = path.join(dir, `registry-${count}.yaml`);
    fs.writeFileSync(registry, generateRegistryYaml({ count }));
    const synth = timed(["synth", "--stack", stack, "--registry", registry, "--out", dir, "--at", AT]);
    if (synth.status !== 0) throw new Error(`synth of ${count} partners failed:\n${synth.stderr}`);
    const resources = Number(/(\d+) resources:/.exec(synth.stdout)![1]);
    // The review of that output (fresh for these inputs, so it is not re-synthesised).
    const access = timed(["access", "--stack", stack, "--out", dir, "--at", AT, "--registry", registry]);
    const cells = /(\d+) cells evaluated/.exec(access.stdout);
    const findings = /(\d+) finding\(s\)/.exec(access.stdout);
    if (!cells) throw new Error(`access of ${count} partners failed:\n${access.stderr}`);
    const largest = largestDocuments(stack, registry);
    fs.rmSync(dir, { recursive: true, force: true });
    return {
        partners: count, resources, resourcesPerPartner: +(resources / count).toFixed(2),
        synth: { seconds: synth.seconds, peakMiB: synth.peakMiB },
        access: { seconds: access.seconds, peakMiB: access.peakMiB, cells: Number(cells[1]), findings: Number(findings?.[1] ?? 0) },
        largest,
    };
}

export async function benchCommand(o: { sizes: string; stack: string }): Promise<void> {
    const sizes = o.sizes.split(",").map(Number);
    const rows: BenchRow[] = [];
    console.log(`stack ${o.stack}, ${os.cpus().length} cores, node ${process.version} (wall time includes process start and module loading)\n`);
    console.log("partners  resources  per partner  synth s  synth MiB  access s  access MiB  cells");
    for (const n of sizes) {
        process.stderr.write(`partner-access: bench ${n} partners\n`);
        const r = benchRow(o.stack, n);
        rows.push(r);
        console.log(`${String(r.partners).padStart(8)}  ${String(r.resources).padStart(9)}  ${String(r.resourcesPerPartner).padStart(11)}  ${String(r.synth.seconds).padStart(7)}  ${String(r.synth.peakMiB).padStart(9)}  ${String(r.access.seconds).padStart(8)}  ${String(r.access.peakMiB).padStart(10)}  ${r.access.cells}`);
    }
    const last = rows[rows.length - 1];
    console.log(`\nlargest document of each kind at ${last.partners} partners:`);
    for (const [kind, d] of Object.entries(last.largest)) console.log(`  ${kind.padEnd(24)} ${String(d.size).padStart(9)} / ${d.limit}  (${((100 * d.size) / d.limit).toFixed(1)}%)`);
    fs.mkdirSync(path.join(PROJECT_DIR, "out"), { recursive: true });
    fs.writeFileSync(path.join(PROJECT_DIR, "out", "bench.json"), JSON.stringify({ stack: o.stack, node: process.version, cores: os.cpus().length, rows }, null, 2) + "\n");
    console.log("\nwritten to out/bench.json");
}
