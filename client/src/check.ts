/**
 * The partner's self-check: try every grant of the kit, confirm that what it
 * must not reach is refused, and say for each failure why and what to do.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { AuthClient } from "google-auth-library";
import { AwsAccess, awsAccess, AwsOptions, callerArn, principalAccepted } from "./aws";
import {
    AwsErrorContext, clockSkewSeconds, describeSkew, Diagnosis, diagnoseAws, diagnoseGoogle, errorCode, errorMessage,
    PartnerAccessError, SYNC_CLOCK,
} from "./errors";
import { Cloud, explainResponse, gcpServiceAccount, partnerFetch, PartnerFetchInit } from "./fetch";
import { clientEmail, googleClient } from "./google";
import { fillPath, isHarmless, Kit, parseRoute, RefusalProbe } from "./kit";
import { requireCredentialUrl } from "./url";

export type Status = "ok" | "fail" | "skip";

export interface CheckLine {
    status: Status;
    cloud: Cloud | "kit" | "all";
    title: string;
    /** What was seen (a status code, who you are). */
    detail?: string;
    reason?: string;
    fix?: string;
}

export interface CheckOptions extends AwsOptions {
    /** Also call routes that change things (POST, PUT, PATCH, DELETE) with an empty JSON body. */
    includeMutating?: boolean;
    /** GCP: the service account that signs JWTs for the API. */
    serviceAccount?: string;
    /** Extra CA certificates to trust for API calls. */
    ca?: PartnerFetchInit["ca"];
    /** Per API call: deadline connect to last byte, and the largest answer read (see PartnerFetchInit). */
    timeoutMs?: number;
    maxBodyBytes?: number;
    /** Called for each line as soon as it is known. */
    onLine?: (line: CheckLine) => void;
}

export interface CheckResult {
    lines: CheckLine[];
    /** True only when nothing failed and at least one must-be-refused probe was performed and refused. */
    ok: boolean;
    /** How many of the kit's must-be-refused probes were performed and found refused. */
    refusalsConfirmed: number;
}

const PROBE_DIR = ".partner-access-check/";
const STORAGE_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write";
const LOUD = "you can reach something you should not: tell the operator";
/** The title of every must-be-refused line starts with this. */
export const REFUSAL = "must be refused: ";

export const probeKey = (prefix: string, now = new Date()) => `${prefix}${prefix.endsWith("/") || prefix === "" ? "" : "/"}${PROBE_DIR}${now.toISOString()}.txt`;

const canRead = (access: string) => access === "read" || access === "read-write";
const canWrite = (access: string) => access === "write" || access === "read-write";

class Checklist {
    readonly lines: CheckLine[] = [];
    skews: number[] = [];
    constructor(private readonly onLine?: (line: CheckLine) => void) { }
    add(line: CheckLine): CheckLine {
        this.lines.push(line);
        this.onLine?.(line);
        return line;
    }
    ok(cloud: CheckLine["cloud"], title: string, detail?: string) { return this.add({ status: "ok", cloud, title, detail }); }
    skip(cloud: CheckLine["cloud"], title: string, detail: string) { return this.add({ status: "skip", cloud, title, detail }); }
    fail(cloud: CheckLine["cloud"], title: string, d: Diagnosis, detail?: string) { return this.add({ status: "fail", cloud, title, detail, reason: d.reason, fix: d.fix }); }
    skew(dateHeader: string | null | undefined) {
        const s = clockSkewSeconds(dateHeader);
        if (s !== undefined) this.skews.push(s);
    }
}

const asDiagnosis = (e: unknown, fallback: () => Diagnosis): Diagnosis =>
    e instanceof PartnerAccessError ? { reason: e.message, fix: e.fix } : fallback();

export async function runCheck(kit: Kit, options: CheckOptions = {}): Promise<CheckResult> {
    const list = new Checklist(options.onLine);
    checkKit(kit, list);
    if (kit.aws) await checkAws(kit, options, list);
    if (kit.gcp) await checkGcp(kit, options, list);
    const refusalsConfirmed = confirmRefusals(kit, list);
    const worst = list.skews.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a), 0);
    if (Math.abs(worst) > 60) list.fail("all", "clock", { reason: `${describeSkew(worst)} (from the servers' Date headers)`, fix: SYNC_CLOCK });
    else if (list.skews.length > 0) list.ok("all", "clock", `within ${Math.abs(worst)} s of the servers'`);
    return { lines: list.lines, ok: list.lines.every((l) => l.status !== "fail"), refusalsConfirmed };
}

