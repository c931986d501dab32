/**
 * What each `partner-access` command does (tools/cli.ts wires flags to these).
 * Review commands never read stale synth output: they re-synth when the
 * inputs changed, and refuse a given output root they cannot vouch for.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Findings } from "./cli";
import { PROJECT_DIR, listStacks } from "./stack-config";
import { configRenderedWith, staleness } from "./synth-manifest";

const progress = (message: string) => process.stderr.write(`partner-access: ${message}\n`);

/** Runs `partner-access synth` in a child process (Pulumi's runtime is process-global: one stack per process). */
export function runSynthProcess(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "cli.ts"), "synth", ...args], {
        cwd: PROJECT_DIR, encoding: "utf8", env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, maxBuffer: 256 * 1024 * 1024,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Synth output for `stack` under `outRoot`, made fresh if the inputs (or the asked time) changed since. */
export function ensureSynth(stack: string, outRoot: string, at?: Date, registry?: string): string {
    const dir = path.join(outRoot, stack);
    const why = staleness(dir, stack, { at, registry: registry && path.resolve(registry) });
    if (why) {
        progress(`synth ${stack} (${why.replace(dir, "the output")})`);
        const r = runSynthProcess(["--stack", stack, "--out", outRoot, ...(at ? ["--at", at.toISOString()] : []), ...(registry ? ["--registry", path.resolve(registry)] : [])]);
        if (r.status !== 0) {
            process.stderr.write(r.stderr);
            throw new Findings(`synth of ${stack} failed`);
        }
    }
    return dir;
}

export async function synthCommand(o: { stack: string; out: string; at?: Date; registry?: string; preview?: boolean; mockSeed?: string; mockProjectNumber?: string; mockState?: string }): Promise<void> {
    // Pulumi records a stack trace for every promise; ts-node's source-map support re-maps each one,
    // which dominated synth time at 1,000 partners. V8's own formatting keeps transpiled line numbers.
    (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
    const { summary, synth } = await import("./synth");
    const result = await synth({
        stack: o.stack, outDir: path.resolve(o.out), at: o.at ?? new Date(), preview: o.preview,
        registry: o.registry && path.resolve(o.registry),
        mockCloud: { seed: o.mockSeed, projectNumber: o.mockProjectNumber, stateFrom: o.mockState && path.resolve(o.mockState) },
    });
    console.log(summary(result));
}

export async function policyCommand(o: { stack?: string[]; out: string; at?: Date; registry?: string }): Promise<void> {
    const { runPoliciesAsCli } = await import("./policy-run");
    const { readSynthOutput } = await import("./access/synth-output");
    let mandatory = 0;
    const failed: string[] = [];
    for (const stack of o.stack ?? listStacks()) {
        let dir: string;
        try {
            dir = ensureSynth(stack, path.resolve(o.out), o.at, o.registry);
        } catch (e) {
            // Every stage is judged: one that does not render must not hide the others' findings.
            if (!(e instanceof Findings)) throw e;
            failed.push(stack);
            continue;
        }
        const s = readSynthOutput(dir);
        const violations = runPoliciesAsCli(s.resources, stack, configRenderedWith(stack, s.dir));
        console.log(`${stack}: ${s.resources.length} resources, ${violations.length} violation(s)`);
        for (const v of violations) {
            console.log(`  [${v.enforcementLevel}] ${v.policy}: ${v.urn ?? "(stack)"}\n      ${v.message}`);
            if (v.enforcementLevel === "mandatory") mandatory++;
        }
    }
    const problems = [...(mandatory > 0 ? [`${mandatory} mandatory violation(s)`] : []), ...(failed.length > 0 ? [`synth of ${failed.join(", ")} failed`] : [])];
    if (problems.length > 0) throw new Findings(problems.join("; "));
}

export async function accessCommand(o: { stack: string; out: string; at?: Date; full?: boolean; registry?: string }): Promise<void> {
    const { accessMatrix, formatMatrix } = await import("./access/matrix");
    const { readSynthOutput } = await import("./access/synth-output");
    const dir = ensureSynth(o.stack, path.resolve(o.out), o.at, o.registry);
    const matrix = await accessMatrix(readSynthOutput(dir), { full: o.full, progress });
    const file = path.join(dir, "access-matrix.json");
    fs.writeFileSync(file, JSON.stringify(matrix, null, 2) + "\n");
    console.log(formatMatrix(matrix));
    console.log(`\nwritten to ${path.relative(process.cwd(), file)}\npeak memory ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
    if (matrix.defects.length + matrix.findings.length > 0) throw new Findings(`${matrix.defects.length} defect(s), ${matrix.findings.length} finding(s)`);
}

export async function diffCommand(o: { base: string; head: string; stack?: string[]; emptyBase?: boolean }): Promise<void> {
    const { accessDiff, formatDiff } = await import("./access/diff");
    const diffs = await accessDiff(path.resolve(o.base), path.resolve(o.head), { stacks: o.stack, emptyBase: o.emptyBase, progress });
    console.log(formatDiff(diffs));
    if (diffs.some((d) => d.defects.length > 0 || d.structural.length > 0 || d.findings.some((f) => f.enforcementLevel === "mandatory"))) throw new Findings("access defects or mandatory findings");
}

export async function kitsCommand(o: { stack: string; out: string; at?: Date; outputs?: string }): Promise<void> {
    const { kitsOf, writeKits } = await import("./kits");
    const { readStackOutputs } = await import("./stack-outputs");
    const outputs = readStackOutputs(o.stack, o.outputs);
    if (outputs.stage !== o.stack) throw new Findings(`those outputs are of stage ${JSON.stringify(outputs.stage)}, not ${o.stack}`);
    const dir = path.join(path.resolve(o.out), o.stack, "kits");
    const kits = kitsOf(outputs, "stack", o.at ?? new Date());
    writeKits(dir, kits);
    console.log(`${kits.length} kit(s) written to ${path.relative(process.cwd(), dir)}: <partner>.json for the partner client, <partner>.md to read`);
}

export async function schemaCommand(o: { check?: boolean }): Promise<void> {
    const { staleFiles, writeGeneratedFiles } = await import("./schema-files");
    if (o.check) {
        const stale = staleFiles();
        if (stale.length > 0) throw new Findings(`stale: ${stale.join(", ")} (run \`npx partner-access schema\`)`);
        console.log("partners.schema.json and Pulumi.yaml are current");
        return;
    }
    const written = writeGeneratedFiles();
    console.log(written.length > 0 ? `written: ${written.join(", ")}` : "already current");
}

/** Every stage of a project (one per Pulumi.<stage>.yaml), non-production first. */
export async function stagesOf(projectDir = PROJECT_DIR): Promise<{ stack: string; production: boolean }[]> {
    const { loadAccessPlan } = await import("../components/plan/load");
    const { stackConfigSource } = await import("./stack-config");
    return listStacks(projectDir).map((stack) => {
        const plan = loadAccessPlan(stackConfigSource(stack, projectDir), { projectDir, at: new Date() });
        return { stack, production: plan.stage.production };
    }).sort((a, b) => Number(a.production) - Number(b.production) || a.stack.localeCompare(b.stack));
}

export async function stagesCommand(o: { json?: boolean }): Promise<void> {
    const stages = await stagesOf();
    console.log(o.json ? JSON.stringify(stages) : stages.map((s) => `${s.stack}${s.production ? " (production)" : ""}`).join("\n"));
}
