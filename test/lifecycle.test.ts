/**
 * Access lifecycle: an explicit clock everywhere (who has access on a given
 * day; expired grants are shown as expired, never as defects), the
 * `expiring` report, and the auditors' `access-review`, whose rows must be
 * exactly the rendered stack's allowed (or expired) cells and whose dates come
 * from a real git repository built here, never from this repository's history.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cell, Matrix, accessMatrix } from "../tools/access/matrix";
import { AccessReview, accessReview, cellKey, reviewedCells, toCsv, toHtml, toMarkdown } from "../tools/access-review";
import { program } from "../tools/cli";
import { expiringReport } from "../tools/expiring";
import { RegistryHistory, registryHistory } from "../tools/registry-history";
import { AT } from "./support/fixtures";
import { SynthOutput, cliInProcess, synthStack } from "./support/synth-runs";
import { registryRepo, variant } from "./support/variants";

const STAGES = ["stag", "prod"];

/** A partner's own access (outbound cells are our identities calling the partner: not in an access review of partners). */
const partnerCells = (m: Matrix) => m.cells.filter((c) => !c.partner.startsWith("(") && !c.resource.startsWith("outbound "));
const allowed = (m: Matrix) => new Set(partnerCells(m).filter((c) => c.effective === "allowed").map((c) => `${c.partner}|${cellKey(c)}`));
const expired = (m: Matrix) => new Set(partnerCells(m).filter((c) => c.window === "expired").map((c) => `${c.partner}|${cellKey(c)}`));

