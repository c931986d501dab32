/**
 * The broker: one implementation behind both adapters (Lambda, Cloud Run).
 *
 * It forwards a request envelope to a partner host that is in the routes
 * table, over HTTPS to port 443 only, to an address it has resolved and
 * checked itself (connecting to that very address, with SNI and Host set to
 * the host name, so DNS cannot change between check and connect), injects that
 * host's token, never follows redirects, and answers with a response envelope
 * from which every copy of the token is scrubbed.
 */
import * as https from "node:https";
import { isIP } from "node:net";
import { classifyAddress, defaultAddressAllowed, Resolver, ResolvedAddress, systemResolver } from "./address-guard";
import {
    BrokerError,
    CALLER_CLAIM_HEADER,
    decodeBody,
    envelopeBytes,
    parseRequestEnvelope,
    RequestEnvelope,
    ResponseEnvelope,
} from "./envelope";
import { flattenHeaders, isCredentialHeader, stripHeaders } from "./headers";
import { CONNECT_ATTEMPT_TIMEOUT_MS, DEFAULT_FORWARD_TIMEOUT_MS, DEFAULT_SECRET_TTL_MS, maxRawBodyBytes, PayloadLimits } from "./limits";
import { decodeContent, tokenRedactor } from "./redact";
import { aliasName, BrokerRoutes, normalizeHost, Route } from "./routes";
import { SecretCache, SecretReadTimeout, SecretStore } from "./secrets";

export type Cloud = "aws" | "gcp";

/**
 * Who is asking, as the adapter learned it from the platform.
 * - AWS: the alias Lambda was invoked through (from context.invokedFunctionArn,
 *   set by Lambda: verified). Lambda does not tell the function who invoked
 *   it; `claim` is whatever the proxy says about itself (unverified).
 * - GCP: the `email` of the Google ID token Cloud Run verified before the
 *   request reached the container.
 */
export type CallerIdentity = { cloud: "aws"; alias?: string; claim?: string } | { cloud: "gcp"; email?: string };

export interface BrokerOptions {
    routes: BrokerRoutes;
    cloud: Cloud;
    secrets: SecretStore;
    limits: PayloadLimits;
    /** One deadline for the whole forward (DNS, secret read, exchange); default DEFAULT_FORWARD_TIMEOUT_MS. */
    timeoutMs?: number;
    secretTtlMs?: number;
    now?: () => number;
    /** Host name → addresses; default: the system resolver. */
    resolve?: Resolver;
    /** Address guard; default: public unicast only. Tests allow 127.0.0.1 explicitly. */
    addressAllowed?: (address: string) => boolean;
    /** Extra trust for the upstream TLS connection (tests: the test CA). Default: Node's bundled roots. */
    tls?: { ca?: string | Buffer | Array<string | Buffer> };
    /** Port the broker connects to; always 443 in deployment (URLs with another port are refused regardless). */
    upstreamPort?: number;
    /** One JSON line per request; default: stdout. */
    log?: (line: string) => void;
}

export interface Broker {
    forward(raw: unknown, identity: CallerIdentity): Promise<ResponseEnvelope>;
    /** Logs and answers a refusal an adapter made before forwarding (e.g. a body over the limit). */
    refuse(err: BrokerError, identity: CallerIdentity): ResponseEnvelope;
    /** Releases pooled upstream connections. */
    close(): void;
}

/** Never forwarded: recomputed, or meaningful only between proxy and broker. */
const NOT_FORWARDED = ["content-length", "expect", CALLER_CLAIM_HEADER];

export interface LogLine {
    stage: string;
    caller: string | null;
    callerVerified: boolean;
    alias?: string | null;
    email?: string | null;
    partner: string | null;
    host: string | null;
    method: string | null;
    /** Path only: the query string may carry the token. */
    path: string | null;
    status: number;
    ms: number;
    error?: string;
    reason?: string;
}

