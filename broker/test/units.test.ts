/** Small pure pieces: address classification, alias names, routes checks, query rewriting, header hygiene. */
import * as assert from "node:assert/strict";
import { classifyAddress, defaultAddressAllowed } from "../src/address-guard";
import { withQueryParam } from "../src/core";
import { isCredentialHeader, stripHeaders } from "../src/headers";
import { aliasFromArn } from "../src/lambda";
import { timeoutFromEnv, TIMEOUT_ENV } from "../src/deployed";
import * as L from "../src/limits";
import { maxRawBodyBytes } from "../src/limits";
import { decodeContent, TOKEN_MARKER, tokenRedactor } from "../src/redact";
import { aliasName, routesProblems } from "../src/routes";
import { SecretCache, TOKEN_PLACEHOLDER, usableToken } from "../src/secrets";
import { ROUTES } from "./support/fixtures";

describe("address guard", () => {
    const refused: [string, string][] = [
        ["127.0.0.1", "loopback"],
        ["127.8.9.10", "loopback"],
        ["::1", "loopback"],
        ["10.0.0.1", "private"],
        ["172.16.5.4", "private"],
        ["192.168.1.1", "private"],
        ["169.254.169.254", "metadata"],
        ["169.254.10.1", "linkLocal"],
        ["fd00:ec2::254", "metadata"],
        ["fe80::1", "linkLocal"],
        ["fc00::1", "uniqueLocal"],
        ["100.64.0.1", "carrierGradeNat"],
        ["224.0.0.1", "multicast"],
        ["ff02::1", "multicast"],
        ["0.0.0.0", "unspecified"],
        ["::", "unspecified"],
        ["255.255.255.255", "broadcast"],
        ["::ffff:127.0.0.1", "loopback"],
        ["::ffff:10.1.2.3", "private"],
        ["64:ff9b::7f00:1", "rfc6052"],
        ["2002:7f00:1::1", "6to4"],
        ["192.0.2.1", "reserved"],
        ["not-an-ip", "invalid"],
    ];
    for (const [address, range] of refused) {
        it(`refuses ${address} (${range})`, () => {
            assert.deepEqual(classifyAddress(address), { allowed: false, range });
            assert.equal(defaultAddressAllowed(address), false);
        });
    }
    it("allows public unicast IPv4 and IPv6 (and IPv4-mapped public)", () => {
        for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "::ffff:93.184.216.34"]) assert.equal(defaultAddressAllowed(a), true, a);
    });
});

describe("alias names", () => {
    it("are <partner>-<10 hex of sha256(host)>, deterministic and case-insensitive in the host", () => {
        const a = aliasName("acme-logistics", "api.acme-logistics.example");
        assert.match(a, /^acme-logistics-[0-9a-f]{10}$/);
        assert.equal(aliasName("acme-logistics", "API.acme-logistics.example."), a);
        assert.notEqual(aliasName("acme-logistics", "files.acme-logistics.example"), a);
    });
    it("are valid Lambda alias names even for long or odd partner slugs", () => {
        for (const p of ["x".repeat(300), "acme.logistics", "123", "--"]) {
            const a = aliasName(p, "api.example");
            assert.match(a, /^[a-zA-Z0-9_-]{1,128}$/);
            assert.ok(!/^\d+$/.test(a));
        }
    });
    it("are read back from the invoked ARN only when it names an alias", () => {
        assert.equal(aliasFromArn("arn:aws:lambda:eu-west-1:111111111111:function:f:acme-0123456789"), "acme-0123456789");
        for (const arn of ["arn:aws:lambda:eu-west-1:111111111111:function:f", "arn:aws:lambda:eu-west-1:111111111111:function:f:$LATEST", "arn:aws:lambda:eu-west-1:111111111111:function:f:12", "", undefined]) {
            assert.equal(aliasFromArn(arn), undefined, String(arn));
        }
    });
});

describe("routes table checks", () => {
    it("accepts the fixtures and reports duplicates, bad tokens and bad hosts", () => {
        assert.deepEqual(routesProblems(ROUTES), []);
        const r = ROUTES.routes[0];
        const problems = routesProblems({ stage: "s", routes: [r, r, { ...r, host: "Bad_Host" }, { ...r, host: "x.example", token: { header: "X Bad" } }, { ...r, host: "y.example", token: { header: "Authorization", scheme: "Basic" } }] });
        assert.equal(problems.length, 4, problems.join("\n"));
    });
});

