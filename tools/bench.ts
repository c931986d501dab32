/**
 * `npm run bench`: synth of one stage for generated registries of 10, 100 and
 * 1,000 partners, each in a fresh process; prints partners, resources, wall
 * time, peak memory and the largest document of each kind against its limit,
 * and writes the same as JSON to out/bench.json.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsDocumentSizes } from "../components/aws/limits";
import { openApiDocument } from "../components/gcp/openapi";
import { storageBindings } from "../components/gcp/storage-bindings";
import { awsProviderSpecs } from "../components/gcp/workload-identity-providers";
import { buildPlan } from "../components/plan/access-plan";
import { parseRegistry } from "../components/plan/registry";
import { generateRegistryYaml } from "./generate-registry";
import { readStageConfig } from "./synth";

const ROOT = path.resolve(__dirname, "..");
const STACK = process.env.BENCH_STACK ?? "prod";
const SIZES = (process.env.BENCH_SIZES ?? "10,100,1000").split(",").map(Number);

interface Row {
    partners: number;
    resources: number;
    resourcesPerPartner: number;
    seconds: number;
    peakMiB: number;
    largest: Record<string, { size: number; limit: number }>;
}

function largestDocuments(registryYaml: string): Row["largest"] {
    const plan = buildPlan(parseRegistry(registryYaml, "generated.yaml"), readStageConfig(ROOT, STACK));
    const out: Row["largest"] = {};
    for (const d of awsDocumentSizes(plan)) {
        if (!out[d.kind] || out[d.kind].size < d.size) out[d.kind] = { size: d.size, limit: d.limit };
    }
    const perFolder = new Map<string, number>();
    for (const b of storageBindings(plan)) perFolder.set(b.folder, (perFolder.get(b.folder) ?? 0) + b.members.length);
    out["gcsManagedFolderMembers"] = { size: Math.max(0, ...perFolder.values()), limit: 1500 };
    out["wifAttributeCondition"] = { size: Math.max(0, ...awsProviderSpecs(plan).map((s) => s.attributeCondition.length)), limit: 4096 };
    // Google documents no single byte limit for an Endpoints OpenAPI document; shown for trend, against 10 MB.
    out["openApiDocument"] = { size: JSON.stringify(openApiDocument(plan)).length, limit: 10 * 1024 * 1024 };
    return out;
}

function run(count: number): Row {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "partner-access-bench-"));
    const registry = path.join(dir, `registry-${count}.yaml`);
    const yaml = generateRegistryYaml({ count });
    fs.writeFileSync(registry, yaml);
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "synth-cli.ts"), "--stack", STACK, "--registry", registry, "--out", dir], { cwd: ROOT, encoding: "utf8" });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.status !== 0) throw new Error(`synth of ${count} partners failed:\n${r.stderr}`);
    const resources = Number(/(\d+) resources:/.exec(r.stdout)![1]);
    const peakMiB = Number(/peak memory (\d+) MiB/.exec(r.stdout)![1]);
    return { partners: count, resources, resourcesPerPartner: +(resources / count).toFixed(1), seconds: +seconds.toFixed(1), peakMiB, largest: largestDocuments(yaml) };
}

const rows = SIZES.map(run);
console.log(`synth of stack ${STACK} (wall time includes process start and module loading)\n`);
console.log("partners  resources  per partner  seconds  peak MiB");
for (const r of rows) console.log(`${String(r.partners).padStart(8)}  ${String(r.resources).padStart(9)}  ${String(r.resourcesPerPartner).padStart(11)}  ${String(r.seconds).padStart(7)}  ${String(r.peakMiB).padStart(8)}`);
const last = rows[rows.length - 1];
console.log(`\nlargest document of each kind at ${last.partners} partners:`);
for (const [kind, d] of Object.entries(last.largest)) console.log(`  ${kind.padEnd(24)} ${String(d.size).padStart(9)} / ${d.limit}  (${((100 * d.size) / d.limit).toFixed(1)}%)`);
fs.mkdirSync(path.join(ROOT, "out"), { recursive: true });
fs.writeFileSync(path.join(ROOT, "out", "bench.json"), JSON.stringify({ stack: STACK, node: process.version, rows }, null, 2) + "\n");
console.log("\nwritten to out/bench.json");
