/**
 * Signed calls to a stage's API: SigV4 (execute-api) on AWS, a JWT signed by
 * the partner's service account (IAM Credentials signJwt) on GCP.
 */
import * as https from "node:https";
import * as tls from "node:tls";
import { Sha256 } from "@aws-crypto/sha256-js";
import { getCanonicalQuery, SignatureV4 } from "@smithy/signature-v4";
import { AwsAccess, awsAccess, AwsOptions } from "./aws";
import { AwsErrorContext, clockSkewSeconds, Diagnosis, diagnoseAws, diagnoseGoogle, diagnoseHttp, errorCode, errorMessage, PartnerAccessError } from "./errors";
import { clientEmail, endpointsClaims, signJwt, sourceClient } from "./google";
import { Kit, parseRoute, routeMatches } from "./kit";
import { requireCredentialUrl } from "./url";

export type Cloud = "aws" | "gcp";

export interface PartnerFetchInit extends AwsOptions {
    /** Which stage API to call; default: the only one the kit grants. */
    cloud?: Cloud;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array;
    /** GCP: the service account that signs (default: --impersonate, the kit's only one, or the one you run as). */
    serviceAccount?: string;
    /** Extra CA certificates to trust for this call (PEM), e.g. a TLS-inspecting proxy's. */
    ca?: string | Buffer | (string | Buffer)[];
    /** Deadline for the whole call, connect to last byte (default DEFAULT_TIMEOUT_MS, 30 s). */
    timeoutMs?: number;
    /** The largest answer body read (default DEFAULT_MAX_BODY_BYTES, 10 MiB); a larger one fails the call. */
    maxBodyBytes?: number;
    /** AWS credentials already chosen (check reuses one role session for every probe). */
    access?: AwsAccess;
}

export function apiCloud(kit: Kit, cloud?: Cloud): Cloud {
    if (cloud) {
        if (cloud === "aws" && !kit.aws?.api) throw new PartnerAccessError("the kit grants no AWS API routes", "use --cloud gcp, or ask the operator for routes");
        if (cloud === "gcp" && !kit.gcp?.api) throw new PartnerAccessError("the kit grants no GCP API routes", "use --cloud aws, or ask the operator for routes");
        return cloud;
    }
    if (kit.aws?.api && kit.gcp?.api) throw new PartnerAccessError("the kit grants API routes on both clouds", "choose one with --cloud aws or --cloud gcp");
    if (kit.aws?.api) return "aws";
    if (kit.gcp?.api) return "gcp";
    throw new PartnerAccessError("the kit grants no API routes", "ask the operator for API access");
}

export function apiUrl(base: string, path: string): URL {
    if (/^[a-z]+:\/\//i.test(path)) throw new PartnerAccessError(`give a path such as /orders/42, not a URL (${path})`, "the base URL comes from the kit");
    const param = /\{[^}]*\}/.exec(path);
    if (param) throw new PartnerAccessError(`the path still has the parameter ${param[0]} (${path})`, `put the real value in its place, e.g. ${path.replace(/\{[^}]*\}/g, "42")}`);
    return new URL(base.replace(/\/+$/, "") + (path.startsWith("/") ? path : `/${path}`));
}

/** The service account that signs JWTs for the GCP API. */
export async function gcpServiceAccount(kit: Kit, init: PartnerFetchInit = {}): Promise<string> {
    const accepted = kit.gcp?.api?.serviceAccounts ?? [];
    const chosen = init.serviceAccount ?? init.impersonate;
    if (chosen) return chosen;
    if (accepted.length === 1) return accepted[0];
    const email = await clientEmail(await sourceClient(init)).catch(() => undefined);
    if (email && accepted.includes(email)) return email;
    throw new PartnerAccessError(`the kit accepts ${accepted.length ? accepted.join(", ") : "no service account"} for the GCP API and the client cannot tell which one you are`,
        "pass --service-account <email>");
}

interface Signed { url: URL; method: string; headers: Record<string, string>; body?: string | Uint8Array }

