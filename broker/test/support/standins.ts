/** Local stand-ins for the cloud secret APIs, on 127.0.0.1 over plain HTTP. */
import * as http from "node:http";
import { AddressInfo } from "node:net";

export interface StandIn {
    url: string;
    /** Every request: method, path, authorization header, parsed JSON body (if any). */
    calls: { method: string; path: string; authorization?: string; target?: string; body?: unknown }[];
    close(): Promise<void>;
}

async function listen(handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void, calls: StandIn["calls"]): Promise<StandIn> {
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown;
            try {
                parsed = body ? JSON.parse(body) : undefined;
            } catch {
                parsed = body;
            }
            calls.push({ method: req.method ?? "", path: req.url ?? "", authorization: req.headers.authorization, target: req.headers["x-amz-target"] as string | undefined, body: parsed });
            handler(req, body, res);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        calls,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const data = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(data)), ...headers });
    res.end(data);
}

/** Secret value, or the state of a secret without a usable latest version ("hang": never answers). */
export type SecretState = string | { state: "no-version" | "disabled" | "denied" | "hang" };

/** Secret Manager REST: GET /v1/{name}/versions/latest:access. */
export function startSecretManager(secrets: Map<string, SecretState>): Promise<StandIn> {
    return listen((req, _body, res) => {
        const m = /^\/v1\/(projects\/[^/]+\/secrets\/[^/]+)\/versions\/latest:access$/.exec(req.url ?? "");
        if (req.method !== "GET" || !m) return json(res, 404, { error: { code: 404, status: "NOT_FOUND", message: "no such method" } });
        const s = secrets.get(m[1]);
        if (s === undefined || (typeof s === "object" && s.state === "no-version"))
            return json(res, 404, { error: { code: 404, status: "NOT_FOUND", message: `Secret [${m[1]}] not found or has no versions.` } });
        if (typeof s === "object" && s.state === "hang") return;
        if (typeof s === "object" && s.state === "disabled")
            return json(res, 400, { error: { code: 400, status: "FAILED_PRECONDITION", message: `Secret Version [${m[1]}/versions/1] is in DISABLED state.` } });
        if (typeof s === "object") return json(res, 403, { error: { code: 403, status: "PERMISSION_DENIED", message: "Permission denied" } });
        return json(res, 200, { name: `${m[1]}/versions/1`, payload: { data: Buffer.from(s, "utf8").toString("base64") } });
    }, []);
}

/**
 * Secrets Manager (AWS JSON 1.1 protocol): POST / with X-Amz-Target secretsmanager.GetSecretValue.
 * A secret mapped to undefined exists without a version (created, never set); HANG never answers.
 */
export const HANG = Symbol("hang");
export function startSecretsManager(secrets: Map<string, string | undefined | typeof HANG>): Promise<StandIn> {
    const amzJson = { "content-type": "application/x-amz-json-1.1" };
    return listen((req, body, res) => {
        if (req.headers["x-amz-target"] !== "secretsmanager.GetSecretValue") return json(res, 400, { __type: "UnknownOperationException", message: "unknown" }, amzJson);
        const { SecretId } = JSON.parse(body) as { SecretId: string };
        if (!secrets.has(SecretId)) return json(res, 400, { __type: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret." }, amzJson);
        const value = secrets.get(SecretId);
        if (value === HANG) return;
        if (value === undefined) {
            return json(res, 400, { __type: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" }, amzJson);
        }
        return json(res, 200, { ARN: `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${SecretId}-AbCdEf`, Name: SecretId, SecretString: value, VersionId: "v1", VersionStages: ["AWSCURRENT"] }, amzJson);
    }, []);
}

/**
 * Lambda Invoke (REST-JSON): POST /2015-03-31/functions/{FunctionName}/invocations.
 * `behaviour` gets the decoded function name (qualified ARN) and the event.
 */
export function startLambda(
    behaviour: (functionName: string, event: unknown) => Promise<{ status?: number; payload?: unknown; functionError?: string; errorType?: string } | "hang">,
): Promise<StandIn & { invocationTypes: (string | undefined)[] }> {
    const invocationTypes: (string | undefined)[] = [];
    return listen((req, body, res) => {
        const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? "");
        if (req.method !== "POST" || !m) return json(res, 404, { message: "unknown" });
        invocationTypes.push(req.headers["x-amz-invocation-type"] as string | undefined);
        void behaviour(decodeURIComponent(m[1]), body ? JSON.parse(body) : undefined).then((out) => {
            if (out === "hang") return;
            if (out.errorType) return json(res, out.status ?? 400, { Type: "User", message: out.errorType }, { "x-amzn-errortype": out.errorType });
            return json(res, out.status ?? 200, out.payload, { "x-amz-executed-version": "3", ...(out.functionError ? { "x-amz-function-error": out.functionError } : {}) });
        });
        return undefined;
    }, []).then((s) => Object.assign(s, { invocationTypes }));
}
