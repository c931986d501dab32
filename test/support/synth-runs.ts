/**
 * Runs the real synth CLI in a child process (Pulumi's runtime is
 * process-global) and reads what it wrote. Cached per stack and registry so
 * every test file shares one run.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { SynthOutput, readSynthOutput } from "../../tools/access/synth-output";
import { ROOT, tempDir } from "./fixtures";

export { Resource, SynthOutput, doc, ofType, one } from "../../tools/access/synth-output";

export interface SynthRun {
    status: number | null;
    stdout: string;
    stderr: string;
    dir: string;
}

export function runSynth(args: string[]): SynthRun {
    const out = tempDir("synth");
    const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "synth-cli.ts"), ...args, "--out", out], {
        cwd: ROOT, encoding: "utf8", env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, dir: out };
}

const cache = new Map<string, SynthOutput>();

export function synthStack(stack: string, registry?: string): SynthOutput {
    const key = `${stack}|${registry ?? ""}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const run = runSynth(["--stack", stack, ...(registry ? ["--registry", registry] : [])]);
    if (run.status !== 0) throw new Error(`synth ${stack} failed (${run.status}):\n${run.stderr}`);
    const result = readSynthOutput(path.join(run.dir, stack));
    cache.set(key, result);
    return result;
}