async function signAws(kit: Kit, url: URL, method: string, headers: Record<string, string>, body: string | Uint8Array | undefined, init: PartnerFetchInit): Promise<Signed> {
    const access = init.access ?? await awsAccess(kit, init);
    let credentials;
    try {
        credentials = await access.credentials();
    } catch (e) {
        if (e instanceof PartnerAccessError) throw e;
        const d = diagnoseAws(errorCode(e), errorMessage(e), {
            action: access.via === "assume-role" ? "sts:AssumeRole" : "credentials", resource: access.roleArn, region: access.region, kitRegion: kit.aws?.region,
            externalId: access.externalId, acceptedPrincipals: kit.aws?.principals, identityPolicyOnPartnerSide: true,
        });
        throw new PartnerAccessError(d.reason, d.fix, e);
    }
    const signer = new SignatureV4({ service: "execute-api", region: access.region, credentials, sha256: Sha256 });
    // The query as the caller means it (URLSearchParams: "+" is a space, "%2B" a plus sign)...
    const query: Record<string, string | string[]> = Object.create(null);
    for (const [k, v] of url.searchParams) query[k] = Object.hasOwn(query, k) ? ([] as string[]).concat(query[k], v) : v;
    const request = await signer.sign({
        method, protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined,
        path: url.pathname, query, headers: { ...headers, host: url.host }, body,
    });
    // ...and on the wire exactly the canonical query that was signed (sorted, each name and value RFC 3986-encoded),
    // so the server cannot read the query otherwise than the signature covers it (a raw "+" could be either).
    const wire = new URL(url);
    wire.search = getCanonicalQuery({ query } as Parameters<typeof getCanonicalQuery>[0]);
    return { url: wire, method, headers: request.headers, body };
}

async function signGcp(kit: Kit, url: URL, method: string, headers: Record<string, string>, body: string | Uint8Array | undefined, init: PartnerFetchInit): Promise<Signed> {
    const sa = await gcpServiceAccount(kit, init);
    let jwt: string;
    try {
        jwt = await signJwt(sa, endpointsClaims(sa, kit.gcp!.api!.audience), init);
    } catch (e) {
        if (e instanceof PartnerAccessError) throw e;
        const caller = await sourceClient(init).then((c) => clientEmail(c)).catch(() => undefined);
        const d = diagnoseGoogle(e, `signing a JWT as ${sa}`, { serviceAccount: sa, caller });
        throw new PartnerAccessError(d.reason, d.fix, e);
    }
    return { url, method, headers: { ...headers, authorization: `Bearer ${jwt}` }, body };
}

const CLEARTEXT_FIX = "use the kit exactly as the operator sent it (its API URLs are https); if it says http://, ask the operator for a new kit";

/** A call's deadline, from connecting to the last byte of the answer, unless `timeoutMs` says otherwise. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** The largest answer body a call reads (10 MiB), unless `maxBodyBytes` says otherwise. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface SendOptions {
    ca?: PartnerFetchInit["ca"];
    /** Deadline for the whole call (connect, send, every byte of the answer), in ms. */
    timeoutMs?: number;
    /** Refuse an answer whose body is larger than this many bytes. */
    maxBodyBytes?: number;
}

function positive(value: number | undefined, fallback: number, name: string): number {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value <= 0) throw new PartnerAccessError(`${name} must be a positive number, not ${value}`, `pass a positive ${name} or leave it out (default ${fallback})`);
    return value;
}

/**
 * Sends a request with node's https, so a call can trust an extra CA without touching the process.
 * Refuses anything but https; gives up when the whole call takes longer than `timeoutMs` or the
 * answer's body is larger than `maxBodyBytes`.
 */
