/**
 * Mocha global setup: synth of both sample stages, in parallel (one process
 * per stage: Pulumi's runtime is process-global), shared by every test file.
 */
import { spawn } from "child_process";
import * as path from "path";
import { AT, ROOT, tempDir } from "./fixtures";

export async function mochaGlobalSetup(): Promise<void> {
    const out = tempDir("shared-synth");
    await Promise.all(["stag", "prod"].map((stack) => new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "cli.ts"), "synth", "--stack", stack, "--out", out, "--at", AT.toISOString()], {
            cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`synth ${stack} failed:\n${stderr}`))));
    })));
    process.env.PARTNER_ACCESS_TEST_SYNTH = out;
}
