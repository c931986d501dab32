/**
 * The local proxy our servers run: a plain-HTTP forward proxy on loopback only.
 *
 *   http_proxy=http://localhost:3128  curl http://api.partner.example/orders
 *
 * A request in absolute form (`GET http://host/path HTTP/1.1`) for a host in the
 * proxy config becomes one broker invocation made with this machine's own
 * cloud identity (AWS: lambda:InvokeFunction on `<functionArn>:<alias>`; GCP:
 * POST to the Cloud Run URL with a Google ID token). Upstream is always
 * HTTPS; the broker adds the partner's token. CONNECT is refused: nothing can
 * be injected into a TLS tunnel, so clients must use http:// URLs through it.
 *
 * `brokerFetch(config)` offers the same as a fetch-compatible function.
 */
import * as http from "node:http";
import { isIP } from "node:net";
import { InvokeCommand, LambdaClient, LambdaClientConfig } from "@aws-sdk/client-lambda";
import { GoogleAuth } from "google-auth-library";
import { classifyAddress } from "./address-guard";
import { ENVELOPE_HEADER, FORWARD_PATH } from "./cloud-run";
import {
    BROKER_ERROR_HEADER,
    BrokerError,
    CALLER_CLAIM_HEADER,
    decodeBody,
    envelopeBytes,
    errorEnvelope,
    METHODS,
    parseResponseEnvelope,
    RequestEnvelope,
    ResponseEnvelope,
} from "./envelope";
import { flattenHeaders, isHopByHop, stripHeaders } from "./headers";
import { CLOUD_RUN_LIMITS, LAMBDA_LIMITS, maxRawBodyBytes, PayloadLimits, PROXY_INVOKE_TIMEOUT_MS } from "./limits";
import { normalizeHost } from "./routes";
import { HostTarget, ProxyConfig } from "./proxy-config";

export { HostTarget, loadProxyConfig, parseProxyConfig, ProxyConfig } from "./proxy-config";

export const DEFAULT_PROXY_PORT = 3128;


/** Sends one envelope to the broker that serves `host`. */
export type Invoker = (host: string, target: HostTarget, request: RequestEnvelope) => Promise<ResponseEnvelope>;

/** AWS: InvokeCommand on `<functionArn>:<alias>` with the default credential chain (this machine's role). */
export function awsInvoker(opts: { timeoutMs?: number; clientConfig?: LambdaClientConfig } = {}): Invoker {
    const timeoutMs = opts.timeoutMs ?? PROXY_INVOKE_TIMEOUT_MS;
    const clients = new Map<string, LambdaClient>();
    const clientFor = (region: string) => {
        let c = clients.get(region);
        // One attempt: a retried invoke could send a partner a non-idempotent request twice.
        if (!c) clients.set(region, (c = new LambdaClient({ region, maxAttempts: 1, requestHandler: { requestTimeout: timeoutMs, throwOnRequestTimeout: true }, ...opts.clientConfig })));
        return c;
    };
    return async (host, target, request) => {
        const fn = `${target.functionArn}:${target.alias}`;
        try {
            const out = await clientFor(target.functionArn!.split(":")[3]).send(
                new InvokeCommand({ FunctionName: fn, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(request), "utf8") }),
                { abortSignal: AbortSignal.timeout(timeoutMs) },
            );
            const text = out.Payload ? Buffer.from(out.Payload).toString("utf8") : "";
            if (out.FunctionError) {
                let msg = "";
                try {
                    msg = String(JSON.parse(text).errorMessage ?? "");
                } catch {
                    msg = "";
                }
                throw new BrokerError(502, "invoke-failed", `the broker function failed (${out.FunctionError})${msg ? `: ${msg.slice(0, 300)}` : ""}`);
            }
            let parsed: unknown;
            try {
                parsed = JSON.parse(text);
            } catch {
                throw new BrokerError(502, "invoke-failed", "the broker function answered with something other than JSON");
            }
            return parseResponseEnvelope(parsed);
        } catch (err) {
            if (err instanceof BrokerError) throw err;
            const name = (err as { name?: string }).name ?? "Error";
            if (name === "AccessDeniedException")
                throw new BrokerError(403, "invoke-denied", `this machine's role may not invoke ${fn}: is it listed in callers.aws of ${host}?`);
            if (name === "RequestTooLargeException" || name === "RequestEntityTooLargeException")
                throw new BrokerError(413, "request-too-large", `Lambda refused the request envelope as too large (${name})`);
            if (name === "TooManyRequestsException") throw new BrokerError(429, "invoke-failed", "the broker function is throttled; try again");
            if (name === "ResourceNotFoundException") throw new BrokerError(502, "invoke-failed", `${fn} does not exist: is the stack deployed and the proxy config current?`);
            if (name === "TimeoutError" || name === "RequestTimeout" || name === "AbortError") throw new BrokerError(504, "upstream-timeout", `the broker did not answer within ${timeoutMs} ms`);
            if (name === "CredentialsProviderError") throw new BrokerError(502, "invoke-failed", "this machine has no AWS credentials (default credential chain)");
            throw new BrokerError(502, "invoke-failed", `invoking ${fn} failed: ${name}`);
        }
    };
}