export function send(req: Signed, options: SendOptions = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
        // (a throw in here rejects)
        requireCredentialUrl(req.url, "a signed request", CLEARTEXT_FIX);
        const timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS, "timeoutMs");
        const maxBodyBytes = positive(options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, "maxBodyBytes");
        let settled = false;
        let timer: NodeJS.Timeout | undefined;
        const r = https.request(req.url, {
            method: req.method, headers: req.headers,
            ...(options.ca ? { ca: ([] as (string | Buffer)[]).concat(options.ca, tls.rootCertificates) } : {}),
            // (a ca option replaces node's default roots for this connection: the public roots are kept above)
        }, (res) => {
            const tooLarge = (seen: string) => fail(new PartnerAccessError(
                `the answer from ${req.url.host} is larger than ${maxBodyBytes} bytes (${seen}), the most this call reads`,
                "if you expect that much, raise the limit (maxBodyBytes, or --max-body-bytes for call); otherwise tell the operator"));
            const declared = Number(res.headers["content-length"]);
            if (declared > maxBodyBytes) return tooLarge(`Content-Length ${declared}`);
            const chunks: Buffer[] = [];
            let size = 0;
            res.on("data", (c: Buffer) => {
                size += c.length;
                if (size > maxBodyBytes) tooLarge(`${size} bytes received so far`);
                else chunks.push(c);
            });
            res.on("error", fail);
            res.on("end", () => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                const headers = new Headers();
                for (const [k, v] of Object.entries(res.headers)) {
                    for (const one of ([] as string[]).concat(v ?? [])) headers.append(k, one);
                }
                const status = res.statusCode ?? 500;
                const noBody = [101, 204, 205, 304].includes(status);
                resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers }));
            });
        });
        function fail(e: Error) {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            r.destroy();
            reject(e);
        }
        timer = setTimeout(() => fail(new PartnerAccessError(
            `no complete answer from ${req.url.host} within ${timeoutMs / 1000} s (the deadline covers connecting, sending and reading the whole answer)`,
            "try again; for a slow or large answer raise the deadline (timeoutMs, or --timeout for call); if it persists, check your network or tell the operator")), timeoutMs);
        r.on("error", fail);
        if (req.body !== undefined) r.write(req.body);
        r.end();
    });
}

/**
 * A signed request to the stage's API, as `fetch` would answer it: a `Response`
 * whatever its status (see `explainResponse` for a refusal's reason and fix).
 */
export async function partnerFetch(kit: Kit, path: string, init: PartnerFetchInit = {}): Promise<Response> {
    const cloud = apiCloud(kit, init.cloud);
    const base = cloud === "aws" ? kit.aws!.api!.invokeUrl : kit.gcp!.api!.url;
    // Before anything is signed: a kit (or a Kit built in code, never validated) must not send credentials in cleartext.
    requireCredentialUrl(base, `the kit's ${cloud === "aws" ? "aws.api.invokeUrl" : "gcp.api.url"}`, CLEARTEXT_FIX);
    const url = apiUrl(base, path);
    const method = (init.method ?? "GET").toUpperCase();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    const signed = cloud === "aws"
        ? await signAws(kit, url, method, headers, init.body, init)
        : await signGcp(kit, url, method, headers, init.body, init);
    return send(signed, init);
}

/** What explains an AWS refusal: which key signed (a temporary key without its token is a common slip). */
export async function awsCallContext(access: AwsAccess, resource: string): Promise<AwsErrorContext> {
    const c = await access.credentials().catch(() => undefined);
    return {
        action: "execute-api:Invoke", resource, region: access.region, kitRegion: access.kitRegion, externalId: access.externalId,
        accessKeyId: c?.accessKeyId, hasSessionToken: Boolean(c?.sessionToken), identityPolicyOnPartnerSide: access.via === "direct",
    };
}

/** Why a call was refused and what to do, or undefined when it was not refused. `path` as given to partnerFetch. */
export function explainResponse(kit: Kit, cloud: Cloud, method: string, path: string, res: Response, body: string,
    context: { aws?: AwsErrorContext; serviceAccount?: string } = {}): Diagnosis | undefined {
    if (res.status !== 401 && res.status !== 403) return undefined;
    const d = diagnoseHttp({
        cloud, status: res.status, body, skewSeconds: clockSkewSeconds(res.headers.get("date")),
        aws: context.aws, serviceAccount: context.serviceAccount,
        expectedAudience: kit.gcp?.api?.audience, acceptedAccounts: kit.gcp?.api?.serviceAccounts,
    });
    const routes = cloud === "aws" ? kit.aws?.api?.routes ?? [] : kit.gcp?.api?.routes ?? [];
    if (!routes.some((r) => routeMatches(r, method, path.split("?")[0]))) {
        d.fix += `. Note: ${method} ${path} matches none of your routes (${routes.map((r) => parseRoute(r).method + " " + parseRoute(r).path).join(", ") || "none"})`;
    }
    return d;
}
