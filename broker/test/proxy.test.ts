/** The local proxy end to end: proxy → Lambda adapter (injected invoker) and proxy → Cloud Run adapter over loopback HTTP. */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { OAuth2Client } from "google-auth-library";
import { createCloudRunHandler, startCloudRunServer } from "../src/cloud-run";
import { Broker, createBroker } from "../src/core";
import { BROKER_ERROR_HEADER, errorEnvelope, RequestEnvelope } from "../src/envelope";
import { createLambdaHandler } from "../src/lambda";
import { LAMBDA_LIMITS } from "../src/limits";
import { awsInvoker, brokerFetch, gcpInvoker, Invoker, parseProxyConfig, ProxyConfig, RunningProxy, startProxy } from "../src/proxy";
import { TOKEN_MARKER } from "../src/redact";
import { aliasName } from "../src/routes";
import { SecretsManagerSecretStore } from "../src/secrets-aws";
import { SecretManagerStore } from "../src/secrets-gcp";
import { BILLING_SA, decode, fakeIdToken, FUNCTION_ARN, leakedSecrets, LogCapture, loopbackResolver, ORDERS_SA, ROUTES, TOKENS, testBrokerOptions } from "./support/fixtures";
import { StandIn, startLambda, startSecretManager } from "./support/standins";
import { testPki } from "./support/tls";
import { startUpstream, Upstream } from "./support/upstream";

interface Reply {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
}

/** What an HTTP client does with http_proxy set: absolute-form request to the proxy. */
function viaProxy(proxyPort: number, url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; proxyHost?: string } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
        const r = http.request({ host: opts.proxyHost ?? "127.0.0.1", port: proxyPort, method: opts.method ?? "GET", path: url, headers: { ...(url.startsWith("/") ? {} : { host: new URL(url).host }), ...opts.headers }, agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        });
        r.on("error", reject);
        r.end(opts.body);
    });
}

function awsConfig(): ProxyConfig {
    return parseProxyConfig({
        stage: "stag",
        cloud: "aws",
        caller: "arn:aws:iam::111111111111:role/orders-sync",
        hosts: Object.fromEntries(ROUTES.routes.map((r) => [r.host, { functionArn: FUNCTION_ARN, alias: aliasName(r.partner, r.host) }])),
    });
}

