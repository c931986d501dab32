/**
 * AWS adapter: one Lambda function per stage, one alias per outbound host.
 *
 * Each alias's resource policy (lambda:InvokeFunction, qualifier = alias)
 * names exactly that host's caller roles, so Lambda's own IAM check decides who
 * may invoke which alias. The handler learns the alias from
 * context.invokedFunctionArn — set by Lambda, so the caller cannot forge it —
 * and serves only that alias's host.
 *
 * Lambda does not tell the function who invoked it. CloudTrail Lambda data
 * events (Invoke) record the verified invoker; the broker's log records the
 * alias (verified) and any caller claim the proxy sent (`caller`, with
 * `callerVerified: false`).
 */
import { Broker } from "./core";
import { CALLER_CLAIM_HEADER, ResponseEnvelope } from "./envelope";

/** The part of the Lambda context the handler uses. */
export interface LambdaContext {
    invokedFunctionArn: string;
}

export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<ResponseEnvelope>;

/**
 * The alias in `arn:aws:lambda:<region>:<account>:function:<name>:<qualifier>`;
 * undefined when invoked unqualified, as $LATEST, or by version number.
 */
export function aliasFromArn(arn: string | undefined): string | undefined {
    const parts = (arn ?? "").split(":");
    if (parts.length !== 8 || parts[0] !== "arn" || parts[2] !== "lambda" || parts[5] !== "function") return undefined;
    const q = parts[7];
    if (!q || q === "$LATEST" || /^\d+$/.test(q)) return undefined;
    return q;
}

function claimOf(event: unknown): string | undefined {
    const headers = (event as { headers?: unknown } | null)?.headers;
    if (typeof headers !== "object" || headers === null) return undefined;
    for (const [k, v] of Object.entries(headers)) {
        if (k.toLowerCase() === CALLER_CLAIM_HEADER && typeof v === "string") return v.slice(0, 256);
    }
    return undefined;
}

export function createLambdaHandler(broker: Broker): LambdaHandler {
    return (event, context) => broker.forward(event, { cloud: "aws", alias: aliasFromArn(context?.invokedFunctionArn), claim: claimOf(event) });
}
