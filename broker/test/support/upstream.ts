/**
 * A stand-in partner API: HTTPS on 127.0.0.1 with the test certificate.
 *   /echo      → 200 JSON {method, path, headers, body}
 *   /redirect  → 302 to https://evil.partner.test/stolen
 *   /hop       → 200 with hop-by-hop response headers that must not come back
 *   /big?n=N   → 200 with N bytes
 *   /slow      → never answers
 *   /reset     → reads the request, then drops the connection without an answer
 *   /moved     → 301 to /moved/ keeping the query string (as frameworks that append a slash do)
 *   /mirror    → 200 reflecting the credential it got (api_key, X-Api-Key or Authorization), raw and URL-encoded
 *   /encoded?enc=gzip|br|deflate|deflate-raw|<other>[&n=N]
 *              → the /echo JSON (or N bytes) in that Content-Encoding, whatever the request accepted
 */
import * as https from "node:https";
import { AddressInfo } from "node:net";
import * as zlib from "node:zlib";
import { testPki } from "./tls";

export interface Seen {
    method: string;
    path: string;
    headers: Record<string, string | string[] | undefined>;
    body: string;
    servername: string | undefined;
}

export interface Upstream {
    port: number;
    seen: Seen[];
    close(): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
    const pki = await testPki();
    const seen: Seen[] = [];
    const server = https.createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const path = req.url ?? "/";
            const entry: Seen = {
                method: req.method ?? "",
                path,
                headers: req.headers,
                body: Buffer.concat(chunks).toString("utf8"),
                servername: (req.socket as import("node:tls").TLSSocket).servername || undefined,
            };
            seen.push(entry);
            const route = path.split("?")[0];
            if (route === "/slow") return; // never answers; the broker's timeout ends it
            if (route === "/reset") return void req.socket.destroy();
            if (route === "/redirect") {
                res.writeHead(302, { location: "https://evil.partner.test/stolen" });
                return res.end();
            }
            if (route === "/hop") {
                res.writeHead(200, {
                    connection: "x-hop-secret",
                    "x-hop-secret": "must-not-pass",
                    "keep-alive": "timeout=5",
                    "proxy-authenticate": "Basic",
                    "set-cookie": "session=abc",
                    "x-partner-access-broker-error": "spoofed",
                    "x-kept": "yes",
                });
                return res.end("ok");
            }
            if (route === "/moved") {
                res.writeHead(301, { location: `/moved/${new URL(path, "https://x").search}`, "x-request-url": path });
                return res.end();
            }
            if (route === "/mirror") {
                const got = new URL(path, "https://x").searchParams.get("api_key") ?? String(req.headers["x-api-key"] ?? req.headers.authorization ?? "");
                const uri = encodeURIComponent(got);
                const form = new URLSearchParams({ k: got }).toString().slice(2);
                const lower = uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
                res.writeHead(200, {
                    "content-type": "text/plain",
                    "x-raw": got,
                    "x-uri": uri,
                    link: `<https://api.partner.test/next?api_key=${form}>; rel="next"`,
                    "x-lower": lower,
                });
                return res.end(["raw " + got, "uri " + uri, "form " + form, "lower " + lower].join("\n"));
            }
            if (route === "/encoded") {
                const q = new URL(path, "https://x").searchParams;
                const plain = q.get("n") ? Buffer.alloc(Number(q.get("n")), 0x61) : Buffer.from(JSON.stringify(entry));
                const enc = q.get("enc") ?? "gzip";
                const encoders: Record<string, (b: Buffer) => Buffer> = { gzip: zlib.gzipSync, br: zlib.brotliCompressSync, deflate: zlib.deflateSync, "deflate-raw": zlib.deflateRawSync };
                const body = encoders[enc] ? encoders[enc](plain) : plain;
                res.writeHead(200, { "content-type": "application/json", "content-encoding": enc === "deflate-raw" ? "deflate" : enc, "content-length": String(body.length) });
                return res.end(body);
            }
            if (route === "/big") {
                const n = Number(new URL(path, "https://x").searchParams.get("n"));
                res.writeHead(200, { "content-type": "application/octet-stream" });
                return res.end(Buffer.alloc(n, 0x61));
            }
            const body = JSON.stringify(entry);
            res.writeHead(200, { "content-type": "application/json", "x-upstream": "partner" });
            res.end(body);
            return undefined;
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        port: (server.address() as AddressInfo).port,
        seen,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
