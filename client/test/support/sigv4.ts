/**
 * Server-side SigV4 verification for the stand-ins: parse the Authorization
 * header, look the key up, then re-sign the request with @smithy/signature-v4
 * and compare. Error texts are the ones AWS answers, per service.
 */
import { IncomingMessage } from "node:http";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

export interface AwsKey {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
    /** ms since epoch */
    expiresAt?: number;
    /** The ARN AWS sees: a user, a role, or arn:aws:sts::<acct>:assumed-role/<role>/<session>. */
    arn: string;
    /** For role sessions: the role. */
    roleArn?: string;
}

export interface SigV4Failure { status: number; code: string; message: string }

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

export function amzDateToMs(d: string): number {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(d);
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

const amz = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

export interface VerifyOptions {
    service: "execute-api" | "s3" | "sts";
    region: string;
    serverNow: number;
    keys: Map<string, AwsKey>;
}

/** Returns the caller's key, or the failure AWS would answer. */
export async function verifySigV4(req: IncomingMessage, body: Buffer, o: VerifyOptions): Promise<AwsKey | SigV4Failure> {
    const auth = String(req.headers.authorization ?? "");
    const m = AUTH.exec(auth);
    if (!m) {
        return o.service === "execute-api"
            ? { status: 403, code: "MissingAuthenticationToken", message: "Missing Authentication Token" }
            : { status: 403, code: "AccessDenied", message: "Anonymous access is forbidden for this operation" };
    }
    const [, akid, , region, service, signedHeaders, signature] = m;
    const amzDate = String(req.headers["x-amz-date"] ?? "");
    const key = o.keys.get(akid);
    const token = req.headers["x-amz-security-token"];
    const invalidToken = o.service === "s3"
        ? { status: 403, code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records." }
        : { status: 403, code: "InvalidClientTokenId", message: "The security token included in the request is invalid." };
    if (!key) return invalidToken;
    if (key.sessionToken !== undefined && token !== key.sessionToken) {
        return o.service === "s3" ? { status: 400, code: "InvalidToken", message: "The provided token is malformed or otherwise invalid." }
            : { status: 403, code: "InvalidClientTokenId", message: "The security token included in the request is invalid." };
    }
    if (key.expiresAt !== undefined && key.expiresAt <= o.serverNow) {
        return { status: 403, code: o.service === "s3" ? "ExpiredToken" : "ExpiredToken", message: "The security token included in the request is expired" };
    }
    const t = amzDateToMs(amzDate);
    if (!(Math.abs(t - o.serverNow) <= 5 * 60_000)) {
        if (o.service === "s3") return { status: 403, code: "RequestTimeTooSkewed", message: "The difference between the request time and the current time is too large." };
        const limit = t < o.serverNow ? `is now earlier than ${amz(o.serverNow - 300_000)} (${amz(o.serverNow)} - 5 min.)` : `is now later than ${amz(o.serverNow + 300_000)} (${amz(o.serverNow)} + 5 min.)`;
        return { status: 403, code: "SignatureDoesNotMatch", message: `Signature expired: ${amzDate} ${limit}` };
    }
    if (region !== o.region) {
        if (o.service === "s3") return { status: 400, code: "AuthorizationHeaderMalformed", message: `The authorization header is malformed; the region '${region}' is wrong; expecting '${o.region}'` };
        return { status: 403, code: "SignatureDoesNotMatch", message: `Credential should be scoped to a valid region, not '${region}'. ` };
    }
    if (service !== o.service) return { status: 403, code: "SignatureDoesNotMatch", message: `Credential should be scoped to correct service: '${o.service}'. ` };

    const url = new URL(req.url!, "http://placeholder");
    const query = receivedQuery(req.url!);
    if (!query) return { status: 400, code: "InvalidQueryString", message: "The query string is not validly percent-encoded." };
    const headers: Record<string, string> = {};
    for (const h of signedHeaders.split(";")) headers[h] = String(req.headers[h] ?? "");
    const signer = new SignatureV4({
        service, region, sha256: Sha256, uriEscapePath: o.service !== "s3", applyChecksum: o.service === "s3",
        credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, sessionToken: key.sessionToken },
    });
    const [host, port] = String(req.headers.host).split(":");
    const signed = await signer.sign({
        method: req.method!, protocol: "https:", hostname: host, port: port ? Number(port) : undefined,
        path: url.pathname, query, headers, body: body.length ? body : undefined,
    }, { signingDate: new Date(t) });
    const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
    if (expected !== signature) {
        return {
            status: 403, code: "SignatureDoesNotMatch",
            message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        };
    }
    return key;
}

/**
 * The query as the server received it, read independently of the client (which builds it with
 * URLSearchParams): the raw text after "?" split on "&" and the first "=", each side percent-decoded
 * and nothing else, so a raw "+" is a plus sign (RFC 3986), not a space. Undefined if malformed.
 */
export function receivedQuery(rawUrl: string): Record<string, string | string[]> | undefined {
    const q = rawUrl.indexOf("?");
    const query: Record<string, string | string[]> = Object.create(null);
    if (q < 0) return query;
    try {
        for (const part of rawUrl.slice(q + 1).split("#")[0].split("&")) {
            if (part === "") continue;
            const eq = part.indexOf("=");
            const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
            const v = decodeURIComponent(eq < 0 ? "" : part.slice(eq + 1));
            query[k] = Object.hasOwn(query, k) ? ([] as string[]).concat(query[k], v) : v;
        }
    } catch {
        return undefined;
    }
    return query;
}

export const isFailure = (x: AwsKey | SigV4Failure): x is SigV4Failure => "status" in x;