/**
 * Access "works as the kit says" only if it also stops where it should: without one must-be-refused
 * probe performed and refused, the check fails (a skipped probe proves nothing), naming what was not done.
 */
function confirmRefusals(kit: Kit, list: Checklist): number {
    const refusals = list.lines.filter((l) => l.title.startsWith(REFUSAL));
    const confirmed = refusals.filter((l) => l.status === "ok").length;
    if (confirmed > 0) return confirmed;
    const notDone = refusals.map((l) => `${l.title.slice(REFUSAL.length)}: ${l.status === "skip" ? l.detail : "failed above"}`);
    const mutatingSkipped = refusals.some((l) => l.status === "skip" && /mutating/.test(l.detail ?? ""));
    list.fail("all", `${REFUSAL}none confirmed`, {
        reason: kit.mustBeRefused.length === 0
            ? "the kit names nothing that must be refused, so nothing confirms that your access stops where it should"
            : `none of the kit's ${kit.mustBeRefused.length} must-be-refused probe(s) was performed and refused (${notDone.join("; ") || "none applies to a cloud this kit grants"})`,
        fix: (mutatingSkipped ? "run the check again with --include-mutating (a refused call changes nothing), or " : "") +
            "ask the operator for a new kit (the current kit builder always includes a probe the check performs by default)",
    }, "INCOMPLETE");
    return 0;
}

function checkKit(kit: Kit, list: Checklist) {
    list.ok("kit", `kit for ${kit.partner.name} (${kit.partner.slug}), stack ${kit.stack}`, `generated ${kit.generatedAt}${kit.source === "preview" ? ", from a PREVIEW: ids are mocked" : ""}`);
    const now = Date.now();
    if (kit.notBefore && Date.parse(kit.notBefore) > now) {
        list.fail("kit", "access window", { reason: `your access starts at ${kit.notBefore}`, fix: "run the check again after that time, or ask the operator to move the date" });
    } else if (kit.expires && Date.parse(kit.expires) <= now) {
        list.fail("kit", "access window", { reason: `your access expired at ${kit.expires}`, fix: "ask the operator to extend it (and send you a new kit)" });
    } else if (kit.notBefore || kit.expires) {
        list.ok("kit", "access window", `open${kit.expires ? ` until ${kit.expires}` : ""}`);
    }
}

// ------------------------------------------------------------------ AWS

