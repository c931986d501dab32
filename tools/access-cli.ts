/** `npm run access -- --stack <stag|prod> [--out <dir>]`: effective access matrix of a synth output; exits 1 on any defect. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { accessMatrix, formatMatrix } from "./access/matrix";
import { readSynthOutput } from "./access/synth-output";

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
    const stack = flag("--stack");
    const out = path.resolve(flag("--out") ?? "out");
    if (!stack) {
        console.error("usage: npm run access -- --stack <stag|prod> [--out <dir>]");
        return 2;
    }
    const dir = path.join(out, stack);
    if (!fs.existsSync(path.join(dir, "resources.json"))) {
        // No synth output yet: make it, exactly as `npm run synth` would.
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "synth-cli.ts"), "--stack", stack, "--out", out], { stdio: "inherit" });
        if (r.status !== 0) return r.status ?? 1;
    }
    const matrix = await accessMatrix(readSynthOutput(dir));
    const file = path.join(dir, "access-matrix.json");
    fs.writeFileSync(file, JSON.stringify(matrix, null, 2) + "\n");
    console.log(formatMatrix(matrix));
    console.log(`\nwritten to ${path.relative(process.cwd(), file)}`);
    return matrix.defects.length > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
    console.error(e?.stack ?? String(e));
    process.exit(1);
});
