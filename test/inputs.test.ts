/**
 * The inputs: one definition (schema.ts, stage-config.ts) judged the same way
 * by the program, by an editor using partners.schema.json, and by the CLI;
 * every problem at once, each naming file, line, partner and field.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import * as YAML from "yaml";
import { InputError, Problem, formatProblem, githubAnnotation } from "../components/plan/problems";
import { loadRegistry, parseRegistry } from "../components/plan/registry";
import { loadAccessPlan } from "../components/plan/load";
import { stackConfigSource } from "../tools/stack-config";
import { staleFiles } from "../tools/schema-files";
import { generateRegistry } from "../tools/generate-registry";
import { AT, ROOT, SAMPLE_REGISTRY, planFor, registryFile, sampleRegistryObject } from "./support/fixtures";
import { main, program } from "../tools/cli";
import { cliInProcess, runCli } from "./support/synth-runs";

/** Problems the program finds in a registry (and none means it was accepted). */
function problemsOf(registry: unknown, file = "partners.yaml"): Problem[] {
    try {
        parseRegistry(typeof registry === "string" ? registry : YAML.stringify(registry), file);
        return [];
    } catch (e) {
        assert.ok(e instanceof InputError, String(e));
        return e.problems;
    }
}

/** Problems of a registry checked against a stage too (stage rules). */
function stageProblemsOf(stack: string, registry: unknown): Problem[] {
    try {
        planFor(stack, registry);
        return [];
    } catch (e) {
        assert.ok(e instanceof InputError, String(e));
        return e.problems;
    }
}

function withPartner(mutate: (p: any, reg: any) => void, index = 0): any {
    const reg = sampleRegistryObject();
    mutate(reg.partners[index], reg);
    return reg;
}

function expectProblem(problems: Problem[], partner: string | undefined, field: string, text: RegExp): Problem {
    const hit = problems.find((p) => p.partner === partner && p.field === field && text.test(p.message));
    assert.ok(hit, `no problem for ${partner}/${field} matching ${text}; got:\n${problems.map(formatProblem).join("\n")}`);
    return hit!;
}

/** The editor's view: partners.schema.json as a plain JSON Schema validator reads it (no custom messages). */
const editor = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(path.join(ROOT, "partners.schema.json"), "utf8")));
const editorAccepts = (reg: unknown) => editor(JSON.parse(JSON.stringify(reg)));

