/** `npm run policy -- <synth dir>/<stack>/resources.json` — exits 1 on any mandatory violation. */
import * as fs from "fs";
import * as path from "path";
import { policyConfigFor, runPolicies } from "./policy-run";

function main(): number {
    const files = process.argv.slice(2);
    if (files.length === 0) {
        console.error("usage: npm run policy -- <out>/<stack>/resources.json [...]");
        return 2;
    }
    let mandatory = 0;
    for (const file of files) {
        const resources = JSON.parse(fs.readFileSync(file, "utf8"));
        const violations = runPolicies(resources, policyConfigFor(path.dirname(file)));
        console.log(`${file}: ${resources.length} resources, ${violations.length} violation(s)`);
        for (const v of violations) {
            console.log(`  [${v.enforcementLevel}] ${v.policy}: ${v.urn ?? "(stack)"}\n      ${v.message}`);
            if (v.enforcementLevel === "mandatory") mandatory++;
        }
    }
    return mandatory > 0 ? 1 : 0;
}

process.exit(main());
