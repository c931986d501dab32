/** The broker core through the Lambda adapter, against a local HTTPS partner; Secrets Manager stubbed with aws-sdk-client-mock. */
import * as assert from "node:assert/strict";
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { Broker, BrokerOptions, createBroker } from "../src/core";
import { BROKER_ERROR_HEADER, CALLER_CLAIM_HEADER, RequestEnvelope, ResponseEnvelope } from "../src/envelope";
import { createLambdaHandler } from "../src/lambda";
import { LAMBDA_LIMITS, LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES, SECRET_READ_ATTEMPTS } from "../src/limits";
import { TOKEN_MARKER } from "../src/redact";
import { aliasName } from "../src/routes";
import { SecretsManagerSecretStore } from "../src/secrets-aws";
import { TOKEN_PLACEHOLDER } from "../src/secrets";
import { decode, FUNCTION_ARN, leakedSecrets, LogCapture, loopbackResolver, req, ROUTES, SECRET_VALUES, TOKENS, testBrokerOptions } from "./support/fixtures";
import { HANG, startSecretsManager } from "./support/standins";
import { testPki } from "./support/tls";
import { startUpstream, Upstream } from "./support/upstream";

const routeOf = (host: string) => ROUTES.routes.find((r) => r.host === host)!;
const aliasOf = (host: string) => aliasName(routeOf(host).partner, host);