describe("inputs: one definition", () => {
    it("the committed partners.schema.json and Pulumi.yaml config block are generated from the schema (stale files fail)", () => {
        assert.deepEqual(staleFiles(), []);
        const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        assert.equal(project.config.awsAccountId.type, "string");
        assert.equal(project.config.awsMaxSessionDurationSeconds.type, "integer");
        assert.equal(project.config.awsMaxSessionDurationSeconds.default, 3600);
        assert.deepEqual(project.config.acceptedEnvironments.items, { type: "string" });
    });

    it("accepts the README's \"Add a partner\" example as written, added to the sample registry", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const section = readme.slice(readme.indexOf("### Add a partner"));
        const block = /```yaml\n([\s\S]*?)```/.exec(section)![1].replace(/^ {3}/gm, "");
        const reg = sampleRegistryObject();
        const [example] = YAML.parse(block);
        reg.partners.push(example);
        assert.deepEqual(problemsOf(YAML.stringify(reg)), []);
        assert.ok(planFor("prod", reg).partners.some((p) => p.slug === example.slug));
    });

    it("accepts the sample and generated registries, in the program and in an editor", () => {
        assert.deepEqual(problemsOf(fs.readFileSync(SAMPLE_REGISTRY, "utf8")), []);
        assert.ok(editorAccepts(sampleRegistryObject()), JSON.stringify(editor.errors));
        const generated = generateRegistry({ count: 40 });
        assert.deepEqual(problemsOf(generated), []);
        assert.ok(editorAccepts(generated), JSON.stringify(editor.errors));
    });

    // Plausible mistakes: those a schema can express are refused by the editor AND the program, with the same field.
    const shape: [string, (p: any, reg: any) => void, string | undefined, string, RegExp][] = [
        ["a blank name", (p) => (p.name = "  "), "acme-logistics", "name", /blank/],
        ["an environment that lists no identity", (p) => (p.identities.dev = {}), "acme-logistics", "identities.dev", /lists no identity/],
        ["a duplicate catalogue route", (_p, reg) => reg.api.routes.push("GET /orders"), undefined, "api.routes", /twice/],
        ["a * inside a granted path", (p) => (p.aws.api = ["GET /orders/*/items"]), "acme-logistics", "aws.api[0]", /not allowed inside a path/],
        ["an external id on a direct partner", (_p, reg) => (reg.partners[1].aws.externalId = "abc-123"), "globex", "aws.externalId", /only applies/],
        ["an account root without opt-in", (p) => (p.identities.prod.aws = ["arn:aws:iam::210987654322:root"]), "acme-logistics", "identities.prod.aws[0]", /allowAccountRoot/],
        ["a wildcard account in an ARN", (p) => (p.identities.prod.aws = ["arn:aws:iam::*:role/x"]), "acme-logistics", "identities.prod.aws[0]", /wildcards are never accepted/],
        ["a user whose ARN contains assumed-role (Google would read it as a role session)", (p) => p.identities.prod.aws.push("arn:aws:iam::210987654322:user/assumed-role/acme-uploader"), "acme-logistics", "identities.prod.aws[1]", /assumed-role/],
        ["an unquoted unique id", (p) => (p.identities.prod.gcp[0].uniqueId = 104857600000000000002), "acme-logistics", "identities.prod.gcp[0].uniqueId", /quoted/],
        ["a group as a service account", (p) => (p.identities.prod.gcp = [{ email: "group:ops@acme.example" }]), "acme-logistics", "identities.prod.gcp[0].email", /never accepted/],
        ["a typo in a field", (p) => (p.aws.file = "read"), "acme-logistics", "aws.file", /unknown field "file"/],
        ["an unknown file access", (p) => (p.aws.files = "admin"), "acme-logistics", "aws.files", /one of none, read, write, read-write/],
        ["a route with a .. segment", (_p, reg) => reg.api.routes.push("GET /files/../admin"), undefined, "api.routes[7]", /never \. or \.\./],
        ["an outbound host with a scheme", (p) => (p.outbound[0].host = "https://api.acme.example"), "acme-logistics", "outbound[0].host", /public DNS name/],
        ["an outbound token applied two ways", (p) => (p.outbound[0].token = { header: "X-Api-Key", query: "key" }), "acme-logistics", "outbound[0].token", /header.*or.*query/],
        ["a date that is not a date", (p) => (p.expires = "next year"), "acme-logistics", "expires", /date/],
        ["no partners", (_p, reg) => (reg.partners = []), undefined, "partners", /no partners/],
    ];
    for (const [what, mutate, partner, field, text] of shape) {
        it(`refuses ${what}: editor and program alike, naming file, line, partner and field`, () => {
            const reg = withPartner(mutate);
            assert.equal(editorAccepts(reg), false, "the editor's schema accepts it");
            const problem = expectProblem(problemsOf(reg), partner, field, text);
            assert.equal(problem.file, "partners.yaml");
            assert.ok(problem.line && problem.line > 1, `no line: ${formatProblem(problem)}`);
        });
    }

    // What a schema cannot express (it needs other data): the program's own checks.
    const semantic: [string, (p: any, reg: any) => void, string | undefined, string, RegExp][] = [
        ["an environment the registry does not declare", (p) => (p.identities.qa = { aws: ["arn:aws:iam::210987654329:role/qa"] }), "acme-logistics", "identities.qa", /not a declared environment/],
        ["a duplicate slug", (_p, reg) => (reg.partners[1].slug = "acme-logistics"), "acme-logistics", "partners[1].slug", /duplicate slug/],
        ["a retired slug reused", (p) => (p.slug = "hooli"), "hooli", "slug", /retired on 2026-09-30.*never reused/],
        ["a route outside the catalogue", (p) => (p.aws.api = ["DELETE /orders"]), "acme-logistics", "aws.api[0]", /matches no route/],
        ["two names for one path parameter", (_p, reg) => reg.api.routes.push("DELETE /orders/{id}"), undefined, "api.routes[7]", /one parameter name per position/],
        ["an expiry before the start", (p) => Object.assign(p, { notBefore: "2027-01-01", expires: "2026-12-31" }), "acme-logistics", "expires", /after notBefore/],
        ["one identity for two partners", (_p, reg) => (reg.partners[1].identities.prod.aws = ["arn:aws:iam::210987654322:role/acme-exchange"]), "globex", "identities.prod.aws[0]", /acme-logistics\/prod/],
        ["one outbound host for two partners", (_p, reg) => (reg.partners[1].outbound = [{ host: "api.acme-logistics.example", token: { query: "k" }, callers: { prod: { aws: ["arn:aws:iam::222222222222:role/x"] } } }]), "globex", "outbound[0].host", /already an outbound host of acme-logistics/],
    ];
    for (const [what, mutate, partner, field, text] of semantic) {
        it(`refuses ${what} (a rule the schema cannot express)`, () => {
            expectProblem(problemsOf(withPartner(mutate)), partner, field, text);
        });
    }

    it("names the line and column of the offending entry, and prints GitHub annotations", () => {
        const text = fs.readFileSync(SAMPLE_REGISTRY, "utf8").replace("contact: api-team@globex.example", "contact: nobody");
        const problem = expectProblem(problemsOf(text, "partners.yaml"), "globex", "contact", /e-mail/);
        const line = text.split("\n").findIndex((l) => l.includes("contact: nobody")) + 1;
        assert.equal(problem.line, line);
        assert.equal(problem.column, text.split("\n")[line - 1].indexOf("contact") + 1);
        assert.match(formatProblem(problem), new RegExp(`^partners\\.yaml:${line}:\\d+: partner "globex": field "contact": `));
        assert.match(githubAnnotation(problem), new RegExp(`^::error file=partners\\.yaml,line=${line},col=\\d+,title=partner-access::partner "globex"`));
    });

    it("reports every problem of a registry at once", () => {
        const reg = sampleRegistryObject();
        reg.partners[0].identities.prod.aws = ["*"];
        reg.partners[1].aws.files = "all";
        reg.partners[2].contact = "nobody";
        reg.partners[3].gcp.api = ["GET nowhere"];
        const problems = problemsOf(reg);
        assert.deepEqual([...new Set(problems.map((p) => p.partner))], ["acme-logistics", "globex", "initech", "umbrella"]);
    });

    it("refuses YAML anchors and aliases, so an alias bomb never expands", () => {
        const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]", "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]", "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]", "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]"].join("\n");
        const problems = problemsOf(bomb);
        assert.equal(problems.length, 1);
        assert.match(problems[0].message, /anchors|aliases/);
        assert.equal(problems[0].line, 1);
    });

    it("refuses text that is not YAML, with its line", () => {
        const problems = problemsOf("version: 2\npartners: [\n  - slug: x\n");
        assert.match(problems[0].message, /not valid YAML/);
        assert.ok(problems[0].line);
    });

    it("refuses a missing registry file", () => {
        assert.throws(() => loadRegistry("no-such-registry.yaml"), (e: InputError) => e.problems[0].file === "no-such-registry.yaml" && /ENOENT/.test(e.problems[0].message));
    });
});

