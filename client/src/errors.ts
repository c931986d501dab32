/**
 * Errors a partner can act on: what went wrong and what to do about it.
 */
export class PartnerAccessError extends Error {
    constructor(message: string, readonly fix: string, readonly cause?: unknown) {
        super(message);
        this.name = "PartnerAccessError";
    }
}

export interface Diagnosis {
    reason: string;
    fix: string;
}

/** Server time minus local time, in seconds, from a response's Date header. */
export function clockSkewSeconds(dateHeader: string | null | undefined, localNow = Date.now()): number | undefined {
    if (!dateHeader) return undefined;
    // A Date header is truncated to the second: its middle is half a second later.
    const server = Date.parse(dateHeader) + 500;
    return Number.isNaN(server) ? undefined : Math.round((server - localNow) / 1000);
}

export function describeSkew(skew: number): string {
    const abs = Math.abs(skew);
    const minutes = Math.round(abs / 60);
    const text = abs >= 3570 ? `about ${Math.floor(minutes / 60)} h ${minutes % 60} min`
        : abs >= 120 ? `about ${minutes} min` : `${abs} s`;
    return `this machine's clock is ${text} ${skew > 0 ? "behind" : "ahead of"} the server's`;
}

export const SYNC_CLOCK = "sync this machine's clock (NTP: timedatectl set-ntp true, or your OS's time settings); AWS allows 5 minutes, JWTs 1 minute";

/** What an AWS SDK error tells a partner, given what the client was doing. */
export interface AwsErrorContext {
    /** e.g. "sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "s3:ListBucket", "execute-api:Invoke" */
    action: string;
    /** The resource being reached (role ARN, s3:// URI, URL). */
    resource?: string;
    /** The caller's identity when known (its ARN). */
    caller?: string;
    accessKeyId?: string;
    hasSessionToken?: boolean;
    /** The region the request was signed for. */
    region?: string;
    /** The stage's region, from the kit. */
    kitRegion?: string;
    externalId?: string;
    /** Whether the partner attaches the kit's identity policy itself (direct callers, callers assuming our role). */
    identityPolicyOnPartnerSide?: boolean;
    /** What the kit says the caller must be. */
    acceptedPrincipals?: string[];
    /** Server time minus local time, when a response said. */
    skewSeconds?: number;
}

export function errorCode(e: unknown): string {
    const err = e as any;
    return String(err?.Code ?? err?.code ?? err?.name ?? "Error");
}

export function errorMessage(e: unknown): string {
    const err = e as any;
    return String(err?.message ?? err);
}

