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
