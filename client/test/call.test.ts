import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { join } from "node:path";
import { decodeJwtClaims, PartnerAccessError } from "../src/errors";
import { DEFAULT_MAX_BODY_BYTES, explainResponse, partnerFetch } from "../src/fetch";
import { Kit } from "../src/kit";
import { partnerAwsEnv, scratch, world } from "./support/hooks";
import { acmeKit, run, writeCa, writeKit } from "./support/kits";
import { EXTERNAL_ID, ESP_AUDIENCE, PARTNER_ACCOUNT, ROLE_ARN, SA } from "./support/world";

const DIRECT_KEY = { id: "AKIADIRECTPARTNER001", secret: "direct-secret" };
const DIRECT_ARN = `arn:aws:iam::${PARTNER_ACCOUNT}:user/globex-batch`;

/** A partner that calls with its own long-term key (connect: direct). */
function directPartner(): Kit {
    world().addUser({
        key: { accessKeyId: DIRECT_KEY.id, secretAccessKey: DIRECT_KEY.secret, arn: DIRECT_ARN },
        mayAssume: [], s3: [], routes: ["GET /orders", "GET /orders/{orderId}"],
    });
    partnerAwsEnv({ id: DIRECT_KEY.id, secret: DIRECT_KEY.secret, token: undefined });
    const kit = acmeKit();
    kit.aws!.connect = "direct";
    kit.aws!.principals = [DIRECT_ARN];
    delete kit.aws!.role;
    delete kit.aws!.webIdentity;
    delete kit.gcp;
    return kit;
}

const lastApiRequest = (server: "aws-api" | "gcp-api") => world().seen.filter((s) => s.server === server).at(-1)!;

