import { strict as assert } from "assert";
import * as path from "path";
import * as YAML from "yaml";
import { InputError, Problem } from "../components/plan/problems";
import { loadRegistry, parseRegistry } from "../components/plan/registry";
import { Problems } from "../components/plan/problems";
import { parseStageConfig } from "../components/plan/stage-config";
import { loadAccessPlan } from "../components/plan/load";
import { rawStageConfig } from "../components/stage-inputs";
import { readStackConfig } from "../tools/synth";
import { ROOT, SAMPLE_REGISTRY, sampleRegistryObject } from "./support/fixtures";

/** Parses a registry expecting refusal; returns the problems. */
function refused(registry: unknown, file = "partners.yaml"): Problem[] {
    const text = typeof registry === "string" ? registry : YAML.stringify(registry);
    try {
        parseRegistry(text, file);
    } catch (e) {
        assert.ok(e instanceof InputError, String(e));
        return e.problems;
    }
    assert.fail("the registry was accepted");
}

function withPartner(mutate: (p: any, reg: any) => void, index = 0): any {
    const reg = sampleRegistryObject();
    mutate(reg.partners[index], reg);
    return reg;
}

function expectProblem(problems: Problem[], partner: string | undefined, field: string, text: RegExp) {
    const hit = problems.find((p) => p.partner === partner && p.field === field && text.test(p.message));
    assert.ok(hit, `no problem for ${partner}/${field} matching ${text}; got:\n${problems.map((p) => JSON.stringify(p)).join("\n")}`);
    assert.equal(hit!.file, "partners.yaml");
}

describe("partner registry", () => {
    it("accepts the sample registry with every option exercised", () => {
        const reg = loadRegistry(SAMPLE_REGISTRY);
        assert.deepEqual(reg.partners.map((p) => p.slug), ["acme-logistics", "globex", "initech", "umbrella"]);
        assert.deepEqual(new Set(reg.partners.map((p) => p.aws.connect)), new Set(["assume-role", "direct"]));
        assert.deepEqual(new Set(reg.partners.flatMap((p) => [p.aws.files, p.gcp.files])), new Set(["none", "read", "write", "read-write"]));
        assert.ok(reg.partners.some((p) => p.aws.api === "all"));
        assert.ok(reg.partners.some((p) => p.allowAccountRoot));
        assert.ok(reg.partners.some((p) => p.aws.externalId));
        assert.ok(reg.partners.some((p) => Object.values(p.identities).some((i) => i.gcp.some((g) => g.uniqueId))));
        assert.equal(reg.routes.length, 7);
    });

    const cases: [string, (p: any, reg: any) => void, string | undefined, string, RegExp][] = [
        ["a duplicate slug", (_p, reg) => (reg.partners[1].slug = "acme-logistics"), "acme-logistics", "partners[1].slug", /duplicate slug/],
        ["a slug with capitals", (p) => (p.slug = "Acme"), "Acme", "slug", /not a slug/],
        ["a malformed ARN", (p) => (p.identities.prod.aws = ["arn:aws:iam::12345:role/x"]), "acme-logistics", "identities.prod.aws[0]", /not an IAM role or user ARN/],
        ["a wildcard principal", (p) => (p.identities.prod.aws = ["*"]), "acme-logistics", "identities.prod.aws[0]", /wildcard/],
        ["a wildcard account", (p) => (p.identities.prod.aws = ["arn:aws:iam::*:role/x"]), "acme-logistics", "identities.prod.aws[0]", /wildcard/],
        ["a ? in a role name", (p) => (p.identities.prod.aws = ["arn:aws:iam::210987654322:role/acme-?"]), "acme-logistics", "identities.prod.aws[0]", /wildcard/],
        ["an account root without opt-in", (p) => (p.identities.prod.aws = ["arn:aws:iam::210987654322:root"]), "acme-logistics", "identities.prod.aws[0]", /allowAccountRoot/],
        ["allUsers as a service account", (p) => (p.identities.prod.gcp = [{ email: "allUsers" }]), "acme-logistics", "identities.prod.gcp[0].email", /public/],
        ["allAuthenticatedUsers", (p) => (p.identities.prod.gcp = [{ email: "allAuthenticatedUsers" }]), "acme-logistics", "identities.prod.gcp[0].email", /public/],
        ["a domain member", (p) => (p.identities.prod.gcp = [{ email: "domain:acme.example" }]), "acme-logistics", "identities.prod.gcp[0].email", /organisation/],
        ["a malformed email", (p) => (p.identities.prod.gcp = [{ email: "acme@gmail.com" }]), "acme-logistics", "identities.prod.gcp[0].email", /not a service account email/],
        ["a short unique id", (p) => (p.identities.prod.gcp[0].uniqueId = "12345"), "acme-logistics", "identities.prod.gcp[0].uniqueId", /unique id/],
        ["an unquoted unique id", (p) => (p.identities.prod.gcp[0].uniqueId = 104857600000000000002), "acme-logistics", "identities.prod.gcp[0].uniqueId", /quoted/],
        ["a typo in a field", (p) => { p.contcat = p.contact; delete p.contact; }, "acme-logistics", "contcat", /unknown field/],
        ["a typo in a nested field", (p) => (p.aws.file = "read"), "acme-logistics", "aws.file", /unknown field/],
        ["an unknown file access", (p) => (p.aws.files = "admin"), "acme-logistics", "aws.files", /one of none, read, write, read-write/],
        ["an unknown connect mode", (p) => (p.aws.connect = "peering"), "acme-logistics", "aws.connect", /assume-role, direct/],
        ["an unparseable route", (p) => (p.aws.api = ["GET orders"]), "acme-logistics", "aws.api[0]", /METHOD \/path/],
        ["an unknown method", (p) => (p.gcp.api = ["FETCH /orders"]), "acme-logistics", "gcp.api[0]", /unknown method/],
        ["a route outside the catalogue", (p) => (p.aws.api = ["DELETE /orders"]), "acme-logistics", "aws.api[0]", /matches no route/],
        ["an external id on a direct partner", (p) => (p.aws.externalId = "abc-123"), "globex", "aws.externalId", /only applies/],
        ["an identity shared by two partners", (_p, reg) => (reg.partners[1].identities.prod.aws = ["arn:aws:iam::210987654322:role/acme-exchange"]), "globex", "identities.prod", /also listed under acme-logistics\/prod/],
        ["one identity in dev and prod", (p) => (p.identities.dev.aws = ["arn:aws:iam::210987654322:role/acme-exchange"]), "acme-logistics", "identities.prod", /also listed under acme-logistics\/dev/],
    ];
    for (const [what, mutate, partner, field, text] of cases) {
        it(`refuses ${what}, naming file, partner and field`, () => {
            const index = what.includes("direct") ? 1 : 0;
            expectProblem(refused(withPartner(mutate, index)), partner, field, text);
        });
    }

    it("refuses an empty registry", () => {
        const reg = sampleRegistryObject();
        reg.partners = [];
        expectProblem(refused(reg), undefined, "partners", /no partners/);
    });

    it("refuses a file that is not YAML, with the line", () => {
        const problems = refused("version: 1\npartners: [\n  - slug: x\n");
        assert.match(problems[0].message, /not valid YAML.*line/);
    });

    it("refuses a missing registry file", () => {
        assert.throws(() => loadRegistry("no-such-registry.yaml"), (e: InputError) => e.problems[0].file === "no-such-registry.yaml" && /ENOENT/.test(e.problems[0].message));
    });

    it("reports every problem of a registry at once", () => {
        const reg = sampleRegistryObject();
        reg.partners[0].identities.prod.aws = ["*"];
        reg.partners[1].aws.files = "all";
        reg.partners[2].contact = "nobody";
        reg.partners[3].gcp.api = ["GET nowhere"];
        const problems = refused(reg);
        assert.deepEqual(problems.map((p) => p.partner), ["acme-logistics", "globex", "initech", "umbrella"]);
        const message = new InputError(problems).message;
        assert.match(message, /4 problem\(s\)/);
        assert.match(message, /partners\.yaml: partner "globex": field "aws.files"/);
    });
});

