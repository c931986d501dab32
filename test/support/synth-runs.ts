/**
 * Runs the real CLI's synth in a child process (Pulumi's runtime is
 * process-global) and reads what it wrote. The two sample stages are made
 * once for the whole run, in parallel, by the global setup (test/support/
 * global-setup.ts); other variants are cached per registry and arguments.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SynthOutput, readSynthOutput } from "../../tools/access/synth-output";
import { MOCKED_OUTPUTS } from "../../tools/synth-manifest";
import { AT, ROOT, tempDir } from "./fixtures";

export { Resource, SynthOutput, doc, ofType, one } from "../../tools/access/synth-output";

export interface CliRun {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** `partner-access <args>` as a user runs it, in a process of its own (the test suite goes on meanwhile). */
export function runCli(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<CliRun> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "cli.ts"), ...args], {
            cwd, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", ...env }, stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("exit", (status) => resolve({ status, stdout, stderr }));
    });
}

/**
 * `partner-access <args>` in this process (most commands need no process of
 * their own; a synth that gets past validation does): exit code and what it
 * printed.
 */
export async function cliInProcess(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    const { main } = await import("../../tools/cli");
    let stdout = "";
    let stderr = "";
    const [log, error, write] = [console.log, console.error, process.stderr.write];
    console.log = (...a: unknown[]) => void (stdout += a.join(" ") + "\n");
    console.error = (...a: unknown[]) => void (stderr += a.join(" ") + "\n");
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
    try {
        return { status: await main(args), stdout, stderr };
    } finally {
        [console.log, console.error, process.stderr.write] = [log, error, write];
    }
}

export interface SynthRun extends CliRun {
    dir: string;
}

export function runSynth(args: string[], out = tempDir("synth")): SynthRun {
    const withTime = args.includes("--at") ? args : [...args, "--at", AT.toISOString()];
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "cli.ts"), "synth", ...withTime, "--out", out], {
        cwd: ROOT, encoding: "utf8", env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, maxBuffer: 256 * 1024 * 1024,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, dir: out };
}

const cache = new Map<string, SynthOutput>();

export function synthStack(stack: string, registry?: string, extra: string[] = []): SynthOutput {
    const key = JSON.stringify([stack, registry ?? "", extra]);
    const hit = cache.get(key);
    if (hit) return hit;
    const shared = process.env.PARTNER_ACCESS_TEST_SYNTH;
    if (!registry && extra.length === 0 && shared && fs.existsSync(path.join(shared, stack, "resources.json"))) {
        const s = readSynthOutput(path.join(shared, stack));
        cache.set(key, s);
        return s;
    }
    const run = runSynth(["--stack", stack, ...(registry ? ["--registry", registry] : []), ...extra]);
    if (run.status !== 0) throw new Error(`synth ${stack} failed (${run.status}):\n${run.stderr}`);
    const result = readSynthOutput(path.join(run.dir, stack));
    cache.set(key, result);
    return result;
}

/**
 * A stand-in for `pulumi stack output --json` of a deployed stack: a synth's outputs without the key that
 * marks them as mocked, written to a file (`rename` maps mocked ids to ones "the cloud" gave).
 */
export function deployedOutputsFile(s: SynthOutput, rename: Record<string, string> = {}): string {
    let text = JSON.stringify(s.outputs);
    for (const [from, to] of Object.entries(rename)) text = text.split(from).join(to);
    const outputs = JSON.parse(text);
    delete outputs[MOCKED_OUTPUTS];
    const file = path.join(tempDir("deployed-outputs"), "outputs.json");
    fs.writeFileSync(file, JSON.stringify(outputs));
    return file;
}
