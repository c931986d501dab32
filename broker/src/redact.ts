/**
 * Keeps a partner token out of what the broker hands back. Partners echo
 * requests and put the query string into redirects (`Location:
 * /orders/?api_key=...`), so the response envelope is scrubbed before it
 * leaves the broker; callers must never learn the token they are spared.
 */
import * as zlib from "node:zlib";
import { BrokerError } from "./envelope";

/** What a token is replaced with. */
export const TOKEN_MARKER = "[partner-token]";

export interface Redactor {
    /** `text` (a header value, as Node decodes it: one char per byte) with every copy of the token replaced. */
    text(text: string): string;
    /** The same for raw bytes; the same Buffer when nothing matched. */
    bytes(body: Buffer): Buffer;
    /** Whether a header name contains the token (case-insensitive: Node lower-cases names). */
    inName(name: string): boolean;
}

const escapeRe = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");

/**
 * Matches the token raw and percent-encoded in any mix (encodeURIComponent,
 * encodeURI, form encoding with `+` for space, upper- or lower-case hex), so
 * `Bearer <token>` and every query-string form are caught too. Works on the
 * token's UTF-8 bytes, one char per byte ("latin1"), like the text it scans.
 */
export function tokenRedactor(token: string): Redactor {
    const parts = [...Buffer.from(token, "utf8")].map((b) => {
        const hex = b.toString(16).toUpperCase().padStart(2, "0");
        const forms = [escapeRe(String.fromCharCode(b)), `%[${hex[0]}${hex[0].toLowerCase()}][${hex[1]}${hex[1].toLowerCase()}]`];
        if (b === 0x20) forms.push("\\+");
        return `(?:${forms.join("|")})`;
    });
    const source = parts.join("");
    const all = new RegExp(source, "g");
    const name = new RegExp(source, "i");
    const text = (s: string) => s.replace(all, TOKEN_MARKER);
    return {
        text,
        bytes: (body) => {
            const s = body.toString("latin1");
            all.lastIndex = 0;
            return all.test(s) ? Buffer.from(text(s), "latin1") : body;
        },
        inName: (n) => name.test(n),
    };
}

/**
 * The body without its Content-Encoding (applied last first), so it can be
 * scrubbed. The broker asks for `identity`; this is for partners that encode
 * anyway. Output is bounded by `maxBytes` (a decompression bomb is a 413).
 */
export function decodeContent(body: Buffer, contentEncoding: string, maxBytes: number, host: string): Buffer {
    const codings = contentEncoding
        .split(",")
        .map((c) => c.trim().toLowerCase())
        .filter((c) => c && c !== "identity");
    let out = body;
    for (const coding of codings.reverse()) {
        const opts = { maxOutputLength: maxBytes };
        try {
            if (coding === "gzip" || coding === "x-gzip") out = zlib.gunzipSync(out, opts);
            else if (coding === "br") out = zlib.brotliDecompressSync(out, opts);
            else if (coding === "deflate") {
                // RFC 9110 deflate is zlib-wrapped; some servers send it raw.
                try {
                    out = zlib.inflateSync(out, opts);
                } catch (err) {
                    if ((err as NodeJS.ErrnoException).code !== "Z_DATA_ERROR") throw err;
                    out = zlib.inflateRawSync(out, opts);
                }
            } else {
                throw new BrokerError(502, "upstream-encoding-unsupported", `${host} answered with Content-Encoding ${coding}, which the broker cannot decode (it must inspect the body; it asks for identity)`);
            }
        } catch (err) {
            if (err instanceof BrokerError) throw err;
            if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
                throw new BrokerError(413, "response-too-large", `${host} answered with a body that decodes to more than ${maxBytes} bytes, more than the broker's platform returns`);
            }
            throw new BrokerError(502, "upstream-error", `could not decode the ${coding} body of ${host}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
        }
    }
    return out;
}