/** Maps an error (AWS SDK, HTTP body text) to a reason and a fix. */
export function diagnoseAws(code: string, message: string, ctx: WebIdentityContext): Diagnosis {
    const m = message;
    const who = ctx.caller && !m.includes(ctx.caller) ? ` (you are ${ctx.caller})` : "";
    if (code === "CredentialsProviderError" || /Could not load credentials|Unable to locate credentials/i.test(m)) {
        return {
            reason: `no AWS credentials found on this machine (${m})`,
            fix: "give the client your own AWS identity the usual way: AWS_PROFILE, aws sso login, environment variables, or an instance/task role" +
                (ctx.acceptedPrincipals?.length ? `; it must be one of ${ctx.acceptedPrincipals.join(", ")}` : ""),
        };
    }
    if (ctx.skewSeconds !== undefined && Math.abs(ctx.skewSeconds) > 300 ||
        code === "RequestTimeTooSkewed" || /Signature expired|Signature not yet current|RequestTimeTooSkewed|too skewed/i.test(m)) {
        return {
            reason: `clock skew: ${ctx.skewSeconds !== undefined ? describeSkew(ctx.skewSeconds) : "the request's time is too far from AWS's"} (${m})`,
            fix: SYNC_CLOCK,
        };
    }
    if (/Credential should be scoped to a valid region|AuthorizationHeaderMalformed|region '[^']*' is wrong|IllegalLocationConstraint|PermanentRedirect/i.test(m + " " + code)) {
        return {
            reason: `region mismatch: the request was signed for ${ctx.region ?? "another region"} but the stage is ${ctx.kitRegion && ctx.kitRegion !== ctx.region ? `in ${ctx.kitRegion}` : "elsewhere"} (${m})`,
            fix: `use the kit's region${ctx.kitRegion ? ` ${ctx.kitRegion}` : ""}: drop --region, set region = ${ctx.kitRegion ?? "<kit aws.region>"} in your ~/.aws/config profile, and use the kit of this stage`,
        };
    }
    if (code === "ExpiredToken" || code === "ExpiredTokenException" && ctx.action !== "sts:AssumeRoleWithWebIdentity" ||
        /security token included in the request is expired/i.test(m)) {
        return {
            reason: `your AWS credentials have expired (${m})`,
            fix: "refresh them (aws sso login, re-run your assume-role or credential_process, restart the job that exported them) and try again; do not copy temporary keys into files",
        };
    }
    if (code === "InvalidClientTokenId" || code === "UnrecognizedClientException" || /security token included in the request is invalid/i.test(m)) {
        if (ctx.accessKeyId?.startsWith("ASIA") && !ctx.hasSessionToken) {
            return {
                reason: `missing session token: access key ${ctx.accessKeyId} is temporary (ASIA…) and needs its session token (${m})`,
                fix: "set AWS_SESSION_TOKEN (or aws_session_token in the profile) together with the key and secret that came with it",
            };
        }
        return {
            reason: `AWS does not know the access key ${ctx.accessKeyId ?? ""} (${m})`,
            fix: "check AWS_ACCESS_KEY_ID / the profile you use: the key may be deleted, mistyped, or belong to another partition; temporary keys also need their session token",
        };
    }
    if (code === "SignatureDoesNotMatch" || /signature we calculated does not match/i.test(m)) {
        return {
            reason: `AWS computed another signature (${m})`,
            fix: "the secret key does not belong to the access key id (check AWS_SECRET_ACCESS_KEY / the profile), or a proxy changed the request on its way",
        };
    }
    if (ctx.action === "sts:AssumeRoleWithWebIdentity") return diagnoseWebIdentity(code, m, ctx);
    if (code === "AccessDenied" || code === "AccessDeniedException" || code === "Forbidden" || /not authorized|Access Denied|AccessDenied/i.test(m)) {
        if (ctx.action === "sts:AssumeRole") {
            if (/identity-based policy/i.test(m)) {
                return {
                    reason: `your side: no identity policy lets you call sts:AssumeRole on ${ctx.resource}${who} (${m})`,
                    fix: "attach the kit's aws.identityPolicy (or at least sts:AssumeRole on that role) to the principal you call with, in your own account",
                };
            }
            const principals = ctx.acceptedPrincipals?.length ? ctx.acceptedPrincipals.join(", ") : "the principals named in the kit";
            return {
                reason: `the role ${ctx.resource} refused to be assumed${who} (${m})`,
                fix: [
                    ctx.externalId ? `send exactly the kit's external id "${ctx.externalId}" (check external_id in your profile or --external-id)` : "send no external id unless the kit names one",
                    `call as one of ${principals}`,
                    "attach the kit's aws.identityPolicy on your side",
                    "if all of that is right, tell the operator",
                ].join("; "),
            };
        }
        if (ctx.identityPolicyOnPartnerSide) {
            return {
                reason: `${ctx.action} on ${ctx.resource} was refused${who} (${m})`,
                fix: "attach the kit's aws.identityPolicy to the principal you call with (your account must allow it too); if it is attached, tell the operator",
            };
        }
        return {
            reason: `${ctx.action} on ${ctx.resource} was refused${who} although the kit grants it (${m})`,
            fix: "tell the operator: the kit and the deployed access disagree",
        };
    }
    if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|fetch failed|socket hang up/i.test(m + " " + code)) {
        return { reason: `could not reach AWS (${m})`, fix: "check this machine's network, DNS and proxy settings (HTTPS_PROXY)" };
    }
    return { reason: `${code}: ${m}`, fix: "tell the operator, with this message" };
}

export interface GoogleTokenClaims { aud?: string; azp?: string; sub?: string; email?: string; iat?: number; exp?: number }

export function decodeJwtClaims(token: string | undefined): GoogleTokenClaims | undefined {
    try {
        return JSON.parse(Buffer.from(token!.split(".")[1], "base64url").toString("utf8"));
    } catch {
        return undefined;
    }
}