describe("Access lifecycle", function () {
    this.timeout(180000);

    let repo: ReturnType<typeof registryRepo>;
    let history: RegistryHistory;
    const shared: Record<string, { s: SynthOutput; m: Matrix; review: AccessReview }> = {};
    // Who has access on a day before any sample expiry, and after them (acme's GCP grant ends 2027-09-30, initech 2027-12-31).
    const dated: Record<string, { s: SynthOutput; m: Matrix }> = {};
    let reviewRun: { status: number; stdout: string };
    let reviewOut: string;

    before(async () => {
        repo = registryRepo();
        history = registryHistory(repo.file);
        // After both sample expiries, rendered from the history repository's registry (so that the review's history
        // is that repository's); before them: both synths started in the background by the global setup.
        const late = await variant("at2028");
        reviewOut = path.dirname(late.dir);
        // The command as a user runs it (in this process: it finds that synth current and reuses it).
        reviewRun = await cliInProcess(["access-review", "--stack", "prod", "--out", reviewOut, "--at", "2028-01-01", "--registry", repo.file]);
        for (const stack of STAGES) {
            const s = synthStack(stack);
            const m = await accessMatrix(s);
            shared[stack] = { s, m, review: accessReview(s, m, history) };
        }
        const early = await variant("at20270401");
        dated["prod@2027-04-01"] = { s: early, m: await accessMatrix(early) };
        dated["prod@2028-01-01"] = { s: late, m: await accessMatrix(late) };
    });

    describe("an explicit clock", () => {
        it("without --at, output made at another time is reused only if no grant window opened or closed since", async () => {
            const { staleness } = await import("../tools/synth-manifest");
            const dir = synthStack("prod").dir; // made at 2026-12-01; acme's GCP grant ends 2027-09-30
            const saved = process.env.PARTNER_ACCESS_AT;
            try {
                process.env.PARTNER_ACCESS_AT = "2027-03-01T12:00:00Z";
                assert.equal(staleness(dir, "prod", { asClaimed: true }), undefined, "no window changed: the same access holds");
                process.env.PARTNER_ACCESS_AT = "2027-09-30T00:00:00Z";
                assert.match(staleness(dir, "prod", { asClaimed: true }) ?? "", /window opened or closed/, "acme's grant has ended: judged anew");
            } finally {
                if (saved === undefined) delete process.env.PARTNER_ACCESS_AT;
                else process.env.PARTNER_ACCESS_AT = saved;
            }
        });
        it("every command that judges time takes --at", () => {
            const commands = new Map(program().commands.map((c) => [c.name(), c.options.map((o) => o.long)]));
            for (const name of ["synth", "access", "kits", "policy", "expiring", "access-review"]) assert.ok(commands.get(name)?.includes("--at"), `${name} --at`);
            // `diff` compares two synth outputs, each evaluated at the --at it was made with (manifest.json).
        });

        it("on 2027-04-01 every sample grant is active: initech's and acme's GCP grant included", () => {
            const { m } = dated["prod@2027-04-01"];
            assert.equal(m.evaluatedAt, "2027-04-01T00:00:00.000Z");
            const has = (partner: string, cloud: string, action: string) =>
                m.cells.some((c) => c.partner === partner && c.cloud === cloud && c.action === action && c.effective === "allowed");
            assert.ok(has("initech", "aws", "s3:PutObject") && has("initech", "gcp", "invoke (JWT)"));
            assert.ok(has("acme-logistics", "gcp", "storage.objects.get") && has("acme-logistics", "gcp", "invoke (JWT)"));
            assert.deepEqual(m.cells.filter((c) => c.window), []);
            assert.deepEqual([m.defects, m.findings], [[], []]);
        });

        it("after the expiries the same grants show as expired, denied by the rendered documents, never as defects", () => {
            const before = dated["prod@2027-04-01"].m;
            const after = dated["prod@2028-01-01"].m;
            assert.deepEqual([after.defects, after.findings], [[], []]);
            for (const c of after.cells.filter((x) => x.window === "expired")) assert.deepEqual([c.effective, c.planned], ["denied", "denied"]);
            // Nothing vanishes silently: what was allowed is still allowed, or shown as expired.
            assert.deepEqual([...allowed(before)].sort(), [...new Set([...allowed(after), ...expired(after)])].sort());
            const lost = [...expired(after)].map((k) => k.split("|")[0] + "|" + k.split("|")[2]);
            assert.deepEqual([...new Set(lost)].sort(), ["acme-logistics|gcp", "initech|aws", "initech|gcp"]);
            // Acme's AWS grant has no end date: untouched.
            assert.ok([...allowed(after)].some((k) => k.startsWith("acme-logistics|") && k.includes("|aws|files ")));
        });

        it("the rendered Endpoints document stops admitting expired partners (the daily deploy applies it)", () => {
            // OpenAPI cannot express time: what it admits is decided at render time, and the daily deploy re-renders it.
            const openapi = (s: SynthOutput) => s.resources.filter((r) => r.type === "gcp:endpoints/service:Service").map((r) => String(r.inputs.openapiConfig)).join("\n");
            const before = openapi(dated["prod@2027-04-01"].s);
            assert.ok(before.includes("acme-sync@acme-prod-4711.iam.gserviceaccount.com") && before.includes("initech-api@initech-prod.iam.gserviceaccount.com"));
            const after = openapi(dated["prod@2028-01-01"].s);
            assert.ok(!after.includes("acme-sync@") && !after.includes("initech-api@"));
            assert.deepEqual(dated["prod@2028-01-01"].s.plan.partners.flatMap((p) => p.gcp.activeRoutes), []);
        });
    });

    describe("expiring", () => {
        it("lists grants ending within N days, and those already ended, in every stage", () => {
            const r = expiringReport({ at: new Date("2027-09-15T00:00:00Z"), days: 30 });
            assert.deepEqual(r.expiring.map((g) => [g.partner, g.stage, g.cloud, g.expires, g.daysLeft, g.setBy]).sort(), [
                ["acme-logistics", "prod", "gcp", "2027-09-30", 15, "partners[acme-logistics].gcp.expires"],
                ["acme-logistics", "stag", "gcp", "2027-09-30", 15, "partners[acme-logistics].gcp.expires"],
            ]);
            assert.deepEqual(r.expired, []);
            assert.deepEqual(expiringReport({ at: AT, days: 30 }).expiring, []);
            assert.equal(expiringReport({ at: new Date("2027-09-15T00:00:00Z"), days: 10 }).expiring.length, 0);
        });

        it("`expiring --at --json` reports initech's end and acme's ended GCP grant, and exits 0", async () => {
            const run = await cliInProcess(["expiring", "--at", "2027-12-15", "--days", "30", "--json"]);
            assert.equal(run.status, 0);
            const r = JSON.parse(run.stdout);
            assert.deepEqual(r.expiring.map((g: any) => `${g.partner} ${g.stage} ${g.cloud}`).sort(), ["initech prod aws", "initech prod gcp", "initech stag aws"]);
            assert.deepEqual(r.expired.map((g: any) => `${g.partner} ${g.stage} ${g.cloud} ${g.state}`).sort(), ["acme-logistics prod gcp expired", "acme-logistics stag gcp expired"]);
            assert.equal((await cliInProcess(["expiring", "--days", "soon"])).status, 2);
        });
    });

    describe("access-review", () => {
        for (const stack of STAGES) {
            it(`${stack}: one row per partner identity and grant, standing exactly for the matrix's allowed cells`, () => {
                const { m, review } = shared[stack];
                const byKey = new Map(reviewedCells(m).map((c) => [`${c.partner}|${cellKey(c)}`, c]));
                const covered = new Set<string>();
                for (const row of review.rows) {
                    assert.ok(row.cells.length > 0, `row without a cell: ${JSON.stringify(row)}`);
                    for (const k of row.cells) {
                        const c: Cell | undefined = byKey.get(`${row.partner}|${k}`);
                        assert.ok(c, `row cell ${k} is not an allowed cell of ${row.partner}`);
                        assert.deepEqual([c.via, c.cloud], [row.identity, row.cloud]);
                        assert.ok(row.actions.includes(c.action));
                        covered.add(`${row.partner}|${k}`);
                    }
                }
                const allowedCells = partnerCells(m).filter((c) => c.effective === "allowed").map((c) => `${c.partner}|${cellKey(c)}`);
                assert.ok(allowedCells.length > 10);
                for (const k of allowedCells) assert.ok(covered.has(k), `allowed cell without a row: ${k}`);
                assert.ok(review.rows.every((r) => r.status === "active" && !r.defect), "at the test time nothing has expired");
                // Every identity is traced back to the registry, and every grant to its history.
                assert.deepEqual(review.rows.filter((r) => r.registryIdentity.startsWith("unrecognised") || r.grantedSince === "unknown" || !r.lastChanged), []);
                // One row per identity and grant: never two rows for the same thing.
                const keys = review.rows.map((r) => `${r.identity}|${r.cloud}|${r.resource}|${r.actions.join()}`);
                assert.equal(new Set(keys).size, keys.length);
            });
        }

        it("reads the registry's history tolerantly: an old schema and a broken commit do not stop it", () => {
            assert.equal(history.versions.length, 3);
            assert.ok(history.versions[1].error && !history.versions[1].doc);
            assert.equal((history.versions[0].doc as any).version, 1);
            assert.equal(history.working?.differsFromHead, false);
        });

        it("dates each grant from the history: granted since, first held before history, last changed by", () => {
            const { alice, carol } = repo.commits;
            const rows = shared.prod.review.rows;
            const row = (partner: string, identity: string, resource: string, action?: string) => {
                const hits = rows.filter((r) => r.partner === partner && r.identity.includes(identity) && r.resource === resource && (!action || r.actions.includes(action)));
                assert.equal(hits.length, 1, `${partner} ${identity} ${resource} ${action ?? ""}: ${hits.length} rows`);
                return hits[0];
            };
            const since = (r: { grantedSince: string; grantedIn?: string }) => [r.grantedSince, r.grantedIn];
            // Added by Carol.
            assert.deepEqual(since(row("globex", "globex-files@globex-prod", "files partners/globex/", "storage.objects.create")), [carol.date, carol.sha]);
            assert.deepEqual(since(row("acme-logistics", "partner-access-prod-acme-logistics", "api POST /orders")), [carol.date, carol.sha]);
            assert.deepEqual(since(row("acme-logistics", "acme-sync@acme-prod-4711", "role partner-access-prod-acme-logistics")), [carol.date, carol.sha]);
            // In the oldest version: before history (the oldest commit is named).
            assert.deepEqual(since(row("acme-logistics", "partner-access-prod-acme-logistics", "api GET /orders")), ["before history", alice.sha]);
            assert.deepEqual(since(row("acme-logistics", "partner-access-prod-acme-logistics", "files partners/acme-logistics/", "s3:GetObject")), ["before history", alice.sha]);
            assert.deepEqual(since(row("initech", "444455556667:root", "role partner-access-prod-initech")), ["before history", alice.sha]);
            // Last change of each partner's entry: Carol changed acme and globex; initech is as Alice imported it.
            const last = (partner: string) => rows.find((r) => r.partner === partner)!.lastChanged;
            assert.deepEqual(last("acme-logistics"), { sha: carol.sha, author: "Carol", email: "carol@example.org", date: carol.date, atOrBefore: false });
            assert.deepEqual(last("globex"), { sha: carol.sha, author: "Carol", email: "carol@example.org", date: carol.date, atOrBefore: false });
            assert.deepEqual(last("initech"), { sha: alice.sha, author: "Alice", email: "alice@example.org", date: alice.date, atOrBefore: true });
            // Stag: Umbrella only arrived with Carol.
            assert.ok(shared.stag.review.rows.filter((r) => r.partner === "umbrella").every((r) => r.grantedSince === carol.date));
        });

        it("`access-review` writes CSV, Markdown and HTML from the rendered stack, expired grants marked expired", () => {
            assert.equal(reviewRun.status, 0, reviewRun.stdout);
            assert.match(reviewRun.stdout, /12 expired/);
            const dir = path.join(reviewOut, "prod");
            const csv = fs.readFileSync(path.join(dir, "access-review.csv"), "utf8").trim().split("\r\n").map((l) => l.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/));
            const [header, ...lines] = csv;
            const col = (name: string) => header.indexOf(name);
            const review = accessReview(dated["prod@2028-01-01"].s, dated["prod@2028-01-01"].m, history);
            assert.equal(lines.length, review.rows.length);
            const expiredPartners = new Set(lines.filter((l) => l[col("status")] === "expired").map((l) => `${l[col("partner")]} ${l[col("cloud")]}`));
            assert.deepEqual([...expiredPartners].sort(), ["acme-logistics gcp", "initech aws", "initech gcp"]);
            assert.ok(lines.every((l) => !l[col("status")].includes("DEFECT")));
            const globex = lines.find((l) => l[col("partner")] === "globex" && l[col("resource")] === "files partners/globex/" && l[col("cloud")] === "gcp")!;
            assert.deepEqual([globex[col("granted since")], globex[col("last changed by")]], [repo.commits.carol.date, "Carol <carol@example.org>"]);
            assert.match(fs.readFileSync(path.join(dir, "access-review.md"), "utf8"), /^# Partner access review: prod/);
            assert.match(fs.readFileSync(path.join(dir, "access-review.html"), "utf8"), /^<!DOCTYPE html>/);
        });

        it("escapes what it writes: CSV quoting and formulas, Markdown cells, HTML", () => {
            const nasty = "=HYPERLINK(\"http://x\") <script>alert(1)</script> a|b, *c* [d](e)\nline";
            const review: AccessReview = {
                stage: "prod", production: true, evaluatedAt: AT.toISOString(), registry: "partners.yaml",
                history: { versions: 1, shallow: false, workingCopyDiffers: false }, defects: 0, findings: [],
                rows: [{
                    stage: "prod", partner: "x", contact: nasty, identity: nasty, registryIdentity: "r", cloud: "aws", resource: "files partners/x/",
                    actions: ["s3:GetObject"], status: "active", grantedSince: "before history", cells: ["k"],
                }],
            };
            const csv = toCsv(review);
            assert.ok(csv.includes(`"'=HYPERLINK(""http://x"") <script>alert(1)</script> a|b, *c* [d](e)\nline"`), csv);
            const html = toHtml(review);
            assert.ok(!html.includes("<script>") && html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
            assert.ok(html.includes("=HYPERLINK(&quot;http://x&quot;)"));
            const md = toMarkdown(review).split("\n").find((l) => l.startsWith("| prod | x |"))!;
            assert.ok(!md.includes("<script>") && md.includes("a\\|b") && md.includes("\\*c\\*") && md.includes("\\[d\\](e)") && !md.includes("\n"));
            assert.equal(md.split(/(?<!\\)\|/).length - 2, 16, "16 cells, no broken cell");
        });
    });
});