describe("broker on AWS (Lambda adapter, Secrets Manager stubbed)", () => {
    let sm: AwsClientStub<SecretsManagerClient>;
    const logs = new LogCapture();
    let upstream: Upstream;
    let ca: string;
    let broker: Broker;

    before(async () => {
        sm = mockClient(SecretsManagerClient);
        ca = (await testPki()).ca;
        upstream = await startUpstream();
    });
    after(async () => {
        sm?.restore();
        await upstream?.close();
    });

    function setTokens(): void {
        sm.reset();
        for (const r of ROUTES.routes) {
            sm.on(GetSecretValueCommand, { SecretId: r.secret.aws }).resolves({ Name: r.secret.aws, SecretString: TOKENS[r.host as keyof typeof TOKENS], VersionStages: ["AWSCURRENT"] });
        }
    }

    function make(extra: Partial<BrokerOptions> = {}): Broker {
        broker?.close();
        broker = createBroker({ ...testBrokerOptions("aws", new SecretsManagerSecretStore(new SecretsManagerClient({ region: "eu-west-1" })), { ca, upstreamPort: upstream.port, log: logs.log }), ...extra });
        return broker;
    }

    beforeEach(() => {
        setTokens();
        upstream.seen.length = 0;
        make();
    });
    afterEach(() => broker.close());

    /** Invokes the Lambda handler as Lambda would through `alias` (default: the alias of the URL's host). */
    async function invoke(env: RequestEnvelope, alias?: string | null): Promise<ResponseEnvelope> {
        const host = new URL(env.url).hostname;
        const qualifier = alias === null ? "" : `:${alias ?? aliasOf(host)}`;
        const out = await createLambdaHandler(broker)(JSON.parse(JSON.stringify(env)), { invokedFunctionArn: `${FUNCTION_ARN}${qualifier}` });
        return JSON.parse(JSON.stringify(out)); // what Lambda would serialize
    }

    const echo = (res: ResponseEnvelope) => JSON.parse(decode(res.body)) as { method: string; path: string; headers: Record<string, string>; body: string; servername?: string };
    /** What the partner received (the caller's copy of an echo has the token replaced). */
    const partnerGot = () => upstream.seen.at(-1)!;

    describe("token injection and header hygiene", () => {
        it("injects the host's header token and drops every caller-supplied credential", async () => {
            const res = await invoke(
                req("https://api.partner.test/echo?x=1", {
                    headers: { authorization: "Basic Y2FsbGVyOnB3", "X-Api-Key": "caller-key", cookie: "sid=1", "proxy-authorization": "Basic eA==", "x-trace": "t-1" },
                }),
            );
            assert.equal(res.status, 200);
            assert.equal(res.headers["x-upstream"], "partner");
            const seen = partnerGot();
            assert.equal(seen.headers["x-api-key"], TOKENS["api.partner.test"]);
            assert.equal(echo(res).headers["x-api-key"], TOKEN_MARKER, "the caller's copy of the echo has the marker");
            assert.equal(seen.headers.authorization, undefined);
            assert.equal(seen.headers.cookie, undefined);
            assert.equal(seen.headers["proxy-authorization"], undefined);
            assert.equal(seen.headers["x-trace"], "t-1");
            assert.equal(seen.headers.host, "api.partner.test");
            assert.equal(seen.path, "/echo?x=1");
            assert.equal(upstream.seen[0].servername, "api.partner.test", "SNI is the host name, though the broker connected to the checked address");
        });

        it("drops every caller header that may carry a credential, and keeps ordinary ones", async () => {
            const caller = {
                "x-auth-token": "caller-cred",
                "x-amz-security-token": "IQoJb3JpZ2luX2Vj",
                "x-goog-iam-authorization-token": "ya29.caller",
                "api-key": "k",
                "x-client-secret": "s",
                "x-session-id": "sess",
                "content-type": "application/json",
                accept: "application/json",
                "user-agent": "orders-sync/1.0",
                "idempotency-key": "ik-1",
                "x-request-id": "rid-1",
            };
            await invoke(req("https://api.partner.test/echo", { method: "POST", headers: caller, body: Buffer.from("{}").toString("base64") }));
            const seen = partnerGot().headers;
            for (const name of ["x-auth-token", "x-amz-security-token", "x-goog-iam-authorization-token", "api-key", "x-client-secret", "x-session-id"]) assert.equal(seen[name], undefined, name);
            for (const name of ["content-type", "accept", "user-agent", "idempotency-key", "x-request-id"] as const) assert.equal(seen[name], caller[name], name);
            assert.equal(seen["x-api-key"], TOKENS["api.partner.test"]);
        });

        it("injects a Bearer token, replacing the caller's Authorization", async () => {
            const res = await invoke(req("https://bearer.partner.test/echo", { headers: { Authorization: "Bearer caller-token", "x-api-key": "caller-key" } }));
            assert.equal(res.status, 200);
            const seen = partnerGot();
            assert.equal(seen.headers.authorization, `Bearer ${TOKENS["bearer.partner.test"]}`);
            assert.equal(seen.headers["x-api-key"], undefined);
            assert.equal(echo(res).headers.authorization, `Bearer ${TOKEN_MARKER}`);
        });

        it("injects a query-parameter token, replacing any caller value and keeping the other parameters as sent", async () => {
            const res = await invoke(req("https://query.partner.test/echo?a=1&api_key=caller&b=x%20y&api%5Fkey=again", { headers: { authorization: "Bearer x" } }));
            assert.equal(res.status, 200);
            const seen = partnerGot();
            assert.equal(seen.path, `/echo?a=1&b=x%20y&api_key=${TOKENS["query.partner.test"]}`);
            assert.equal(echo(res).path, `/echo?a=1&b=x%20y&api_key=${TOKEN_MARKER}`);
            assert.equal(seen.headers.authorization, undefined);
            const line = logs.parsed().at(-1)!;
            assert.equal(line.path, "/echo", "the log has no query string");
        });

        it("forwards a POST body and recomputes Content-Length", async () => {
            const body = JSON.stringify({ order: 42 });
            const res = await invoke(req("https://api.partner.test/echo", { method: "POST", headers: { "content-type": "application/json", "content-length": "999" }, body: Buffer.from(body).toString("base64") }));
            const seen = echo(res);
            assert.equal(seen.method, "POST");
            assert.equal(seen.body, body);
            assert.equal(seen.headers["content-length"], String(Buffer.byteLength(body)));
        });

        it("strips hop-by-hop request headers, those Connection lists, and Host", async () => {
            const res = await invoke(
                req("https://api.partner.test/echo", {
                    headers: {
                        connection: "keep-alive, x-hop",
                        "x-hop": "1",
                        "keep-alive": "timeout=5",
                        te: "trailers",
                        trailer: "x-t",
                        upgrade: "websocket",
                        "transfer-encoding": "chunked",
                        "proxy-connection": "keep-alive",
                        host: "evil.example",
                        "x-end-to-end": "kept",
                    },
                }),
            );
            const h = echo(res).headers;
            for (const name of ["x-hop", "keep-alive", "te", "trailer", "upgrade", "transfer-encoding", "proxy-connection"]) assert.equal(h[name], undefined, name);
            assert.ok(!String(h.connection ?? "").includes("x-hop"));
            assert.equal(h.host, "api.partner.test");
            assert.equal(h["x-end-to-end"], "kept");
        });

        it("strips hop-by-hop, Set-Cookie and spoofed broker headers from the partner's response", async () => {
            const res = await invoke(req("https://api.partner.test/hop"));
            assert.equal(res.status, 200);
            for (const name of ["connection", "x-hop-secret", "keep-alive", "proxy-authenticate", "set-cookie", BROKER_ERROR_HEADER]) assert.equal(res.headers[name], undefined, name);
            assert.equal(res.headers["x-kept"], "yes");
            assert.equal(decode(res.body), "ok");
        });
    });

    describe("the token never comes back to the caller", () => {
        /** A token whose URL encodings differ from it (space, +, /, ~, !, quotes, parentheses, =, &). */
        const ODD = "t0k/odd key+plus~!*'()=&;x";
        before(() => SECRET_VALUES.push(ODD));
        const useToken = (host: string, value: string) => sm.on(GetSecretValueCommand, { SecretId: routeOf(host).secret.aws }).resolves({ SecretString: value });
        const leaks = (res: ResponseEnvelope, token: string) => {
            const forms = [token, encodeURIComponent(token), new URLSearchParams({ k: token }).toString().slice(2), encodeURIComponent(token).toLowerCase()];
            const text = [...Object.entries(res.headers).flat(), decode(res.body)].join("\n");
            return forms.filter((f) => text.includes(f));
        };

        it("replaces a query token in a redirect's Location and other headers (a framework appending a slash)", async () => {
            const res = await invoke(req("https://query.partner.test/moved?x=1"));
            assert.equal(res.status, 301);
            assert.equal(upstream.seen[0].path, `/moved?x=1&api_key=${TOKENS["query.partner.test"]}`, "the partner got the token");
            assert.equal(res.headers.location, `/moved/?x=1&api_key=${TOKEN_MARKER}`);
            assert.equal(res.headers["x-request-url"], `/moved?x=1&api_key=${TOKEN_MARKER}`);
            assert.deepEqual(leaks(res, TOKENS["query.partner.test"]), []);
        });

        it("replaces the token in every raw and URL-encoded form, in headers and body, and recomputes Content-Length", async () => {
            for (const host of ["query.partner.test", "api.partner.test", "bearer.partner.test"]) {
                make();
                useToken(host, ODD);
                const res = await invoke(req(`https://${host}/mirror`));
                assert.equal(res.status, 200, host);
                assert.deepEqual(leaks(res, ODD), [], host);
                const body = decode(res.body);
                assert.ok(body.startsWith(`raw ${host.startsWith("bearer") ? "Bearer " : ""}${TOKEN_MARKER}\nuri `), body);
                assert.equal(res.headers["x-uri"], host.startsWith("bearer") ? `Bearer${encodeURIComponent(" ")}${TOKEN_MARKER}` : TOKEN_MARKER);
                assert.equal(res.headers["content-length"], String(Buffer.from(res.body!, "base64").length));
            }
        });

        for (const enc of ["gzip", "br", "deflate", "deflate-raw"]) {
            it(`asks for identity, and decodes a ${enc} body the partner sent anyway before scrubbing it`, async () => {
                const res = await invoke(req(`https://api.partner.test/encoded?enc=${enc}`, { headers: { "accept-encoding": "gzip, br" } }));
                assert.equal(res.status, 200);
                assert.equal(upstream.seen[0].headers["accept-encoding"], "identity");
                assert.equal(res.headers["content-encoding"], undefined);
                const body = Buffer.from(res.body!, "base64");
                assert.equal(res.headers["content-length"], String(body.length));
                assert.equal(JSON.parse(body.toString("utf8")).headers["x-api-key"], TOKEN_MARKER);
                assert.deepEqual(leaks(res, TOKENS["api.partner.test"]), []);
            });
        }

        it("answers 502 for a Content-Encoding it cannot decode, rather than pass on a body it cannot inspect", async () => {
            const res = await invoke(req("https://api.partner.test/encoded?enc=compress"));
            assert.equal(res.status, 502);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "upstream-encoding-unsupported");
            assert.match(JSON.parse(decode(res.body)).reason, /Content-Encoding compress/);
        });

        it("answers 413 when a small encoded body decodes to more than the platform returns", async () => {
            make({ limits: { maxRequestBytes: 4096, maxResponseBytes: 4096 } });
            const res = await invoke(req("https://api.partner.test/encoded?enc=gzip&n=100000"));
            assert.equal(res.status, 413);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "response-too-large");
        });
    });

    describe("no open proxy", () => {
        it("refuses a host that is not in the routes table, without connecting", async () => {
            const res = await invoke(req("https://unlisted.example/echo"), aliasOf("api.partner.test"));
            assert.equal(res.status, 403);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "host-not-routed");
            assert.match(JSON.parse(decode(res.body)).reason, /not an open proxy/);
            assert.equal(upstream.seen.length, 0);
        });

        for (const [url, code] of [
            ["http://api.partner.test/echo", "scheme-not-allowed"],
            ["ftp://api.partner.test/echo", "scheme-not-allowed"],
            ["https://api.partner.test:8443/echo", "port-not-allowed"],
            ["https://user:pw@api.partner.test/echo", "userinfo-not-allowed"],
        ] as const) {
            it(`refuses ${url} (${code})`, async () => {
                const res = await invoke(req(url), aliasOf("api.partner.test"));
                assert.equal(res.status, 403);
                assert.equal(res.headers[BROKER_ERROR_HEADER], code);
                assert.equal(upstream.seen.length, 0);
            });
        }

        it("accepts an explicit :443", async () => {
            assert.equal((await invoke(req("https://api.partner.test:443/echo"))).status, 200);
        });

        it("refuses malformed envelopes with 400", async () => {
            for (const bad of [null, { v: 2, method: "GET", url: "https://api.partner.test/", headers: {} }, { v: 1, method: "CONNECT", url: "https://api.partner.test/", headers: {} }, { v: 1, method: "GET", url: "https://api.partner.test/", headers: { "x-a": "1\r\nx-b: 2" } }, { v: 1, method: "GET", url: "https://api.partner.test/", headers: {}, body: "***" }]) {
                const res = await createLambdaHandler(broker)(bad, { invokedFunctionArn: `${FUNCTION_ARN}:${aliasOf("api.partner.test")}` });
                assert.equal(res.status, 400, JSON.stringify(bad));
                assert.equal(res.headers[BROKER_ERROR_HEADER], "bad-envelope");
            }
        });
    });

    describe("SSRF guard (default guard, no test exception)", () => {
        async function refused(host: string, resolve: BrokerOptions["resolve"], url = `https://${host}/echo`): Promise<string> {
            make({ addressAllowed: undefined, resolve });
            const res = await invoke(req(url), aliasOf(host));
            assert.equal(res.status, 403, decode(res.body));
            assert.equal(res.headers[BROKER_ERROR_HEADER], "address-not-allowed");
            assert.equal(upstream.seen.length, 0);
            assert.equal(sm.commandCalls(GetSecretValueCommand).length, 0, "no secret is read for a refused address");
            return JSON.parse(decode(res.body)).reason;
        }

        it("refuses a listed host name that resolves to 127.0.0.1", async () => {
            assert.match(await refused("internal.partner.test", loopbackResolver), /127\.0\.0\.1 \(loopback\)/);
        });

        it("refuses a listed host name that the system resolver maps to loopback (localhost)", async () => {
            assert.match(await refused("localhost", undefined), /loopback/);
        });

        it("refuses IPv6 loopback, metadata and unique-local answers", async () => {
            for (const address of ["::1", "fd00:ec2::254", "fd12:3456::1", "::ffff:127.0.0.1"]) {
                await refused("internal.partner.test", async () => [{ address, family: 6 }]);
            }
        });

        it("refuses when any one of several answers is internal (169.254.169.254 among public ones)", async () => {
            const reason = await refused("internal.partner.test", async () => [
                { address: "93.184.216.34", family: 4 },
                { address: "169.254.169.254", family: 4 },
            ]);
            assert.match(reason, /169\.254\.169\.254 \(metadata\)/);
        });

        it("refuses an IPv6 literal URL (not routed) and a private IPv4 literal", async () => {
            make({ addressAllowed: undefined });
            for (const url of ["https://[::1]/echo", "https://[fd00:ec2::254]/latest/meta-data/", "https://10.0.0.5/", "https://169.254.169.254/latest/meta-data/"]) {
                const res = await invoke(req(url), aliasOf("api.partner.test"));
                assert.equal(res.status, 403, url);
                assert.equal(res.headers[BROKER_ERROR_HEADER], "host-not-routed");
            }
            assert.equal(upstream.seen.length, 0);
        });

        describe("a host with several addresses (all checked first)", () => {
            // Nothing listens on 127.0.0.2 and .3 (the test partner is on 127.0.0.1): connecting is refused.
            const several = (...addresses: string[]) => make({ resolve: async () => addresses.map((address) => ({ address, family: 4 as const })), addressAllowed: (a) => /^127\.0\.0\.[123]$/.test(a) });

            it("tries the next address when one refuses the connection", async () => {
                several("127.0.0.2", "127.0.0.3", "127.0.0.1");
                const res = await invoke(req("https://api.partner.test/echo"));
                assert.equal(res.status, 200, decode(res.body));
                assert.equal(upstream.seen.length, 1);
            });

            it("answers 502 naming each address when none accepts", async () => {
                several("127.0.0.2", "127.0.0.3");
                const res = await invoke(req("https://api.partner.test/echo"));
                assert.equal(res.status, 502);
                assert.equal(res.headers[BROKER_ERROR_HEADER], "upstream-error");
                assert.match(JSON.parse(decode(res.body)).reason, /127\.0\.0\.2: ECONNREFUSED, 127\.0\.0\.3: ECONNREFUSED/);
            });

            it("never tries another address once the request went out (a POST is not sent twice)", async () => {
                several("127.0.0.1", "127.0.0.1");
                const res = await invoke(req("https://api.partner.test/reset", { method: "POST", body: Buffer.from("order").toString("base64") }));
                assert.equal(res.status, 502);
                assert.equal(res.headers[BROKER_ERROR_HEADER], "upstream-error");
                assert.equal(upstream.seen.length, 1);
            });
        });

        it("answers 502 when the host does not resolve", async () => {
            make({ resolve: async () => Promise.reject(Object.assign(new Error("nx"), { code: "ENOTFOUND" })) });
            const res = await invoke(req("https://api.partner.test/echo"));
            assert.equal(res.status, 502);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "dns-failed");
        });
    });

    it("verifies the partner's certificate against the host name (the test CA did not certify internal.partner.test)", async () => {
        const res = await invoke(req("https://internal.partner.test/echo"));
        assert.equal(res.status, 502);
        assert.equal(res.headers[BROKER_ERROR_HEADER], "upstream-error");
        assert.match(JSON.parse(decode(res.body)).reason, /ERR_TLS_CERT_ALTNAME_INVALID/);
    });

    it("returns a redirect as is and never follows it", async () => {
        const res = await invoke(req("https://api.partner.test/redirect"));
        assert.equal(res.status, 302);
        assert.equal(res.headers.location, "https://evil.partner.test/stolen");
        assert.equal(upstream.seen.length, 1, "only the original request reached any server");
    });

    describe("missing token → 407", () => {
        const host = "api.partner.test";
        const name = () => routeOf(host).secret.aws!;

        it("answers 407 with the operator's one command when the secret does not exist", async () => {
            sm.on(GetSecretValueCommand, { SecretId: name() }).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
            const res = await invoke(req(`https://${host}/echo`));
            assert.equal(res.status, 407);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "token-missing");
            const reason = JSON.parse(decode(res.body)).reason as string;
            assert.ok(reason.includes(`printf %s "$TOKEN" | aws secretsmanager put-secret-value --secret-id ${name()} --secret-string file:///dev/stdin`), reason);
            assert.equal(upstream.seen.length, 0);
        });

        it("answers 407 while the secret exists without a value (no AWSCURRENT version: nobody ran put-secret-value yet)", async () => {
            const noVersion = "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT";
            sm.on(GetSecretValueCommand, { SecretId: name() }).rejects(new ResourceNotFoundException({ message: noVersion, $metadata: {} }));
            const res = await invoke(req(`https://${host}/echo`));
            assert.equal(res.status, 407);
            assert.match(JSON.parse(decode(res.body)).reason, /put-secret-value/);
            assert.equal(upstream.seen.length, 0);
        });

        it("reads a token stored as SecretBinary too", async () => {
            sm.on(GetSecretValueCommand, { SecretId: name() }).resolves({ SecretBinary: new TextEncoder().encode(TOKENS[host]) });
            const res = await invoke(req(`https://${host}/echo`));
            assert.equal(res.status, 200);
            assert.equal(partnerGot().headers["x-api-key"], TOKENS[host]);
        });

        it("treats an empty value and the placeholder as not set", async () => {
            for (const value of ["  \n", TOKEN_PLACEHOLDER]) {
                make();
                sm.on(GetSecretValueCommand, { SecretId: name() }).resolves({ SecretString: value });
                assert.equal((await invoke(req(`https://${host}/echo`))).status, 407);
            }
        });

        it("does not cache a missing token: a token set by an operator is used on the next request", async () => {
            sm.on(GetSecretValueCommand, { SecretId: name() }).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
            assert.equal((await invoke(req(`https://${host}/echo`))).status, 407);
            sm.on(GetSecretValueCommand, { SecretId: name() }).resolves({ SecretString: TOKENS[host] });
            assert.equal((await invoke(req(`https://${host}/echo`))).status, 200);
        });

        it("answers 500 (not 407) when the store refuses access", async () => {
            sm.on(GetSecretValueCommand, { SecretId: name() }).rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
            const res = await invoke(req(`https://${host}/echo`));
            assert.equal(res.status, 500);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "secret-store-error");
            assert.match(JSON.parse(decode(res.body)).reason, /AccessDeniedException/);
        });
    });

    describe("limits", () => {
        it("keeps the Lambda limit in one constant (6 MiB, both directions)", () => {
            assert.equal(LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES, 6 * 1024 * 1024);
            assert.deepEqual(LAMBDA_LIMITS, { maxRequestBytes: LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES, maxResponseBytes: LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES });
        });

        it("answers 413 for a request envelope over the limit, without connecting", async () => {
            make({ limits: { maxRequestBytes: 4096, maxResponseBytes: 4096 } });
            const res = await invoke(req("https://api.partner.test/echo", { method: "POST", body: Buffer.alloc(4000).toString("base64") }));
            assert.equal(res.status, 413);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "request-too-large");
            assert.equal(upstream.seen.length, 0);
        });

        it("answers 413 when the partner's response would not fit the response envelope", async () => {
            make({ limits: { maxRequestBytes: 4096, maxResponseBytes: 4096 } });
            const res = await invoke(req("https://api.partner.test/big?n=20000"));
            assert.equal(res.status, 413);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "response-too-large");
            const fits = await invoke(req("https://api.partner.test/big?n=1000"));
            assert.equal(fits.status, 200);
            assert.equal(Buffer.from(fits.body!, "base64").length, 1000);
        });

        it("answers 504 when the partner does not answer in time", async () => {
            make({ timeoutMs: 300 });
            const started = Date.now();
            const res = await invoke(req("https://slow.partner.test/slow"));
            assert.equal(res.status, 504);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "upstream-timeout");
            assert.ok(Date.now() - started < 3000);
        });
    });

    describe("one deadline for the whole request", () => {
        const never = () => new Promise<never>(() => undefined);
        const after = <T>(ms: number, v: T) => new Promise<T>((r) => setTimeout(() => r(v), ms));

        it("answers 504 dns-timeout when resolving the host overruns, reading no secret and connecting nowhere", async () => {
            make({ timeoutMs: 300, resolve: never });
            const started = Date.now();
            const res = await invoke(req("https://api.partner.test/echo"));
            assert.equal(res.status, 504);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "dns-timeout");
            assert.ok(Date.now() - started < 1500, `${Date.now() - started} ms`);
            assert.equal(sm.commandCalls(GetSecretValueCommand).length, 0);
            assert.equal(upstream.seen.length, 0);
        });

        it("answers 504 secret-timeout when reading the token overruns, connecting nowhere", async () => {
            make({ timeoutMs: 300 });
            sm.on(GetSecretValueCommand, { SecretId: routeOf("api.partner.test").secret.aws }).callsFake(never);
            const started = Date.now();
            const res = await invoke(req("https://api.partner.test/echo"));
            assert.equal(res.status, 504);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "secret-timeout");
            assert.ok(Date.now() - started < 1500, `${Date.now() - started} ms`);
            assert.equal(upstream.seen.length, 0);
        });

        it("gives the partner only what DNS and the secret read left of the deadline", async () => {
            make({ timeoutMs: 600, resolve: (h) => after(200, null).then(() => loopbackResolver(h)) });
            sm.on(GetSecretValueCommand, { SecretId: routeOf("slow.partner.test").secret.aws }).callsFake(() => after(200, { SecretString: TOKENS["slow.partner.test"] }));
            const started = Date.now();
            const res = await invoke(req("https://slow.partner.test/slow"));
            assert.equal(res.status, 504);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "upstream-timeout");
            const took = Date.now() - started;
            assert.ok(took >= 550 && took < 900, `${took} ms for a 600 ms deadline`);
        });

        it("the Secrets Manager client gives up on its own within its bounds (504 secret-timeout, not 500)", async () => {
            const stuck = await startSecretsManager(new Map([[routeOf("api.partner.test").secret.aws!, HANG]]));
            try {
                const store = new SecretsManagerSecretStore({
                    region: "eu-west-1",
                    endpoint: stuck.url,
                    credentials: { accessKeyId: "AKIDTESTONLY", secretAccessKey: "test-only" },
                    requestHandler: { requestTimeout: 150, throwOnRequestTimeout: true },
                });
                assert.equal(await store.client.config.maxAttempts(), SECRET_READ_ATTEMPTS);
                sm.restore(); // the real client this time
                make({ secrets: store, timeoutMs: 5000 });
                const res = await invoke(req("https://api.partner.test/echo"));
                assert.equal(res.status, 504);
                assert.equal(res.headers[BROKER_ERROR_HEADER], "secret-timeout");
                assert.equal(stuck.calls.length, SECRET_READ_ATTEMPTS);
            } finally {
                sm = mockClient(SecretsManagerClient);
                await stuck.close();
            }
        });
    });

    describe("alias ↔ host binding", () => {
        it("an alias serves only its own host (alias of A refuses host B)", async () => {
            const res = await invoke(req("https://bearer.partner.test/echo"), aliasOf("api.partner.test"));
            assert.equal(res.status, 403);
            assert.equal(res.headers[BROKER_ERROR_HEADER], "caller-not-allowed");
            assert.match(JSON.parse(decode(res.body)).reason, /serves api\.partner\.test, not bearer\.partner\.test/);
            assert.equal(upstream.seen.length, 0);
            assert.equal((await invoke(req("https://bearer.partner.test/echo"), aliasOf("bearer.partner.test"))).status, 200);
        });

        it("refuses unqualified, $LATEST, version and unknown-alias invocations", async () => {
            for (const alias of [null, "$LATEST", "7", "other-partner-0123456789"]) {
                const res = await invoke(req("https://api.partner.test/echo"), alias);
                assert.equal(res.status, 403, String(alias));
                assert.equal(res.headers[BROKER_ERROR_HEADER], "caller-not-allowed");
            }
            assert.equal(upstream.seen.length, 0);
        });
    });

    describe("secret cache", () => {
        it("fetches a token once within the TTL and again after it", async () => {
            let now = 1_000_000;
            make({ now: () => now, secretTtlMs: 60_000 });
            const calls = () => sm.commandCalls(GetSecretValueCommand).length;
            await invoke(req("https://api.partner.test/echo"));
            await invoke(req("https://api.partner.test/echo"));
            assert.equal(calls(), 1);
            now += 59_000;
            await invoke(req("https://api.partner.test/echo"));
            assert.equal(calls(), 1);
            now += 2_000;
            await invoke(req("https://api.partner.test/echo"));
            assert.equal(calls(), 2);
            await invoke(req("https://bearer.partner.test/echo"));
            assert.equal(calls(), 3, "per host");
            const c = sm.commandCalls(GetSecretValueCommand)[0].args[0].input;
            assert.deepEqual(c, { SecretId: routeOf("api.partner.test").secret.aws }, "the current version (AWSCURRENT), by name");
        });

        it("shares one in-flight fetch between concurrent requests", async () => {
            await Promise.all([1, 2, 3].map(() => invoke(req("https://api.partner.test/echo"))));
            assert.equal(sm.commandCalls(GetSecretValueCommand).length, 1);
        });
    });

    describe("logs", () => {
        it("writes one JSON line per request: verified alias, unverified caller claim, path without query", async () => {
            const from = logs.lines.length;
            await invoke(req("https://query.partner.test/echo?secret=1", { headers: { [CALLER_CLAIM_HEADER]: "arn:aws:iam::111111111111:role/orders-sync" } }));
            await invoke(req("https://bearer.partner.test/echo"), aliasOf("api.partner.test"));
            const [ok, refused] = logs.parsed().slice(from);
            assert.deepEqual(
                { ...ok, ms: 0 },
                {
                    stage: "stag",
                    caller: "arn:aws:iam::111111111111:role/orders-sync",
                    callerVerified: false,
                    alias: aliasOf("query.partner.test"),
                    partner: "query-co",
                    host: "query.partner.test",
                    method: "GET",
                    path: "/echo",
                    status: 200,
                    ms: 0,
                },
            );
            assert.equal(refused.status, 403);
            assert.equal(refused.error, "caller-not-allowed");
            assert.equal(upstream.seen[0].headers[CALLER_CLAIM_HEADER], undefined, "the claim is not forwarded");
        });

        it("never logs a token (every log line and all process output of this suite)", () => {
            assert.ok(logs.lines.length > 20);
            assert.deepEqual(leakedSecrets(), []);
        });
    });
});
