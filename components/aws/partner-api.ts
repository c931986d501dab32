import * as aws from "@pulumi/aws";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../plan/access-plan";
import { Route, routeKey } from "../plan/routes";
import { apiResourcePolicy } from "./policy-documents";

export interface PartnerApiArgs {
    plan: AccessPlan;
}

/** The fields API Gateway writes to the access log: enough to tell which partner called what. */
export const ACCESS_LOG_FORMAT = JSON.stringify({
    requestId: "$context.requestId",
    requestTime: "$context.requestTime",
    httpMethod: "$context.httpMethod",
    resourcePath: "$context.resourcePath",
    status: "$context.status",
    userArn: "$context.identity.userArn",
    caller: "$context.identity.caller",
    accountId: "$context.identity.accountId",
    sourceIp: "$context.identity.sourceIp",
    userAgent: "$context.identity.userAgent",
    responseLength: "$context.responseLength",
    integrationStatus: "$context.integrationStatus",
});

const pathParams = (path: string) => [...path.matchAll(/\{([A-Za-z][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);

/**
 * Regional REST API: every method requires SigV4 (`AWS_IAM`), the resource
 * policy admits only what the plan grants, and the stage is redeployed
 * whenever routes, integration or policy change.
 */
export class PartnerApi extends pulumi.ComponentResource {
    readonly apiId: pulumi.Output<string>;
    readonly invokeUrl: pulumi.Output<string>;
    readonly stageName: string;

    constructor(name: string, args: PartnerApiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:aws:PartnerApi", name, {}, opts);
        const { plan } = args;
        const child = { parent: this };
        const backend = plan.stage.aws.apiBackendUrl;

        const api = new aws.apigateway.RestApi(`${name}-rest-api`, {
            name: plan.names.apiName,
            description: `Partner API (${plan.stage.stage}); SigV4 only`,
            endpointConfiguration: { types: "REGIONAL" },
            disableExecuteApiEndpoint: false,
        }, child);

        const policyJson = api.id.apply((id) => JSON.stringify(apiResourcePolicy(plan, id)));
        const policy = new aws.apigateway.RestApiPolicy(`${name}-policy`, { restApiId: api.id, policy: policyJson }, child);

        // One API Gateway resource per distinct path prefix, parents first.
        const resources = new Map<string, aws.apigateway.Resource>();
        const resourceId = (path: string): pulumi.Input<string> => (path === "" ? api.rootResourceId : resources.get(path)!.id);
        const paths = [...new Set(plan.routes.flatMap((r) => {
            const segs = r.path.slice(1).split("/");
            return segs.map((_, i) => "/" + segs.slice(0, i + 1).join("/"));
        }))].sort((a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b));
        for (const path of paths) {
            const parent = path.slice(0, path.lastIndexOf("/"));
            resources.set(path, new aws.apigateway.Resource(`${name}${path}`, {
                restApi: api.id,
                parentId: resourceId(parent),
                pathPart: path.slice(path.lastIndexOf("/") + 1),
            }, child));
        }

        const methodParts: pulumi.Resource[] = [];
        for (const route of plan.routes) {
            methodParts.push(...this.route(name, api, resourceId(route.path), route, backend));
        }

        const deployment = new aws.apigateway.Deployment(`${name}-deployment`, {
            restApi: api.id,
            description: `partner-access ${plan.stage.stage}`,
            triggers: {
                redeployment: policyJson.apply((p) => crypto.createHash("sha256")
                    .update(JSON.stringify({ routes: plan.routes.map(routeKey), backend: backend ?? "mock", policy: p }))
                    .digest("hex")),
            },
        }, { ...child, dependsOn: [policy, ...methodParts] });

        const logGroup = new aws.cloudwatch.LogGroup(`${name}-access-log`, {
            name: `/aws/apigateway/${plan.names.apiName}/${plan.names.apiStageName}`,
            retentionInDays: plan.stage.aws.accessLogRetentionDays,
        }, child);

        const accountSettings = plan.stage.aws.manageApiGatewayAccount ? [this.cloudWatchAccountSettings(name, plan)] : [];

        const stage = new aws.apigateway.Stage(`${name}-stage`, {
            restApi: api.id,
            deployment: deployment.id,
            stageName: plan.names.apiStageName,
            accessLogSettings: { destinationArn: logGroup.arn, format: ACCESS_LOG_FORMAT },
        }, { ...child, dependsOn: accountSettings });

        // Execution logging needs the account's CloudWatch role too.
        new aws.apigateway.MethodSettings(`${name}-method-settings`, {
            restApi: api.id,
            stageName: stage.stageName,
            methodPath: "*/*",
            settings: { metricsEnabled: true, loggingLevel: "ERROR", dataTraceEnabled: false },
        }, { ...child, dependsOn: accountSettings });

        this.apiId = api.id;
        this.stageName = plan.names.apiStageName;
        this.invokeUrl = stage.invokeUrl;
        this.registerOutputs({ apiId: this.apiId, invokeUrl: this.invokeUrl });
    }

    private route(name: string, api: aws.apigateway.RestApi, resourceId: pulumi.Input<string>, route: Route, backend: string | undefined): pulumi.Resource[] {
        const child = { parent: this };
        const key = `${name}-${route.method}${route.path}`;
        const params = pathParams(route.path);
        const method = new aws.apigateway.Method(key, {
            restApi: api.id,
            resourceId,
            httpMethod: route.method,
            authorization: "AWS_IAM",
            requestParameters: Object.fromEntries(params.map((p) => [`method.request.path.${p}`, true])),
        }, child);
        if (backend) {
            const integration = new aws.apigateway.Integration(key, {
                restApi: api.id,
                resourceId,
                httpMethod: method.httpMethod,
                type: "HTTP_PROXY",
                integrationHttpMethod: route.method,
                uri: `${backend}${route.path}`,
                requestParameters: Object.fromEntries(params.map((p) => [`integration.request.path.${p}`, `method.request.path.${p}`])),
            }, child);
            return [method, integration];
        }
        // No backend yet: a mock answering 200, so the stack deploys and SigV4 access can be tested end to end.
        const integration = new aws.apigateway.Integration(key, {
            restApi: api.id,
            resourceId,
            httpMethod: method.httpMethod,
            type: "MOCK",
            requestTemplates: { "application/json": '{"statusCode": 200}' },
        }, child);
        const response = new aws.apigateway.MethodResponse(key, {
            restApi: api.id, resourceId, httpMethod: method.httpMethod, statusCode: "200",
        }, child);
        const integrationResponse = new aws.apigateway.IntegrationResponse(key, {
            restApi: api.id, resourceId, httpMethod: method.httpMethod, statusCode: response.statusCode,
            responseTemplates: { "application/json": '{"mock": true}' },
        }, { ...child, dependsOn: [integration] });
        return [method, integration, response, integrationResponse];
    }

    /** API Gateway logs to CloudWatch through one role per account and region. */
    private cloudWatchAccountSettings(name: string, plan: AccessPlan): aws.apigateway.Account {
        const role = new aws.iam.Role(`${name}-cloudwatch-role`, {
            // Outside the partner role path on purpose: the API policy exempts every role under that path from its deny.
            name: `${plan.stage.namePrefix}-${plan.stage.stage}-apigw-logs`,
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": plan.stage.aws.accountId } } }],
            }),
        }, { parent: this });
        const attachment = new aws.iam.RolePolicyAttachment(`${name}-cloudwatch-role`, {
            role: role.name,
            policyArn: "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        }, { parent: this });
        return new aws.apigateway.Account(`${name}-account-settings`, { cloudwatchRoleArn: role.arn }, { parent: this, dependsOn: [attachment] });
    }
}
