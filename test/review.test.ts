/** Pull-request review tooling: effective access matrix, access diff, onboarding kits. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { accessDiff, formatDiff } from "../tools/access/diff";
import { Matrix, accessMatrix } from "../tools/access/matrix";
import { SynthOutput } from "../tools/access/synth-output";
import { ROOT, sampleRegistryObject, tempDir } from "./support/fixtures";
import { synthStack } from "./support/synth-runs";

const allowed = (m: Matrix, partner: string, cloud: string, resource: string) =>
    m.cells.filter((c) => c.partner === partner && c.cloud === cloud && c.resource === resource && c.effective === "allowed").map((c) => c.action);

/** A synth output copied to a temporary out dir, so a test can tamper with it. */
function copyOf(s: SynthOutput, mutate: (resources: any[]) => void): SynthOutput {
    const resources = JSON.parse(JSON.stringify(s.resources));
    mutate(resources);
    return { ...s, resources };
}

describe("effective access matrix", () => {
    for (const stack of ["stag", "prod"]) {
        it(`${stack}: evaluates every partner x resource x action and finds no defect`, async () => {
            const s = synthStack(stack);
            const m = await accessMatrix(s);
            assert.deepEqual(m.defects, []);
            assert.ok(m.cells.length > 100);
            assert.ok(m.cells.some((c) => c.effective === "allowed") && m.cells.some((c) => c.effective === "denied"));
        });
    }

    it("shows who reaches what in prod", async () => {
        const m = await accessMatrix(synthStack("prod"));
        assert.deepEqual(allowed(m, "acme-logistics", "aws", "files partners/acme-logistics/").sort(), ["s3:GetObject", "s3:ListBucket", "s3:PutObject"]);
        assert.deepEqual(allowed(m, "acme-logistics", "aws", "files partners/globex/"), []);
        assert.deepEqual(allowed(m, "globex", "gcp", "files partners/globex/"), ["storage.objects.create", "storage.objects.create"], "the service account and the federated role");
        assert.deepEqual(allowed(m, "initech", "gcp", "api GET /catalog"), ["invoke (JWT)"]);
        assert.deepEqual(allowed(m, "acme-logistics", "aws", "api GET /orders/{orderId}/items"), [], "the path-parameter wildcard does not reach deeper routes");
    });

    it("reports a defect when a rendered policy grants more than the plan (computed, not copied)", async () => {
        const s = synthStack("prod");
        const widened = copyOf(s, (rs) => {
            const grant = rs.find((r: any) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.inputs.role.endsWith("initech"));
            const doc = JSON.parse(grant.inputs.policy);
            doc.Statement.push({ Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${s.outputs.aws.bucketName}/partners/*` });
            grant.inputs.policy = JSON.stringify(doc);
            const folderBinding = rs.find((r: any) => r.type === "gcp:storage/managedFolderIamBinding:ManagedFolderIamBinding");
            folderBinding.inputs.members = [...folderBinding.inputs.members, "serviceAccount:intruder@evil-project.iam.gserviceaccount.com"];
        });
        const m = await accessMatrix(widened);
        assert.ok(m.defects.some((d) => d.partner === "initech" && d.resource === "files partners/acme-logistics/" && d.action === "s3:GetObject"), JSON.stringify(m.defects));
        assert.ok(m.defects.some((d) => d.partner === "(no partner)" && d.via.includes("intruder")));
    });

    it("npm run access prints the table and writes the JSON beside the synth output", () => {
        const out = tempDir("access");
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "access-cli.ts"), "--stack", "stag", "--out", out], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /stage stag: \d+ cells evaluated, \d+ allowed, 0 defect\(s\)/);
        assert.match(r.stdout, /acme-logistics on AWS as arn:aws:iam::111111111111:role\/partner-access\/stag\/partner-access-stag-acme-logistics/);
        const json = JSON.parse(fs.readFileSync(path.join(out, "stag", "access-matrix.json"), "utf8"));
        assert.equal(json.stack, "stag");
        assert.deepEqual(json.defects, []);
    });
});

describe("access diff", () => {
    let report = "";
    let diffs: Awaited<ReturnType<typeof accessDiff>> = [];
    before(async function () {
        this.timeout(120000);
        const reg = sampleRegistryObject();
        reg.partners[0].aws.files = "read";                                   // acme loses s3:PutObject
        reg.partners[2].aws.api = "all";                                      // initech gains routes
        reg.partners = reg.partners.filter((p: any) => p.slug !== "globex");  // globex removed
        const file = path.join(tempDir("pr"), "partners.yaml");
        fs.writeFileSync(file, YAML.stringify(reg));
        const base = tempDir("base-out");
        const pr = tempDir("pr-out");
        for (const stack of ["stag", "prod"]) {
            fs.cpSync(synthStack(stack).dir, path.join(base, stack), { recursive: true });
            fs.cpSync(synthStack(stack, file).dir, path.join(pr, stack), { recursive: true });
        }
        diffs = await accessDiff(base, pr);
        report = formatDiff(diffs);
    });

    it("lists production first", () => assert.deepEqual(diffs.map((d) => d.stack), ["prod", "stag"]));

    it("names granted and revoked access in plain sentences", () => {
        assert.match(report, /- acme-logistics loses s3:PutObject on prod S3 partners\/acme-logistics\/\* \(as arn:aws:iam::222222222222:role\/partner-access\/prod\/partner-access-prod-acme-logistics\)/);
        assert.match(report, /- initech gains execute-api:Invoke on prod AWS API GET \/orders \(as /);
        assert.match(report, /- globex loses storage\.objects\.create on prod GCS partners\/globex\/\* \(as serviceAccount:globex-files@globex-prod/);
        assert.ok(report.indexOf("### prod") < report.indexOf("### stag"));
    });

    it("lists resources added, changed and removed, and the policy findings", () => {
        const prod = diffs[0];
        assert.ok(prod.removed.some((u) => u.includes("ManagedFolder::gcs-file-exchange-globex")));
        assert.ok(prod.changed.some((c) => c.urn.endsWith("::partner-api-policy") && c.fields.includes("policy")));
        assert.equal(prod.added.length, 0);
        // Removing a partner revokes its access but never touches the buckets that hold its data.
        for (const urn of [...prod.removed, ...prod.changed.map((c) => c.urn)]) assert.ok(!/:(s3|storage)\/bucket:Bucket::/.test(urn), urn);
        assert.deepEqual(prod.findings, []);
        assert.match(report, /\*\*Policy findings\*\* \(0\)/);
    });

    it("reports nothing for identical inputs", async () => {
        const same = tempDir("same");
        fs.cpSync(synthStack("prod").dir, path.join(same, "prod"), { recursive: true });
        const [d] = await accessDiff(same, same);
        assert.deepEqual([d.gained, d.revoked, d.added, d.removed, d.changed], [[], [], [], [], []]);
    });
});

describe("onboarding kits", () => {
    for (const stack of ["stag", "prod"]) {
        it(`${stack}: one kit per partner of the stage, in markdown and JSON, with what it needs`, () => {
            const s = synthStack(stack);
            const dir = path.join(s.dir, "onboarding");
            assert.deepEqual(fs.readdirSync(dir).sort(), s.plan.partners.flatMap((p) => [`${p.slug}.json`, `${p.slug}.md`]).sort());
            for (const p of s.plan.partners) {
                const kit = JSON.parse(fs.readFileSync(path.join(dir, `${p.slug}.json`), "utf8"));
                const md = fs.readFileSync(path.join(dir, `${p.slug}.md`), "utf8");
                assert.equal(kit.aws.files.prefix, p.prefix);
                assert.equal(kit.aws.roleArn, p.aws.role?.arn);
                if (p.aws.role) assert.ok(md.includes(p.aws.role.arn));
                if (p.gcp.storageRoles.length) assert.ok(md.includes(`gs://${s.outputs.gcp.bucketName}/${p.prefix}`));
                if (p.gcp.routes.length && p.gcp.serviceAccounts.length) assert.equal(kit.gcp.api.jwtClaims[0].aud, s.outputs.gcp.audience);
                for (const w of kit.gcp.workloadIdentity) assert.equal(w.credentialConfig.type, "external_account");
            }
        });
    }

    it("gives snippets that parse: every shell block with bash -n, every JavaScript block with node --check", () => {
        const dir = tempDir("snippets");
        let shells = 0;
        let scripts = 0;
        for (const stack of ["stag", "prod"]) {
            const kits = path.join(synthStack(stack).dir, "onboarding");
            for (const f of fs.readdirSync(kits).filter((x) => x.endsWith(".md"))) {
                const md = fs.readFileSync(path.join(kits, f), "utf8");
                for (const [, lang, body] of md.matchAll(/```(\w+)\n([\s\S]*?)\n```/g)) {
                    if (lang === "sh") {
                        const r = spawnSync("bash", ["-n"], { input: body, encoding: "utf8" });
                        assert.equal(r.status, 0, `${stack}/${f}: ${r.stderr}\n${body}`);
                        shells++;
                    } else if (lang === "js") {
                        const file = path.join(dir, `${stack}-${f}-${scripts}.mjs`);
                        fs.writeFileSync(file, body);
                        const r = spawnSync(process.execPath, ["--check", file], { encoding: "utf8" });
                        assert.equal(r.status, 0, `${stack}/${f}: ${r.stderr}`);
                        scripts++;
                    } else if (lang === "json") {
                        JSON.parse(body);
                    }
                }
            }
        }
        assert.ok(shells > 5 && scripts > 1, `${shells} shell and ${scripts} JavaScript snippets`);
    });
});