export interface WebIdentityContext extends AwsErrorContext {
    claims?: GoogleTokenClaims;
    expectedAudience?: string;
    acceptedAccounts?: { email: string; uniqueId: string }[];
}

function diagnoseWebIdentity(code: string, m: string, ctx: WebIdentityContext): Diagnosis {
    const c = ctx.claims ?? {};
    const accepted = ctx.acceptedAccounts ?? [];
    const audienceWrong = ctx.expectedAudience !== undefined && c.aud !== undefined && c.aud !== ctx.expectedAudience;
    const subjectWrong = accepted.length > 0 && c.sub !== undefined && !accepted.some((a) => a.uniqueId === c.sub);
    if (code === "ExpiredTokenException" || /expired/i.test(m)) {
        return {
            reason: `AWS found the Google ID token expired (${m})`,
            fix: "tokens are fetched fresh on each run, so this is a clock problem: " + SYNC_CLOCK,
        };
    }
    if (audienceWrong || /audience/i.test(m)) {
        return {
            reason: `wrong audience: the Google ID token is for "${c.aud ?? "?"}" but the role accepts "${ctx.expectedAudience ?? "the kit's audience"}" (${m})`,
            fix: "request the token for the kit's aws.webIdentity.audience: drop --audience, and use the kit of this stage (each stage has its own audience)",
        };
    }
    if (subjectWrong) {
        return {
            reason: `the token belongs to ${c.email ?? "?"} (unique id ${c.sub}), which this stage does not accept (${m})`,
            fix: `run as (or --impersonate) one of ${accepted.map((a) => `${a.email} (${a.uniqueId})`).join(", ")}; to add another account, ask the operator`,
        };
    }
    return {
        reason: `${code}: AWS refused the Google ID token of ${c.email ?? "your service account"} (aud ${c.aud ?? "?"}, sub ${c.sub ?? "?"}) for ${ctx.resource} (${m})`,
        fix: "check that the role ARN and audience come from this stage's kit; if they do, tell the operator (the role's trust may not be deployed yet)",
    };
}

/** What a 401/403 from the API (API Gateway or ESPv2) or a Google API means. */
export interface HttpErrorContext {
    cloud: "aws" | "gcp";
    status: number;
    body: string;
    skewSeconds?: number;
    /** For AWS calls. */
    aws?: AwsErrorContext;
    /** For GCP calls: the service account that signed, and what the kit expects. */
    serviceAccount?: string;
    expectedAudience?: string;
    acceptedAccounts?: string[];
}

export function bodyMessage(body: string): string {
    try {
        const j = JSON.parse(body);
        return String(j.message ?? j.Message ?? j.error?.message ?? j.error_description ?? j.error ?? body).slice(0, 300);
    } catch {
        return body.slice(0, 300);
    }
}

export function diagnoseHttp(ctx: HttpErrorContext): Diagnosis {
    const m = bodyMessage(ctx.body);
    if (ctx.cloud === "aws") {
        if (ctx.status === 403 && /Missing Authentication Token/i.test(m)) {
            return { reason: `no such route on the API (API Gateway answers "${m}" for unknown paths)`, fix: "check the path and method against the kit's aws.api.routes" };
        }
        return diagnoseAws(`HTTP${ctx.status}`, m, { ...(ctx.aws ?? { action: "execute-api:Invoke" }), skewSeconds: ctx.skewSeconds });
    }
    // ESPv2 and Google APIs
    if (ctx.skewSeconds !== undefined && Math.abs(ctx.skewSeconds) > 60 || /not yet valid|issued in the future|iat/i.test(m)) {
        return { reason: `clock skew: ${ctx.skewSeconds !== undefined ? describeSkew(ctx.skewSeconds) : "the JWT's times do not fit the server's clock"} (${m})`, fix: SYNC_CLOCK };
    }
    if (/audience/i.test(m)) {
        return {
            reason: `wrong audience: the API refuses the JWT's aud (${m})`,
            fix: `sign with aud = the kit's gcp.api.audience${ctx.expectedAudience ? ` ("${ctx.expectedAudience}")` : ""}; use the kit of this stage`,
        };
    }
    if (/expired/i.test(m)) {
        return { reason: `the JWT has expired (${m})`, fix: "sign a fresh one for each run (the client does); if it still fails, " + SYNC_CLOCK };
    }
    if (/issuer is not configured|issuer not allowed|not allowed to access|PERMISSION_DENIED/i.test(m) || ctx.status === 403) {
        return {
            reason: `the API does not accept ${ctx.serviceAccount ?? "your service account"} for this route (${m})`,
            fix: `sign as one of the kit's service accounts (${(ctx.acceptedAccounts ?? []).join(", ") || "gcp.api.serviceAccounts"}) and call only routes of gcp.api.routes; if that is what you did, tell the operator`,
        };
    }
    if (/Jwt is missing|Bearer/i.test(m)) {
        return { reason: `the request carried no JWT (${m})`, fix: "send Authorization: Bearer <JWT signed by your service account>" };
    }
    if (/verification fail|signature/i.test(m)) {
        return {
            reason: `the JWT's signature does not verify (${m})`,
            fix: "sign through IAM Credentials signJwt as the same account that is iss and sub (the client does this); keys you made yourself are not published",
        };
    }
    return { reason: `HTTP ${ctx.status}: ${m}`, fix: "tell the operator, with this message" };
}

