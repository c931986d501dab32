/**
 * The envelope: the only wire format between the local proxy and the broker,
 * on both clouds. Lambda receives/returns it as the invocation payload; Cloud
 * Run receives it as the JSON body of `POST /v1/forward` and answers with it.
 */

export const ENVELOPE_VERSION = 1;

export interface RequestEnvelope {
    v: 1;
    method: string;
    /** Absolute `https://host/path?query` of the partner API. */
    url: string;
    headers: Record<string, string>;
    /** Request body, base64. */
    body?: string;
}

export interface ResponseEnvelope {
    v: 1;
    status: number;
    headers: Record<string, string>;
    /** Response body, base64. */
    body?: string;
}

/** Set on every response the broker or proxy makes itself (not the partner's). */
export const BROKER_ERROR_HEADER = "x-partner-access-broker-error";

/**
 * Optional, unverified caller claim a proxy may send in the envelope headers
 * (e.g. the role it believes it runs as). Logged as `callerVerified: false`,
 * never forwarded to the partner.
 */
export const CALLER_CLAIM_HEADER = "x-partner-access-caller";

/** Methods the broker forwards. CONNECT and TRACE are never forwarded. */
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

export type BrokerErrorCode =
    | "bad-envelope"
    | "bad-url"
    | "scheme-not-allowed"
    | "port-not-allowed"
    | "userinfo-not-allowed"
    | "host-not-routed"
    | "caller-not-allowed"
    | "address-not-allowed"
    | "dns-failed"
    | "token-missing"
    | "secret-store-error"
    | "request-too-large"
    | "response-too-large"
    | "upstream-timeout"
    | "dns-timeout"
    | "secret-timeout"
    | "upstream-error"
    | "upstream-encoding-unsupported"
    | "connect-refused"
    | "not-proxy-request"
    | "invoke-denied"
    | "invoke-failed"
    | "internal-error";

/** A response made by the broker (or proxy) itself: JSON `{error, reason}` plus the error header. */
export function errorEnvelope(status: number, code: BrokerErrorCode, reason: string): ResponseEnvelope {
    const body = Buffer.from(JSON.stringify({ error: code, reason }), "utf8");
    return {
        v: 1,
        status,
        headers: {
            "content-type": "application/json; charset=utf-8",
            [BROKER_ERROR_HEADER]: code,
        },
        body: body.toString("base64"),
    };
}

/** Thrown inside the broker/proxy to end a request with a given error envelope. */
export class BrokerError extends Error {
    constructor(
        readonly status: number,
        readonly code: BrokerErrorCode,
        reason: string,
    ) {
        super(reason);
    }
    toEnvelope(): ResponseEnvelope {
        return errorEnvelope(this.status, this.code, this.message);
    }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values: visible ASCII, obs-text, space and tab; never CR, LF or NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function isHeaderName(name: string): boolean {
    return TOKEN.test(name);
}

export function isHeaderValue(value: string): boolean {
    return FIELD_VALUE.test(value);
}

function checkHeaders(h: unknown, where: string): Record<string, string> {
    if (typeof h !== "object" || h === null || Array.isArray(h)) throw new BrokerError(400, "bad-envelope", `${where}.headers must be an object of strings`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) {
        if (typeof v !== "string") throw new BrokerError(400, "bad-envelope", `${where}.headers["${k}"] must be a string`);
        if (!isHeaderName(k)) throw new BrokerError(400, "bad-envelope", `${where}.headers: "${k}" is not a valid header name`);
        if (!isHeaderValue(v)) throw new BrokerError(400, "bad-envelope", `${where}.headers["${k}"] contains a forbidden character`);
        out[k.toLowerCase()] = v;
    }
    return out;
}

function checkBody(b: unknown, where: string): string | undefined {
    if (b === undefined || b === null) return undefined;
    if (typeof b !== "string" || b.length % 4 !== 0 || !BASE64.test(b)) throw new BrokerError(400, "bad-envelope", `${where}.body must be base64`);
    return b;
}

/** Validates a request envelope; header names come back lower-case. Throws BrokerError(400). */
export function parseRequestEnvelope(raw: unknown): RequestEnvelope {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new BrokerError(400, "bad-envelope", "the request must be a JSON envelope object");
    const e = raw as Record<string, unknown>;
    if (e.v !== ENVELOPE_VERSION) throw new BrokerError(400, "bad-envelope", `envelope version must be ${ENVELOPE_VERSION}`);
    if (typeof e.method !== "string" || !(METHODS as readonly string[]).includes(e.method)) {
        throw new BrokerError(400, "bad-envelope", `method must be one of ${METHODS.join(", ")}`);
    }
    if (typeof e.url !== "string" || e.url.length === 0) throw new BrokerError(400, "bad-envelope", "url must be a string");
    return { v: 1, method: e.method, url: e.url, headers: checkHeaders(e.headers ?? {}, "request"), body: checkBody(e.body, "request") };
}

/** Validates a response envelope (what the proxy gets back). Throws BrokerError(502). */
export function parseResponseEnvelope(raw: unknown): ResponseEnvelope {
    try {
        if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("not an object");
        const e = raw as Record<string, unknown>;
        if (e.v !== ENVELOPE_VERSION) throw new Error(`version is not ${ENVELOPE_VERSION}`);
        if (typeof e.status !== "number" || !Number.isInteger(e.status) || e.status < 100 || e.status > 599) throw new Error("bad status");
        return { v: 1, status: e.status, headers: checkHeaders(e.headers ?? {}, "response"), body: checkBody(e.body, "response") };
    } catch (err) {
        throw new BrokerError(502, "invoke-failed", `the broker answered with an invalid envelope: ${(err as Error).message}`);
    }
}

export function envelopeBytes(e: RequestEnvelope | ResponseEnvelope): number {
    return Buffer.byteLength(JSON.stringify(e), "utf8");
}

export function decodeBody(e: { body?: string }): Buffer {
    return e.body ? Buffer.from(e.body, "base64") : Buffer.alloc(0);
}
