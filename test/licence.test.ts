import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./support/fixtures";

/** Every .ts file reachable through relative imports from an entry point. */
function closure(entry: string, seen = new Set<string>()): Set<string> {
    if (seen.has(entry)) return seen;
    seen.add(entry);
    const text = fs.readFileSync(entry, "utf8");
    for (const [, spec] of text.matchAll(/(?:from|require\()\s*["']([^"']+)["']/g)) {
        if (!spec.startsWith(".")) continue;
        const base = path.resolve(path.dirname(entry), spec);
        const file = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
        if (file) closure(file, seen);
    }
    return seen;
}

describe("licences", () => {
    it("keeps the AGPL-3.0 policy evaluator out of the deployed program and the policy pack", () => {
        for (const entry of ["index.ts", "policy-pack/index.ts"]) {
            const files = [...closure(path.join(ROOT, entry))];
            assert.ok(files.length > 3, entry);
            for (const f of files) assert.ok(!/@cloud-copilot\//.test(fs.readFileSync(f, "utf8")), `${path.relative(ROOT, f)} imports the evaluator`);
        }
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.ok(pkg.devDependencies["@cloud-copilot/iam-simulate"] && !pkg.dependencies["@cloud-copilot/iam-simulate"]);
        assert.equal(pkg.license, "Apache-2.0");
    });
});