async function checkAws(kit: Kit, options: CheckOptions, list: Checklist) {
    const aws = kit.aws!;
    const refusals = kit.mustBeRefused.filter((r) => r.cloud === "aws");
    if (!aws.files && !aws.api && refusals.length === 0) return;
    let access: AwsAccess;
    try {
        access = await awsAccess(kit, options);
    } catch (e) {
        list.fail("aws", "AWS credentials", asDiagnosis(e, () => diagnoseAws(errorCode(e), errorMessage(e), { action: "sts:GetCallerIdentity", acceptedPrincipals: aws.principals })));
        return;
    }
    const ctx: AwsErrorContext = { action: "", region: access.region, kitRegion: aws.region, externalId: access.externalId, identityPolicyOnPartnerSide: access.via === "direct", acceptedPrincipals: aws.principals };
    if (access.source) {
        // Who the partner is on its side: GetCallerIdentity needs no permission, so it only fails on the credentials themselves.
        try {
            const src = await access.source();
            ctx.accessKeyId = src.accessKeyId;
            ctx.hasSessionToken = Boolean(src.sessionToken);
            const arn = await callerArn(access.source, access.region);
            ctx.caller = arn;
            if (principalAccepted(arn, aws.principals)) list.ok("aws", "your AWS identity", arn);
            else {
                list.fail("aws", "your AWS identity", {
                    reason: `you are ${arn}, which this stage does not accept (it accepts ${aws.principals.join(", ") || "none"})`,
                    fix: "run as one of the accepted principals (AWS_PROFILE, role), or ask the operator to add this one",
                });
            }
        } catch (e) {
            list.fail("aws", "your AWS identity", asDiagnosis(e, () => diagnoseAws(errorCode(e), errorMessage(e), { ...ctx, action: "sts:GetCallerIdentity" })));
            return;
        }
    }
    if (access.via !== "direct") {
        const how = access.via === "web-identity" ? "with a Google ID token" : access.externalId ? "with the external id" : "";
        const title = `assume ${access.roleArn} ${how}`.trim();
        try {
            const c = await access.credentials();
            list.ok("aws", title, c.expiration ? `session until ${c.expiration.toISOString()}` : undefined);
        } catch (e) {
            list.fail("aws", title, asDiagnosis(e, () => diagnoseAws(errorCode(e), errorMessage(e), { ...ctx, action: "sts:AssumeRole", resource: access.roleArn })));
            for (const what of [aws.files && "files", aws.api && "API routes"].filter(Boolean)) {
                list.skip("aws", `${what}`, "not checked: they need the role session above");
            }
            for (const r of refusals) list.skip("aws", refusalTitle(r), "not checked: it needs the role session above");
            return;
        }
    }
    const s3 = new S3Client({
        region: access.region, credentials: access.credentials, maxAttempts: 2,
        // A stand-in or private endpoint (AWS_ENDPOINT_URL[_S3]) rarely serves virtual-hosted buckets.
        forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL),
    });
    try {
        if (aws.files) await checkS3(aws.files, s3, ctx, list);
        for (const route of aws.api?.routes ?? []) await probeRoute(kit, "aws", route, options, access, ctx, list);
        for (const r of refusals) await probeRefusal(kit, r, options, list, { s3, access, ctx });
    } finally {
        s3.destroy();
    }
}

async function checkS3(files: NonNullable<NonNullable<Kit["aws"]>["files"]>, s3: S3Client, ctx: AwsErrorContext, list: Checklist) {
    const uri = `s3://${files.bucket}/${files.prefix}`;
    const fail = (title: string, action: string, resource: string, e: unknown) =>
        list.fail("aws", title, diagnoseAws(errorCode(e), errorMessage(e), { ...ctx, action, resource }));
    const mayList = files.actions.includes("s3:ListBucket") || (files.actions.length === 0 && canRead(files.access));
    if (mayList) {
        try {
            const out = await s3.send(new ListObjectsV2Command({ Bucket: files.bucket, Prefix: files.prefix, MaxKeys: 5 }));
            list.ok("aws", `s3 list ${uri}`, `${out.KeyCount ?? 0} object(s) seen`);
        } catch (e) {
            fail(`s3 list ${uri}`, "s3:ListBucket", uri, e);
        }
    }
    let probe: { key: string; body: string } | undefined;
    if (canWrite(files.access)) {
        const key = probeKey(files.prefix);
        const body = `partner-access check: ${ctx.caller ?? "partner"} wrote this at ${new Date().toISOString()}\n`;
        try {
            // Create-only: the bucket refuses a write that could overwrite (no If-None-Match), and 412s an existing name.
            await s3.send(new PutObjectCommand({ Bucket: files.bucket, Key: key, Body: body, ContentType: "text/plain", IfNoneMatch: "*" }));
            list.ok("aws", `s3 put s3://${files.bucket}/${key}`, "left there: the bucket is versioned and nobody can delete");
            probe = { key, body };
        } catch (e) {
            fail(`s3 put s3://${files.bucket}/${key}`, "s3:PutObject", `s3://${files.bucket}/${key}`, e);
        }
    }
    if (canRead(files.access)) {
        if (!probe) {
            list.skip("aws", `s3 get under ${uri}`, canWrite(files.access) ? "not probed: the probe object could not be written" : "not probed: a read-only check writes nothing to read back (list above covers reading)");
            return;
        }
        try {
            const out = await s3.send(new GetObjectCommand({ Bucket: files.bucket, Key: probe.key }));
            const text = await out.Body!.transformToString();
            if (text === probe.body) list.ok("aws", `s3 get s3://${files.bucket}/${probe.key}`, "content matches");
            else list.fail("aws", `s3 get s3://${files.bucket}/${probe.key}`, { reason: "read back other content than was written", fix: "tell the operator (something rewrites objects under your prefix)" });
        } catch (e) {
            fail(`s3 get s3://${files.bucket}/${probe.key}`, "s3:GetObject", `s3://${files.bucket}/${probe.key}`, e);
        }
    }
}

