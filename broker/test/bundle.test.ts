/** Deterministic bundles, and the bundled code itself run in-process (not the TypeScript source). */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { OAuth2Client } from "google-auth-library";
import { Bundle, bundleBroker, bundleProxy, findBrokerDir, GCP_ENTRY_POINT, LAMBDA_HANDLER, PROXY_FILE } from "../src/bundle";
import { BROKER_ERROR_HEADER } from "../src/envelope";
import { TOKEN_MARKER } from "../src/redact";
import { aliasName, BrokerRoutes } from "../src/routes";
import { allowTestLoopback, decode, fakeIdToken, FUNCTION_ARN, LogCapture, loopbackResolver, ORDERS_SA, ROUTES, TOKENS } from "./support/fixtures";
import { startSecretManager, startSecretsManager } from "./support/standins";
import { testPki } from "./support/tls";
import { startUpstream, Upstream } from "./support/upstream";

function writeBundle(b: Bundle): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pa-broker-bundle-"));
    for (const [name, content] of Object.entries(b.files)) fs.writeFileSync(path.join(dir, name), content);
    return dir;
}

const arnFor = (host: string) => `${FUNCTION_ARN}:${aliasName(ROUTES.routes.find((r) => r.host === host)!.partner, host)}`;

describe("bundles", function () {
    this.timeout(60_000);
    const logs = new LogCapture();
    const dirs: string[] = [];
    let aws: Bundle;
    let gcp: Bundle;
    let upstream: Upstream;
    let ca: string;

    before(async () => {
        aws = bundleBroker("aws", ROUTES);
        gcp = bundleBroker("gcp", ROUTES);
        ca = (await testPki()).ca;
        upstream = await startUpstream();
    });
    after(async () => {
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
        await upstream?.close();
    });

    it("gives byte-identical output for the same inputs, and a different hash for other routes", () => {
        // Built again by esbuild (not the cache): byte-identical.
        const again = bundleBroker("aws", JSON.parse(JSON.stringify(ROUTES)) as BrokerRoutes, { cache: false });
        assert.equal(again.sha256, aws.sha256);
        assert.deepEqual(again.files, aws.files);
        assert.equal(bundleBroker("gcp", ROUTES, { cache: false }).sha256, gcp.sha256);
        const other = bundleBroker("aws", { ...ROUTES, stage: "prod" });
        assert.notEqual(other.sha256, aws.sha256);
        assert.equal(other.files["index.js"], aws.files["index.js"], "routes change only routes.json");
    });

    it("has the files each platform needs, without absolute paths or source maps", () => {
        assert.deepEqual(Object.keys(aws.files).sort(), ["index.js", "routes.json"]);
        assert.deepEqual(Object.keys(gcp.files).sort(), ["index.js", "package.json", "routes.json"]);
        assert.equal(JSON.parse(gcp.files["package.json"]).main, "index.js");
        assert.deepEqual(JSON.parse(aws.files["routes.json"]), ROUTES);
        assert.equal(LAMBDA_HANDLER, "index.handler");
        for (const b of [aws, gcp]) {
            const js = b.files["index.js"];
            assert.ok(!js.includes(findBrokerDir()), "no absolute path of this machine");
            assert.ok(!js.includes("sourceMappingURL"));
        }
        assert.ok(!aws.files["index.js"].includes("google-auth-library"), "AWS bundle has no GCP code");
        assert.ok(!gcp.files["index.js"].includes("@aws-sdk/client-secrets-manager"), "GCP bundle has no AWS code");
    });

    it("refuses an invalid routes table", () => {
        assert.throws(() => bundleBroker("aws", { stage: "s", routes: [ROUTES.routes[0], ROUTES.routes[0]] }), /listed twice/);
    });

    it("runs the bundled Lambda handler: routes.json beside it, alias binding, default SSRF guard", async () => {
        const dir = writeBundle(aws);
        dirs.push(dir);
        const mod = require(path.join(dir, "index.js"));
        const unlisted = await mod.handler({ v: 1, method: "GET", url: "https://unlisted.example/", headers: {} }, { invokedFunctionArn: arnFor("api.partner.test") });
        assert.equal(unlisted.status, 403);
        assert.equal(unlisted.headers[BROKER_ERROR_HEADER], "host-not-routed");
        const crossed = await mod.handler({ v: 1, method: "GET", url: "https://bearer.partner.test/", headers: {} }, { invokedFunctionArn: arnFor("api.partner.test") });
        assert.equal(crossed.headers[BROKER_ERROR_HEADER], "caller-not-allowed");
        // "localhost" is a listed host here, but it resolves (system resolver) to loopback: refused before any secret is read.
        const local = await mod.handler({ v: 1, method: "GET", url: "https://localhost/", headers: {} }, { invokedFunctionArn: arnFor("localhost") });
        assert.equal(local.status, 403);
        assert.equal(local.headers[BROKER_ERROR_HEADER], "address-not-allowed");
    });

    it("runs the bundled broker with its bundled Secrets Manager client against a local stand-in (signed AWS JSON 1.1 call)", async () => {
        const dir = writeBundle(aws);
        dirs.push(dir);
        const mod = require(path.join(dir, "index.js"));
        const sm = await startSecretsManager(new Map([[ROUTES.routes[0].secret.aws!, TOKENS["api.partner.test"]], [ROUTES.routes[2].secret.aws!, undefined]]));
        try {
            const broker = mod.createBroker({
                routes: ROUTES,
                cloud: "aws",
                secrets: new mod.SecretsManagerSecretStore({ region: "eu-west-1", endpoint: sm.url, credentials: { accessKeyId: "AKIDTESTONLY", secretAccessKey: "test-only" } }),
                limits: mod.LAMBDA_LIMITS,
                resolve: loopbackResolver,
                addressAllowed: allowTestLoopback,
                tls: { ca },
                upstreamPort: upstream.port,
                log: logs.log,
            });
            const handler = mod.createLambdaHandler(broker);
            const res = await handler({ v: 1, method: "GET", url: "https://api.partner.test/echo", headers: { "x-api-key": "mine" } }, { invokedFunctionArn: arnFor("api.partner.test") });
            assert.equal(res.status, 200, decode(res.body));
            assert.equal(upstream.seen.at(-1)!.headers["x-api-key"], TOKENS["api.partner.test"]);
            assert.equal(JSON.parse(decode(res.body)).headers["x-api-key"], TOKEN_MARKER, "the bundled broker scrubs its answer too");
            const missing = await handler({ v: 1, method: "GET", url: "https://bearer.partner.test/", headers: {} }, { invokedFunctionArn: arnFor("bearer.partner.test") });
            assert.equal(missing.status, 407, "ResourceNotFoundException (no secret) from the wire protocol → 407");
            const unset = await handler({ v: 1, method: "GET", url: "https://query.partner.test/", headers: {} }, { invokedFunctionArn: arnFor("query.partner.test") });
            assert.equal(unset.status, 407, "ResourceNotFoundException (no AWSCURRENT version) from the wire protocol → 407");
            broker.close();
            assert.equal(sm.calls[0].target, "secretsmanager.GetSecretValue");
            assert.deepEqual(sm.calls[0].body, { SecretId: ROUTES.routes[0].secret.aws });
            assert.match(sm.calls[0].authorization ?? "", /^AWS4-HMAC-SHA256 Credential=AKIDTESTONLY\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request/);
        } finally {
            await sm.close();
        }
    });

    it("runs the bundled GCP entry point and broker over HTTP with its bundled Secret Manager client", async () => {
        const dir = writeBundle(gcp);
        dirs.push(dir);
        const mod = require(path.join(dir, "index.js"));
        assert.equal(typeof mod[GCP_ENTRY_POINT], "function");
        const sm = await startSecretManager(new Map([[ROUTES.routes[0].secret.gcp!, TOKENS["api.partner.test"]]]));
        const auth = new OAuth2Client();
        auth.setCredentials({ access_token: "test-access-token", expiry_date: Date.now() + 3_600_000 });
        const broker = mod.createBroker({
            routes: ROUTES,
            cloud: "gcp",
            secrets: new mod.SecretManagerStore({ endpoint: sm.url, client: auth }),
            limits: mod.CLOUD_RUN_LIMITS,
            resolve: loopbackResolver,
            addressAllowed: allowTestLoopback,
            tls: { ca },
            upstreamPort: upstream.port,
            log: logs.log,
        });
        const bundled: http.Server = await mod.startCloudRunServer(mod.createCloudRunHandler(broker), { port: 0, host: "127.0.0.1" });
        const defaults: http.Server = await mod.startCloudRunServer(mod[GCP_ENTRY_POINT], { port: 0, host: "127.0.0.1" });
        try {
            const post = async (server: http.Server, url: string) => {
                const port = (server.address() as import("node:net").AddressInfo).port;
                const res = await fetch(`http://127.0.0.1:${port}/v1/forward`, {
                    method: "POST",
                    headers: { authorization: `Bearer ${fakeIdToken({ email: ORDERS_SA })}`, "content-type": "application/json" },
                    body: JSON.stringify({ v: 1, method: "GET", url, headers: {} }),
                });
                return (await res.json()) as { status: number; headers: Record<string, string>; body?: string };
            };
            const ok = await post(bundled, "https://api.partner.test/echo");
            assert.equal(ok.status, 200);
            assert.equal(upstream.seen.at(-1)!.headers["x-api-key"], TOKENS["api.partner.test"]);
            assert.equal(JSON.parse(decode(ok.body)).headers["x-api-key"], TOKEN_MARKER);
            assert.equal(sm.calls[0].authorization, "Bearer test-access-token");
            const viaDefault = await post(defaults, "https://unlisted.example/");
            assert.equal(viaDefault.headers[BROKER_ERROR_HEADER], "host-not-routed", "the default entry point reads routes.json beside it");
        } finally {
            await new Promise((r) => bundled.close(r));
            await new Promise((r) => defaults.close(r));
            broker.close();
            await sm.close();
        }
    });

    it("bundles the proxy as one executable file", () => {
        const b = bundleProxy();
        assert.equal(bundleProxy().sha256, b.sha256);
        assert.ok(b.files[PROXY_FILE].startsWith("#!/usr/bin/env node\n"));
        const dir = writeBundle(b);
        dirs.push(dir);
        const run = spawnSync(process.execPath, [path.join(dir, PROXY_FILE), "--help"], { encoding: "utf8", timeout: 20_000 });
        assert.equal(run.status, 0, run.stderr);
        assert.match(run.stdout, /usage: partner-access-proxy --config/);
    });
});