/** A Google ID token for an audience, from Application Default Credentials (this machine's service account). */
export function googleIdTokens(auth: GoogleAuth = new GoogleAuth()): (audience: string) => Promise<string> {
    const clients = new Map<string, ReturnType<GoogleAuth["getIdTokenClient"]>>();
    return async (audience) => {
        let c = clients.get(audience);
        if (!c) clients.set(audience, (c = auth.getIdTokenClient(audience)));
        const headers = await (await c).getRequestHeaders();
        return (headers.get("authorization") ?? "").replace(/^Bearer\s+/i, "");
    };
}

/** GCP: POST <url>/v1/forward with a Google ID token whose audience is the service URL. */
export function gcpInvoker(opts: { timeoutMs?: number; idToken?: (audience: string) => Promise<string> } = {}): Invoker {
    const timeoutMs = opts.timeoutMs ?? PROXY_INVOKE_TIMEOUT_MS;
    let idToken = opts.idToken;
    return async (host, target, request) => {
        const base = new URL(target.url!);
        let token: string;
        try {
            idToken ??= googleIdTokens();
            token = await idToken(base.origin);
        } catch (err) {
            throw new BrokerError(502, "invoke-failed", `could not get a Google ID token for ${base.origin}: ${(err as Error).message}`);
        }
        let res: Response;
        try {
            res = await fetch(new URL(FORWARD_PATH, base.origin), {
                method: "POST",
                headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
                body: JSON.stringify(request),
                redirect: "manual",
                signal: AbortSignal.timeout(timeoutMs),
            });
        } catch (err) {
            const name = (err as Error).name;
            if (name === "TimeoutError" || name === "AbortError") throw new BrokerError(504, "upstream-timeout", `the broker did not answer within ${timeoutMs} ms`);
            throw new BrokerError(502, "invoke-failed", `could not reach the broker at ${base.origin}: ${(err as Error).message}`);
        }
        if (res.status === 200 && res.headers.get(ENVELOPE_HEADER) === "1") {
            let parsed: unknown;
            try {
                parsed = await res.json();
            } catch {
                throw new BrokerError(502, "invoke-failed", "the broker answered with invalid JSON");
            }
            return parseResponseEnvelope(parsed);
        }
        await res.body?.cancel().catch(() => undefined);
        if (res.status === 401 || res.status === 403)
            throw new BrokerError(403, "invoke-denied", `Cloud Run refused this machine's identity (HTTP ${res.status}): is its service account listed in callers.gcp of ${host}?`);
        if (res.status === 413) throw new BrokerError(413, "request-too-large", "Cloud Run refused the request envelope as too large");
        if (res.status === 429) throw new BrokerError(429, "invoke-failed", "the broker is throttled; try again");
        throw new BrokerError(502, "invoke-failed", `the broker at ${base.origin} answered HTTP ${res.status} without an envelope`);
    };
}

export interface ForwarderOptions {
    /** Default: awsInvoker() or gcpInvoker() by config.cloud. */
    invoker?: Invoker;
    /** Default: the limits of the config's cloud (LAMBDA_LIMITS / CLOUD_RUN_LIMITS). */
    limits?: PayloadLimits;
    /** One JSON line per request; default stdout. Never contains tokens (the proxy never sees one). */
    log?: (line: string) => void;
}

export interface OutboundRequest {
    method: string;
    /** http:// or https:// URL of the partner; upstream is https:// regardless. */
    url: URL;
    headers: Record<string, string>;
    body: Buffer;
}

