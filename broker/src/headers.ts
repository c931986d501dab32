/** Header hygiene shared by the broker and the proxy. Names are lower-case throughout. */

/** Hop-by-hop headers (RFC 9110 §7.6.1) and Host, which the broker sets itself. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"]);

/** Names a Connection header lists are hop-by-hop too. */
function connectionListed(headers: Record<string, string>): Set<string> {
    const listed = new Set<string>();
    for (const [k, v] of Object.entries(headers)) {
        if (k.toLowerCase() !== "connection" && k.toLowerCase() !== "proxy-connection") continue;
        for (const token of v.split(",")) {
            const t = token.trim().toLowerCase();
            if (t) listed.add(t);
        }
    }
    return listed;
}

/** Caller credential headers by exact name (the routed host's own token header is dropped per route). */
const CREDENTIAL_NAMES = new Set(["authorization", "proxy-authorization", "cookie", "x-api-key"]);

/** A word of a header name (split on "-" and "_") that marks a credential, e.g. X-Auth-Token, X-Session-Id, X-Client-Secret. */
const CREDENTIAL_WORD = /^(auth|authn|authz|authorization|authentication|tokens?|apikey|secrets?|sessions?|sessionid|credentials?|passwords?|passwd|signatures?|cookies?|jwts?|assertions?|bearer)$/;

/**
 * Words that, before a final "key", name a secret key (X-Access-Key, Ocp-Apim-Subscription-Key,
 * X-Functions-Key); other keys (Idempotency-Key, X-Partition-Key, X-Routing-Key) name data.
 */
const SECRET_KEY_WORD = /^(access|api|subscription|functions?|client|private|secret|master|app|auth|signing|license|consumer|developer|partner|account|service|shared)$/;

/** Cloud request-signing and identity families (SigV4 X-Amz-Security-Token, X-Goog-Iam-Authorization-Token...). */
const CREDENTIAL_PREFIXES = ["x-amz-", "x-goog-"];

/**
 * Whether a caller-supplied request header may carry a credential, so the
 * broker must not pass it on: callers reach the partner with the broker's
 * token only, and must not leak their own (or cloud) credentials to it.
 * Errs on the side of dropping; plain headers (Content-Type, Accept,
 * User-Agent, Idempotency-Key, X-Request-Id) pass.
 */
export function isCredentialHeader(name: string): boolean {
    const n = name.toLowerCase();
    if (CREDENTIAL_NAMES.has(n) || CREDENTIAL_PREFIXES.some((p) => n.startsWith(p))) return true;
    const words = n.split(/[-_]/);
    if (/^keys?$/.test(words[words.length - 1]) && words.length > 1 && SECRET_KEY_WORD.test(words[words.length - 2])) return true;
    return words.some((w, i) => CREDENTIAL_WORD.test(w) || (w === "api" && words[i + 1] === "key"));
}

export function isHopByHop(name: string): boolean {
    const n = name.toLowerCase();
    return HOP_BY_HOP.has(n) || n.startsWith("proxy-");
}

/**
 * A copy without hop-by-hop headers (the fixed list, any Proxy-*, and whatever
 * Connection lists) and without the names in `drop`. Output names are lower-case.
 */
export function stripHeaders(headers: Record<string, string>, drop: Iterable<string> = []): Record<string, string> {
    const listed = connectionListed(headers);
    const dropped = new Set([...drop].map((d) => d.toLowerCase()));
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
        const n = k.toLowerCase();
        if (isHopByHop(n) || listed.has(n) || dropped.has(n)) continue;
        out[n] = v;
    }
    return out;
}

/** Node's IncomingHttpHeaders → Record<string,string>; repeated fields are joined with ", " (Set-Cookie is dropped by callers). */
export function flattenHeaders(h: NodeJS.Dict<string | string[]>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) {
        if (v === undefined) continue;
        out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
    }
    return out;
}