/** Errors of Google APIs (IAM Credentials, GCS, metadata) through google-auth-library / gaxios. */
export function diagnoseGoogle(e: unknown, what: string, ctx: { serviceAccount?: string; caller?: string; acceptedAccounts?: string[] } = {}): Diagnosis {
    const err = e as any;
    const status: number | undefined = err?.response?.status ?? err?.status;
    const data = err?.response?.data;
    const m = typeof data === "object" && data ? bodyMessage(JSON.stringify(data)) : errorMessage(e);
    if (/Could not load the default credentials|Unable to detect a Project Id|default credentials/i.test(m)) {
        return {
            reason: `no Google credentials found (${m})`,
            fix: "run on Google Cloud as your service account, or `gcloud auth application-default login` and pass --impersonate <your service account>",
        };
    }
    if (/signJwt|generateIdToken|generateAccessToken|iam.serviceAccounts/i.test(m) && (status === 403 || /denied/i.test(m))) {
        if (ctx.caller && ctx.caller === ctx.serviceAccount) {
            return {
                reason: `${ctx.caller} may not sign as itself (${m})`,
                fix: `on your side, grant roles/iam.serviceAccountTokenCreator on ${ctx.caller} to ${ctx.caller} itself (signJwt needs it even for one's own account) and wait a minute`,
            };
        }
        return {
            reason: `${ctx.caller ?? "your Google identity"} may not act as ${ctx.serviceAccount ?? "the service account"} (${m})`,
            fix: `on your side, grant roles/iam.serviceAccountTokenCreator on ${ctx.serviceAccount ?? "the service account"} to ${ctx.caller ?? "the identity you run as"} (yes, even to the account itself) and wait a minute`,
        };
    }
    if (status === 400 && /exp|iat|time/i.test(m)) {
        return { reason: `Google refused the JWT's times (${m})`, fix: SYNC_CLOCK };
    }
    if (status === 404) return { reason: `${what}: not found (${m})`, fix: "check the names in the kit (service account, bucket); if they are the kit's, tell the operator" };
    if (status === 401) return { reason: `${what}: Google did not accept your credentials (${m})`, fix: "refresh them (gcloud auth application-default login) or check the clock: " + SYNC_CLOCK };
    if (status === 403) {
        return {
            reason: `${what} was refused for ${ctx.caller ?? "your identity"} (${m})`,
            fix: ctx.caller && ctx.acceptedAccounts?.includes(ctx.caller)
                ? `tell the operator: the kit says ${ctx.caller} may, and it was refused`
                : ctx.acceptedAccounts?.length
                ? `run as (or --impersonate) one of ${ctx.acceptedAccounts.join(", ")}; if you do, tell the operator`
                : "tell the operator: the kit says you may",
        };
    }
    if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|fetch failed/i.test(m + " " + (err?.code ?? ""))) {
        return { reason: `could not reach Google (${m})`, fix: "check this machine's network, DNS and proxy settings (HTTPS_PROXY)" };
    }
    return { reason: `${what}: ${m}`, fix: "tell the operator, with this message" };
}
