/**
 * Runs the real CLI's synth in a child process (Pulumi's runtime is
 * process-global) and reads what it wrote. The two sample stages are made
 * once for the whole run, in parallel, by the global setup (test/support/
 * global-setup.ts); other variants are cached per registry and arguments.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { SynthOutput, readSynthOutput } from "../../tools/access/synth-output";
import { AT, ROOT, tempDir } from "./fixtures";

export { Resource, SynthOutput, doc, ofType, one } from "../../tools/access/synth-output";

export interface CliRun {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** `partner-access <args>` as a user runs it. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd = ROOT): CliRun {
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "cli.ts"), ...args], {
        cwd, encoding: "utf8", env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", ...env }, maxBuffer: 256 * 1024 * 1024,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface SynthRun extends CliRun {
    dir: string;
}

export function runSynth(args: string[], out = tempDir("synth")): SynthRun {
    const withTime = args.includes("--at") ? args : [...args, "--at", AT.toISOString()];
    return { ...runCli(["synth", ...withTime, "--out", out]), dir: out };
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