export function createBroker(opts: BrokerOptions): Broker {
    const now = opts.now ?? Date.now;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS;
    const resolve = opts.resolve ?? systemResolver;
    const allowed = opts.addressAllowed ?? defaultAddressAllowed;
    const port = opts.upstreamPort ?? 443;
    const log = opts.log ?? ((line: string) => void process.stdout.write(line + "\n"));
    const cache = new SecretCache(opts.secrets, opts.secretTtlMs ?? DEFAULT_SECRET_TTL_MS, now);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 64, minVersion: "TLSv1.2", ca: opts.tls?.ca });
    const byHost = new Map<string, Route>();
    const byAlias = new Map<string, Route>();
    for (const r of opts.routes.routes) {
        byHost.set(normalizeHost(r.host), r);
        byAlias.set(aliasName(r.partner, r.host), r);
    }

    function authorize(route: Route, host: string, id: CallerIdentity): void {
        if (id.cloud === "aws") {
            if (!id.alias) {
                throw new BrokerError(403, "caller-not-allowed", "the broker must be invoked through the alias of a host (function ARN with :<alias>), not unqualified or by version");
            }
            const served = byAlias.get(id.alias);
            if (served !== route) {
                const what = served ? `serves ${served.host}` : "serves no host in this routes table";
                throw new BrokerError(403, "caller-not-allowed", `alias ${id.alias} ${what}, not ${host}`);
            }
        } else {
            if (!id.email) throw new BrokerError(403, "caller-not-allowed", "no verified caller identity (the Cloud Run service must require authentication)");
            const listed = (route.callers.gcp ?? []).map((e) => e.toLowerCase());
            if (!listed.includes(id.email.toLowerCase())) throw new BrokerError(403, "caller-not-allowed", `${id.email} is not a listed caller of ${host}`);
        }
    }

    /** Every address of `host`, each checked: one refused address refuses the host. */
    async function checkedAddresses(host: string): Promise<ResolvedAddress[]> {
        let addresses: ResolvedAddress[];
        try {
            addresses = await resolve(host);
        } catch (err) {
            throw new BrokerError(502, "dns-failed", `could not resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
        }
        if (addresses.length === 0) throw new BrokerError(502, "dns-failed", `${host} has no addresses`);
        for (const a of addresses) {
            if (!allowed(a.address)) {
                const { range } = classifyAddress(a.address);
                throw new BrokerError(403, "address-not-allowed", `${host} resolves to ${a.address} (${range}); the broker only connects to public addresses`);
            }
        }
        return addresses;
    }

    async function token(route: Route, host: string): Promise<string> {
        const ref = route.secret[opts.cloud];
        if (!ref) throw new BrokerError(407, "token-missing", `no ${opts.cloud} secret slot is configured for ${host}`);
        let value: string | undefined;
        try {
            value = await cache.get(ref);
        } catch (err) {
            if (err instanceof SecretReadTimeout) throw new BrokerError(504, "secret-timeout", `the secret store did not return the token of ${host} in time (${ref})`);
            const e = err as { name?: string; code?: string | number };
            throw new BrokerError(500, "secret-store-error", `could not read the token of ${host} from ${ref}: ${e.name ?? "Error"}${e.code ? ` (${e.code})` : ""}`);
        }
        if (value === undefined) {
            const how =
                opts.cloud === "aws"
                    ? `printf %s "$TOKEN" | aws secretsmanager put-secret-value --secret-id ${ref} --secret-string file:///dev/stdin`
                    : `printf %s "$TOKEN" | gcloud secrets versions add ${ref} --data-file=-`;
            throw new BrokerError(407, "token-missing", `no token is set for ${host} yet (${ref}); an operator sets it with: ${how}`);
        }
        return value;
    }

    interface Exchange {
        host: string;
        method: string;
        path: string;
        headers: Record<string, string>;
        body: Buffer;
        /** performance.now() by which the answer must be complete. */
        deadline: number;
    }

    /**
     * Tries each checked address in turn while the connection fails before any
     * request byte is written (so a retry can never send a request twice); any
     * other failure ends the exchange.
     */
    async function exchange(req: Exchange, addresses: ResolvedAddress[]): Promise<UpstreamResponse> {
        const failed: string[] = [];
        for (const [i, address] of addresses.entries()) {
            const last = i === addresses.length - 1;
            try {
                return await attempt(req, address, last ? undefined : CONNECT_ATTEMPT_TIMEOUT_MS);
            } catch (err) {
                if (!(err instanceof NotConnected)) throw err;
                failed.push(`${address.address}: ${err.code}`);
            }
        }
        throw new BrokerError(502, "upstream-error", `could not connect to ${req.host} (${failed.join(", ")})`);
    }

    function attempt(req: Exchange, address: ResolvedAddress, connectTimeoutMs: number | undefined): Promise<UpstreamResponse> {
        const maxRaw = maxRawBodyBytes(opts.limits.maxResponseBytes);
        return new Promise((resolveP, rejectP) => {
            let settled = false;
            let connected = false;
            let connectTimer: NodeJS.Timeout | undefined;
            const finish = (f: () => void) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                clearTimeout(connectTimer);
                f();
            };
            const up = https.request({
                host: address.address,
                family: address.family,
                port,
                servername: isIP(req.host) ? undefined : req.host,
                method: req.method,
                path: req.path,
                headers: req.headers,
                agent,
            });
            const timer = setTimeout(() => {
                finish(() => rejectP(new BrokerError(504, "upstream-timeout", `${req.host} did not answer within the broker's ${timeoutMs} ms deadline`)));
                up.destroy();
            }, Math.max(0, req.deadline - performance.now()));
            up.on("socket", (socket) => {
                // A pooled socket is already connected; a failure on it may come after the request went out.
                if (!socket.connecting) return void (connected = true);
                socket.once("connect", () => {
                    connected = true;
                    clearTimeout(connectTimer);
                });
                if (connectTimeoutMs !== undefined) {
                    connectTimer = setTimeout(() => socket.destroy(Object.assign(new Error("connect timed out"), { code: "ETIMEDOUT" })), connectTimeoutMs);
                }
            });
            up.on("error", (err: NodeJS.ErrnoException) => {
                if (!connected && err.code && CONNECT_ERRORS.has(err.code)) return finish(() => rejectP(new NotConnected(err.code!)));
                finish(() => rejectP(new BrokerError(502, "upstream-error", `could not complete the exchange with ${req.host}: ${err.code ?? err.message}`)));
            });
            up.on("response", (res) => {
                const chunks: Buffer[] = [];
                let size = 0;
                res.on("data", (c: Buffer) => {
                    size += c.length;
                    if (size > maxRaw) {
                        finish(() =>
                            rejectP(
                                new BrokerError(
                                    413,
                                    "response-too-large",
                                    `${req.host} answered with more than ${maxRaw} bytes; the broker's platform returns at most ${opts.limits.maxResponseBytes} bytes per response envelope`,
                                ),
                            ),
                        );
                        up.destroy();
                        return;
                    }
                    chunks.push(c);
                });
                res.on("error", (err: NodeJS.ErrnoException) =>
                    finish(() => rejectP(new BrokerError(502, "upstream-error", `the response of ${req.host} broke off: ${err.code ?? err.message}`))),
                );
                res.on("end", () =>
                    finish(() => {
                        const headers = stripHeaders(flattenHeaders(res.headers), ["set-cookie"]);
                        for (const k of Object.keys(headers)) if (k.startsWith("x-partner-access-")) delete headers[k];
                        resolveP({ status: res.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
                    }),
                );
            });
            up.end(req.body.length ? req.body : undefined);
        });
    }

    function logLine(identity: CallerIdentity): LogLine {
        return identity.cloud === "aws"
            ? { stage: opts.routes.stage, caller: identity.claim ?? null, callerVerified: false, alias: identity.alias ?? null, partner: null, host: null, method: null, path: null, status: 0, ms: 0 }
            : { stage: opts.routes.stage, caller: identity.email ?? null, callerVerified: Boolean(identity.email), email: identity.email ?? null, partner: null, host: null, method: null, path: null, status: 0, ms: 0 };
    }

    function refuse(err: BrokerError, identity: CallerIdentity): ResponseEnvelope {
        const line = logLine(identity);
        const response = err.toEnvelope();
        Object.assign(line, { status: response.status, error: err.code, reason: err.message });
        log(JSON.stringify(line));
        return response;
    }

    async function forward(raw: unknown, identity: CallerIdentity): Promise<ResponseEnvelope> {
        const started = now();
        // One deadline for every step, so the broker answers before the platform stops it.
        const deadline = performance.now() + timeoutMs;
        const line = logLine(identity);
        let response: ResponseEnvelope;
        try {
            const env: RequestEnvelope = parseRequestEnvelope(raw);
            line.method = env.method;
            let url: URL;
            try {
                url = new URL(env.url);
            } catch {
                throw new BrokerError(400, "bad-url", "url is not an absolute URL");
            }
            const host = normalizeHost(url.hostname);
            line.host = host;
            line.path = url.pathname;
            if (url.protocol !== "https:") throw new BrokerError(403, "scheme-not-allowed", `only https:// URLs are forwarded, not ${url.protocol}//`);
            if (url.username || url.password) throw new BrokerError(403, "userinfo-not-allowed", "URLs with user:password@ are refused; the broker adds the credential");
            if (url.port && url.port !== "443") throw new BrokerError(403, "port-not-allowed", `only port 443 is forwarded, not ${url.port}`);
            const route = byHost.get(host);
            if (!route) throw new BrokerError(403, "host-not-routed", `${host} is not in the ${opts.routes.stage} routes table (the broker is not an open proxy)`);
            line.partner = route.partner;
            authorize(route, host, identity);
            const size = envelopeBytes(env);
            if (size > opts.limits.maxRequestBytes) {
                throw new BrokerError(413, "request-too-large", `the request envelope is ${size} bytes; the platform accepts at most ${opts.limits.maxRequestBytes}`);
            }
            const addresses = await beforeDeadline(checkedAddresses(host), deadline, () => new BrokerError(504, "dns-timeout", `resolving ${host} did not finish within the broker's ${timeoutMs} ms deadline`));
            const secret = await beforeDeadline(token(route, host), deadline, () => new BrokerError(504, "secret-timeout", `reading the token of ${host} did not finish within the broker's ${timeoutMs} ms deadline`));

            // Caller-supplied credentials never reach a partner (the host's token header is added below).
            const drop = [...NOT_FORWARDED, ...Object.keys(env.headers).filter((k) => k.startsWith("x-partner-access-") || isCredentialHeader(k))];
            if ("header" in route.token) drop.push(route.token.header);
            const headers = stripHeaders(env.headers, drop);
            headers.host = host;
            // Identity, so the body can be scrubbed of the token (the caller's own choice is dropped).
            headers["accept-encoding"] = "identity";
            let search = url.search;
            if ("query" in route.token) search = withQueryParam(search, route.token.query, secret);
            else headers[route.token.header.toLowerCase()] = route.token.scheme === "Bearer" ? `Bearer ${secret}` : secret;
            const body = decodeBody(env);
            if (body.length || ["POST", "PUT", "PATCH"].includes(env.method)) headers["content-length"] = String(body.length);

            const upstream = await exchange({ host, method: env.method, path: url.pathname + search, headers, body, deadline }, addresses);
            response = handBack(upstream, secret, host, maxRawBodyBytes(opts.limits.maxResponseBytes));
            const outSize = envelopeBytes(response);
            if (outSize > opts.limits.maxResponseBytes) {
                throw new BrokerError(413, "response-too-large", `the response envelope would be ${outSize} bytes; the platform returns at most ${opts.limits.maxResponseBytes}`);
            }
        } catch (err) {
            const e = err instanceof BrokerError ? err : new BrokerError(500, "internal-error", "the broker failed unexpectedly");
            if (!(err instanceof BrokerError)) {
                const x = err as NodeJS.ErrnoException | undefined;
                line.reason = `${x?.name ?? "Error"}${x?.code ? ` (${x.code})` : ""}`;
            }
            line.error = e.code;
            if (e.code !== "internal-error") line.reason = e.message;
            response = e.toEnvelope();
        }
        line.status = response.status;
        line.ms = now() - started;
        log(JSON.stringify(line));
        return response;
    }

    return { forward, refuse, close: () => agent.destroy() };
}

/** `step`, or `late()` once `deadline` (performance.now()) passes; the step itself runs on (DNS lookups cannot be cancelled). */
function beforeDeadline<T>(step: Promise<T>, deadline: number, late: () => BrokerError): Promise<T> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(late()), Math.max(0, deadline - performance.now()));
        step.then(
            (v) => (clearTimeout(timer), resolve(v)),
            (e) => (clearTimeout(timer), reject(e)),
        );
    });
}

