/**
 * Where the client may send credentials (a SigV4 signature, a bearer JWT, a
 * Google access token): one rule, used by the kit's schema and validation and
 * by every request that carries them.
 *
 * - An API base URL from a kit must be https, whatever its host.
 * - An endpoint the partner points the client at for testing (IAM Credentials,
 *   the Cloud Storage emulator) must be https too, except on a loopback host
 *   (localhost, 127.0.0.0/8, [::1]), where traffic never leaves the machine.
 */
import { PartnerAccessError } from "./errors";

/** The kit schema's pattern for an API base URL: https, a host, no user info, no whitespace. */
export const HTTPS_URL_PATTERN = "^https://[^\\s/?#@]+(/\\S*)?$";
export const HTTPS_URL_DESCRIPTION = "an https URL (signed requests and tokens are only sent over TLS)";
const httpsUrl = new RegExp(HTTPS_URL_PATTERN);

export function isLoopbackHost(hostname: string): boolean {
    const h = hostname.toLowerCase();
    return h === "localhost" || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface UrlRule {
    /** Also accept plain http to a loopback host (endpoints for local testing; never a kit's URL). */
    loopbackHttp?: boolean;
}

/** Why the client must not send credentials to `url`, or undefined when it may. */
export function credentialUrlProblem(url: string | URL, rule: UrlRule = {}): string | undefined {
    const text = String(url);
    let parsed: URL;
    try {
        parsed = new URL(text);
    } catch {
        return `${JSON.stringify(text)} is not a URL`;
    }
    if (parsed.protocol === "https:" && parsed.hostname && httpsUrl.test(text)) return undefined;
    if (rule.loopbackHttp && parsed.protocol === "http:" && isLoopbackHost(parsed.hostname) && !parsed.username && !parsed.password) return undefined;
    return `${JSON.stringify(text)} is not ${rule.loopbackHttp ? "an https URL (plain http only to localhost, 127.0.0.0/8 or [::1])" : "an https URL"}` +
        "; the client sends signatures and tokens only over TLS";
}

/** Throws a PartnerAccessError naming `what` (e.g. "the kit's aws.api.invokeUrl") when credentials must not go to `url`. */
export function requireCredentialUrl(url: string | URL, what: string, fix: string, rule: UrlRule = {}): void {
    const problem = credentialUrlProblem(url, rule);
    if (problem) throw new PartnerAccessError(`${what}: ${problem}`, fix);
}
