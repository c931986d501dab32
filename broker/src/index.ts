/**
 * What the Pulumi program (the lead's components and CLI) uses. Importing this
 * loads no cloud SDK: bundling, alias names, limits and the proxy config.
 */
export { aliasName, assertRoutes, BrokerRoutes, normalizeHost, Route, ROUTES_FILE, routesProblems, TokenPlacement } from "./routes";
export { Bundle, bundleBroker, bundleProxy, BundleOptions, GCP_ENTRY_POINT, GCP_RUNTIME, hashFiles, LAMBDA_HANDLER, LAMBDA_RUNTIME, PROXY_FILE, Target } from "./bundle";
export {
    BROKER_FUNCTION_TIMEOUT_SECONDS,
    CLOUD_RUN_HTTP1_LIMIT_BYTES,
    CLOUD_RUN_LIMITS,
    DEFAULT_SECRET_TTL_MS,
    DEFAULT_FORWARD_TIMEOUT_MS,
    FORWARD_MARGIN_MS,
    LAMBDA_LIMITS,
    LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES,
    MAX_FORWARD_TIMEOUT_MS,
    PayloadLimits,
    PROXY_INVOKE_TIMEOUT_MS,
} from "./limits";
export { BROKER_ERROR_HEADER, CALLER_CLAIM_HEADER, RequestEnvelope, ResponseEnvelope } from "./envelope";
export { TOKEN_PLACEHOLDER } from "./secrets";
export { TIMEOUT_ENV } from "./deployed";
export { buildProxyConfig, HostTarget, loadProxyConfig, parseProxyConfig, ProxyConfig } from "./proxy-config";
export { ENVELOPE_HEADER, FORWARD_PATH } from "./cloud-run";
