/**
 * Unauthenticated API surfaces on AWS: REST API methods, OpenAPI bodies,
 * HTTP API routes and quick-create APIs, Lambda function URLs.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { isObject, readYamlOrJson } from "./documents";

const OPERATIONS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace", "x-amazon-apigateway-any-method"]);

/**
 * The values of `x-amazon-apigateway-authtype` that mean SigV4 (IAM) auth.
 * "awsSigv4" is the reserved term of the API Gateway extension page (research
 * aws.md §2; what components/aws/rest-api-definition.ts renders). What closes
 * access is read strictly: exact key, exact value, on an `apiKey` scheme.
 */
const SIGV4_AUTHTYPES = new Set(["awsSigv4", "AWS_IAM"]);


/**
 * Operations of an OpenAPI 2 or 3 document that can be called without SigV4,
 * or an error when the document cannot be read (then it is refused). An
 * operation's `security` (or the document's, when it has none) is a list of
 * alternatives, any one of which admits the caller ("a `security` list is OR
 * across its items"): every alternative must require a SigV4 scheme; an empty
 * list or an empty alternative `{}` admits anyone.
 */
export function unauthenticatedOperations(body: unknown): { operations: string[] } | { error: string } {
    let doc = body;
    if (typeof body === "string") {
        const read = readYamlOrJson(body);
        if ("error" in read) return { error: `the OpenAPI body cannot be read as API Gateway would (${read.error})` };
        doc = read.value;
    }
    if (!isObject(doc)) return { error: "the OpenAPI body is not an object" };
    const schemes: Record<string, unknown> = { ...(isObject(doc.securityDefinitions) ? doc.securityDefinitions : {}), ...(isObject(doc.components?.securitySchemes) ? doc.components.securitySchemes : {}) };
    const sigv4 = new Set(Object.entries(schemes).filter(([, s]) => isObject(s) && s.type === "apiKey" && SIGV4_AUTHTYPES.has(s["x-amazon-apigateway-authtype"])).map(([name]) => name));
    const requiresSigv4 = (security: unknown) => Array.isArray(security) && security.length > 0 &&
        security.every((alt) => isObject(alt) && Object.keys(alt).some((name) => sigv4.has(name)));
    const out: string[] = [];
    for (const [path, item] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
        if (!isObject(item)) continue;
        if ("$ref" in item) return { error: `path ${path} is a $ref, which this check does not follow` };
        // Read loosely what could open access: a method key in any case counts as an operation.
        for (const [method, op] of Object.entries(item)) {
            if (!OPERATIONS.has(method.toLowerCase())) continue;
            const security = isObject(op) && "security" in op ? op.security : doc.security;
            if (!requiresSigv4(security)) out.push(`${method.toUpperCase()} ${path}`);
        }
    }
    return { operations: out };
}

export const apiMethodsAuthenticated: ResourceValidationPolicy = {
    name: "api-methods-authenticated",
    description: "No API surface without SigV4 authentication (Checkov CKV_AWS_59, cdk-nag APIG4): REST API methods and HTTP API routes whose authorization is not AWS_IAM (NONE, CUSTOM, COGNITO, JWT), operations of a REST or HTTP API " +
        "OpenAPI body without a SigV4 (x-amazon-apigateway-authtype: awsSigv4) requirement (HTTP API routes default to NONE), " +
        "quick-create HTTP APIs (their default route has no auth), Lambda function URLs and URL permissions with auth type NONE. " +
        "Remediation: AWS_IAM (SigV4) everywhere, as partner-access renders every route.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = args.props;
        switch (args.type) {
            case "aws:apigateway/method:Method":
                // Not only NONE: a CUSTOM or Cognito authorizer admits whoever it admits, outside IAM and the API's resource policy principals.
                if (String(p.authorization ?? "NONE").toUpperCase() !== "AWS_IAM") report(`method ${p.httpMethod} has authorization ${p.authorization ?? "NONE"}: ${String(p.authorization ?? "NONE").toUpperCase() === "NONE" ? "anyone can call it" : "callers are not SigV4-signed IAM principals"}.`);
                return;
            case "aws:apigatewayv2/route:Route":
                // @pulumi/aws apigatewayv2/route.d.ts: authorizationType "Defaults to `NONE`".
                // A JWT authorizer trusting accounts.google.com admits every Google account holding a token for the audience.
                if (String(p.authorizationType ?? "NONE").toUpperCase() !== "AWS_IAM") report(`route ${p.routeKey} has authorizationType ${p.authorizationType ?? "unset (NONE by default)"}: ${String(p.authorizationType ?? "NONE").toUpperCase() === "NONE" ? "anyone can call it" : "callers are not SigV4-signed IAM principals"}.`);
                return;
            case "aws:lambda/functionUrl:FunctionUrl":
                // Lambda: with NONE "your function's resource-based policy is always in effect and must grant public access".
                if (String(p.authorizationType ?? "NONE").toUpperCase() !== "AWS_IAM") report(`function URL of ${p.functionName} has authorizationType ${p.authorizationType ?? "unset"}: it is callable without AWS credentials.`);
                return;
            case "aws:lambda/permission:Permission":
                if (p.functionUrlAuthType !== undefined && String(p.functionUrlAuthType).toUpperCase() === "NONE") report(`Lambda permission grants function URL calls with auth type NONE.`);
                return;
            case "aws:apigatewayv2/api:Api":
                if (p.target !== undefined || p.routeKey !== undefined) report("quick-create HTTP API (target/routeKey): its default route has no authorization.");
                break;
            case "aws:apigateway/restApi:RestApi":
                break;
            default:
                return;
        }
        if (p.body === undefined || p.body === null || p.body === "") return;
        const found = unauthenticatedOperations(p.body);
        if ("error" in found) return report(`${found.error}; it cannot be checked, so it is refused.`);
        if (found.operations.length > 0) report(`OpenAPI body operations without a SigV4 security requirement: ${found.operations.join(", ")}.`);
    },
};