// ------------------------------------------------------------------ API routes

interface RouteProbe { status?: number; body?: string; diagnosis?: Diagnosis; error?: Diagnosis }

async function callRoute(kit: Kit, cloud: Cloud, route: string, options: CheckOptions, access: AwsAccess | undefined, ctx: AwsErrorContext | undefined, list: Checklist): Promise<RouteProbe> {
    const r = parseRoute(route);
    const path = fillPath(r.path);
    const mutating = !isHarmless(r.method);
    let serviceAccount: string | undefined;
    try {
        if (cloud === "gcp") serviceAccount = await gcpServiceAccount(kit, options);
        const res = await partnerFetch(kit, path, {
            ...options, cloud, method: r.method, access, serviceAccount,
            ...(mutating ? { body: "{}", headers: { "content-type": "application/json" } } : {}),
        });
        list.skew(res.headers.get("date"));
        const body = await res.text();
        return {
            status: res.status, body,
            diagnosis: explainResponse(kit, cloud, r.method, path, res, body,
                { aws: ctx ? { ...ctx, action: "execute-api:Invoke", resource: `${r.method} ${path}` } : undefined, serviceAccount }),
        };
    } catch (e) {
        return {
            error: asDiagnosis(e, () => cloud === "aws"
                ? diagnoseAws(errorCode(e), errorMessage(e), { ...(ctx ?? { action: "" }), action: "execute-api:Invoke", resource: route })
                : diagnoseGoogle(e, `signing a JWT as ${serviceAccount ?? "your service account"}`, { serviceAccount })),
        };
    }
}

async function probeRoute(kit: Kit, cloud: Cloud, route: string, options: CheckOptions, access: AwsAccess | undefined, ctx: AwsErrorContext | undefined, list: Checklist) {
    const r = parseRoute(route);
    const title = `api ${r.method} ${r.path}`;
    if (!isHarmless(r.method) && !options.includeMutating) {
        list.skip(cloud, title, "not probed (mutating): pass --include-mutating to call it with an empty JSON body");
        return;
    }
    const out = await callRoute(kit, cloud, route, options, access, ctx, list);
    if (out.error) list.fail(cloud, title, out.error);
    else if (out.diagnosis) list.fail(cloud, title, out.diagnosis, `HTTP ${out.status}`);
    else if (cloud === "gcp" && out.status === 404 && /not defined by this API/i.test(out.body ?? "")) {
        list.fail(cloud, title, { reason: "the gateway (ESPv2) does not know this route", fix: "tell the operator: the kit grants a route the deployed API does not define" }, "HTTP 404");
    }
    else if (out.status! >= 500) list.fail(cloud, title, { reason: `authorised, but the backend failed (HTTP ${out.status})`, fix: "tell the operator: your access works, their backend does not" }, `HTTP ${out.status}`);
    else list.ok(cloud, title, `HTTP ${out.status}${out.status! >= 400 ? " from the backend (authorised; the sample path value is not a real id)" : ""}`);
}

// ------------------------------------------------------------------ must be refused

const isRefusal = (status: number, body: string, cloud: Cloud) =>
    status === 401 || status === 403 ||
    // ESPv2 answers 404 itself for paths its configuration does not define: refused before any backend.
    (cloud === "gcp" && status === 404 && /not defined by this API/i.test(body));

function refusalTitle(r: RefusalProbe): string {
    if (r.kind === "list") return `${REFUSAL}list ${r.cloud === "aws" ? "s3" : "gs"}://${r.bucket}/${r.prefix}`;
    const route = parseRoute(r.route);
    return `${REFUSAL}api ${route.method} ${route.path}`;
}

