/** `npm run access-diff -- <base synth dir> <pr synth dir>`: markdown report on stdout; exits 1 on a mandatory finding or an access defect. */
import * as path from "path";
import { accessDiff, formatDiff } from "./access/diff";

async function main(): Promise<number> {
    const [base, pr] = process.argv.slice(2);
    if (!base || !pr) {
        console.error("usage: npm run access-diff -- <base synth dir> <pr synth dir>   (the --out directories of two synth runs)");
        return 2;
    }
    const diffs = await accessDiff(path.resolve(base), path.resolve(pr));
    console.log(formatDiff(diffs));
    const blocking = diffs.some((d) => d.defects.length > 0 || d.findings.some((f) => f.enforcementLevel === "mandatory"));
    return blocking ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
    console.error(e?.stack ?? String(e));
    process.exit(1);
});