/** The shared core of the proxy server and brokerFetch: request → envelope → invoke → response envelope. */
export function createForwarder(config: ProxyConfig, opts: ForwarderOptions = {}): (req: OutboundRequest) => Promise<ResponseEnvelope> {
    const invoker = opts.invoker ?? (config.cloud === "aws" ? awsInvoker() : gcpInvoker());
    const limits = opts.limits ?? (config.cloud === "aws" ? LAMBDA_LIMITS : CLOUD_RUN_LIMITS);
    const log = opts.log ?? ((line: string) => void process.stdout.write(line + "\n"));
    return async (req) => {
        const started = Date.now();
        const host = normalizeHost(req.url.hostname);
        let response: ResponseEnvelope;
        try {
            const target = config.hosts[host];
            if (!target) throw new BrokerError(403, "host-not-routed", `${host} is not in this proxy's config (stage ${config.stage}); nothing was invoked`);
            if (req.url.protocol !== "http:" && req.url.protocol !== "https:") throw new BrokerError(403, "scheme-not-allowed", `${req.url.protocol}// URLs are not forwarded`);
            if (req.url.username || req.url.password) throw new BrokerError(403, "userinfo-not-allowed", "URLs with user:password@ are refused; the broker adds the credential");
            if (req.url.port && req.url.port !== "443" && req.url.port !== "80") {
                throw new BrokerError(403, "port-not-allowed", `the broker always connects to ${host} on port 443; drop :${req.url.port} from the URL`);
            }
            if (!(METHODS as readonly string[]).includes(req.method)) throw new BrokerError(405, "bad-envelope", `method ${req.method} is not forwarded (${METHODS.join(", ")})`);
            const headers = stripHeaders(req.headers);
            for (const k of Object.keys(headers)) if (k.startsWith("x-partner-access-")) delete headers[k];
            if (config.caller) headers[CALLER_CLAIM_HEADER] = config.caller;
            const envelope: RequestEnvelope = {
                v: 1,
                method: req.method,
                url: `https://${host}${req.url.pathname}${req.url.search}`,
                headers,
                ...(req.body.length ? { body: req.body.toString("base64") } : {}),
            };
            const size = envelopeBytes(envelope);
            if (size > limits.maxRequestBytes) {
                throw new BrokerError(413, "request-too-large", `the request envelope would be ${size} bytes; the ${config.cloud === "aws" ? "Lambda" : "Cloud Run"} broker accepts at most ${limits.maxRequestBytes}; nothing was invoked`);
            }
            response = await invoker(host, target, envelope);
        } catch (err) {
            response = (err instanceof BrokerError ? err : new BrokerError(502, "invoke-failed", "the proxy failed to invoke the broker")).toEnvelope();
        }
        const error = response.headers[BROKER_ERROR_HEADER];
        log(JSON.stringify({ proxy: true, stage: config.stage, host, method: req.method, path: req.url.pathname, status: response.status, ms: Date.now() - started, ...(error ? { error } : {}) }));
        return response;
    };
}

/** Headers to send back to our server: the envelope's, minus hop-by-hop; content-length recomputed. */
function responseHeaders(env: ResponseEnvelope, bodyLength: number, keepLength: boolean): Record<string, string> {
    const out = stripHeaders(env.headers, keepLength ? [] : ["content-length"]);
    if (!keepLength) out["content-length"] = String(bodyLength);
    return out;
}

