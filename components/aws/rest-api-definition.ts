/**
 * The REST API as an OpenAPI 2.0 `body` for `aws.apigateway.RestApi`. The
 * routes are one property of the API, updated in place (PutRestApi in
 * overwrite mode: anything not in the document is deleted), so a Deployment
 * created after the update never contains a removed route. Per-route
 * Resource/Method/Integration resources would instead be deleted only after
 * the new Deployment was taken (Pulumi deletes removed resources last:
 * pulumi/pulumi#16589), leaving a removed route live.
 *
 * Every operation requires SigV4 (`x-amazon-apigateway-authtype: awsSigv4`,
 * API Gateway's OpenAPI extension for AWS_IAM). The integration sets headers
 * only the gateway can set (the backend contract, README "Backend contract").
 */
import { AccessPlan } from "../plan/access-plan";
import { Route, pathParams, routeKey } from "../plan/routes";

export const SIGV4 = "sigv4";

/** Headers API Gateway sets on every proxied request, from the verified SigV4 caller. */
export const GATEWAY_HEADERS: Record<string, string> = {
    "X-Partner-Access-Caller-Arn": "context.identity.userArn",
    "X-Partner-Access-Caller-Account": "context.identity.accountId",
    "X-Partner-Access-Request-Id": "context.requestId",
};

export interface RestApiDefinition {
    swagger: "2.0";
    info: { title: string; description: string; version: string };
    schemes: string[];
    securityDefinitions: Record<string, Record<string, unknown>>;
    paths: Record<string, Record<string, RestApiOperation>>;
}

export interface RestApiOperation {
    operationId: string;
    parameters?: { name: string; in: "path"; required: true; type: "string" }[];
    security: Record<string, string[]>[];
    responses: Record<string, { description: string }>;
    "x-amazon-apigateway-integration": Record<string, unknown>;
}

export function operationId(r: Route): string {
    const words = r.path.split("/").filter(Boolean).map((s) => s.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase()));
    return [r.method.toLowerCase(), ...words.map((w) => w.charAt(0).toUpperCase() + w.slice(1))].join("");
}

function integration(plan: AccessPlan, r: Route): Record<string, unknown> {
    const backend = plan.stage.aws.apiBackendUrl;
    if (!backend) {
        // No backend yet: a mock answering 200, so the stack deploys and SigV4 access can be tried end to end.
        return {
            type: "mock",
            passthroughBehavior: "when_no_match",
            requestTemplates: { "application/json": '{"statusCode": 200}' },
            responses: { default: { statusCode: "200", responseTemplates: { "application/json": '{"mock": true}' } } },
        };
    }
    const params = pathParams(r.path);
    return {
        type: "http_proxy",
        httpMethod: r.method,
        uri: `${backend}${r.path}`,
        connectionType: "INTERNET",
        passthroughBehavior: "when_no_match",
        timeoutInMillis: 29000,
        requestParameters: {
            ...Object.fromEntries(params.map((p) => [`integration.request.path.${p}`, `method.request.path.${p}`])),
            ...Object.fromEntries(Object.entries(GATEWAY_HEADERS).map(([h, v]) => [`integration.request.header.${h}`, v])),
            "integration.request.header.X-Partner-Access-Stage": `'${plan.stage.stage}'`,
        },
    };
}

/** Every catalogue route, SigV4 required on each. */
export function restApiDefinition(plan: AccessPlan): RestApiDefinition {
    const paths: RestApiDefinition["paths"] = {};
    for (const r of plan.routes) {
        const params = pathParams(r.path);
        (paths[r.path] ??= {})[r.method.toLowerCase()] = {
            operationId: operationId(r),
            ...(params.length > 0 ? { parameters: params.map((name) => ({ name, in: "path" as const, required: true as const, type: "string" as const })) } : {}),
            security: [{ [SIGV4]: [] }],
            responses: { "200": { description: `${routeKey(r)}` } },
            "x-amazon-apigateway-integration": integration(plan, r),
        };
    }
    return {
        swagger: "2.0",
        info: { title: plan.names.apiName, description: `Partner API (${plan.stage.stage}); SigV4 only`, version: "1.0.0" },
        schemes: ["https"],
        securityDefinitions: { [SIGV4]: { type: "apiKey", name: "Authorization", in: "header", "x-amazon-apigateway-authtype": "awsSigv4" } },
        paths,
    };
}
