/**
 * Entry of the GCP bundle (index.js). Cloud Run functions gen2 call the
 * exported `forward` (entry point) through the Functions Framework; `node
 * index.js` (npm start) serves it on $PORT with plain node:http instead.
 */
import { createCloudRunHandler, ForwardHandler, startCloudRunServer } from "./cloud-run";
import { createBroker } from "./core";
import { loadBundledRoutes, timeoutFromEnv } from "./deployed";
import { CLOUD_RUN_LIMITS } from "./limits";
import { SecretManagerStore } from "./secrets-gcp";

let instance: ForwardHandler | undefined;

export const forward: ForwardHandler = (req, res) => {
    instance ??= createCloudRunHandler(
        createBroker({ routes: loadBundledRoutes(__dirname), cloud: "gcp", secrets: new SecretManagerStore(), limits: CLOUD_RUN_LIMITS, timeoutMs: timeoutFromEnv() }),
    );
    instance(req, res);
};

export { createBroker, createCloudRunHandler, startCloudRunServer, SecretManagerStore, CLOUD_RUN_LIMITS };

if (require.main === module) {
    startCloudRunServer(forward).then(
        (server) => process.on("SIGTERM", () => server.close()),
        (err) => {
            process.stderr.write(`partner-access broker could not listen: ${(err as Error).message}\n`);
            process.exit(1);
        },
    );
}
