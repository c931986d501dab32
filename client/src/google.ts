/**
 * Google side, keyless: ID tokens (metadata server or impersonation), JWTs
 * signed by a service account through IAM Credentials signJwt, and access
 * tokens for Cloud Storage. Everything goes through google-auth-library.
 */
import { AuthClient, GoogleAuth, Impersonated } from "google-auth-library";
import { diagnoseGoogle, PartnerAccessError } from "./errors";
import { requireCredentialUrl } from "./url";

const CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform";

export interface GoogleOptions {
    /** Impersonate this service account from the Application Default Credentials (a developer machine). */
    impersonate?: string;
    /** IAM Credentials API base URL (default https://iamcredentials.googleapis.com, or $PARTNER_ACCESS_IAMCREDENTIALS_URL). */
    iamCredentialsUrl?: string;
    /** An already configured client to use instead of the Application Default Credentials. */
    authClient?: AuthClient;
}

/** Gets your access token: https, or plain http only to a loopback stand-in (src/url.ts). */
export function iamCredentialsUrl(options: GoogleOptions = {}): string {
    const url = (options.iamCredentialsUrl ?? process.env.PARTNER_ACCESS_IAMCREDENTIALS_URL ?? "https://iamcredentials.googleapis.com").replace(/\/+$/, "");
    requireCredentialUrl(url, "the IAM Credentials URL (PARTNER_ACCESS_IAMCREDENTIALS_URL)",
        "unset PARTNER_ACCESS_IAMCREDENTIALS_URL, or give an https URL (plain http only to localhost)", { loopbackHttp: true });
    return url;
}

/** The caller's Application Default Credentials (metadata server, GOOGLE_APPLICATION_CREDENTIALS, gcloud ADC). */
export async function sourceClient(options: GoogleOptions = {}, scopes = [CLOUD_PLATFORM]): Promise<AuthClient> {
    if (options.authClient) return options.authClient;
    return new GoogleAuth({ scopes }).getClient();
}

function impersonated(source: AuthClient, target: string, options: GoogleOptions, scopes: string[]): Impersonated {
    return new Impersonated({ sourceClient: source, targetPrincipal: target, targetScopes: scopes, lifetime: 3600, endpoint: iamCredentialsUrl(options) });
}

/** A Google ID token for `audience`: from the metadata server, a service account key file, or by impersonation. */
export async function googleIdToken(audience: string, options: GoogleOptions = {}): Promise<string> {
    let source: AuthClient;
    try {
        source = await sourceClient(options);
    } catch (e) {
        const d = diagnoseGoogle(e, "loading your Google credentials");
        throw new PartnerAccessError(d.reason, d.fix, e);
    }
    if (options.impersonate) {
        try {
            return await impersonated(source, options.impersonate, options, [CLOUD_PLATFORM]).fetchIdToken(audience, { includeEmail: true });
        } catch (e) {
            if (e instanceof PartnerAccessError) throw e;
            const caller = await clientEmail(source).catch(() => undefined);
            const d = diagnoseGoogle(e, `getting an ID token as ${options.impersonate}`, { serviceAccount: options.impersonate, caller });
            throw new PartnerAccessError(d.reason, d.fix, e);
        }
    }
    const provider = source as unknown as { fetchIdToken?: (audience: string) => Promise<string> };
    if (typeof provider.fetchIdToken !== "function") {
        throw new PartnerAccessError(
            `your Google credentials (${source.constructor.name}) cannot mint ID tokens for an audience`,
            "run on Google Cloud as your service account, or pass --impersonate <service account email> (you need roles/iam.serviceAccountTokenCreator on it)");
    }
    try {
        return await provider.fetchIdToken(audience);
    } catch (e) {
        const d = diagnoseGoogle(e, "getting an ID token from the metadata server");
        throw new PartnerAccessError(d.reason, d.fix, e);
    }
}

/** A client whose requests carry an access token for `scopes`, as the caller or as the impersonated account. */
export async function googleClient(options: GoogleOptions = {}, scopes = [CLOUD_PLATFORM]): Promise<AuthClient> {
    const source = await sourceClient(options, scopes);
    return options.impersonate ? impersonated(source, options.impersonate, options, scopes) : source;
}

/** The email of the identity a client acts as, when it can tell. */
export async function clientEmail(client: AuthClient, options: GoogleOptions = {}): Promise<string | undefined> {
    if (options.impersonate) return options.impersonate;
    try {
        const auth = new GoogleAuth({ authClient: client });
        const creds = await auth.getCredentials();
        return creds.client_email;
    } catch {
        return undefined;
    }
}

export interface JwtClaims { iss: string; sub: string; aud: string; iat: number; exp: number; [claim: string]: unknown }

/** The claims ESPv2 expects from a partner's service account: iss = sub = the account, exp one hour later. */
export function endpointsClaims(serviceAccount: string, audience: string, now = Date.now()): JwtClaims {
    const iat = Math.floor(now / 1000);
    return { iss: serviceAccount, sub: serviceAccount, aud: audience, iat, exp: iat + 3600 };
}

/** Signs `claims` as `serviceAccount` with IAM Credentials signJwt (Google holds the key; the caller needs Token Creator on the account). */
export async function signJwt(serviceAccount: string, claims: JwtClaims, options: GoogleOptions = {}): Promise<string> {
    const client = await sourceClient(options);
    const url = `${iamCredentialsUrl(options)}/v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}:signJwt`;
    const res = await client.request<{ signedJwt: string }>({ url, method: "POST", data: { payload: JSON.stringify(claims) } });
    return res.data.signedJwt;
}