describe("call: signed requests to the stage's API", () => {
    describe("AWS (SigV4, execute-api)", () => {
        it("assumes the partner role with the external id, then signs with the session", async () => {
            partnerAwsEnv();
            const res = await partnerFetch(acmeKit(), "/orders/42", { cloud: "aws", ca: world().ca });
            assert.equal(res.status, 200);
            const body = (await res.json()) as { caller: string };
            assert.equal(body.caller, `arn:aws:sts::111111111111:assumed-role/partner-access-stag-acme/partner-access-acme`);
            assert.deepEqual(world().stsCalls.map((c) => [c.action, c.roleArn, c.externalId]), [["AssumeRole", ROLE_ARN, EXTERNAL_ID]]);
            assert.ok(lastApiRequest("aws-api").headers["x-amz-security-token"], "a session needs its token");
        });

        it("signs a direct partner's request with its own key, without a session token header", async () => {
            const res = await partnerFetch(directPartner(), "/orders?limit=1", { ca: world().ca, cloud: "aws" });
            assert.equal(res.status, 200, await res.clone().text());
            assert.equal(((await res.json()) as { caller: string }).caller, DIRECT_ARN);
            assert.equal(lastApiRequest("aws-api").headers["x-amz-security-token"], undefined);
            assert.equal(world().stsCalls.length, 0);
        });

        it("sends exactly the query it signed, so the API verifies the signature over what it received", async () => {
            partnerAwsEnv();
            // "+" is a space (as URLSearchParams writes it), "%2B" a plus sign; a bare name has an empty value.
            const res = await partnerFetch(acmeKit(), "/orders?q=a+b&plus=%2B&space=a b&tilde=~x&uni=é日本&id=2&id=1&empty=&bare&star=*&x%3Dy=1", { cloud: "aws", ca: world().ca });
            const body = await res.json() as { query: Record<string, string | string[]> };
            assert.equal(res.status, 200, JSON.stringify(body));
            // On the wire: the SigV4 canonical query, each name and value RFC 3986-encoded, sorted.
            assert.equal(lastApiRequest("aws-api").url,
                "/stag/orders?bare=&empty=&id=1&id=2&plus=%2B&q=a%20b&space=a%20b&star=%2A&tilde=~x&uni=%C3%A9%E6%97%A5%E6%9C%AC&x%3Dy=1");
            assert.deepEqual({ ...body.query }, {
                bare: "", empty: "", id: ["1", "2"], plus: "+", q: "a b", space: "a b", star: "*", tilde: "~x", uni: "é日本", "x=y": "1",
            });
        });

        it("signs the body of a POST", async () => {
            partnerAwsEnv();
            const res = await partnerFetch(acmeKit(), "/orders", { cloud: "aws", method: "POST", body: JSON.stringify({ sku: "x" }), headers: { "Content-Type": "application/json" }, ca: world().ca });
            assert.equal(res.status, 200);
        });

        it("finds the missing session token of a temporary key", async () => {
            const kit = directPartner();
            world().keys.set("ASIADIRECTTEMPORARY1", { accessKeyId: "ASIADIRECTTEMPORARY1", secretAccessKey: "s", sessionToken: "t", arn: DIRECT_ARN });
            partnerAwsEnv({ id: "ASIADIRECTTEMPORARY1", secret: "s", token: undefined });
            const { code, stderr } = await run(["call", "--kit", writeKit(kit), "--cloud", "aws", "--ca-file", writeCa(), "/orders"]);
            assert.equal(code, 1);
            assert.match(stderr, /HTTP 403/);
            assert.match(stderr, /missing session token: access key ASIADIRECTTEMPORARY1 is temporary/);
            assert.match(stderr, /set AWS_SESSION_TOKEN/);
        });

        it("blames the clock when the signature is too old for the API", async () => {
            partnerAwsEnv();
            world().apiClockOffset = 10 * 60_000;
            const res = await partnerFetch(acmeKit(), "/orders", { cloud: "aws", ca: world().ca });
            assert.equal(res.status, 403);
            const d = explainResponse(acmeKit(), "aws", "GET", "/orders", res, await res.text())!;
            assert.match(d.reason, /clock skew: this machine's clock is about 10 min behind the server's \(Signature expired/);
            assert.match(d.fix, /NTP/);
        });

        it("explains a region mismatch", async () => {
            const kit = directPartner();
            const { code, stderr } = await run(["call", "--kit", writeKit(kit), "--region", "us-east-1", "--ca-file", writeCa(), "/orders"]);
            assert.equal(code, 1);
            assert.match(stderr, /region mismatch: the request was signed for us-east-1 but the stage is in eu-west-1/);
            assert.match(stderr, /drop --region/);
        });

        it("says a refused route is not one of yours, and that a direct partner's own policy may be missing", async () => {
            const { code, stderr } = await run(["call", "--kit", writeKit(directPartner()), "--ca-file", writeCa(), "/admin/partners"]);
            assert.equal(code, 1);
            assert.match(stderr, /execute-api:Invoke on GET \/admin\/partners was refused \(User: arn:aws:iam::210987654322:user\/globex-batch is not authorized/);
            assert.match(stderr, /attach the kit's aws.identityPolicy/);
            assert.match(stderr, /GET \/admin\/partners matches none of your routes \(GET \/orders, GET \/orders\/\{orderId\}, POST \/orders\)/);
        });

        it("explains an AssumeRole refused for a wrong external id", async () => {
            partnerAwsEnv();
            const { code, stderr } = await run(["call", "--kit", writeKit(acmeKit()), "--external-id", "acme-old", "--ca-file", writeCa(), "--cloud", "aws", "/orders"]);
            assert.equal(code, 1);
            assert.match(stderr, /refused to be assumed/);
            assert.match(stderr, /send exactly the kit's external id "acme-old"|external id/);
        });
    });

    describe("GCP (JWT signed by the partner's service account)", () => {
        it("signs {iss, sub, aud, iat, exp = iat + 3600} through signJwt and sends it as a bearer token", async () => {
            const res = await partnerFetch(acmeKit(), "/orders/42", { cloud: "gcp", ca: world().ca });
            assert.equal(res.status, 200);
            const auth = String(lastApiRequest("gcp-api").headers.authorization);
            const claims = decodeJwtClaims(auth.replace(/^Bearer /, ""))! as Record<string, unknown>;
            assert.deepEqual(Object.keys(claims).sort(), ["aud", "exp", "iat", "iss", "sub"]);
            assert.equal(claims.iss, SA);
            assert.equal(claims.sub, SA);
            assert.equal(claims.aud, ESP_AUDIENCE);
            assert.equal(Number(claims.exp) - Number(claims.iat), 3600);
            assert.ok(world().seen.some((s) => s.server === "iam" && decodeURIComponent(s.url).endsWith(`${SA}:signJwt`)));
        });

        it("explains a wrong audience (a kit of another stage)", async () => {
            const kit = acmeKit();
            kit.gcp!.api!.audience = "https://partner-api-prod.endpoints.example.cloud.goog";
            const { code, stderr } = await run(["call", "--kit", writeKit(kit), "--cloud", "gcp", "--ca-file", writeCa(), "/orders"]);
            assert.equal(code, 1);
            assert.match(stderr, /wrong audience: the API refuses the JWT's aud \(Audiences in Jwt are not allowed\)/);
            assert.match(stderr, /sign with aud = the kit's gcp.api.audience \("https:\/\/partner-api-prod/);
        });

        it("blames the clock when the JWT is expired or not yet valid for the server", async () => {
            world().espClockOffset = 2 * 3600_000;
            let { code, stderr } = await run(["call", "--kit", writeKit(acmeKit()), "--cloud", "gcp", "--ca-file", writeCa(), "/orders"]);
            assert.equal(code, 1);
            assert.match(stderr, /clock skew: this machine's clock is about 2 h 0 min behind the server's \(Jwt is expired\)/);
            world().espClockOffset = -10 * 60_000;
            ({ code, stderr } = await run(["call", "--kit", writeKit(acmeKit()), "--cloud", "gcp", "--ca-file", writeCa(), "/orders"]));
            assert.equal(code, 1);
            assert.match(stderr, /clock skew: this machine's clock is about 10 min ahead of the server's \(Jwt not yet valid\)/);
        });

        it("tells what to grant when the caller may not sign as the account", async () => {
            world().tokenCreators.clear();
            await assert.rejects(partnerFetch(acmeKit(), "/orders", { cloud: "gcp", ca: world().ca }), (e: PartnerAccessError) =>
                /acme-sync@\S+ may not sign as itself/.test(e.message) && /grant roles\/iam.serviceAccountTokenCreator on acme-sync@\S+ to acme-sync@\S+ itself/.test(e.fix));
        });
    });

    describe("no credentials in cleartext", () => {
        /** A plain-HTTP listener on loopback that records what reaches it. */
        async function plainHttp(): Promise<{ url: string; requests: http.IncomingHttpHeaders[]; close: () => Promise<void> }> {
            const requests: http.IncomingHttpHeaders[] = [];
            const server = http.createServer((req, res) => { requests.push(req.headers); res.end("{}"); });
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
            return {
                url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests,
                close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
            };
        }

        for (const cloud of ["aws", "gcp"] as const) {
            it(`refuses an http:// API URL on ${cloud} before signing anything, even from a kit that skipped validation`, async () => {
                partnerAwsEnv();
                const plain = await plainHttp();
                try {
                    const kit = acmeKit();  // built in code: partnerFetch is a library entry point too
                    if (cloud === "aws") kit.aws!.api!.invokeUrl = plain.url; else kit.gcp!.api!.url = plain.url;
                    await assert.rejects(partnerFetch(kit, "/orders", { cloud, ca: world().ca }), (e: PartnerAccessError) =>
                        e instanceof PartnerAccessError
                        && new RegExp(`the kit's ${cloud === "aws" ? "aws.api.invokeUrl" : "gcp.api.url"}: "http://127.0.0.1:\\d+" is not an https URL`).test(e.message)
                        && /ask the operator for a new kit/.test(e.fix));
                    assert.equal(plain.requests.length, 0, "nothing reached the cleartext listener");
                    assert.deepEqual(world().stsCalls, [], "no role session was even requested");
                    assert.ok(!world().seen.some((s) => s.server === "iam"), "no JWT was signed");
                } finally {
                    await plain.close();
                }
            });
        }

        it("refuses a kit file with an http:// API URL in the call command", async () => {
            const kit = acmeKit();
            kit.gcp!.api!.url = "http://partner-api-stag.endpoints.example.cloud.goog";
            const { code, stderr } = await run(["call", "--kit", writeKit(kit), "--cloud", "gcp", "/orders"]);
            assert.equal(code, 1);
            assert.match(stderr, /\/gcp\/api\/url: expected an https URL/);
            assert.ok(!world().seen.some((s) => s.server === "iam"));
        });

        it("sends the access token for signJwt only over https, or plain http to a loopback stand-in", async () => {
            const saved = process.env.PARTNER_ACCESS_IAMCREDENTIALS_URL;
            process.env.PARTNER_ACCESS_IAMCREDENTIALS_URL = "http://iamcredentials.example.test";
            try {
                await assert.rejects(partnerFetch(acmeKit(), "/orders", { cloud: "gcp", ca: world().ca }), (e: PartnerAccessError) =>
                    /PARTNER_ACCESS_IAMCREDENTIALS_URL\): "http:\/\/iamcredentials.example.test" is not an https URL \(plain http only to localhost/.test(e.message));
            } finally {
                process.env.PARTNER_ACCESS_IAMCREDENTIALS_URL = saved;
            }
            // the stand-in itself is plain http on 127.0.0.1
            assert.equal((await partnerFetch(acmeKit(), "/orders", { cloud: "gcp", ca: world().ca })).status, 200);
        });
    });

    describe("a deadline for the whole call and a cap on the answer", () => {
        /** An API that keeps the connection busy: a byte every 100 ms for 3 s (an idle timeout never fires). */
        const drip = () => {
            world().apiHook = (_server, _req, res) => {
                res.writeHead(200, { "content-type": "text/plain" });
                const t = setInterval(() => res.write("x"), 100);
                const stop = setTimeout(() => { clearInterval(t); res.end(); }, 3000);
                res.on("close", () => { clearInterval(t); clearTimeout(stop); });
                return true;
            };
        };
        /** An API answering `bytes` bytes, with or without a Content-Length. */
        const huge = (bytes: number, declared: boolean) => {
            world().apiHook = (_server, _req, res) => {
                res.writeHead(200, { "content-type": "application/octet-stream", ...(declared ? { "content-length": bytes } : {}) });
                const chunk = Buffer.alloc(64 * 1024, 120);
                let left = bytes;
                const more = (): void => {
                    while (left > 0 && !res.destroyed) {
                        const n = Math.min(left, chunk.length);
                        left -= n;
                        if (!res.write(chunk.subarray(0, n))) {
                            res.once("drain", more);
                            return;
                        }
                    }
                    if (!res.destroyed) res.end();
                };
                more();
                return true;
            };
        };

        for (const cloud of ["aws", "gcp"] as const) {
            it(`gives up on ${cloud} when the whole answer takes longer than timeoutMs, even while bytes keep coming`, async () => {
                partnerAwsEnv();
                const kit = acmeKit();
                drip();
                const t0 = Date.now();
                await assert.rejects(partnerFetch(kit, "/orders", { cloud, ca: world().ca, timeoutMs: 700 }), (e: PartnerAccessError) =>
                    /no complete answer from 127\.0\.0\.1:\d+ within 0\.7 s/.test(e.message) && /raise the deadline/.test(e.fix));
                assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
            });
        }

        it("refuses an answer larger than maxBodyBytes, announced or not", async () => {
            for (const declared of [true, false]) {
                huge(300_000, declared);
                await assert.rejects(partnerFetch(acmeKit(), "/orders", { cloud: "gcp", ca: world().ca, maxBodyBytes: 100_000 }), (e: PartnerAccessError) =>
                    new RegExp(`the answer from 127\\.0\\.0\\.1:\\d+ is larger than 100000 bytes \\(${declared ? "Content-Length 300000" : "\\d+ bytes received so far"}\\)`).test(e.message)
                    && /raise the limit \(maxBodyBytes, or --max-body-bytes/.test(e.fix), `declared: ${declared}`);
            }
            huge(100_000, false);
            const res = await partnerFetch(acmeKit(), "/orders", { cloud: "gcp", ca: world().ca, maxBodyBytes: 100_000 });
            assert.equal((await res.arrayBuffer()).byteLength, 100_000);
        });

        it("reads at most 10 MiB by default; the call command's --max-body-bytes and --timeout override", async () => {
            huge(DEFAULT_MAX_BODY_BYTES + 1, false);
            await assert.rejects(partnerFetch(acmeKit(), "/orders", { cloud: "gcp", ca: world().ca }), /is larger than 10485760 bytes/);
            huge(2_000, true);
            let r = await run(["call", "--kit", writeKit(acmeKit()), "--cloud", "gcp", "--ca-file", writeCa(), "--max-body-bytes", "1000", "/orders"]);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /is larger than 1000 bytes \(Content-Length 2000\)/);
            drip();
            r = await run(["call", "--kit", writeKit(acmeKit()), "--cloud", "gcp", "--ca-file", writeCa(), "--timeout", "0.5", "/orders"]);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /within 0\.5 s/);
            r = await run(["call", "--kit", writeKit(acmeKit()), "--cloud", "gcp", "--timeout", "soon", "/orders"]);
            assert.equal(r.code, 2);
            assert.match(r.stderr, /--timeout is a positive number, not "soon"/);
        });
    });

    describe("the call command", () => {
        it("prints the body and exits 0; -X, --data @file and -i", async () => {
            partnerAwsEnv();
            const file = join(scratch, "order.json");
            writeFileSync(file, JSON.stringify({ sku: "A-1" }));
            const { code, stdout, stderr } = await run(["call", "--kit", writeKit(acmeKit()), "--cloud", "aws", "-X", "POST", "--data", `@${file}`, "-i", "--ca-file", writeCa(), "/orders"]);
            assert.equal(code, 0, stderr);
            assert.match(stdout, /^HTTP 200/);
            assert.match(stdout, /"route":"POST \/orders"/);
            const req = lastApiRequest("aws-api");
            assert.equal(req.method, "POST");
            assert.equal(req.headers["content-type"], "application/json");
        });

        it("does not trust a certificate it was not told to trust", async () => {
            partnerAwsEnv();
            const { code, stderr } = await run(["call", "--kit", writeKit(acmeKit()), "--cloud", "aws", "/orders"]);
            assert.equal(code, 1);
            assert.match(stderr, /self[- ]signed certificate/i);
        });

        it("needs --cloud when the kit has APIs on both clouds; usage errors exit 2", async () => {
            const kitPath = writeKit(acmeKit());
            let r = await run(["call", "--kit", kitPath, "/orders"]);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /both clouds[\s\S]*--cloud aws or --cloud gcp/);
            r = await run(["call", "--kit", kitPath, "--cloud", "azure", "/orders"]);
            assert.equal(r.code, 2);
            assert.match(r.stderr, /--cloud is aws or gcp, not "azure"/);
            r = await run(["call", "--kit", kitPath, "--bogus", "/orders"]);
            assert.equal(r.code, 2);
            assert.match(r.stderr, /Unknown option '--bogus'[\s\S]*usage: partner-access-client call/);
            assert.doesNotMatch(r.stderr, /\n\s+at /);
            r = await run(["call", "--kit", kitPath, "--cloud", "gcp", "/orders/{orderId}"]);
            assert.equal(r.code, 1);
            assert.match(r.stderr, /still has the parameter \{orderId\}[\s\S]*fix: put the real value in its place, e.g. \/orders\/42/);
            r = await run(["call", "--kit", kitPath, "--cloud", "aws"]);
            assert.equal(r.code, 2);
            assert.match(r.stderr, /give exactly one path/);
        });
    });
});
