/**
 * A deployed stack's outputs, the only source of kits and proxy configs:
 * real ids, never the mocked ones an offline synth writes.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { Findings } from "./cli";
import { PROJECT_DIR } from "./stack-config";
import { MOCKED_OUTPUTS } from "./synth-manifest";

/** A deployed stack's outputs, from a file or from the Pulumi CLI (for kits and proxy configs); an offline synth's mocked outputs are refused. */
export function readStackOutputs(stack: string, file?: string): any {
    let text: string;
    if (file) text = fs.readFileSync(file, "utf8");
    else {
        const r = spawnSync("pulumi", ["stack", "output", "--json", "--stack", stack], { cwd: PROJECT_DIR, encoding: "utf8" });
        if (r.error || r.status !== 0) {
            throw new Findings(`cannot read the outputs of stack ${stack} (${r.error?.message ?? r.stderr.trim()}): run \`pulumi stack output --json --stack ${stack} > outputs.json\` where the CLI is logged in, then pass --outputs outputs.json`);
        }
        text = r.stdout;
    }
    const outputs = JSON.parse(text);
    if (outputs && typeof outputs === "object" && MOCKED_OUTPUTS in outputs) {
        throw new Findings(`${file ?? "those outputs"} come from an offline synth: every id in them is mocked (its kits are in preview-kits/, marked as previews). Use the deployed stack's \`pulumi stack output --json --stack ${stack}\``);
    }
    return outputs;
}
