/** Pull-request review: the effective access matrix, the access diff, and the review commands. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { accessDiff, formatDiff } from "../tools/access/diff";
import { Matrix, accessMatrix, blocking } from "../tools/access/matrix";
import { Refusal } from "../tools/access/review-types";
import { SynthOutput } from "../tools/access/synth-output";
import { main } from "../tools/cli";
import { registryFile, sampleRegistryObject, tempDir } from "./support/fixtures";
import { cliInProcess, runCli, synthStack } from "./support/synth-runs";
import { variant } from "./support/variants";

const allowed = (m: Matrix, partner: string, cloud: string, resource: string) =>
    m.cells.filter((c) => c.partner === partner && c.cloud === cloud && c.resource === resource && c.effective === "allowed").map((c) => c.action).sort();

/** A synth output root holding copies of stack outputs (for the diff). */
function rootWith(outputs: SynthOutput[]): string {
    const root = tempDir("root");
    for (const s of outputs) fs.cpSync(s.dir, path.join(root, s.plan.stage.stage), { recursive: true });
    return root;
}

describe("effective access matrix", () => {
    for (const stack of ["stag", "prod"]) {
        it(`${stack}: every probe matches the plan, no finding`, async () => {
            const m = await accessMatrix(synthStack(stack));
            assert.deepEqual(m.findings, []);
            assert.deepEqual(m.defects, []);
            assert.ok(m.cells.some((c) => c.effective === "allowed") && m.cells.some((c) => c.effective === "denied"));
        });
    }

    it("shows who reaches what in prod, including each identity's adversarial probes", async () => {
        const m = await accessMatrix(synthStack("prod"));
        assert.deepEqual(allowed(m, "acme-logistics", "aws", "files partners/acme-logistics/"), ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]);
        assert.deepEqual(allowed(m, "acme-logistics", "aws", "files partners/globex/"), [], "its neighbour's files");
        assert.deepEqual(allowed(m, "acme-logistics", "aws", "files partners/acme-logistics-x/"), [], "a look-alike prefix");
        assert.deepEqual(allowed(m, "acme-logistics", "aws", "api GET /orders/42/items (as GET /orders/{orderId}/items)"), [], "a deeper route than granted");
        assert.deepEqual(allowed(m, "globex", "gcp", "files partners/globex/"), ["storage.objects.create", "storage.objects.create"], "the service account and the federated role");
        assert.deepEqual(allowed(m, "initech", "gcp", "api GET /catalog"), ["invoke (JWT)"]);
        assert.ok(m.cells.some((c) => c.partner === "acme-logistics" && /another stage/.test(c.via) && c.effective === "denied"), "the other stage's identities are probed");
    });

    it("shows grants past their window as expired, never as defects (who has access on 2028-01-01?)", async () => {
        const later = await variant("at2028");
        const m = await accessMatrix(later);
        assert.equal(blocking(m), 0);
        const expired = m.cells.filter((c) => c.window === "expired");
        assert.ok(expired.some((c) => c.partner === "acme-logistics" && c.cloud === "gcp" && c.resource === "files partners/acme-logistics/"), "acme's GCP files");
        assert.ok(expired.every((c) => c.effective === "denied" && c.planned === "denied"));
        assert.deepEqual(allowed(m, "acme-logistics", "aws", "files partners/acme-logistics/"), ["s3:GetObject", "s3:ListBucket", "s3:PutObject"], "its AWS grant has no end");
    });

    it("access: reads fresh output as it is, re-synths output its inputs no longer give, refuses nothing to compare", async () => {
        // Fresh output (the shared synth, copied): read as it is, in this process.
        const out = rootWith([synthStack("stag")]);
        const log = console.log;
        let printed = "";
        console.log = (...a: unknown[]) => (printed += a.join(" ") + "\n");
        try {
            assert.equal(await main(["access", "--stack", "stag", "--out", out, "--at", "2026-12-01"]), 0);
        } finally {
            console.log = log;
        }
        assert.match(printed, /stage stag at 2026-12-01T00:00:00\.000Z \(linear\): \d+ cells evaluated/);
        assert.ok(fs.existsSync(path.join(out, "stag", "access-matrix.json")));
        // Tamper with the output: the manifest no longer matches what it claims to come from, so access re-synths.
        const manifest = path.join(out, "stag", "manifest.json");
        fs.writeFileSync(manifest, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifest, "utf8")), inputs: { registry: "x", stackConfig: "x", projectConfig: "x", program: "x" } }));
        const again = await runCli(["access", "--stack", "stag", "--out", out, "--at", "2026-12-01"]);
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stderr, /synth stag \(.*made from other inputs \(.*registry.*program changed since\)\)/);
        const empty = await cliInProcess(["diff", "--base", tempDir("empty"), "--head", tempDir("empty")]);
        assert.equal(empty.status, 1);
        assert.match(empty.stderr, /holds no synth output/);
        // A mistyped base would report every grant as gained; a stage neither side has is named, not a crash.
        const mistyped = await cliInProcess(["diff", "--base", path.join(out, "nope"), "--head", out]);
        assert.equal(mistyped.status, 1);
        assert.match(mistyped.stderr, /base .*nope does not exist/);
        const absent = await cliInProcess(["diff", "--base", out, "--head", out, "--stack", "perf"]);
        assert.equal(absent.status, 1);
        assert.match(absent.stderr, /holds synth output of perf/);
        // Unless the base predates synth (the pull-request job says so): then every grant is new.
        const first = await cliInProcess(["diff", "--base", path.join(out, "nope"), "--head", out, "--stack", "stag", "--empty-base"]);
        assert.match(first.stdout, /gains/);
    });
});