describe("local proxy", () => {
    const logs = new LogCapture();
    let upstream: Upstream;
    let ca: string;

    before(async () => {
        ca = (await testPki()).ca;
        upstream = await startUpstream();
    });
    after(async () => upstream?.close());
    beforeEach(() => (upstream.seen.length = 0));

    describe("→ Lambda adapter (in-process invoker)", () => {
        let sm: AwsClientStub<SecretsManagerClient>;
        let broker: Broker;
        let proxy: RunningProxy;
        let invocations: { target: string; envelope: RequestEnvelope }[];

        /** Stands in for lambda:InvokeFunction: JSON over the wire, the qualified ARN becomes context.invokedFunctionArn. */
        const invoker: Invoker = async (_host, target, envelope) => {
            invocations.push({ target: `${target.functionArn}:${target.alias}`, envelope });
            const handler = createLambdaHandler(broker);
            return JSON.parse(JSON.stringify(await handler(JSON.parse(JSON.stringify(envelope)), { invokedFunctionArn: `${target.functionArn}:${target.alias}` })));
        };

        before(async () => {
            sm = mockClient(SecretsManagerClient);
            for (const r of ROUTES.routes) sm.on(GetSecretValueCommand, { SecretId: r.secret.aws }).resolves({ SecretString: TOKENS[r.host as keyof typeof TOKENS] });
            broker = createBroker(testBrokerOptions("aws", new SecretsManagerSecretStore(new SecretsManagerClient({ region: "eu-west-1" })), { ca, upstreamPort: upstream.port, log: logs.log }));
            proxy = await startProxy(awsConfig(), { port: 0, invoker, log: logs.log, limits: { maxRequestBytes: 64 * 1024, maxResponseBytes: LAMBDA_LIMITS.maxResponseBytes } });
        });
        after(async () => {
            await proxy?.close();
            broker?.close();
            sm?.restore();
        });
        beforeEach(() => (invocations = []));

        it("turns http://partner/... into an invocation of that host's alias; the partner gets the token over HTTPS", async () => {
            const res = await viaProxy(proxy.port, "http://api.partner.test/echo?page=2", {
                headers: { "x-api-key": "caller-supplied", "proxy-authorization": "Basic eA==", "proxy-connection": "keep-alive", "x-request-id": "r-1" },
            });
            assert.equal(res.status, 200);
            const seen = upstream.seen.at(-1)!;
            assert.equal(seen.headers["x-api-key"], TOKENS["api.partner.test"]);
            assert.equal(JSON.parse(res.body).headers["x-api-key"], TOKEN_MARKER, "our server never sees the token");
            assert.equal(seen.headers["proxy-authorization"], undefined);
            assert.equal(seen.headers["x-request-id"], "r-1");
            assert.equal(seen.path, "/echo?page=2");
            assert.equal(seen.servername, "api.partner.test", "upstream is TLS");
            assert.equal(invocations.length, 1);
            assert.equal(invocations[0].target, `${FUNCTION_ARN}:${aliasName("acme-logistics", "api.partner.test")}`);
            assert.equal(invocations[0].envelope.url, "https://api.partner.test/echo?page=2");
            assert.equal(invocations[0].envelope.headers["x-partner-access-caller"], "arn:aws:iam::111111111111:role/orders-sync");
        });

        it("forwards a POST body and returns the partner's status and headers", async () => {
            const res = await viaProxy(proxy.port, "http://query.partner.test/echo?q=1", { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
            assert.equal(res.status, 200);
            assert.equal(res.headers["x-upstream"], "partner");
            const seen = JSON.parse(res.body);
            assert.equal(seen.body, "hello");
            assert.equal(upstream.seen.at(-1)!.path, `/echo?q=1&api_key=${TOKENS["query.partner.test"]}`);
            assert.equal(seen.path, `/echo?q=1&api_key=${TOKEN_MARKER}`);
        });

        it("answers an unknown host with 403 itself, invoking nothing", async () => {
            const res = await viaProxy(proxy.port, "http://unlisted.example/x");
            assert.equal(res.status, 403);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "host-not-routed");
            assert.equal(invocations.length, 0);
        });

        it("refuses CONNECT with an explanation to use http:// URLs", async () => {
            const answer = await new Promise<string>((resolve, reject) => {
                const s = net.connect(proxy.port, "127.0.0.1", () => s.write("CONNECT api.partner.test:443 HTTP/1.1\r\nHost: api.partner.test:443\r\n\r\n"));
                let data = "";
                s.on("data", (c) => (data += c));
                s.on("end", () => resolve(data));
                s.on("error", reject);
            });
            assert.match(answer, /^HTTP\/1\.1 405 /);
            assert.match(answer, /x-partner-access-broker-error: connect-refused/);
            assert.match(answer, /cannot inject a partner token into a TLS tunnel/);
            assert.match(answer, /http:\/\/<partner-host>/);
            assert.equal(invocations.length, 0);
        });

        it("keeps serving after a client resets its CONNECT (as curl does after the 405)", async () => {
            for (let i = 0; i < 5; i++) {
                await new Promise<void>((resolve) => {
                    const s = net.connect(proxy.port, "127.0.0.1", () => s.write("CONNECT api.partner.test:443 HTTP/1.1\r\nHost: api.partner.test:443\r\n\r\n"));
                    s.on("error", () => undefined);
                    s.once("data", () => {
                        s.resetAndDestroy();
                        resolve();
                    });
                });
            }
            await new Promise((r) => setTimeout(r, 100));
            const res = await viaProxy(proxy.port, "http://unlisted.example/x");
            assert.equal(res.status, 403, "the proxy still answers");
        });

        it("answers a non-proxy (origin-form) request with 400 and how to use it", async () => {
            const res = await viaProxy(proxy.port, "/echo");
            assert.equal(res.status, 400);
            assert.match(JSON.parse(res.body).reason, /http_proxy=/);
        });

        it("refuses a port other than 80/443 in the URL", async () => {
            const res = await viaProxy(proxy.port, "http://api.partner.test:8080/echo");
            assert.equal(res.status, 403);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "port-not-allowed");
            assert.equal(invocations.length, 0);
        });

        it("answers 413 for a body over the platform limit without invoking", async () => {
            const res = await viaProxy(proxy.port, "http://api.partner.test/echo", { method: "POST", body: Buffer.alloc(60 * 1024) });
            assert.equal(res.status, 413);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "request-too-large");
            assert.equal(invocations.length, 0);
        });

        it("passes a redirect back without following it", async () => {
            const res = await viaProxy(proxy.port, "http://api.partner.test/redirect");
            assert.equal(res.status, 302);
            assert.equal(res.headers.location, "https://evil.partner.test/stolen");
            assert.equal(upstream.seen.length, 1);
        });

        it("passes broker refusals through: SSRF to a host resolving to 127.0.0.1 with the default guard", async () => {
            const guarded = createBroker({ routes: ROUTES, cloud: "aws", secrets: new SecretsManagerSecretStore(new SecretsManagerClient({ region: "eu-west-1" })), limits: LAMBDA_LIMITS, resolve: loopbackResolver, log: logs.log });
            const p = await startProxy(awsConfig(), {
                port: 0,
                log: logs.log,
                invoker: async (_h, t, e) => createLambdaHandler(guarded)(e, { invokedFunctionArn: `${t.functionArn}:${t.alias}` }),
            });
            try {
                const res = await viaProxy(p.port, "http://internal.partner.test/latest/meta-data/");
                assert.equal(res.status, 403);
                assert.equal(res.headers[BROKER_ERROR_HEADER], "address-not-allowed");
                assert.equal(upstream.seen.length, 0);
            } finally {
                await p.close();
                guarded.close();
            }
        });

        it("listens on ::1 as well as 127.0.0.1, and on nothing else", async function () {
            const v6 = proxy.addresses.find((a) => a.startsWith("[::1]"));
            if (!v6) this.skip();
            const res = await viaProxy(proxy.port, "http://api.partner.test/echo", { proxyHost: "::1" });
            assert.equal(res.status, 200);
            await assert.rejects(startProxy(awsConfig(), { port: 0, listen: ["0.0.0.0"] }), /only listens on loopback/);
            await assert.rejects(startProxy(awsConfig(), { port: 0, listen: ["127.0.0.1", "10.1.2.3"] }), /only listens on loopback/);
        });

        it("brokerFetch: a fetch-compatible function with the same rules", async () => {
            const f = brokerFetch(awsConfig(), { invoker, log: logs.log });
            const res = await f("https://api.partner.test/echo", { method: "POST", headers: { "x-api-key": "mine", "content-type": "application/json" }, body: JSON.stringify({ a: 1 }) });
            assert.equal(res.status, 200);
            const seen = (await res.json()) as { headers: Record<string, string>; body: string };
            assert.equal(upstream.seen.at(-1)!.headers["x-api-key"], TOKENS["api.partner.test"]);
            assert.equal(seen.headers["x-api-key"], TOKEN_MARKER);
            assert.equal(seen.body, '{"a":1}');
            const redirect = await f("http://api.partner.test/redirect");
            assert.equal(redirect.status, 302);
            assert.equal(redirect.headers.get("location"), "https://evil.partner.test/stolen");
            const before = invocations.length;
            const unknown = await f(new URL("https://unlisted.example/"));
            assert.equal(unknown.status, 403);
            assert.equal(invocations.length, before);
        });

        it("awsInvoker speaks the real Lambda Invoke API (signed, qualified ARN) to a local Lambda endpoint", async () => {
            const lambda = await startLambda(async (fn, event) => ({ payload: await createLambdaHandler(broker)(event, { invokedFunctionArn: fn }) }));
            const p = await startProxy(awsConfig(), {
                port: 0,
                log: logs.log,
                invoker: awsInvoker({ clientConfig: { endpoint: lambda.url, credentials: { accessKeyId: "AKIDTESTONLY", secretAccessKey: "test-only" } } }),
            });
            try {
                const res = await viaProxy(p.port, "http://bearer.partner.test/echo");
                assert.equal(res.status, 200, res.body);
                assert.equal(upstream.seen.at(-1)!.headers.authorization, `Bearer ${TOKENS["bearer.partner.test"]}`);
                assert.equal(decodeURIComponent(lambda.calls[0].path.split("/")[3]), `${FUNCTION_ARN}:${aliasName("bearer-co", "bearer.partner.test")}`);
                assert.deepEqual(lambda.invocationTypes, ["RequestResponse"]);
                assert.match(lambda.calls[0].authorization ?? "", /^AWS4-HMAC-SHA256 Credential=AKIDTESTONLY\/\d{8}\/eu-west-1\/lambda\//);
            } finally {
                await p.close();
                await lambda.close();
            }
        });

        it("awsInvoker: AccessDenied → 403 with the fix, FunctionError → 502, no answer in time → 504 (one attempt each)", async () => {
            const credentials = { accessKeyId: "AKIDTESTONLY", secretAccessKey: "test-only" };
            const env: RequestEnvelope = { v: 1, method: "GET", url: "https://api.partner.test/", headers: {} };
            const target = awsConfig().hosts["api.partner.test"];
            const cases = [
                [{ status: 403, errorType: "AccessDeniedException" }, 403, /callers\.aws of api\.partner\.test/],
                [{ payload: { errorMessage: "Task timed out" }, functionError: "Unhandled" }, 502, /Task timed out/],
                ["hang", 504, /did not answer within 300 ms/],
            ] as const;
            for (const [behaviour, status, reason] of cases) {
                const lambda = await startLambda(async () => behaviour);
                try {
                    await assert.rejects(awsInvoker({ timeoutMs: 300, clientConfig: { endpoint: lambda.url, credentials } })("api.partner.test", target, env), (e: { status: number; message: string }) => {
                        assert.equal(e.status, status);
                        assert.match(e.message, reason);
                        return true;
                    });
                    assert.equal(lambda.calls.length, 1, "never retried");
                } finally {
                    await lambda.close();
                }
            }
        });

        it("logs of proxy and broker never contain a token", () => {
            assert.ok(logs.lines.some((l) => l.includes('"proxy":true')));
            assert.deepEqual(leakedSecrets(), []);
        });
    });

    describe("awsInvoker (LambdaClient stubbed)", () => {
        let lambda: AwsClientStub<LambdaClient>;
        before(() => (lambda = mockClient(LambdaClient)));
        after(() => lambda?.restore());
        beforeEach(() => lambda.reset());
        const target = { functionArn: FUNCTION_ARN, alias: "acme-logistics-0123456789" };
        const env: RequestEnvelope = { v: 1, method: "GET", url: "https://api.partner.test/", headers: {} };

        it("invokes <functionArn>:<alias> synchronously with the envelope as payload", async () => {
            const answer = errorEnvelope(407, "token-missing", "not set");
            lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: Buffer.from(JSON.stringify(answer)) as never });
            const out = await awsInvoker()("api.partner.test", target, env);
            assert.deepEqual(out, answer);
            const input = lambda.commandCalls(InvokeCommand)[0].args[0].input;
            assert.equal(input.FunctionName, `${FUNCTION_ARN}:acme-logistics-0123456789`);
            assert.equal(input.InvocationType, "RequestResponse");
            assert.deepEqual(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString()), env);
        });

        it("explains an invoke the caller's role is not allowed to make (403), a function error (502)", async () => {
            lambda.on(InvokeCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));
            await assert.rejects(awsInvoker()("api.partner.test", target, env), (e: { status: number; code: string; message: string }) => e.status === 403 && e.code === "invoke-denied" && /callers\.aws of api\.partner\.test/.test(e.message));
            lambda.reset();
            lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: "Unhandled", Payload: Buffer.from(JSON.stringify({ errorMessage: "boom" })) as never });
            await assert.rejects(awsInvoker()("api.partner.test", target, env), (e: { status: number; message: string }) => e.status === 502 && /boom/.test(e.message));
        });
    });

    describe("→ Cloud Run adapter over loopback HTTP", () => {
        let sm: StandIn;
        let broker: Broker;
        let server: http.Server;
        let proxy: RunningProxy;
        let email = ORDERS_SA;
        const audiences: string[] = [];

        before(async () => {
            sm = await startSecretManager(new Map(ROUTES.routes.map((r) => [r.secret.gcp!, TOKENS[r.host as keyof typeof TOKENS]])));
            const auth = new OAuth2Client();
            auth.setCredentials({ access_token: "test-access-token", expiry_date: Date.now() + 3_600_000 });
            broker = createBroker(testBrokerOptions("gcp", new SecretManagerStore({ endpoint: sm.url, client: auth }), { ca, upstreamPort: upstream.port, log: logs.log }));
            server = await startCloudRunServer(createCloudRunHandler(broker), { port: 0, host: "127.0.0.1" });
            const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
            const config = parseProxyConfig({ stage: "stag", cloud: "gcp", hosts: Object.fromEntries(ROUTES.routes.map((r) => [r.host, { url }])) });
            // This machine's ID token: issued for the service URL (Cloud Run would verify it; here the adapter decodes it).
            const idToken = async (audience: string) => {
                audiences.push(audience);
                return fakeIdToken({ email, aud: audience });
            };
            proxy = await startProxy(config, { port: 0, invoker: gcpInvoker({ idToken }), log: logs.log });
        });
        after(async () => {
            await proxy?.close();
            await new Promise((r) => server?.close(r));
            broker?.close();
            await sm?.close();
        });

        it("reaches the partner with the machine's service account; the audience is the service URL", async () => {
            email = ORDERS_SA;
            const res = await viaProxy(proxy.port, "http://api.partner.test/echo", { headers: { authorization: "Bearer caller-token" } });
            assert.equal(res.status, 200);
            const seen = upstream.seen.at(-1)!;
            assert.equal(seen.headers["x-api-key"], TOKENS["api.partner.test"]);
            assert.equal(seen.headers.authorization, undefined);
            assert.match(audiences.at(-1)!, /^http:\/\/127\.0\.0\.1:\d+$/);
        });

        it("passes the broker's 403 through when the machine's service account is not listed for the host", async () => {
            email = BILLING_SA;
            const res = await viaProxy(proxy.port, "http://api.partner.test/echo");
            assert.equal(res.status, 403);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "caller-not-allowed");
            email = ORDERS_SA;
        });

        it("maps a Cloud Run platform refusal (no envelope) to a clear 403", async () => {
            const refusing = http.createServer((_q, s) => {
                s.writeHead(403, { "content-type": "text/html" });
                s.end("<html>Forbidden</html>");
            });
            await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", r));
            try {
                const url = `http://127.0.0.1:${(refusing.address() as net.AddressInfo).port}`;
                const f = brokerFetch(parseProxyConfig({ stage: "stag", cloud: "gcp", hosts: { "api.partner.test": { url } } }), { invoker: gcpInvoker({ idToken: async () => "t" }), log: logs.log });
                const res = await f("https://api.partner.test/");
                assert.equal(res.status, 403);
                assert.equal(res.headers.get(BROKER_ERROR_HEADER), "invoke-denied");
                assert.match(((await res.json()) as { reason: string }).reason, /callers\.gcp of api\.partner\.test/);
            } finally {
                await new Promise((r) => refusing.close(r));
            }
        });

        it("validates the proxy config", () => {
            assert.throws(() => parseProxyConfig({ stage: "s", cloud: "aws", hosts: { "a.example": { functionArn: "arn:aws:lambda:eu-west-1:111111111111:function:f:alias", alias: "123" } } }), /unqualified[\s\S]*alias/);
            assert.throws(() => parseProxyConfig({ stage: "s", cloud: "gcp", hosts: { "a.example": { url: "http://broker.example" } } }), /https:\/\//);
            assert.throws(() => parseProxyConfig({ stage: "", cloud: "azure", hosts: {} }), /stage[\s\S]*cloud/);
        });

        it("never logs a token", () => {
            assert.deepEqual(leakedSecrets(), []);
        });
    });
});

describe("partner-access-proxy command", () => {
    const run = (args: string[]) => {
        const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
        const path = require("node:path") as typeof import("node:path");
        return spawnSync(process.execPath, [path.join(__dirname, "..", "cli", "partner-access-proxy.js"), ...args], { encoding: "utf8", timeout: 30000 });
    };
    it("--help prints the usage and exits 0; a bad or missing argument exits 2 saying what is wrong", () => {
        const help = run(["--help"]);
        assert.equal(help.status, 0);
        assert.match(help.stdout, /usage: partner-access-proxy --config/);
        const bogus = run(["--bogus"]);
        assert.equal(bogus.status, 2);
        assert.match(bogus.stderr, /--bogus/);
        const missing = run([]);
        assert.equal(missing.status, 2);
        assert.match(missing.stderr, /--config is required/);
    });
});
