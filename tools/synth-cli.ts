/** `npm run synth -- --stack <stag|prod> [--registry <file>] [--out <dir>]` */
import * as path from "path";
import { InputError } from "../components/plan/problems";
import { summary, synth } from "./synth";

function args(argv: string[]): { stack?: string; registry?: string; out: string; preview: boolean } {
    const out: { stack?: string; registry?: string; out: string; preview: boolean } = { out: "out", preview: false };
    for (let i = 0; i < argv.length; i++) {
        const [flag, value] = [argv[i], argv[i + 1]];
        if (flag === "--preview") {
            out.preview = true;
            continue;
        }
        if (flag === "--stack") out.stack = value;
        else if (flag === "--registry") out.registry = value;
        else if (flag === "--out") out.out = value;
        else throw new Error(`unknown argument ${flag}`);
        i++;
    }
    return out;
}

// Pulumi captures a stack trace for every promise it creates; with ts-node's source-map
// support each capture is re-mapped, which dominated synth time at 1,000 partners. V8's
// own formatting keeps transpiled line numbers, close enough for a synth.
(Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;

async function main() {
    const a = args(process.argv.slice(2));
    if (!a.stack) throw new Error("usage: npm run synth -- --stack <stag|prod> [--registry <file>] [--out <dir>] [--preview]");
    const cwd = process.cwd();
    const result = await synth({
        stack: a.stack,
        registry: a.registry && path.resolve(cwd, a.registry),
        outDir: path.resolve(cwd, a.out),
        projectDir: path.resolve(__dirname, ".."),
        preview: a.preview,
    });
    process.chdir(cwd);
    console.log(summary(result));
}

main().then(() => process.exit(0), (e) => {
    console.error(e instanceof InputError ? e.message : e?.stack ?? String(e));
    process.exit(1);
});