describe("inputs: identities by what they cover", () => {
    it("refuses an account root in prod covering a dev role of the same account (stage isolation)", () => {
        const reg = withPartner((p) => {
            p.allowAccountRoot = true;
            p.identities.prod.aws = ["arn:aws:iam::210987654321:root"]; // dev lists arn:aws:iam::210987654321:role/acme-exchange-dev
        });
        expectProblem(problemsOf(reg), "acme-logistics", "identities.prod.aws[0]", /covers "arn:aws:iam::210987654321:role\/acme-exchange-dev" of acme-logistics\/dev/);
    });

    it("refuses a root of one partner covering another partner's role", () => {
        const reg = sampleRegistryObject();
        reg.partners[2].identities.prod.aws = ["arn:aws:iam::333333333334:root"]; // globex prod role lives there
        expectProblem(problemsOf(reg), "initech", "identities.prod.aws[0]", /covers .*globex\/prod/);
    });

    it("treats role paths and letter case as one principal, across environments and partners", () => {
        for (const spelling of ["arn:aws:iam::210987654322:role/integration/acme-exchange", "arn:aws:iam::210987654322:role/Acme-Exchange"]) {
            // Whichever entry comes second is reported, naming the first.
            const found = problemsOf(withPartner((p) => (p.identities.dev.aws = [spelling])));
            assert.ok(found.some((p) => p.partner === "acme-logistics" && p.message.includes(spelling) && p.message.includes("arn:aws:iam::210987654322:role/acme-exchange") && /same principal/.test(p.message)), found.map(formatProblem).join("\n"));
            expectProblem(problemsOf(withPartner((_p, reg) => (reg.partners[1].identities.prod.aws = [spelling]))), "globex", "identities.prod.aws[0]", /acme-logistics\/prod/);
        }
        // A user and a role of the same name are different principals.
        assert.deepEqual(problemsOf(withPartner((p) => (p.identities.dev.aws = ["arn:aws:iam::210987654322:user/acme-exchange"]))), []);
    });

    it("refuses partner identities in the stage's own account or project, saying why", () => {
        const reg = withPartner((p) => (p.identities.prod.aws = ["arn:aws:iam::222222222222:role/looks-like-a-partner"]));
        expectProblem(stageProblemsOf("prod", reg), "acme-logistics", "identities.prod.aws[0]", /own AWS account.*exempt the whole account/);
        const sa = withPartner((p) => (p.identities.prod.gcp = [{ email: "helper@example-partner-prod.iam.gserviceaccount.com" }]));
        expectProblem(stageProblemsOf("prod", sa), "acme-logistics", "identities.prod.gcp[0].email", /own GCP project/);
        // The same identity is fine for the other stage's account... and stag's own account is refused in stag.
        const stag = withPartner((p) => (p.identities.dev.aws = ["arn:aws:iam::111111111111:role/x"]));
        expectProblem(stageProblemsOf("stag", stag), "acme-logistics", "identities.dev.aws[0]", /own AWS account/);
    });
});