/** Connection failures before anything was sent: the next checked address may be tried. */
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "ETIMEDOUT"]);

class NotConnected extends Error {
    constructor(readonly code: string) {
        super(code);
    }
}

interface UpstreamResponse {
    status: number;
    headers: Record<string, string>;
    body: Buffer;
}

/** Headers that describe body bytes the broker changed. */
const BODY_DIGESTS = ["content-md5", "content-digest", "repr-digest"];

/**
 * The partner's answer as the caller gets it: decoded and with every copy of
 * the token replaced in each header and the body (partners echo requests and
 * redirect with the query string; the caller must never learn the token).
 */
function handBack(up: UpstreamResponse, secret: string, host: string, maxBytes: number): ResponseEnvelope {
    const redact = tokenRedactor(secret);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(up.headers)) if (!redact.inName(k)) headers[k] = redact.text(v);
    let body = up.body;
    if (body.length && headers["content-encoding"] !== undefined) {
        body = decodeContent(body, headers["content-encoding"], maxBytes, host);
        delete headers["content-encoding"];
    }
    const scrubbed = redact.bytes(body);
    if (scrubbed !== up.body) {
        body = scrubbed;
        headers["content-length"] = String(body.length);
        for (const k of BODY_DIGESTS) delete headers[k];
    }
    return { v: 1, status: up.status, headers, ...(body.length ? { body: body.toString("base64") } : {}) };
}

function safeDecode(s: string): string {
    try {
        return decodeURIComponent(s.replace(/\+/g, " "));
    } catch {
        return s;
    }
}

/** Removes every `name=` pair (however encoded) from a query string and appends `name=value`; other pairs stay byte for byte. */
export function withQueryParam(search: string, name: string, value: string): string {
    const kept = search
        .replace(/^\?/, "")
        .split("&")
        .filter((p) => p !== "" && safeDecode(p.split("=")[0]) !== name);
    kept.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
    return `?${kept.join("&")}`;
}
