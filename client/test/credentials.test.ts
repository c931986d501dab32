import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { awsCredentialProcess } from "../src/aws";
import { PartnerAccessError } from "../src/errors";
import { partnerAwsEnv, scratch, world } from "./support/hooks";
import { acmeKit, run, writeKit } from "./support/kits";
import { AWS_BUCKET, DEV_USER, GOOGLE_AUDIENCE, OTHER_SA, PREFIX, REGION, ROLE_ARN, SA } from "./support/world";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listWith(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
    const s3 = new S3Client({ region: REGION, credentials, forcePathStyle: true, maxAttempts: 1 });
    try {
        return await s3.send(new ListObjectsV2Command({ Bucket: AWS_BUCKET, Prefix: PREFIX }));
    } finally {
        s3.destroy();
    }
}

describe("credentials (credential_process from a Google workload)", () => {
    it("prints the credential_process JSON from an unsigned web identity exchange, with no AWS credentials here", async () => {
        const { code, stdout, stderr } = await run(["credentials", "--kit", writeKit(acmeKit())]);
        assert.equal(code, 0, stderr);
        const out = JSON.parse(stdout);
        assert.deepEqual(Object.keys(out), ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"]);
        assert.equal(out.Version, 1);
        const call = world().stsCalls.at(-1)!;
        assert.equal(call.action, "AssumeRoleWithWebIdentity");
        assert.equal(call.roleArn, ROLE_ARN);
        assert.equal(out.AccessKeyId, call.accessKeyId);
        assert.equal(out.Expiration, call.expiration);
        const sts = world().seen.filter((s) => s.server === "sts");
        assert.equal(sts.length, 1);
        assert.equal(sts[0].headers.authorization, undefined, "AssumeRoleWithWebIdentity must not be signed");
        // and the credentials work
        const listed = await listWith({ accessKeyId: out.AccessKeyId, secretAccessKey: out.SecretAccessKey, sessionToken: out.SessionToken });
        assert.equal(listed.$metadata.httpStatusCode, 200);
    });

    it("takes --role-arn, --audience and --region instead of a kit", async () => {
        const { code, stdout } = await run(["credentials", "--role-arn", ROLE_ARN, "--audience", GOOGLE_AUDIENCE, "--region", REGION]);
        assert.equal(code, 0);
        assert.equal(JSON.parse(stdout).Version, 1);
    });

    it("fetches a fresh ID token and fresh credentials after expiry", async function () {
        this.timeout(10_000);
        world().stsCredentialSeconds = 2;
        world().idTokenSeconds = 1;
        const first = await awsCredentialProcess({ kit: acmeKit() });
        assert.ok(Math.abs(Date.parse(first.Expiration) - (Date.now() + 2000)) < 1000, "Expiration is what STS said");
        await listWith({ accessKeyId: first.AccessKeyId, secretAccessKey: first.SecretAccessKey, sessionToken: first.SessionToken });
        await sleep(2200);
        await assert.rejects(listWith({ accessKeyId: first.AccessKeyId, secretAccessKey: first.SecretAccessKey, sessionToken: first.SessionToken }), { name: "ExpiredToken" });
        // A cached ID token (1 s) would now be refused by STS: the second call must fetch a new one.
        const second = await awsCredentialProcess({ kit: acmeKit() });
        assert.notEqual(second.AccessKeyId, first.AccessKeyId);
        assert.ok(Date.parse(second.Expiration) > Date.parse(first.Expiration));
        await listWith({ accessKeyId: second.AccessKeyId, secretAccessKey: second.SecretAccessKey, sessionToken: second.SessionToken });
    });

    it("is what the AWS SDK runs from ~/.aws/config, again once the credentials expire", async function () {
        this.timeout(20_000);
        world().stsCredentialSeconds = 3;
        const kitPath = writeKit(acmeKit());
        const cli = resolve(__dirname, "../src/cli.ts");
        const tsNode = require.resolve("ts-node/register/transpile-only");
        const config = join(scratch, "aws-config");
        writeFileSync(config, [
            "[profile partner-access-stag]",
            `credential_process = ${process.execPath} -r ${tsNode} ${cli} credentials --kit ${kitPath}`,
            `region = ${REGION}`,
            "",
        ].join("\n"));
        const saved = process.env.AWS_CONFIG_FILE;
        process.env.AWS_CONFIG_FILE = config;
        const s3 = new S3Client({ profile: "partner-access-stag", forcePathStyle: true });
        try {
            await s3.send(new ListObjectsV2Command({ Bucket: AWS_BUCKET, Prefix: PREFIX }));
            assert.equal(world().stsCalls.length, 1);
            await sleep(3200);
            await s3.send(new ListObjectsV2Command({ Bucket: AWS_BUCKET, Prefix: PREFIX }));
            assert.equal(world().stsCalls.length, 2, "the SDK ran the process again for new credentials");
            const keys = world().seen.filter((s) => s.server === "s3").map((s) => /Credential=([^/]+)/.exec(String(s.headers.authorization))![1]);
            assert.deepEqual(keys, world().stsCalls.map((c) => c.accessKeyId));
        } finally {
            s3.destroy();
            process.env.AWS_CONFIG_FILE = saved;
        }
    });

    it("gets the ID token by impersonation from a developer's machine (--impersonate)", async () => {
        world().metadataAccount = DEV_USER; // the developer's Application Default Credentials
        const { code, stdout, stderr } = await run(["credentials", "--kit", writeKit(acmeKit()), "--impersonate", SA]);
        assert.equal(code, 0, stderr);
        assert.equal(JSON.parse(stdout).Version, 1);
        assert.ok(world().seen.some((s) => s.server === "iam" && s.url.endsWith(`${SA}:generateIdToken`)));
    });

    it("tells a developer without Token Creator on the account what to grant", async () => {
        world().metadataAccount = DEV_USER;
        world().tokenCreators.get(SA)!.delete(DEV_USER);
        const { code, stdout, stderr } = await run(["credentials", "--kit", writeKit(acmeKit()), "--impersonate", SA]);
        assert.equal(code, 1);
        assert.equal(stdout, "", "nothing on stdout for credential_process to misread");
        assert.match(stderr, /may not act as acme-sync@/);
        assert.match(stderr, /grant roles\/iam.serviceAccountTokenCreator on acme-sync@\S+ to dev@acme.example/);
    });

    it("explains a wrong audience", async () => {
        const { code, stderr } = await run(["credentials", "--kit", writeKit(acmeKit()), "--audience", "partner-access-prod"]);
        assert.equal(code, 1);
        assert.match(stderr, /wrong audience: the Google ID token is for "partner-access-prod" but the role accepts "partner-access-stag"/);
        assert.match(stderr, /drop --audience/);
        assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
    });

    it("names the service account the stage does not accept", async () => {
        world().metadataAccount = OTHER_SA;
        const { code, stderr } = await run(["credentials", "--kit", writeKit(acmeKit())]);
        assert.equal(code, 1);
        assert.match(stderr, /token belongs to intruder@\S+ \(unique id 104857600000000000099\), which this stage does not accept/);
        assert.match(stderr, /run as \(or --impersonate\) one of acme-sync@\S+ \(104857600000000000002\)/);
    });

    it("blames the clock when AWS finds a fresh token expired", async () => {
        world().stsClockOffset = 2 * 3600_000;
        await assert.rejects(awsCredentialProcess({ kit: acmeKit() }), (e: PartnerAccessError) =>
            /found the Google ID token expired/.test(e.message) && /sync this machine's clock/.test(e.fix));
    });

    it("says so when the stage accepts no Google account on AWS", async () => {
        const kit = acmeKit();
        delete kit.aws!.webIdentity;
        const { code, stderr } = await run(["credentials", "--kit", writeKit(kit)]);
        assert.equal(code, 1);
        assert.match(stderr, /does not accept your Google accounts on AWS/);
    });

    it("never reads the partner's own AWS credentials", async () => {
        partnerAwsEnv({ id: "AKIAWRONGWRONGWRONG1", secret: "x", token: undefined });
        const { code } = await run(["credentials", "--kit", writeKit(acmeKit())]);
        assert.equal(code, 0);
    });

    it("is a usage error (exit 2) without a kit or all three flags", async () => {
        const { code, stderr } = await run(["credentials", "--role-arn", ROLE_ARN]);
        assert.equal(code, 2);
        assert.match(stderr, /give --kit, or all of --role-arn, --audience and --region/);
        assert.match(stderr, /usage: partner-access-client credentials/);
    });
});
