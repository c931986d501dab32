/**
 * The policy pack started as the Pulumi CLI starts it (see
 * test/policy-pack-cli.test.ts for the sources): started early, in the global
 * setup, because ts-node type-checks the pack first, the suite's largest
 * single cost, which then overlaps with other tests.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { stackConfigMap } from "../../tools/stack-config";
import { FakeEngine, startFakeEngine } from "./fake-engine";
import { ROOT } from "./fixtures";

const analyzerrpc = require(require.resolve("@pulumi/pulumi/proto/analyzer_grpc_pb", { paths: [ROOT] }));

export const PACK_DIR = path.join(ROOT, "policy-pack");
export const RUN_POLICY_PACK = path.join(PACK_DIR, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");
/** Start-up includes ts-node type-checking the pack; a hung pack must not hang the suite. */
const START_TIMEOUT_MS = 90_000;

/** The environment the host gives the pack: the CLI's own (here: ours, minus ts-node and Pulumi settings of the test run) plus the stack. */
function packEnv(stack: string, config: Record<string, string>): NodeJS.ProcessEnv {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TS_NODE_|PULUMI_|PARTNER_ACCESS_)/.test(k)));
    return { ...base, PULUMI_NODEJS_PROJECT: "partner-access", PULUMI_NODEJS_STACK: stack, PULUMI_NODEJS_DRY_RUN: "true", PULUMI_CONFIG: JSON.stringify(config) };
}

export interface RunningPack { child: ChildProcess; client: any; stderr: () => string; engine: FakeEngine }

export async function startPack(stack: string): Promise<RunningPack> {
    const engine = await startFakeEngine();
    // The host's command line. Under coreutils `timeout` when there is one, so the pack stops by itself even if
    // this test process is killed before `after` runs (Node's own spawn timeout dies with this process).
    const command = [process.execPath, RUN_POLICY_PACK, engine.address, PACK_DIR];
    const watchdog = fs.existsSync("/usr/bin/timeout") ? ["/usr/bin/timeout", "--kill-after=5", "180"] : [];
    const [bin, ...args] = [...watchdog, ...command];
    const child = spawn(bin, args, { cwd: PACK_DIR, env: packEnv(stack, stackConfigMap(stack)), stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`pack for ${stack} printed no port in ${START_TIMEOUT_MS} ms:\n${stderr}`)), START_TIMEOUT_MS);
        let out = "";
        child.stdout!.on("data", (d) => {
            out += d;
            const m = /^(\d+)\s*$/m.exec(out);
            if (m) { clearTimeout(timer); resolve(Number(m[1])); }
        });
        child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`pack for ${stack} exited (${code}) before printing its port:\n${stderr}`)); });
    });
    const client = new analyzerrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return { child, client, engine, stderr: () => stderr };
}

export function stopPack(p: RunningPack | undefined): Promise<void> {
    if (!p) return Promise.resolve();
    p.client.close();
    void p.engine.close();
    if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
        const hard = setTimeout(() => p.child.kill("SIGKILL"), 5_000);
        p.child.once("exit", () => { clearTimeout(hard); resolve(); });
        p.child.kill("SIGTERM");
    });
}

const started = new Map<string, Promise<RunningPack>>();

/** The pack process of a stage, started once (the global setup starts both). */
export function packProcess(stack: string): Promise<RunningPack> {
    if (!started.has(stack)) {
        const p = startPack(stack);
        p.catch(() => undefined); // awaited (and reported) by the test that needs it
        started.set(stack, p);
    }
    return started.get(stack)!;
}

/** Starts the pack for the production stage, if its dependencies are installed (the test says how when not). */
export function startPackProcesses(): void {
    if (fs.existsSync(`${RUN_POLICY_PACK}.js`) || fs.existsSync(RUN_POLICY_PACK)) void packProcess("prod");
}
