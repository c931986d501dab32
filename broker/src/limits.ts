/**
 * Every platform limit and default the broker enforces, each in one constant.
 * Adapters and the proxy read them from here; tests pass smaller values in.
 */

/**
 * Lambda synchronous invocation: 6 MB for the request payload and 6 MB for the
 * response payload, measured on the JSON the function receives/returns (so the
 * base64 body and the envelope's headers count).
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

/**
 * Cloud Run (and Cloud Run functions gen2, which run on it): 32 MiB for an
 * HTTP/1 request and 32 MiB for an HTTP/1 response.
 * https://cloud.google.com/run/quotas#cloud_run_limits
 */
export const CLOUD_RUN_HTTP1_LIMIT_BYTES = 32 * 1024 * 1024;

/** Envelope size limits of one platform (the serialized JSON, both directions). */
export interface PayloadLimits {
    maxRequestBytes: number;
    maxResponseBytes: number;
}

export const LAMBDA_LIMITS: PayloadLimits = {
    maxRequestBytes: LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES,
    maxResponseBytes: LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES,
};

export const CLOUD_RUN_LIMITS: PayloadLimits = {
    maxRequestBytes: CLOUD_RUN_HTTP1_LIMIT_BYTES,
    maxResponseBytes: CLOUD_RUN_HTTP1_LIMIT_BYTES,
};

/** Broker → partner: the whole exchange (connect, TLS, request, full response) must end within this. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 10_000;

/**
 * TCP connect to one of several addresses of a host: past this the next address
 * is tried (an address that drops SYNs would otherwise use up the whole timeout).
 */
export const CONNECT_ATTEMPT_TIMEOUT_MS = 2_000;

/**
 * What the lead should configure as the platform timeout of the broker (Lambda
 * `timeout`, Cloud Run `timeoutSeconds`): above the upstream timeout plus a
 * secret fetch, and below the 29–30 s that callers behind API gateways allow.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
 */
export const BROKER_FUNCTION_TIMEOUT_SECONDS = 20;

/** Proxy → broker: how long the proxy waits for the broker's answer. */
export const PROXY_INVOKE_TIMEOUT_MS = (BROKER_FUNCTION_TIMEOUT_SECONDS + 5) * 1000;

/** How long a fetched token is reused before the secret store is asked again (per host). */
export const DEFAULT_SECRET_TTL_MS = 60_000;

/** Largest raw body whose base64 form fits in `envelopeBytes` (base64 grows 4/3). */
export function maxRawBodyBytes(envelopeBytes: number): number {
    return Math.floor(envelopeBytes / 4) * 3;
}