describe("query and header helpers", () => {
    it("replaces every encoding of the token parameter and keeps the rest byte for byte", () => {
        assert.equal(withQueryParam("", "api_key", "t"), "?api_key=t");
        assert.equal(withQueryParam("?a=1&api_key=x&b=%2F&api%5Fkey=y&api_key", "api_key", "t/+"), "?a=1&b=%2F&api_key=t%2F%2B");
    });
    it("strips hop-by-hop headers, any Proxy-*, and names listed in Connection", () => {
        assert.deepEqual(stripHeaders({ Connection: "close, X-A", "x-a": "1", "proxy-foo": "1", "x-b": "2", Upgrade: "h2c" }, ["x-b"]), {});
    });
    const credentials: [string, boolean][] = [
        ["Authorization", true],
        ["proxy-authorization", true],
        ["Cookie", true],
        ["X-Api-Key", true],
        ["api-key", true],
        ["X-APIKEY", true],
        ["apikey", true],
        ["x_api_key", true],
        ["X-Auth-Token", true],
        ["x-auth", true],
        ["X-Access-Token", true],
        ["private-token", true],
        ["X-CSRF-Token", true],
        ["x-client-secret", true],
        ["x-session-id", true],
        ["x-user-credentials", true],
        ["x-password", true],
        ["x-webhook-signature", true],
        ["x-forwarded-authorization", true],
        ["x-amz-security-token", true],
        ["X-Amz-Date", true],
        ["x-goog-iam-authorization-token", true],
        ["x-goog-user-project", true],
        ["content-type", false],
        ["accept", false],
        ["accept-language", false],
        ["user-agent", false],
        ["idempotency-key", false],
        ["x-request-id", false],
        ["x-trace", false],
        ["if-none-match", false],
        ["x-author", false],
        ["x-tokenizer-mode", false],
        ["x-key-id", false],
        ["x-idempotency-key", false],
        ["x-access-key", true],
        ["x-functions-key", true],
        ["Ocp-Apim-Subscription-Key", true],
        ["x-jwt-assertion", true],
        ["x_private_key", true],
        ["Cko-Idempotency-Key", false],
        ["Idempotence-Key", false],
        ["x-partition-key", false],
        ["x-routing-key", false],
    ];
    for (const [name, dropped] of credentials) {
        it(`${dropped ? "drops" : "keeps"} the caller header ${name}`, () => assert.equal(isCredentialHeader(name), dropped));
    }
    it("sizes the raw body so its base64 fits the envelope", () => {
        assert.equal(maxRawBodyBytes(8), 6);
        assert.ok(Math.ceil(maxRawBodyBytes(6 * 1024 * 1024) / 3) * 4 <= 6 * 1024 * 1024);
    });
});

describe("timeouts fit inside each other", () => {
    it("the stores' bounds fit the forward deadline, and the deadline plus margin fits the function timeout", () => {
        assert.ok(L.SECRET_READ_ATTEMPTS * L.SECRET_READ_ATTEMPT_TIMEOUT_MS <= L.SECRET_READ_TIMEOUT_MS);
        assert.ok(L.SECRET_READ_TIMEOUT_MS < L.DEFAULT_FORWARD_TIMEOUT_MS);
        assert.ok(L.CONNECT_ATTEMPT_TIMEOUT_MS < L.DEFAULT_FORWARD_TIMEOUT_MS);
        assert.ok(L.DEFAULT_FORWARD_TIMEOUT_MS <= L.MAX_FORWARD_TIMEOUT_MS);
        assert.ok(L.MAX_FORWARD_TIMEOUT_MS + L.FORWARD_MARGIN_MS <= L.BROKER_FUNCTION_TIMEOUT_SECONDS * 1000);
        assert.ok(L.BROKER_FUNCTION_TIMEOUT_SECONDS * 1000 < L.PROXY_INVOKE_TIMEOUT_MS, "the proxy waits for the broker's own answer");
    });
    it("caps a deadline set through the environment so the broker still answers before the platform stops it", () => {
        assert.equal(timeoutFromEnv({ [TIMEOUT_ENV]: "4000" }), 4000);
        assert.equal(timeoutFromEnv({ [TIMEOUT_ENV]: "60000" }), L.MAX_FORWARD_TIMEOUT_MS);
        assert.equal(timeoutFromEnv({ [TIMEOUT_ENV]: "x" }), undefined);
        assert.equal(timeoutFromEnv({}), undefined);
    });
});

