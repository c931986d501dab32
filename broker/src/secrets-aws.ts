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
import { SecretStore } from "./secrets";

/** The error GetSecretValue gives for a missing secret and for a secret with no AWSCURRENT version yet. */
export const SECRET_NOT_FOUND = "ResourceNotFoundException";

export class SecretsManagerSecretStore implements SecretStore {
    private readonly client: SecretsManagerClient;

    /** A client, or its config (default: the function's role via the default credential chain). */
    constructor(client: SecretsManagerClient | SecretsManagerClientConfig = {}) {
        // A stuck read should fail in seconds (→ 500), not use up the function's whole timeout.
        this.client =
            client instanceof SecretsManagerClient ? client : new SecretsManagerClient({ requestHandler: { requestTimeout: 3000, throwOnRequestTimeout: true }, ...client });
    }

    /** `name` is the secret's name (or ARN); reads its AWSCURRENT version. */
    async get(name: string): Promise<string | undefined> {
        try {
            const out = await this.client.send(new GetSecretValueCommand({ SecretId: name }));
            if (out.SecretString !== undefined) return out.SecretString;
            return out.SecretBinary ? Buffer.from(out.SecretBinary).toString("utf8") : undefined;
        } catch (err) {
            // Never set: the secret exists but no operator has run put-secret-value yet (no AWSCURRENT
            // version: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"),
            // or the secret itself does not exist.
            if ((err as { name?: string }).name === SECRET_NOT_FOUND) return undefined;
            throw err;
        }
    }
}
