import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { acmeKit, run, writeKit } from "./support/kits";

describe("the CLI", () => {
    it("prints usage with --help (exit 0) and without a command (exit 2)", async () => {
        let r = await run(["--help"]);
        assert.equal(r.code, 0);
        assert.match(r.stdout, /usage: partner-access-client <command>[\s\S]*credentials[\s\S]*call[\s\S]*check[\s\S]*commands/);
        r = await run([]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /usage: partner-access-client <command>/);
    });

    for (const command of ["credentials", "call", "check", "commands"]) {
        it(`has --help for ${command}`, async () => {
            const r = await run([command, "--help"]);
            assert.equal(r.code, 0);
            assert.match(r.stdout, new RegExp(`^usage: partner-access-client ${command}`));
            assert.match(r.stdout, /--kit <file>/);
        });
    }

    it("exits 2 with the usage on an unknown command or flag, without a stack trace", async () => {
        let r = await run(["chek", "--kit", "k.json"]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /unknown command "chek"/);
        r = await run(["check", "--kit"]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /Option '--kit <value>' argument missing[\s\S]*usage: partner-access-client check/);
        r = await run(["check", "--kit", "k.json", "--aws-via", "magic"]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--aws-via is one of auto, assume-role, web-identity, direct, not "magic"/);
        r = await run(["check"]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--kit <file> is required/);
        for (const out of [r.stderr]) assert.doesNotMatch(out, /\n\s+at /);
    });

    it("exits 1 with the reason and the fix for a kit it cannot use", async () => {
        const r = await run(["check", "--kit", writeKit({ ...acmeKit(), source: "preview" })]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^error: .*comes from a preview[\s\S]*\n {2}fix: ask the operator for the kit of the deployed stack/);
    });

    it("prints the command lines and the ~/.aws/config profile for a kit", async () => {
        const path = writeKit(acmeKit());
        const r = await run(["commands", "--kit", path]);
        assert.equal(r.code, 0);
        assert.ok(r.stdout.includes(`npx -y @partner-access/client check --kit ${path}`));
        assert.ok(r.stdout.includes(`credential_process = npx -y @partner-access/client credentials --kit ${path}\nregion = eu-west-1`));
    });

    it("runs as an executable with the same exit codes", function () {
        this.timeout(20_000);
        const cli = resolve(__dirname, "../src/cli.ts");
        const node = (args: string[]) => spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), cli, ...args], { encoding: "utf8", env: process.env });
        let r = node(["--help"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /usage: partner-access-client/);
        r = node(["call", "--nope"]);
        assert.equal(r.status, 2);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
});
