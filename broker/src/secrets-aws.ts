/**
 * AWS: tokens live in Secrets Manager, one secret per outbound host, named
 * `<namePrefix>/<stage>/outbound/<partner>/<host>`.
 *
 * Not SSM Parameter Store (the first idea): Pulumi cannot create a
 * SecureString without a value, and a placeholder value with ignoreChanges
 * writes the real token into Pulumi state on the next refresh (the provider
 * reads parameters WithDecryption). A Secrets Manager secret can exist with no
 * version at all, and the provider never reads its value (README, "Why Secrets
 * Manager").
 */
import { GetSecretValueCommand, SecretsManagerClient, SecretsManagerClientConfig } from "@aws-sdk/client-secrets-manager";
import { SECRET_READ_ATTEMPT_TIMEOUT_MS, SECRET_READ_ATTEMPTS, SECRET_READ_TIMEOUT_MS } from "./limits";
import { SecretReadTimeout, SecretStore } from "./secrets";

/** The error GetSecretValue gives for a missing secret and for a secret with no AWSCURRENT version yet. */
export const SECRET_NOT_FOUND = "ResourceNotFoundException";

export class SecretsManagerSecretStore implements SecretStore {
    readonly client: SecretsManagerClient;

    /** A client, or its config (default: the function's role via the default credential chain). */
    constructor(client: SecretsManagerClient | SecretsManagerClientConfig = {}) {
        // Bounded so a stuck read gives up within the broker's forward deadline (limits.ts).
        this.client =
            client instanceof SecretsManagerClient
                ? client
                : new SecretsManagerClient({
                      maxAttempts: SECRET_READ_ATTEMPTS,
                      requestHandler: { connectionTimeout: SECRET_READ_ATTEMPT_TIMEOUT_MS, requestTimeout: SECRET_READ_ATTEMPT_TIMEOUT_MS, throwOnRequestTimeout: true },
                      ...client,
                  });
    }

    /** `name` is the secret's name (or ARN); reads its AWSCURRENT version. */
    async get(name: string): Promise<string | undefined> {
        try {
            // The total bound covers the SDK's retries and backoff too.
            const out = await this.client.send(new GetSecretValueCommand({ SecretId: name }), { abortSignal: AbortSignal.timeout(SECRET_READ_TIMEOUT_MS) });
            if (out.SecretString !== undefined) return out.SecretString;
            return out.SecretBinary ? Buffer.from(out.SecretBinary).toString("utf8") : undefined;
        } catch (err) {
            // Never set: the secret exists but no operator has run put-secret-value yet (no AWSCURRENT
            // version: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"),
            // or the secret itself does not exist.
            const errName = (err as { name?: string }).name;
            if (errName === SECRET_NOT_FOUND) return undefined;
            if (errName === "TimeoutError" || errName === "AbortError") throw new SecretReadTimeout(`reading ${name} timed out (${errName})`);
            throw err;
        }
    }
}
