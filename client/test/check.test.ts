import { strict as assert } from "node:assert";
import { runCheck } from "../src/check";
import { Kit } from "../src/kit";
import { noAwsEnv, partnerAwsEnv, world } from "./support/hooks";
import { acmeKit, run, writeCa, writeKit } from "./support/kits";
import { AWS_BUCKET, GCS_BUCKET, PARTNER_ACCOUNT, PREFIX, ROLE_ARN, SA } from "./support/world";

async function check(kit: Kit, ...flags: string[]) {
    const r = await run(["check", "--kit", writeKit(kit), "--ca-file", writeCa(), ...flags]);
    const lines = r.stdout.split("\n");
    const line = (title: string) => {
        const i = lines.findIndex((l) => l.includes(title));
        assert.ok(i >= 0, `no line with "${title}" in:\n${r.stdout}`);
        // the line and its reason/fix lines
        return [lines[i], ...lines.slice(i + 1).filter((l, j, a) => a.slice(0, j + 1).every((x) => /^\s{9}(reason|fix)/.test(x)))].join("\n");
    };
    return { ...r, line };
}

describe("check: the partner's self-check", () => {
    it("passes for a partner whose access works, leaving its probe objects, and exits 0", async () => {
        partnerAwsEnv();
        const r = await check(acmeKit());
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.line("your AWS identity"), /^✓ aws {2}your AWS identity: arn:aws:sts::210987654322:assumed-role\/acme-exchange\/worker/);
        assert.match(r.line(`assume ${ROLE_ARN} with the external id`), /^✓/);
        assert.match(r.line(`s3 list s3://${AWS_BUCKET}/${PREFIX}`), /^✓/);
        assert.match(r.line(`s3 put s3://${AWS_BUCKET}/${PREFIX}.partner-access-check/`), /^✓.*left there: the bucket is versioned and nobody can delete/);
        assert.match(r.line(`s3 get s3://${AWS_BUCKET}/${PREFIX}.partner-access-check/`), /^✓.*content matches/);
        assert.match(r.line("aws  api GET /orders/{orderId}"), /^✓.*HTTP 200/);
        assert.match(r.line("aws  api POST /orders"), /^- .*not probed \(mutating\)/);
        assert.match(r.line(`must be refused: list s3://${AWS_BUCKET}/partners/:`), /^✓.*refused \(AccessDenied\)/);
        assert.match(r.line(`must be refused: list s3://${AWS_BUCKET}/partners/globex/`), /^✓/);
        assert.match(r.line("aws  must be refused: api GET /admin/partners"), /^✓.*refused \(HTTP 403\)/);
        assert.match(r.line(`gcs put gs://${GCS_BUCKET}/${PREFIX}.partner-access-check/`), /^✓/);
        assert.match(r.line(`gcs get gs://${GCS_BUCKET}/${PREFIX}.partner-access-check/`), /^✓.*content matches/);
        assert.match(r.line("gcp  api GET /orders/{orderId}"), /^✓/);
        assert.match(r.line(`must be refused: list gs://${GCS_BUCKET}/partners/:`), /^✓/);
        assert.match(r.line("gcp  must be refused: api GET /admin/partners"), /^✓/);
        assert.match(r.stdout, /result: 21 ok, 0 failed, 2 not probed: your access works as the kit says/);
        const probes = [...world().s3Objects.keys()].filter((k) => k.startsWith(`${AWS_BUCKET}/${PREFIX}.partner-access-check/`));
        assert.equal(probes.length, 1);
        assert.match(probes[0], /\/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\.txt$/);
        assert.equal([...world().gcsObjects.keys()].filter((k) => k.includes(".partner-access-check/")).length, 1);
        assert.ok(!world().seen.some((s) => s.method === "POST" && (s.server === "aws-api" || s.server === "gcp-api")), "no mutating call");
    });

    it("calls mutating routes only with --include-mutating", async () => {
        partnerAwsEnv();
        const r = await check(acmeKit(), "--include-mutating");
        assert.equal(r.code, 0);
        assert.match(r.line("aws  api POST /orders"), /^✓.*HTTP 200/);
        assert.match(r.line("gcp  api POST /orders"), /^✓.*HTTP 200/);
    });

    it("fails loudly when something that must be refused is allowed", async () => {
        partnerAwsEnv();
        world().roles.get(ROLE_ARN)!.grants.s3.push({ bucket: AWS_BUCKET, prefix: "partners/", actions: ["s3:ListBucket"] });
        world().gcsGrants.push({ email: SA, bucket: GCS_BUCKET, prefix: "partners/globex/", read: true, write: false });
        const r = await check(acmeKit());
        assert.equal(r.code, 1);
        assert.match(r.line(`must be refused: list s3://${AWS_BUCKET}/partners/:`), /^✗[\s\S]*ALLOWED[\s\S]*fix: +you can reach something you should not: tell the operator/);
        assert.match(r.line(`must be refused: list gs://${GCS_BUCKET}/partners/globex/`), /^✗[\s\S]*tell the operator/);
        // listing partners/ is allowed, so the neighbour's prefix under it is too
        assert.match(r.line(`must be refused: list s3://${AWS_BUCKET}/partners/globex/`), /^✗/);
        assert.match(r.stdout, /result: \d+ ok, 3 failed/);
    });

    it("reports a route it must not reach that answers as a failure", async () => {
        partnerAwsEnv();
        world().roles.get(ROLE_ARN)!.grants.routes.push("GET /admin/partners");
        const r = await check(acmeKit());
        assert.equal(r.code, 1);
        assert.match(r.line("aws  must be refused: api GET /admin/partners"), /^✗[\s\S]*the call was ALLOWED \(HTTP 200\)[\s\S]*tell the operator/);
    });

    describe("never says access works without confirming one refusal", () => {
        /** A kit from an older kit builder: its only must-be-refused probes are mutating routes, which check skips by default. */
        function mutatingProbesOnly(): Kit {
            return { ...acmeKit(), mustBeRefused: [
                { cloud: "aws", kind: "route", route: "DELETE /orders/{orderId}" },
                { cloud: "gcp", kind: "route", route: "DELETE /orders/{orderId}" },
            ] };
        }

        it("fails when every must-be-refused probe was skipped, and lists them", async () => {
            partnerAwsEnv();
            const r = await check(mutatingProbesOnly());
            assert.equal(r.code, 1, r.stdout);
            assert.match(r.line("aws  must be refused: api DELETE /orders/{orderId}"), /^- .*not probed \(mutating\)/);
            const l = r.line("all  must be refused: none confirmed");
            assert.match(l, /^✗ all  must be refused: none confirmed: INCOMPLETE/);
            assert.match(l, /reason: none of the kit's 2 must-be-refused probe\(s\) was performed and refused \(api DELETE \/orders\/\{orderId\}: not probed \(mutating\)[^;]*; api DELETE \/orders\/\{orderId\}: not probed/);
            assert.match(l, /fix: +run the check again with --include-mutating/);
            assert.doesNotMatch(r.stdout, /works as the kit says/);
            assert.match(r.stdout, /result: \d+ ok, 1 failed, 4 not probed: fix the ✗ lines above/);
            assert.ok(!world().seen.some((q) => q.method === "DELETE"), "nothing mutating was called");
        });

        it("fails when the kit names nothing that must be refused", async () => {
            partnerAwsEnv();
            const result = await runCheck({ ...acmeKit(), mustBeRefused: [] }, { ca: world().ca });
            assert.equal(result.ok, false);
            assert.equal(result.refusalsConfirmed, 0);
            const l = result.lines.find((x) => x.title === "must be refused: none confirmed")!;
            assert.equal(l.status, "fail");
            assert.match(l.reason!, /the kit names nothing that must be refused/);
            assert.match(l.fix!, /ask the operator for a new kit/);
        });

        it("passes once a refusal is performed and confirmed (--include-mutating)", async () => {
            partnerAwsEnv();
            const r = await check(mutatingProbesOnly(), "--include-mutating");
            assert.equal(r.code, 0, r.stdout);
            assert.match(r.line("aws  must be refused: api DELETE /orders/{orderId}"), /^✓.*refused \(HTTP 403\)/);
            assert.match(r.line("gcp  must be refused: api DELETE /orders/{orderId}"), /^✓.*refused \(HTTP 404\)/);
            assert.doesNotMatch(r.stdout, /none confirmed/);
            assert.match(r.stdout, /works as the kit says/);
        });
    });

    it("finds the identity policy missing on the partner's side", async () => {
        partnerAwsEnv();
        world().users.get("ASIAPARTNERSESSION01")!.mayAssume = [];
        const r = await check(acmeKit());
        assert.equal(r.code, 1);
        const l = r.line(`assume ${ROLE_ARN}`);
        assert.match(l, /^✗/);
        assert.match(l, /reason: your side: no identity policy lets you call sts:AssumeRole/);
        assert.match(l, /fix: +attach the kit's aws.identityPolicy/);
        assert.match(r.line("aws  files"), /^- .*need the role session above/);
        assert.match(r.line(`aws  must be refused: list s3://${AWS_BUCKET}/partners/:`), /^- .*needs the role session above/);
    });

    it("finds a wrong external id", async () => {
        partnerAwsEnv();
        const kit = acmeKit();
        kit.aws!.role!.externalId = "acme-0000";
        const r = await check(kit);
        assert.equal(r.code, 1);
        assert.match(r.line(`assume ${ROLE_ARN}`), /refused to be assumed[\s\S]*send exactly the kit's external id "acme-0000"/);
    });

    it("names an identity the stage does not accept", async () => {
        world().addUser({ key: { accessKeyId: "AKIASOMEONEELSE00001", secretAccessKey: "s", arn: `arn:aws:iam::${PARTNER_ACCOUNT}:user/alice` }, mayAssume: [ROLE_ARN], s3: [], routes: [] });
        partnerAwsEnv({ id: "AKIASOMEONEELSE00001", secret: "s", token: undefined });
        const r = await check(acmeKit());
        assert.equal(r.code, 1);
        assert.match(r.line("your AWS identity"), /^✗[\s\S]*you are arn:aws:iam::210987654322:user\/alice, which this stage does not accept \(it accepts arn:aws:iam::210987654322:role\/acme-exchange\)/);
    });

    it("says when the partner's own credentials have expired", async () => {
        world().keys.get("ASIAPARTNERSESSION01")!.expiresAt = Date.now() - 1000;
        partnerAwsEnv();
        const r = await check(acmeKit());
        assert.equal(r.code, 1);
        assert.match(r.line("your AWS identity"), /^✗[\s\S]*your AWS credentials have expired[\s\S]*fix: +refresh them/);
    });

    it("blames the clock when the APIs find the signatures skewed", async () => {
        partnerAwsEnv();
        world().apiClockOffset = 10 * 60_000;
        world().espClockOffset = 2 * 3600_000;
        const r = await check(acmeKit());
        assert.equal(r.code, 1);
        assert.match(r.line("aws  api GET /orders:"), /^✗[\s\S]*clock skew: this machine's clock is about 10 min behind/);
        assert.match(r.line("gcp  api GET /orders:"), /^✗[\s\S]*clock skew[\s\S]*Jwt is expired/);
        assert.match(r.line("all  clock"), /^✗[\s\S]*about 2 h 0 min behind the server's \(from the servers' Date headers\)[\s\S]*NTP/);
    });

    it("uses the Google workload's ID token for AWS when there are no AWS credentials", async () => {
        noAwsEnv();
        const r = await check(acmeKit());
        assert.equal(r.code, 0, r.stdout);
        assert.match(r.line(`assume ${ROLE_ARN} with a Google ID token`), /^✓/);
        assert.deepEqual(world().stsCalls.map((c) => c.action), ["AssumeRoleWithWebIdentity"]);
    });

    it("reports a GCS grant that does not work with who the partner is and what to do", async () => {
        partnerAwsEnv();
        world().gcsGrants[0].write = false;
        const r = await check(acmeKit());
        assert.equal(r.code, 1);
        assert.match(r.line(`gcs put gs://${GCS_BUCKET}/`), /^✗[\s\S]*refused for acme-sync@\S+ \(acme-sync@\S+ does not have storage.objects.create access[\s\S]*fix: +tell the operator: the kit says acme-sync@\S+ may, and it was refused/);
        assert.match(r.line(`gcs get under gs://${GCS_BUCKET}/`), /^- .*the probe object could not be written/);
    });

    it("reads without writing for a read-only grant", async () => {
        partnerAwsEnv();
        const kit = acmeKit();
        kit.aws!.files = { ...kit.aws!.files!, access: "read", actions: ["s3:GetObject", "s3:ListBucket"] };
        world().roles.get(ROLE_ARN)!.grants.s3[0].actions = ["s3:GetObject", "s3:ListBucket"];
        const r = await check(kit);
        assert.equal(r.code, 0, r.stdout);
        assert.doesNotMatch(r.stdout, /s3 put/);
        assert.match(r.line("s3 get under"), /^- .*a read-only check writes nothing/);
        assert.equal([...world().s3Objects.keys()].filter((k) => k.includes(".partner-access-check/")).length, 0);
    });

    it("sends its Google access token to no Cloud Storage endpoint in cleartext (plain http only to loopback)", async () => {
        partnerAwsEnv();
        const saved = process.env.STORAGE_EMULATOR_HOST;
        process.env.STORAGE_EMULATOR_HOST = "gcs.example.test:4443";
        try {
            const r = await check(acmeKit());
            assert.equal(r.code, 1);
            assert.match(r.line("gcp  Cloud Storage endpoint"), /^✗[\s\S]*reason: the Cloud Storage endpoint \(STORAGE_EMULATOR_HOST\): "http:\/\/gcs.example.test:4443" is not an https URL[\s\S]*fix: +unset STORAGE_EMULATOR_HOST/);
            assert.doesNotMatch(r.stdout, /gcs (list|put|get)/);
        } finally {
            process.env.STORAGE_EMULATOR_HOST = saved;
        }
    });

    it("fails outside the access window", async () => {
        partnerAwsEnv();
        const r = await check({ ...acmeKit(), expires: "2020-01-01T00:00:00Z" });
        assert.equal(r.code, 1);
        assert.match(r.line("access window"), /^✗[\s\S]*expired at 2020-01-01T00:00:00Z[\s\S]*ask the operator to extend/);
    });

    it("prints JSON with --json", async () => {
        partnerAwsEnv();
        const r = await check(acmeKit(), "--json");
        assert.equal(r.code, 0);
        const out = JSON.parse(r.stdout);
        assert.equal(out.ok, true);
        assert.ok(out.lines.every((l: any) => ["ok", "skip"].includes(l.status)));
    });

    it("runs as a library and reports each line as it goes", async () => {
        partnerAwsEnv();
        const seen: string[] = [];
        const result = await runCheck(acmeKit(), { ca: world().ca, onLine: (l) => seen.push(l.title) });
        assert.equal(result.ok, true);
        assert.equal(result.refusalsConfirmed, 6);
        assert.deepEqual(seen, result.lines.map((l) => l.title));
    });
});
