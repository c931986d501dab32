/**
 * Runs the real synth CLI in a child process (Pulumi's runtime is
 * process-global) and reads what it wrote. Cached per stack and registry so
 * every test file shares one run.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { AccessPlan } from "../../components/plan/access-plan";
import { SynthResource } from "../../tools/synth";
import { ROOT, tempDir } from "./fixtures";

export interface SynthRun {
    status: number | null;
    stdout: string;
    stderr: string;
    dir: string;
}

/** Inputs are arbitrary provider JSON: tests index into them freely. */
export type Resource = Omit<SynthResource, "inputs"> & { inputs: any };

export interface SynthOutput {
    dir: string;
    resources: Resource[];
    plan: AccessPlan;
    outputs: any;
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
    const dir = path.join(run.dir, stack);
    const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
    const result = { dir, resources: read("resources.json"), plan: read("plan.json"), outputs: read("outputs.json") };
    cache.set(key, result);
    return result;
}

export function ofType(s: SynthOutput, type: string): Resource[] {
    return s.resources.filter((r) => r.type === type);
}

export function one(s: SynthOutput, type: string, name?: string): Resource {
    const hits = ofType(s, type).filter((r) => !name || r.name === name);
    if (hits.length !== 1) throw new Error(`expected one ${type} ${name ?? ""}, found ${hits.length}`);
    return hits[0];
}

export function doc(value: unknown): any {
    return typeof value === "string" ? JSON.parse(value) : value;
}
