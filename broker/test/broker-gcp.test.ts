/** The broker core through the Cloud Run adapter over loopback HTTP; Secret Manager REST replaced by a local stand-in. */
import * as assert from "node:assert/strict";
import * as http from "node:http";
import { OAuth2Client } from "google-auth-library";
import { createCloudRunHandler, ENVELOPE_HEADER, FORWARD_PATH, startCloudRunServer, verifiedEmail } from "../src/cloud-run";
import { Broker, BrokerOptions, createBroker } from "../src/core";
import { BROKER_ERROR_HEADER, RequestEnvelope, ResponseEnvelope } from "../src/envelope";
import { CLOUD_RUN_HTTP1_LIMIT_BYTES, CLOUD_RUN_LIMITS, SECRET_READ_ATTEMPT_TIMEOUT_MS, SECRET_READ_ATTEMPTS } from "../src/limits";
import { TOKEN_MARKER } from "../src/redact";
import { AuthorizedRequester, SecretManagerStore } from "../src/secrets-gcp";
import { BILLING_SA, decode, fakeIdToken, leakedSecrets, LogCapture, ORDERS_SA, req, ROUTES, TOKENS, testBrokerOptions } from "./support/fixtures";
import { SecretState, StandIn, startSecretManager } from "./support/standins";
import { testPki } from "./support/tls";
import { startUpstream, Upstream } from "./support/upstream";

const secretOf = (host: string) => ROUTES.routes.find((r) => r.host === host)!.secret.gcp!;

