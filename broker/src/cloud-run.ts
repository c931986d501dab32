/**
 * GCP adapter: one Cloud Run service (deployed as a Cloud Run function gen2)
 * whose invoker IAM is the union of the listed service accounts.
 *
 * Cloud Run verifies the caller's Google ID token (signature, audience,
 * expiry, run.invoker) before a request reaches the container, so the broker
 * only decodes the token's `email` claim and serves a host only to the emails
 * in that host's callers.gcp. When X-Serverless-Authorization is present,
 * Cloud Run verifies that header instead and passes Authorization through
 * unchecked, so it is read first. This holds only while the service requires
 * authentication (no allUsers / allAuthenticatedUsers invoker).
 *
 * HTTP: `POST /v1/forward` with a request envelope as JSON; the answer is
 * HTTP 200 with a response envelope (whatever its inner status), marked by
 * ENVELOPE_HEADER. Anything else is not an envelope.
 */
import * as http from "node:http";
import { Broker } from "./core";
import { BrokerError, errorEnvelope, ResponseEnvelope } from "./envelope";
import { CLOUD_RUN_LIMITS } from "./limits";

export const FORWARD_PATH = "/v1/forward";
/** Marks an HTTP response whose body is a response envelope. */
export const ENVELOPE_HEADER = "x-partner-access-envelope";

/** The `email` claim of a `Bearer <JWT>` value, decoded without verification (Cloud Run verified it). */
export function emailFromBearer(value: string | undefined): string | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(value ?? "");
    if (!m) return undefined;
    const parts = m[1].split(".");
    if (parts.length < 2) return undefined;
    try {
        const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as { email?: unknown; email_verified?: unknown };
        if (typeof claims.email !== "string" || claims.email_verified === false) return undefined;
        return claims.email;
    } catch {
        return undefined;
    }
}

export function verifiedEmail(headers: http.IncomingHttpHeaders): string | undefined {
    const serverless = headers["x-serverless-authorization"];
    if (typeof serverless === "string") return emailFromBearer(serverless);
    const auth = headers.authorization;
    return typeof auth === "string" ? emailFromBearer(auth) : undefined;
}

/** A request as the Functions Framework hands it over (body already read into rawBody), or a plain node:http request. */
export type ForwardRequest = http.IncomingMessage & { rawBody?: Buffer };
export type ForwardHandler = (req: ForwardRequest, res: http.ServerResponse) => void;

function send(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
    const data = Buffer.from(JSON.stringify(body), "utf8");
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": String(data.length), ...extra });
    res.end(data);
}

function sendEnvelope(res: http.ServerResponse, env: ResponseEnvelope): void {
    send(res, 200, env, { [ENVELOPE_HEADER]: "1" });
}

function readBody(req: ForwardRequest, max: number): Promise<Buffer> {
    if (Buffer.isBuffer(req.rawBody)) {
        if (req.rawBody.length > max) return Promise.reject(tooLarge(req.rawBody.length, max));
        return Promise.resolve(req.rawBody);
    }
    return new Promise((resolve, reject) => {
        const declared = Number(req.headers["content-length"] ?? 0);
        if (declared > max) {
            req.resume();
            return reject(tooLarge(declared, max));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        let over = false;
        req.on("data", (c: Buffer) => {
            size += c.length;
            if (size > max) over = true;
            else chunks.push(c);
        });
        req.on("end", () => (over ? reject(tooLarge(size, max)) : resolve(Buffer.concat(chunks))));
        req.on("error", reject);
        return undefined;
    });
}

function tooLarge(size: number, max: number): BrokerError {
    return new BrokerError(413, "request-too-large", `the request envelope is ${size} bytes; Cloud Run accepts at most ${max} bytes per HTTP/1 request`);
}

export function createCloudRunHandler(broker: Broker, opts: { maxRequestBytes?: number } = {}): ForwardHandler {
    const max = opts.maxRequestBytes ?? CLOUD_RUN_LIMITS.maxRequestBytes;
    return (req, res) => {
        const path = (req.url ?? "").split("?")[0];
        if (path !== FORWARD_PATH) return send(res, 404, { error: "not-found", reason: `the broker only serves POST ${FORWARD_PATH}` });
        if (req.method !== "POST") return send(res, 405, { error: "method-not-allowed", reason: `use POST ${FORWARD_PATH}` }, { allow: "POST" });
        const email = verifiedEmail(req.headers);
        void (async () => {
            let raw: unknown;
            try {
                const body = await readBody(req, max);
                try {
                    raw = JSON.parse(body.toString("utf8"));
                } catch {
                    throw new BrokerError(400, "bad-envelope", "the body must be a JSON request envelope");
                }
            } catch (err) {
                const refusal = err instanceof BrokerError ? err : new BrokerError(400, "bad-envelope", "could not read the request body");
                return sendEnvelope(res, broker.refuse(refusal, { cloud: "gcp", email }));
            }
            sendEnvelope(res, await broker.forward(raw, { cloud: "gcp", email }));
        })().catch(() => {
            if (!res.headersSent) sendEnvelope(res, errorEnvelope(500, "internal-error", "the broker failed unexpectedly"));
            else res.destroy();
        });
        return undefined;
    };
}

/** A plain node:http server for the handler (Cloud Run sets $PORT). */
export function startCloudRunServer(handler: ForwardHandler, opts: { port?: number; host?: string } = {}): Promise<http.Server> {
    const server = http.createServer(handler);
    const port = opts.port ?? Number(process.env.PORT ?? 8080);
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, opts.host, () => {
            server.off("error", reject);
            resolve(server);
        });
    });
}
