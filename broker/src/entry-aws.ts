/**
 * Entry of the AWS bundle (index.js, handler `index.handler`). The broker is
 * built on first use from routes.json beside this file.
 */
import { createBroker } from "./core";
import { loadBundledRoutes, timeoutFromEnv } from "./deployed";
import { createLambdaHandler, LambdaHandler } from "./lambda";
import { LAMBDA_LIMITS } from "./limits";
import { SecretsManagerSecretStore } from "./secrets-aws";

let instance: LambdaHandler | undefined;

export const handler: LambdaHandler = (event, context) => {
    instance ??= createLambdaHandler(
        createBroker({ routes: loadBundledRoutes(__dirname), cloud: "aws", secrets: new SecretsManagerSecretStore(), limits: LAMBDA_LIMITS, timeoutMs: timeoutFromEnv() }),
    );
    return instance(event, context);
};

// Exposed so a test can run the bundled code with injected stores and guards.
export { createBroker, createLambdaHandler, SecretsManagerSecretStore, LAMBDA_LIMITS };