describe("token redaction", () => {
    const token = "a/b c+d~é!";
    const r = tokenRedactor(token);
    const forms: [string, string][] = [
        ["raw", token],
        ["encodeURIComponent", encodeURIComponent(token)],
        ["encodeURI", encodeURI(token)],
        ["form encoding (+ for space)", new URLSearchParams({ k: token }).toString().slice(2)],
        ["lower-case hex", encodeURIComponent(token).toLowerCase()],
        ["every byte encoded", [...Buffer.from(token)].map((b) => "%" + b.toString(16).padStart(2, "0")).join("")],
    ];
    for (const [name, form] of forms) {
        it(`replaces the ${name} form in bytes and header text`, () => {
            const body = Buffer.from(`x=${form}&y=${form}`, "utf8");
            assert.equal(r.bytes(body).toString("utf8"), `x=${TOKEN_MARKER}&y=${TOKEN_MARKER}`);
            assert.equal(r.text(body.toString("latin1")), `x=${TOKEN_MARKER}&y=${TOKEN_MARKER}`);
        });
    }
    it("replaces the Bearer form, leaves other text alone (same Buffer when nothing matched), and spots the token in a header name", () => {
        assert.equal(r.bytes(Buffer.from(`Bearer ${token}`)).toString("utf8"), `Bearer ${TOKEN_MARKER}`);
        const other = Buffer.from("a/b c+d~e! nothing here");
        assert.equal(r.bytes(other), other);
        assert.equal(tokenRedactor("Tok123").inName("x-tok123-id"), true);
        assert.equal(tokenRedactor("Tok123").inName("x-other"), false);
    });
    it("decodes gzip, br and deflate (zlib or raw), in the order applied; refuses unknown codings and output over the bound", () => {
        const zlib = require("node:zlib") as typeof import("node:zlib");
        const plain = Buffer.from("hello ".repeat(100));
        assert.deepEqual(decodeContent(zlib.gzipSync(plain), "gzip", 1000, "h"), plain);
        assert.deepEqual(decodeContent(zlib.brotliCompressSync(plain), "br", 1000, "h"), plain);
        assert.deepEqual(decodeContent(zlib.deflateRawSync(plain), "deflate", 1000, "h"), plain);
        assert.deepEqual(decodeContent(zlib.gzipSync(zlib.deflateSync(plain)), "deflate, gzip", 1000, "h"), plain);
        assert.deepEqual(decodeContent(plain, "identity", 1000, "h"), plain);
        assert.throws(() => decodeContent(plain, "zstd", 1000, "h"), { code: "upstream-encoding-unsupported", status: 502 });
        assert.throws(() => decodeContent(zlib.gzipSync(plain), "gzip", 599, "h"), { code: "response-too-large", status: 413 });
        assert.throws(() => decodeContent(Buffer.from("not gzip"), "gzip", 1000, "h"), { code: "upstream-error", status: 502 });
    });
});

describe("secret cache", () => {
    it("treats empty, whitespace and the placeholder as unset, and trims a trailing newline", () => {
        assert.equal(usableToken(""), undefined);
        assert.equal(usableToken(" \n"), undefined);
        assert.equal(usableToken(TOKEN_PLACEHOLDER), undefined);
        assert.equal(usableToken("abc\n"), "abc");
    });
    it("does not cache failures", async () => {
        let calls = 0;
        const cache = new SecretCache({ get: async () => (++calls === 1 ? Promise.reject(new Error("throttled")) : "v") }, 60_000);
        await assert.rejects(cache.get("r"));
        assert.equal(await cache.get("r"), "v");
        assert.equal(await cache.get("r"), "v");
        assert.equal(calls, 2);
    });
});

describe("lead-facing entry (src/index.ts)", () => {
    it("loads no cloud SDK when imported by the Pulumi program", () => {
        const script = `require("ts-node").register({ transpileOnly: true }); require("./src/index.ts");
            const loaded = Object.keys(require.cache).filter((p) => /@aws-sdk[\\\\/]client-|google-auth-library/.test(p));
            process.stdout.write(JSON.stringify(loaded));`;
        const out = require("node:child_process").execFileSync(process.execPath, ["-e", script], { cwd: require("node:path").resolve(__dirname, ".."), encoding: "utf8" });
        assert.deepEqual(JSON.parse(out), []);
    });

    it("buildProxyConfig writes the aliases the broker expects, for the hosts a caller may use", () => {
        const { buildProxyConfig } = require("../src/index") as typeof import("../src/index");
        const arn = "arn:aws:lambda:eu-west-1:111111111111:function:partner-access-broker-stag";
        const all = buildProxyConfig(ROUTES, { cloud: "aws", functionArn: arn });
        assert.equal(Object.keys(all.hosts).length, ROUTES.routes.length);
        assert.deepEqual(all.hosts["api.partner.test"], { functionArn: arn, alias: aliasName("acme-logistics", "api.partner.test") });
        const billing = buildProxyConfig(ROUTES, { cloud: "gcp", url: "https://broker-abc-ew.a.run.app" }, { caller: "billing@proj.iam.gserviceaccount.com" });
        assert.deepEqual(Object.keys(billing.hosts), ["bearer.partner.test"]);
        const chosen = buildProxyConfig(ROUTES, { cloud: "gcp", url: "https://broker-abc-ew.a.run.app" }, { hosts: ["QUERY.partner.test"] });
        assert.deepEqual(chosen.hosts, { "query.partner.test": { url: "https://broker-abc-ew.a.run.app" } });
    });
});