function bodyless(method: string, status: number): boolean {
    return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

function isLoopbackPeer(address: string | undefined): boolean {
    return !!address && classifyAddress(address).range === "loopback";
}

function writeEnvelope(res: http.ServerResponse, method: string, env: ResponseEnvelope): void {
    const body = decodeBody(env);
    const noBody = bodyless(method, env.status);
    res.writeHead(env.status, responseHeaders(env, body.length, noBody));
    res.end(noBody ? undefined : body);
}

const CONNECT_REFUSAL = JSON.stringify({
    error: "connect-refused",
    reason: "this proxy cannot inject a partner token into a TLS tunnel: request http://<partner-host>/... through it (it forwards over HTTPS), and keep https:// partner hosts out of no_proxy/CONNECT use",
});

/** The proxy's HTTP server (not listening yet). */
export function createProxyServer(config: ProxyConfig, opts: ForwarderOptions = {}): http.Server {
    const forward = createForwarder(config, opts);
    const limits = opts.limits ?? (config.cloud === "aws" ? LAMBDA_LIMITS : CLOUD_RUN_LIMITS);
    const maxBody = maxRawBodyBytes(limits.maxRequestBytes);
    const server = http.createServer((req, res) => {
        const method = req.method ?? "GET";
        if (!isLoopbackPeer(req.socket.remoteAddress)) {
            writeEnvelope(res, method, errorEnvelope(403, "not-proxy-request", "the proxy only serves this machine"));
            return;
        }
        const target = req.url ?? "";
        if (!/^https?:\/\//i.test(target)) {
            writeEnvelope(res, method, errorEnvelope(400, "not-proxy-request", "use this as an HTTP proxy (http_proxy=http://127.0.0.1:PORT) and request absolute http://<partner-host>/... URLs"));
            req.resume();
            return;
        }
        let url: URL;
        try {
            url = new URL(target);
        } catch {
            writeEnvelope(res, method, errorEnvelope(400, "bad-url", "the request URL is not valid"));
            req.resume();
            return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        let refused = false;
        const refuse = () => {
            refused = true;
            res.setHeader("connection", "close");
            writeEnvelope(res, method, errorEnvelope(413, "request-too-large", `the request body exceeds ${maxBody} bytes, the most the broker's platform accepts once base64-encoded; nothing was invoked`));
            req.resume();
        };
        if (Number(req.headers["content-length"] ?? 0) > maxBody) return refuse();
        req.on("data", (c: Buffer) => {
            if (refused) return;
            size += c.length;
            if (size > maxBody) refuse();
            else chunks.push(c);
        });
        req.on("end", () => {
            if (refused) return;
            forward({ method, url, headers: flattenHeaders(req.headers), body: Buffer.concat(chunks) }).then(
                (env) => writeEnvelope(res, method, env),
                () => writeEnvelope(res, method, errorEnvelope(502, "invoke-failed", "the proxy failed")),
            );
        });
        return undefined;
    });
    server.on("connect", (_req: http.IncomingMessage, socket: import("node:stream").Duplex) => {
        // The socket is ours once "connect" fires: a client resetting it (curl does, after a 405) must not crash the proxy.
        socket.on("error", () => socket.destroy());
        socket.end(
            `HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\n${BROKER_ERROR_HEADER}: connect-refused\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(CONNECT_REFUSAL)}\r\n\r\n${CONNECT_REFUSAL}`,
        );
    });
    return server;
}

export interface RunningProxy {
    port: number;
    /** host:port pairs actually listened on. */
    addresses: string[];
    close(): Promise<void>;
}

/** Listens on 127.0.0.1 and ::1 (when the machine has IPv6), on the same port. Only loopback addresses are accepted. */
export async function startProxy(config: ProxyConfig, opts: ForwarderOptions & { port?: number; listen?: string[] } = {}): Promise<RunningProxy> {
    const listen = opts.listen ?? ["127.0.0.1", "::1"];
    for (const a of listen) if (!isIP(a) || classifyAddress(a).range !== "loopback") throw new Error(`the proxy only listens on loopback addresses, not ${a}`);
    let port = opts.port ?? DEFAULT_PROXY_PORT;
    const servers: http.Server[] = [];
    const addresses: string[] = [];
    for (const [i, host] of listen.entries()) {
        const server = createProxyServer(config, opts);
        try {
            await new Promise<void>((resolve, reject) => {
                server.once("error", reject);
                server.listen(port, host, () => resolve());
            });
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            // A machine without IPv6 loopback: serve IPv4 only.
            if (i > 0 && (code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT")) continue;
            await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
            throw err;
        }
        port = (server.address() as import("node:net").AddressInfo).port;
        servers.push(server);
        addresses.push(host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
    }
    return {
        port,
        addresses,
        close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
    };
}

/** A fetch-compatible function for Node services: same rules as the proxy, no listening socket. Redirects are returned, never followed. */
export function brokerFetch(config: ProxyConfig, opts: ForwarderOptions = {}): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
    const forward = createForwarder(config, opts);
    return async (input, init) => {
        const req = new Request(input, init);
        const headers: Record<string, string> = {};
        req.headers.forEach((v, k) => (headers[k] = v));
        // No accept-encoding needed: the broker asks the partner for identity and decodes what still comes encoded.
        const body = req.body ? Buffer.from(await req.arrayBuffer()) : Buffer.alloc(0);
        const env = await forward({ method: req.method, url: new URL(req.url), headers, body });
        const out = new Headers();
        for (const [k, v] of Object.entries(env.headers)) if (!isHopByHop(k)) out.set(k, v);
        const noBody = bodyless(req.method, env.status);
        return new Response(noBody ? null : decodeBody(env), { status: env.status, headers: out });
    };
}