async function probeRefusal(kit: Kit, r: RefusalProbe, options: CheckOptions, list: Checklist,
    aws?: { s3: S3Client; access: AwsAccess; ctx: AwsErrorContext }, gcs?: { client: AuthClient; base: string }) {
    if (r.kind === "list") {
        const title = refusalTitle(r);
        try {
            if (r.cloud === "aws") await aws!.s3.send(new ListObjectsV2Command({ Bucket: r.bucket, Prefix: r.prefix, MaxKeys: 1 }));
            else await gcsList(gcs!.client, gcs!.base, r.bucket, r.prefix, list);
            list.fail(r.cloud, title, { reason: "the listing was ALLOWED", fix: LOUD }, "ALLOWED");
        } catch (e) {
            const status = (e as any)?.$metadata?.httpStatusCode ?? (e as any)?.response?.status;
            if (status === 403 || status === 401) list.ok(r.cloud, title, `refused (${errorCode(e)})`);
            else list.fail(r.cloud, title, { reason: `could not tell: ${errorCode(e)}: ${errorMessage(e)}`, fix: "check the network; if it persists, tell the operator" });
        }
        return;
    }
    const route = parseRoute(r.route);
    const title = refusalTitle(r);
    if (!isHarmless(route.method) && !options.includeMutating) {
        list.skip(r.cloud, title, "not probed (mutating): pass --include-mutating to call it");
        return;
    }
    if ((r.cloud === "aws" && !kit.aws?.api) || (r.cloud === "gcp" && !kit.gcp?.api)) {
        list.skip(r.cloud, title, "not probed: the kit names no API base URL on this cloud");
        return;
    }
    const out = await callRoute(kit, r.cloud, r.route, options, aws?.access, aws?.ctx, new Checklist());
    if (out.error) list.fail(r.cloud, title, { reason: `could not tell: ${out.error.reason}`, fix: out.error.fix });
    else if (isRefusal(out.status!, out.body ?? "", r.cloud)) list.ok(r.cloud, title, `refused (HTTP ${out.status})`);
    else list.fail(r.cloud, title, { reason: `the call was ALLOWED (HTTP ${out.status})`, fix: LOUD }, "ALLOWED");
}

// ------------------------------------------------------------------ GCP

