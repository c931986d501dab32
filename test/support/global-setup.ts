/**
 * Mocha global setup. Every process the suite needs starts as soon as this
 * module is loaded (mocha loads it before the test files): the synth of both
 * sample stages, in parallel (one process per stage: Pulumi's runtime is
 * process-global), then the other synth variants and the policy pack
 * processes in the background while the tests run. The setup itself waits for
 * the two sample synths only.
 */
import { spawn } from "child_process";
import * as path from "path";
import { AT, ROOT, tempDir } from "./fixtures";
import { startPackProcesses } from "./policy-pack-process";
import { startVariants } from "./variants";

const out = tempDir("shared-synth");
process.env.PARTNER_ACCESS_TEST_SYNTH = out;

const samples = Promise.all(["stag", "prod"].map((stack) => new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "cli.ts"), "synth", "--stack", stack, "--out", out, "--at", AT.toISOString()], {
        cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`synth ${stack} failed:\n${stderr}`))));
})));
samples.catch(() => undefined); // reported by mochaGlobalSetup
startPackProcesses();
// Variants continue from the sample synths' state: they start once those exist.
void samples.then(startVariants, () => undefined);

export async function mochaGlobalSetup(): Promise<void> {
    await samples;
}
