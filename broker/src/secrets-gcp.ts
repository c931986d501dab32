/**
 * GCP: tokens live in Secret Manager. Read through the REST API
 * (`v1/{name}/versions/latest:access`) with google-auth-library, which is far
 * lighter to bundle than the gRPC client.
 * https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access
 */
import { GoogleAuth } from "google-auth-library";
import { SecretStore } from "./secrets";

export const SECRET_MANAGER_ENDPOINT = "https://secretmanager.googleapis.com";

/** What the store needs from an auth client: GoogleAuth, OAuth2Client, ... all fit. */
export interface AuthorizedRequester {
    request<T>(opts: { url: string; method: "GET"; timeout: number; retry: boolean }): Promise<{ data: T }>;
}

export interface SecretManagerStoreOptions {
    /** Default SECRET_MANAGER_ENDPOINT; tests point it at a local stand-in. */
    endpoint?: string;
    /** Default: Application Default Credentials (the service's own service account). */
    client?: AuthorizedRequester;
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
        this.timeoutMs = opts.timeoutMs ?? 5000;
    }

    async get(name: string): Promise<string | undefined> {
        if (!SECRET_NAME.test(name)) throw new Error(`not a Secret Manager secret name: ${name}`);
        try {
            const res = await this.client.request<AccessResponse>({
                url: `${this.endpoint}/v1/${name}/versions/latest:access`,
                method: "GET",
                timeout: this.timeoutMs,
                retry: true,
            });
            const data = res.data?.payload?.data;
            return data ? Buffer.from(data, "base64").toString("utf8") : undefined;
        } catch (err) {
            const e = err as { status?: number; response?: { status?: number; data?: { error?: { status?: string } } } };
            const status = e.response?.status ?? e.status;
            const reason = e.response?.data?.error?.status;
            // NOT_FOUND: no version added yet (or no secret); FAILED_PRECONDITION: latest version disabled or destroyed.
            if (status === 404 || (status === 400 && reason === "FAILED_PRECONDITION")) return undefined;
            throw err;
        }
    }
}
