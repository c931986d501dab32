/**
 * A stand-in partner API: HTTPS on 127.0.0.1 with the test certificate.
 *   /echo      → 200 JSON {method, path, headers, body}
 *   /redirect  → 302 to https://evil.partner.test/stolen
 *   /hop       → 200 with hop-by-hop response headers that must not come back
 *   /big?n=N   → 200 with N bytes
 *   /slow      → never answers
 */
import * as https from "node:https";
import { AddressInfo } from "node:net";
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
