/**
 * GCP: tokens live in Secret Manager. Read through the REST API
 * (`v1/{name}/versions/latest:access`) with google-auth-library, which is far
 * lighter to bundle than the gRPC client.
 * https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access
 */
import { GoogleAuth } from "google-auth-library";
import { SECRET_READ_ATTEMPT_TIMEOUT_MS, SECRET_READ_ATTEMPTS, SECRET_READ_TIMEOUT_MS } from "./limits";
import { SecretReadTimeout, SecretStore } from "./secrets";

export const SECRET_MANAGER_ENDPOINT = "https://secretmanager.googleapis.com";

/** What the store needs from an auth client: GoogleAuth, OAuth2Client, ... all fit. */
export interface AuthorizedRequester {
    request<T>(opts: {
        url: string;
        method: "GET";
        timeout: number;
        retry: boolean;
        retryConfig: { retry: number; noResponseRetries: number };
        signal: AbortSignal;
    }): Promise<{ data: T }>;
}

export interface SecretManagerStoreOptions {
    /** Default SECRET_MANAGER_ENDPOINT; tests point it at a local stand-in. */
    endpoint?: string;
    /** Default: Application Default Credentials (the service's own service account). */
    client?: AuthorizedRequester;
    /** Per attempt; default SECRET_READ_ATTEMPT_TIMEOUT_MS. */
    timeoutMs?: number;
}

const SECRET_NAME = /^projects\/[^/]+\/secrets\/[A-Za-z0-9_-]+$/;

interface AccessResponse {
    payload?: { data?: string };
}

export class SecretManagerStore implements SecretStore {
    private readonly endpoint: string;
    private readonly client: AuthorizedRequester;
    private readonly timeoutMs: number;

    constructor(opts: SecretManagerStoreOptions = {}) {
        this.endpoint = (opts.endpoint ?? SECRET_MANAGER_ENDPOINT).replace(/\/+$/, "");
        this.client = opts.client ?? new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
        this.timeoutMs = opts.timeoutMs ?? SECRET_READ_ATTEMPT_TIMEOUT_MS;
    }

    async get(name: string): Promise<string | undefined> {
        if (!SECRET_NAME.test(name)) throw new Error(`not a Secret Manager secret name: ${name}`);
        try {
            const res = await this.client.request<AccessResponse>({
                url: `${this.endpoint}/v1/${name}/versions/latest:access`,
                method: "GET",
                // Bounded so a stuck read gives up within the broker's forward deadline (limits.ts).
                timeout: this.timeoutMs,
                retry: true,
                retryConfig: { retry: SECRET_READ_ATTEMPTS - 1, noResponseRetries: SECRET_READ_ATTEMPTS - 1 },
                signal: AbortSignal.timeout(SECRET_READ_TIMEOUT_MS),
            });
            const data = res.data?.payload?.data;
            return data ? Buffer.from(data, "base64").toString("utf8") : undefined;
        } catch (err) {
            const e = err as { status?: number; response?: { status?: number; data?: { error?: { status?: string } } }; error?: { name?: string } };
            // gaxios reports its own timeout and the total signal as an AbortError or TimeoutError.
            const cause = e.error?.name;
            if (!e.response && (cause === "AbortError" || cause === "TimeoutError")) throw new SecretReadTimeout(`reading ${name} timed out (${cause})`);
            const status = e.response?.status ?? e.status;
            const reason = e.response?.data?.error?.status;
            // NOT_FOUND: no version added yet (or no secret); FAILED_PRECONDITION: latest version disabled or destroyed.
            if (status === 404 || (status === 400 && reason === "FAILED_PRECONDITION")) return undefined;
            throw err;
        }
    }
}