/** Gets your access token: https, or plain http only to a loopback emulator (src/url.ts). */
export function storageBase(): string {
    const host = process.env.STORAGE_EMULATOR_HOST;
    if (!host) return "https://storage.googleapis.com";
    const base = (/^https?:\/\//.test(host) ? host : `http://${host}`).replace(/\/+$/, "");
    requireCredentialUrl(base, "the Cloud Storage endpoint (STORAGE_EMULATOR_HOST)",
        "unset STORAGE_EMULATOR_HOST, or give an https URL (plain http only to localhost)", { loopbackHttp: true });
    return base;
}

async function gcsList(client: AuthClient, base: string, bucket: string, prefix: string, list: Checklist) {
    const res = await client.request<{ items?: unknown[] }>({
        url: `${base}/storage/v1/b/${encodeURIComponent(bucket)}/o`, params: { prefix, maxResults: 5 },
    });
    list.skew(res.headers?.get?.("date") ?? (res.headers as any)?.date);
    return res.data.items?.length ?? 0;
}

async function checkGcp(kit: Kit, options: CheckOptions, list: Checklist) {
    const gcp = kit.gcp!;
    const refusals = kit.mustBeRefused.filter((r) => r.cloud === "gcp");
    let gcs: { client: AuthClient; base: string } | undefined;
    if (gcp.files || refusals.some((r) => r.kind === "list")) {
        let base: string | undefined;
        try {
            base = storageBase();
        } catch (e) {
            list.fail("gcp", "Cloud Storage endpoint", asDiagnosis(e, () => ({ reason: errorMessage(e), fix: "check STORAGE_EMULATOR_HOST" })));
        }
        if (base) {
            try {
                gcs = { client: await googleClient(options, [STORAGE_SCOPE]), base };
            } catch (e) {
                list.fail("gcp", "Google credentials", asDiagnosis(e, () => diagnoseGoogle(e, "loading your Google credentials")));
            }
        }
    }
    if (gcp.files && gcs) await checkGcs(gcp.files, gcs, options, list);
    for (const route of gcp.api?.routes ?? []) await probeRoute(kit, "gcp", route, options, undefined, undefined, list);
    for (const r of refusals) {
        if (r.kind === "list" && !gcs) { list.skip("gcp", refusalTitle(r), "not checked: no Google credentials"); continue; }
        await probeRefusal(kit, r, options, list, undefined, gcs);
    }
}

async function checkGcs(files: NonNullable<NonNullable<Kit["gcp"]>["files"]>, gcs: { client: AuthClient; base: string }, options: CheckOptions, list: Checklist) {
    const uri = `gs://${files.bucket}/${files.prefix}`;
    const me = await clientEmail(gcs.client, options);
    const ctx = { caller: me, acceptedAccounts: files.serviceAccounts };
    if (me && files.serviceAccounts.length > 0 && !files.serviceAccounts.includes(me)) {
        list.add({ status: "skip", cloud: "gcp", title: "your Google identity", detail: `${me} is not one of the kit's accounts (${files.serviceAccounts.join(", ")}); fine if you come through Workload Identity from AWS` });
    } else if (me) list.ok("gcp", "your Google identity", me);
    const b = encodeURIComponent(files.bucket);
    if (canRead(files.access)) {
        try {
            const n = await gcsList(gcs.client, gcs.base, files.bucket, files.prefix, list);
            list.ok("gcp", `gcs list ${uri}`, `${n} object(s) seen`);
        } catch (e) {
            list.fail("gcp", `gcs list ${uri}`, diagnoseGoogle(e, `listing ${uri}`, ctx));
        }
    }
    let probe: { key: string; body: string } | undefined;
    if (canWrite(files.access)) {
        const key = probeKey(files.prefix);
        const body = `partner-access check: ${me ?? "partner"} wrote this at ${new Date().toISOString()}\n`;
        try {
            const res = await gcs.client.request({
                // Create-only: ifGenerationMatch=0 succeeds only if no live object has the name (a write grant cannot overwrite).
                url: `${gcs.base}/upload/storage/v1/b/${b}/o`, method: "POST", params: { uploadType: "media", name: key, ifGenerationMatch: "0" },
                headers: { "content-type": "text/plain" }, data: body,
            });
            list.skew(res.headers?.get?.("date"));
            list.ok("gcp", `gcs put gs://${files.bucket}/${key}`, "left there: the bucket is versioned and nobody can delete");
            probe = { key, body };
        } catch (e) {
            list.fail("gcp", `gcs put gs://${files.bucket}/${key}`, diagnoseGoogle(e, `writing under ${uri}`, ctx));
        }
    }
    if (canRead(files.access)) {
        if (!probe) {
            list.skip("gcp", `gcs get under ${uri}`, canWrite(files.access) ? "not probed: the probe object could not be written" : "not probed: a read-only check writes nothing to read back (list above covers reading)");
            return;
        }
        try {
            const res = await gcs.client.request<string>({
                url: `${gcs.base}/storage/v1/b/${b}/o/${encodeURIComponent(probe.key)}`, params: { alt: "media" }, responseType: "text",
            });
            if (res.data === probe.body) list.ok("gcp", `gcs get gs://${files.bucket}/${probe.key}`, "content matches");
            else list.fail("gcp", `gcs get gs://${files.bucket}/${probe.key}`, { reason: "read back other content than was written", fix: "tell the operator (something rewrites objects under your prefix)" });
        } catch (e) {
            list.fail("gcp", `gcs get gs://${files.bucket}/${probe.key}`, diagnoseGoogle(e, `reading under ${uri}`, ctx));
        }
    }
}

// ------------------------------------------------------------------ output

const MARK: Record<Status, string> = { ok: "✓", fail: "✗", skip: "-" };

export function formatLine(line: CheckLine): string {
    const out = [`${MARK[line.status]} ${line.cloud.padEnd(3)}  ${line.title}${line.detail ? `: ${line.detail}` : ""}`];
    if (line.reason) out.push(`         reason: ${line.reason}`);
    if (line.fix) out.push(`         fix:    ${line.fix}`);
    return out.join("\n");
}

export function formatSummary(result: CheckResult): string {
    const n = (s: Status) => result.lines.filter((l) => l.status === s).length;
    const head = `result: ${n("ok")} ok, ${n("fail")} failed, ${n("skip")} not probed`;
    return result.ok ? `${head}: your access works as the kit says` : `${head}: fix the ✗ lines above, then run the check again`;
}
