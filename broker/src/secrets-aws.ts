/** AWS: tokens live in SSM Parameter Store as SecureString parameters. */
import { GetParameterCommand, SSMClient, SSMClientConfig } from "@aws-sdk/client-ssm";
import { SecretStore } from "./secrets";

export class SsmSecretStore implements SecretStore {
    private readonly client: SSMClient;

    /** A client, or its config (default: the function's role via the default credential chain). */
    constructor(client: SSMClient | SSMClientConfig = {}) {
        // A stuck read should fail in seconds (→ 500), not use up the function's whole timeout.
        this.client = client instanceof SSMClient ? client : new SSMClient({ requestHandler: { requestTimeout: 3000, throwOnRequestTimeout: true }, ...client });
    }

    async get(name: string): Promise<string | undefined> {
        try {
            const out = await this.client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
            return out.Parameter?.Value;
        } catch (err) {
            // The slot was never set: the operator has not run put-parameter yet.
            if ((err as { name?: string }).name === "ParameterNotFound") return undefined;
            throw err;
        }
    }
}