describe("inputs: stage config (the stage is the stack)", () => {
    const source = (stack: string, values: Record<string, unknown>) => ({ ...stackConfigSource(stack), values: { ...stackConfigSource(stack).values, ...values } });
    const problems = (stack: string, values: Record<string, unknown>): Problem[] => {
        try {
            loadAccessPlan(source(stack, values), { projectDir: ROOT, at: AT });
            return [];
        } catch (e) {
            return (e as InputError).problems;
        }
    };

    it("accepts both sample stages and derives production from the registry's environments", () => {
        assert.equal(planFor("prod").stage.production, true);
        assert.equal(planFor("stag").stage.production, false);
        assert.equal(planFor("prod").stage.stage, "prod");
    });

    it("refuses keys the stage derives (stage, production) and the old nested form, saying what to do", () => {
        const found = problems("stag", { stage: "prod", production: "true", aws: "{}" });
        expectProblem(found, undefined, "partner-access:stage", /stack name/);
        expectProblem(found, undefined, "partner-access:production", /production environments/);
        expectProblem(found, undefined, "partner-access:aws", /flat keys/);
    });

    it("refuses a stage mixing production and non-production environments, and an undeclared one", () => {
        expectProblem(problems("prod", { acceptedEnvironments: '["prod","stag"]' }), undefined, "partner-access:acceptedEnvironments", /never both/);
        expectProblem(problems("stag", { acceptedEnvironments: '["dev","qa"]' }), undefined, "partner-access:acceptedEnvironments", /"qa" is not an environment/);
    });

    it("refuses malformed ids, typos and out-of-range knobs, all at once, with the line in Pulumi.<stack>.yaml", () => {
        const found = problems("prod", { awsAccountId: "2222", awsMaxSessionDurationSeconds: "99999", awsAccessLogRetentionDays: "42", awsRegoin: "eu-west-1", gcpProjectNumber: "12x" });
        for (const key of ["awsAccountId", "awsMaxSessionDurationSeconds", "awsAccessLogRetentionDays", "awsRegoin", "gcpProjectNumber"]) {
            expectProblem(found, undefined, `partner-access:${key}`, /./);
        }
        const located = found.find((p) => p.field === "partner-access:awsAccountId")!;
        const text = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8").split("\n");
        assert.equal(located.line, text.findIndex((l) => l.includes("partner-access:awsAccountId")) + 1);
    });

    it("keeps production history above a floor", () => {
        expectProblem(problems("prod", { awsNoncurrentVersionRetentionDays: "1" }), undefined, "partner-access:awsNoncurrentVersionRetentionDays", /at least 30 days/);
        expectProblem(problems("prod", { gcpSoftDeleteRetentionDays: "7" }), undefined, "partner-access:gcpSoftDeleteRetentionDays", /at least 14 days/);
        assert.deepEqual(problems("stag", { awsNoncurrentVersionRetentionDays: "1" }), [], "no floor outside production");
    });

    it("refuses a name prefix Google reserves for Workload Identity pools", () => {
        expectProblem(problems("prod", { namePrefix: "gcp-partners" }), undefined, "partner-access:namePrefix", /gcp-/);
    });

    it("reports config and registry problems together", () => {
        const found = (() => {
            try {
                loadAccessPlan(source("prod", { awsAccountId: "x" }), { projectDir: ROOT, registryOverride: registryFile("version: 2\n"), at: AT });
                return [];
            } catch (e) {
                return (e as InputError).problems;
            }
        })();
        assert.ok(found.some((p) => p.file === "Pulumi.prod.yaml"));
        assert.ok(found.some((p) => p.file.endsWith("partners.yaml")));
    });
});