describe("stage config", () => {
    const raw = (stack: string) => rawStageConfig(readStackConfig(ROOT, stack));
    const problemsOf = (cfg: Record<string, unknown>, file = "Pulumi.prod.yaml") => {
        const problems = new Problems(file);
        parseStageConfig(cfg, problems);
        return problems.list;
    };

    it("accepts both sample stages", () => {
        assert.deepEqual(problemsOf(raw("stag"), "Pulumi.stag.yaml"), []);
        assert.deepEqual(problemsOf(raw("prod")), []);
    });

    it("refuses a prod stage that accepts non-prod identities", () => {
        const problems = problemsOf({ ...raw("prod"), acceptedEnvironments: ["prod", "stag"] });
        assert.equal(problems.length, 1);
        assert.equal(problems[0].field, "partner-access:acceptedEnvironments");
        assert.match(problems[0].message, /production stage must not accept the non-production environment "stag"/);
    });

    it("refuses a non-production stage that accepts prod identities", () => {
        const problems = problemsOf({ ...raw("stag"), acceptedEnvironments: ["dev", "prod"] }, "Pulumi.stag.yaml");
        assert.match(problems[0].message, /non-production stage must not accept the production environment "prod"/);
    });

    it("refuses malformed ids, unknown keys and out-of-range knobs, all at once", () => {
        const cfg = raw("prod") as any;
        cfg.aws = { ...cfg.aws, accountId: "2222", maxSessionDurationSeconds: 99999, accessLogRetentionDays: 42, extra: 1 };
        cfg.gcp = { ...cfg.gcp, projectNumber: 100000000002 };
        cfg.stagee = "prod";
        const fields = problemsOf(cfg).map((p) => p.field).sort();
        assert.deepEqual(fields, [
            "partner-access:aws.accessLogRetentionDays", "partner-access:aws.accountId", "partner-access:aws.extra",
            "partner-access:aws.maxSessionDurationSeconds", "partner-access:gcp.projectNumber", "partner-access:stagee",
        ]);
    });

    it("refuses a name prefix Google reserves for Workload Identity pools", () => {
        const problems = problemsOf({ ...raw("prod"), namePrefix: "gcp-partners" });
        assert.deepEqual(problems.map((p) => p.field), ["partner-access:namePrefix"]);
        assert.match(problems[0].message, /gcp-/);
    });

    it("reports config and registry problems together", () => {
        const cfg = { ...raw("prod"), aws: { ...(raw("prod") as any).aws, accountId: "x" } };
        assert.throws(() => loadAccessPlan(cfg, "Pulumi.prod.yaml", path.join(ROOT, "missing.yaml")), (e: InputError) =>
            e.problems.some((p) => p.file === "Pulumi.prod.yaml" && p.field === "partner-access:aws.accountId") &&
            e.problems.some((p) => /missing\.yaml$/.test(p.file)));
    });
});
