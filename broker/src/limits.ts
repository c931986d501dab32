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

/**
 * What the lead configures as the platform timeout of the broker (Lambda
 * `timeout`, Cloud Run `timeoutSeconds`): the forward deadline plus a margin,
 * and below the 29–30 s that callers behind API gateways allow.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
 */
export const BROKER_FUNCTION_TIMEOUT_SECONDS = 20;

/**
 * One deadline for a whole forward: DNS, the secret read and the exchange with
 * the partner (connect, TLS, request, full response) all end within it.
 */
export const DEFAULT_FORWARD_TIMEOUT_MS = 10_000;

/**
 * Time the broker may still need after the deadline (decode, scrub and
 * serialize up to a full response envelope) before the platform stops it.
 */
export const FORWARD_MARGIN_MS = 5_000;

/** Largest deadline (e.g. set through the environment): it plus the margin fits the function timeout. */
export const MAX_FORWARD_TIMEOUT_MS = BROKER_FUNCTION_TIMEOUT_SECONDS * 1000 - FORWARD_MARGIN_MS;

/**
 * TCP connect to one of several addresses of a host: past this the next address
 * is tried (an address that drops SYNs would otherwise use up the whole deadline).
 */
export const CONNECT_ATTEMPT_TIMEOUT_MS = 2_000;

/**
 * The secret stores' own bounds: SDK attempts, the timeout of each, and a total
 * for the read (retries included), so a slow store gives up within the forward
 * deadline instead of running on after the broker has answered.
 */
export const SECRET_READ_ATTEMPTS = 2;
export const SECRET_READ_ATTEMPT_TIMEOUT_MS = 2_000;
export const SECRET_READ_TIMEOUT_MS = 5_000;

/** Proxy → broker: how long the proxy waits for the broker's answer. */
export const PROXY_INVOKE_TIMEOUT_MS = (BROKER_FUNCTION_TIMEOUT_SECONDS + 5) * 1000;

/** How long a fetched token is reused before the secret store is asked again (per host). */
export const DEFAULT_SECRET_TTL_MS = 60_000;

/** Largest raw body whose base64 form fits in `envelopeBytes` (base64 grows 4/3). */
export function maxRawBodyBytes(envelopeBytes: number): number {
    return Math.floor(envelopeBytes / 4) * 3;
}