describe("what counts as the program", () => {
    it("a change to any file the program renders with (components, the pack's shared definitions, the broker) makes earlier output stale", async () => {
        const { copyProject } = await import("../tools/project-copy");
        const { inputDigest } = await import("../tools/synth-manifest");
        const project = tempDir("program-digest");
        copyProject(project);
        for (const file of ["components/aws/file-exchange.ts", "policy-pack/policies/rendered.ts", "broker/src/core.ts"]) {
            const before = inputDigest("prod", undefined, project).program;
            fs.appendFileSync(path.join(project, file), "\n// changed\n");
            assert.notEqual(inputDigest("prod", undefined, project).program, before, file);
        }
    });
});

describe("policy over every stage", () => {
    it("judges every stage even when one does not render, and fails naming it", async () => {
        // A prod identity in prod's own AWS account is refused by prod's synth; stag does not accept prod identities.
        const reg = sampleRegistryObject();
        reg.partners[0].identities.prod.aws = ["arn:aws:iam::222222222222:role/in-our-own-account"];
        const r = await cliInProcess(["policy", "--registry", registryFile(reg), "--out", tempDir("policy-every-stage"), "--at", "2026-12-01"]);
        assert.equal(r.status, 1);
        assert.match(r.stdout, /^stag: \d+ resources, 0 violation\(s\)/m, "stag is still judged");
        assert.match(r.stderr, /synth of prod failed/);
    });
});

describe("access diff", () => {
    const base = synthStack("prod");
    const stagBase = synthStack("stag");
    it("says who gains and loses what, production first, with the resources and the shared ones that change", async () => {
        const head = await variant("diffHead");
        const diffs = await accessDiff(rootWith([base, stagBase]), path.dirname(head.dir), { stacks: ["prod"] });
        const prod = diffs[0];
        assert.equal(prod.stack, "prod");
        assert.ok(prod.revoked.some((l) => /^acme-logistics loses s3:PutObject on prod S3 partners\/acme-logistics\/\*/.test(l)), prod.revoked.join("\n"));
        assert.ok(prod.gained.some((l) => /^hooli-two gains s3:GetObject on prod S3 partners\/hooli-two\/\*/.test(l)), prod.gained.join("\n"));
        assert.ok(prod.gained.some((l) => /^hooli-two gains sts:AssumeRole on prod AWS role partner-access-prod-hooli-two /.test(l)), prod.gained.join("\n"));
        assert.ok(prod.added.some((u) => u.includes("partner-roles-hooli-two")));
        assert.ok(prod.sharedChanged.length === 0 || prod.sharedChanged.every((x) => !/Endpoints/.test(x)), "an AWS-only change does not touch the Endpoints config");
        assert.deepEqual(prod.defects, []);
        assert.deepEqual(prod.structural, []);
        // The head renders a prod/stag shared account and a federated user with a path: the pack accepts what is rendered.
        assert.ok(JSON.stringify(head.resources).includes("user/ci/acme-uploader"), "the user is rendered");
        assert.deepEqual(prod.findings.map((f) => `${f.policy}: ${f.message}`), []);
        const md = formatDiff(diffs);
        assert.match(md, /### prod \(production\)/);
        assert.match(md, /\*\*Access revoked\*\* \(\d+\)/);
    });

    it("refuses head output that the current inputs would not give", async () => {
        const stale = rootWith([base]);
        const manifest = path.join(stale, "prod", "manifest.json");
        fs.writeFileSync(manifest, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifest, "utf8")), inputs: { registry: "x", stackConfig: "x", projectConfig: "x", program: "x" } }));
        await assert.rejects(accessDiff(rootWith([base]), stale, { stacks: ["prod"] }), (e: Error) => e instanceof Refusal && /stale/.test(e.message));
    });
});