describe("the command line", () => {
    /** The CLI in this process, its stderr captured. */
    async function inProcess(args: string[]): Promise<{ code: number; stderr: string }> {
        const write = process.stderr.write;
        let stderr = "";
        process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
        try {
            return { code: await main(args), stderr };
        } finally {
            process.stderr.write = write;
        }
    }

    it("prints usage and exits 2 on a bad flag or command, with no stack trace", async () => {
        for (const args of [["synth", "--stack", "prod", "--bogus"], ["nope"], ["access"], ["synth", "--stack", "prod", "--at", "someday"], ["diff", "--base", "x"]]) {
            const r = await inProcess(args);
            assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
            assert.match(r.stderr, /error: |--help/);
            assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        }
        const child = await runCli(["synth", "--stack", "prod", "--bogus"]);
        assert.equal(child.status, 2);
        assert.match(child.stderr, /unknown option '--bogus'/);
    });

    it("loses none of a long report piped to a slow reader (tee, a CI log) when it exits", async () => {
        const { spawn } = await import("child_process");
        const script = `process.stdout.write("x".repeat(4 * 1024 * 1024) + "\\nlast line\\n"); require(${JSON.stringify(path.join(ROOT, "tools", "cli.ts"))}).exitWhenDrained(1);`;
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
        await new Promise((r) => setTimeout(r, 300)); // the reader is late: the pipe is full and the rest waits in the process
        const chunks: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => chunks.push(c));
        const code = await new Promise((r) => child.on("close", r));
        const out = Buffer.concat(chunks).toString();
        assert.equal(code, 1);
        assert.equal(out.length, 4 * 1024 * 1024 + "\nlast line\n".length);
        assert.match(out, /last line\n$/);
    });

    it("stops quietly, not as a crash and not as clean, when the reader leaves early (| head)", async () => {
        const { spawn } = await import("child_process");
        const script = `require(${JSON.stringify(path.join(ROOT, "client", "src", "stdio.ts"))}).stopQuietlyWhenReaderLeaves(3); const line = "x".repeat(1023) + "\\n"; const write = () => { while (process.stdout.write(line)); process.stdout.once("drain", write); }; write();`;
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.stdout.once("data", () => child.stdout.destroy());
        const code = await new Promise((r) => child.on("close", r));
        assert.equal(code, 141);
        assert.equal(stderr, "");
    });

    it("says so and exits 3 when the report cannot be written (a full disk), rather than exiting clean", async () => {
        const { spawn } = await import("child_process");
        const fs = await import("fs");
        const full = fs.openSync("/dev/full", "w");
        const script = `require(${JSON.stringify(path.join(ROOT, "client", "src", "stdio.ts"))}).stopQuietlyWhenReaderLeaves(3); process.stdout.write("report\\n"); setTimeout(() => process.exit(0), 2000);`;
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: ROOT, stdio: ["ignore", full, "pipe"] });
        fs.closeSync(full);
        let stderr = "";
        child.stderr!.on("data", (d) => (stderr += d));
        const code = await new Promise((r) => child.on("close", r));
        assert.equal(code, 3);
        assert.match(stderr, /cannot write the output: .*ENOSPC/);
    });

    it("has --help for every command", () => {
        const cli = program();
        for (const cmd of cli.commands) {
            assert.ok(cmd.description(), cmd.name());
            assert.match(cmd.helpInformation(), new RegExp(`Usage: partner-access ${cmd.name()}`));
        }
        assert.ok(cli.commands.length >= 8);
    });

    it("exits 1 with every problem (as GitHub annotations in Actions) and renders nothing when the input is bad", async () => {
        const reg = withPartner((p, reg) => {
            p.identities.prod.aws = ["arn:aws:iam::*:root"];
            reg.partners[1].slug = "acme-logistics";
        });
        const out = path.join(require("os").tmpdir(), `partner-access-bad-${process.pid}`);
        const actions = process.env.GITHUB_ACTIONS;
        process.env.GITHUB_ACTIONS = "true";
        const r = await cliInProcess(["synth", "--stack", "prod", "--registry", registryFile(reg), "--out", out]).finally(() => (actions === undefined ? delete process.env.GITHUB_ACTIONS : (process.env.GITHUB_ACTIONS = actions)));
        assert.equal(r.status, 1);
        assert.match(r.stderr, /partners\.yaml:\d+:\d+: partner "acme-logistics": field "identities\.prod\.aws\[0\]": .*wildcards/);
        assert.match(r.stderr, /duplicate slug/);
        assert.match(r.stdout, /^::error file=.*partners\.yaml,line=\d+/m);
        assert.ok(!fs.existsSync(path.join(out, "prod", "resources.json")));
    });
});