describe("broker on GCP (Cloud Run adapter, Secret Manager stand-in)", () => {
    const logs = new LogCapture();
    const secrets = new Map<string, SecretState>();
    let sm: StandIn;
    let upstream: Upstream;
    let ca: string;
    let broker: Broker;
    let server: http.Server;
    let base: string;
    let maxRequestBytes = CLOUD_RUN_LIMITS.maxRequestBytes;

    // google-auth-library's own client, with a fixed access token: proves the REST call carries it.
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: "test-access-token", expiry_date: Date.now() + 3_600_000 });

    function make(extra: Partial<BrokerOptions> = {}): void {
        broker?.close();
        broker = createBroker({ ...testBrokerOptions("gcp", new SecretManagerStore({ endpoint: sm.url, client: auth }), { ca, upstreamPort: upstream.port, log: logs.log }), ...extra });
    }

    before(async () => {
        ca = (await testPki()).ca;
        upstream = await startUpstream();
        sm = await startSecretManager(secrets);
        // The handler reads `broker` per request, so tests can swap it.
        server = await startCloudRunServer((rq, rs) => createCloudRunHandler(broker, { maxRequestBytes })(rq, rs), { port: 0, host: "127.0.0.1" });
        base = `http://127.0.0.1:${(server.address() as import("node:net").AddressInfo).port}`;
    });
    after(async () => {
        broker?.close();
        await new Promise((r) => server?.close(r));
        await sm?.close();
        await upstream?.close();
    });
    beforeEach(() => {
        secrets.clear();
        for (const r of ROUTES.routes) secrets.set(r.secret.gcp!, TOKENS[r.host as keyof typeof TOKENS]);
        sm.calls.length = 0;
        upstream.seen.length = 0;
        maxRequestBytes = CLOUD_RUN_LIMITS.maxRequestBytes;
        make();
    });

    async function post(env: unknown, headers: Record<string, string> = { authorization: `Bearer ${fakeIdToken({ email: ORDERS_SA })}` }, path = FORWARD_PATH): Promise<{ http: number; envelope?: ResponseEnvelope; text: string }> {
        const res = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof env === "string" ? env : JSON.stringify(env) });
        const text = await res.text();
        return { http: res.status, envelope: res.headers.get(ENVELOPE_HEADER) === "1" ? JSON.parse(text) : undefined, text };
    }

    const asEmail = (email: string) => ({ authorization: `Bearer ${fakeIdToken({ email, email_verified: true })}` });

    it("serves a listed email: token injected from Secret Manager, caller credentials dropped", async () => {
        const { http: status, envelope } = await post(req("https://api.partner.test/echo", { headers: { authorization: "Bearer caller", "x-api-key": "caller" } }));
        assert.equal(status, 200);
        assert.equal(envelope!.status, 200);
        const seen = upstream.seen.at(-1)!;
        assert.equal(seen.headers["x-api-key"], TOKENS["api.partner.test"]);
        assert.equal(JSON.parse(decode(envelope!.body)).headers["x-api-key"], TOKEN_MARKER, "the caller never gets the token back");
        assert.equal(seen.headers.authorization, undefined);
        assert.deepEqual(
            sm.calls.map((c) => [c.method, c.path, c.authorization]),
            [["GET", `/v1/${secretOf("api.partner.test")}/versions/latest:access`, "Bearer test-access-token"]],
        );
    });

    it("email ↔ host binding: an email serves only the hosts that list it", async () => {
        const denied = await post(req("https://api.partner.test/echo"), asEmail(BILLING_SA));
        assert.equal(denied.envelope!.status, 403);
        assert.equal(denied.envelope!.headers[BROKER_ERROR_HEADER], "caller-not-allowed");
        assert.match(JSON.parse(decode(denied.envelope!.body)).reason, /billing@proj\.iam\.gserviceaccount\.com is not a listed caller of api\.partner\.test/);
        const allowed = await post(req("https://bearer.partner.test/echo"), asEmail(BILLING_SA));
        assert.equal(allowed.envelope!.status, 200);
        assert.equal(upstream.seen.at(-1)!.headers.authorization, `Bearer ${TOKENS["bearer.partner.test"]}`);
        assert.equal((await post(req("https://bearer.partner.test/echo"), asEmail(ORDERS_SA))).envelope!.status, 403);
        assert.equal(upstream.seen.length, 1);
        assert.equal(sm.calls.length, 1, "no secret is read for a refused caller");
    });

    it("refuses a request without a verified identity, and reads X-Serverless-Authorization before Authorization", async () => {
        assert.equal((await post(req("https://api.partner.test/echo"), {})).envelope!.status, 403);
        // Cloud Run verifies X-Serverless-Authorization when present and passes Authorization through unchecked.
        const mixed = await post(req("https://api.partner.test/echo"), {
            "x-serverless-authorization": `Bearer ${fakeIdToken({ email: BILLING_SA })}`,
            authorization: `Bearer ${fakeIdToken({ email: ORDERS_SA })}`,
        });
        assert.equal(mixed.envelope!.status, 403);
        assert.equal(verifiedEmail({ authorization: `Bearer ${fakeIdToken({ email: ORDERS_SA, email_verified: false })}` }), undefined);
        assert.equal(verifiedEmail({ authorization: "Bearer not-a-jwt" }), undefined);
        assert.equal(upstream.seen.length, 0);
    });

    it("answers 407 with the operator's one command when the secret has no enabled version", async () => {
        for (const state of ["no-version", "disabled"] as const) {
            secrets.set(secretOf("api.partner.test"), { state });
            const { envelope } = await post(req("https://api.partner.test/echo"));
            assert.equal(envelope!.status, 407, state);
            assert.equal(envelope!.headers[BROKER_ERROR_HEADER], "token-missing");
            const reason = JSON.parse(decode(envelope!.body)).reason as string;
            assert.ok(reason.includes(`printf %s "$TOKEN" | gcloud secrets versions add ${secretOf("api.partner.test")} --data-file=-`), reason);
        }
        secrets.set(secretOf("api.partner.test"), "");
        assert.equal((await post(req("https://api.partner.test/echo"))).envelope!.status, 407, "empty payload");
        secrets.set(secretOf("api.partner.test"), { state: "denied" });
        const denied = await post(req("https://api.partner.test/echo"));
        assert.equal(denied.envelope!.status, 500);
        assert.equal(denied.envelope!.headers[BROKER_ERROR_HEADER], "secret-store-error");
        assert.equal(upstream.seen.length, 0);
    });

    it("caches a secret for the TTL per host, then reads it again", async () => {
        let now = 5_000_000;
        make({ now: () => now });
        await post(req("https://api.partner.test/echo"));
        await post(req("https://api.partner.test/echo"));
        assert.equal(sm.calls.length, 1);
        now += 60_001;
        await post(req("https://api.partner.test/echo"));
        assert.equal(sm.calls.length, 2);
    });

    it("keeps the Cloud Run limit in one constant (32 MiB) and answers 413 for a larger request body", async () => {
        assert.equal(CLOUD_RUN_HTTP1_LIMIT_BYTES, 32 * 1024 * 1024);
        maxRequestBytes = 2048;
        const { http: status, envelope } = await post(req("https://api.partner.test/echo", { method: "POST", body: Buffer.alloc(3000).toString("base64") }));
        assert.equal(status, 200);
        assert.equal(envelope!.status, 413);
        assert.equal(envelope!.headers[BROKER_ERROR_HEADER], "request-too-large");
        assert.equal(upstream.seen.length, 0);
        const line = logs.parsed().at(-1)!;
        assert.equal(line.status, 413, "the adapter's own refusal is logged too");
        assert.equal(line.email, ORDERS_SA);
    });

    it("answers 413 for a response over the limit and 504 on timeout", async () => {
        make({ limits: { maxRequestBytes: CLOUD_RUN_LIMITS.maxRequestBytes, maxResponseBytes: 8192 }, timeoutMs: 250 });
        assert.equal((await post(req("https://api.partner.test/big?n=9000"))).envelope!.status, 413);
        assert.equal((await post(req("https://slow.partner.test/slow"))).envelope!.status, 504);
    });

    it("bounds the Secret Manager read (attempts, per-attempt timeout, total) and answers 504 secret-timeout when it runs out", async () => {
        let asked: Parameters<AuthorizedRequester["request"]>[0] | undefined;
        await new SecretManagerStore({ client: { request: async <T>(o: typeof asked) => ((asked = o), { data: {} as T }) } }).get(secretOf("api.partner.test"));
        assert.equal(asked!.timeout, SECRET_READ_ATTEMPT_TIMEOUT_MS);
        assert.deepEqual(asked!.retryConfig, { retry: SECRET_READ_ATTEMPTS - 1, noResponseRetries: SECRET_READ_ATTEMPTS - 1 });
        assert.ok(asked!.signal instanceof AbortSignal);

        secrets.set(secretOf("api.partner.test"), { state: "hang" });
        make({ secrets: new SecretManagerStore({ endpoint: sm.url, client: auth, timeoutMs: 150 }), timeoutMs: 5000 });
        const started = Date.now();
        const { envelope } = await post(req("https://api.partner.test/echo"));
        assert.equal(envelope!.status, 504);
        assert.equal(envelope!.headers[BROKER_ERROR_HEADER], "secret-timeout");
        assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
        assert.equal(upstream.seen.length, 0);
    });

    it("serves only POST /v1/forward and answers bad JSON with a 400 envelope", async () => {
        assert.equal((await post(req("https://api.partner.test/echo"), undefined, "/other")).http, 404);
        assert.equal((await fetch(base + FORWARD_PATH)).status, 405);
        const bad = await post("{not json");
        assert.equal(bad.envelope!.status, 400);
        assert.equal(bad.envelope!.headers[BROKER_ERROR_HEADER], "bad-envelope");
    });

    it("accepts a body the Functions Framework already read (rawBody)", async () => {
        const env: RequestEnvelope = req("https://api.partner.test/echo");
        const handler = createCloudRunHandler(broker);
        const fakeReq = Object.assign(new (require("node:stream").Readable)({ read() {} }), {
            url: FORWARD_PATH,
            method: "POST",
            headers: { authorization: `Bearer ${fakeIdToken({ email: ORDERS_SA })}` },
            rawBody: Buffer.from(JSON.stringify(env)),
        });
        const out = await new Promise<{ status: number; body: string }>((resolve) => {
            const res = {
                headersSent: false,
                status: 0,
                writeHead(s: number) {
                    this.status = s;
                    return this;
                },
                end(b: Buffer) {
                    resolve({ status: this.status, body: b.toString("utf8") });
                },
            };
            handler(fakeReq as never, res as never);
        });
        assert.equal(out.status, 200);
        assert.equal(JSON.parse(out.body).status, 200);
    });

    it("logs the verified email and never a token", async () => {
        const from = logs.lines.length;
        await post(req("https://query.partner.test/echo?z=1"));
        const line = logs.parsed()[from];
        assert.equal(line.email, ORDERS_SA);
        assert.equal(line.caller, ORDERS_SA);
        assert.equal(line.callerVerified, true);
        assert.equal(line.path, "/echo");
        assert.deepEqual(leakedSecrets(), []);
    });
});
