/**
 * What the REST API's logging is made of, as plain values: the access log
 * format and group, and API Gateway's CloudWatch role. Pure (no Pulumi), so
 * tools that render the same API another way (tools/cdk-synth.ts) use the
 * very same values.
 */
import { AccessPlan } from "../plan/access-plan";

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

/** API Gateway's documented trust for its CloudWatch role: the service principal, no condition (API Gateway developer guide, "Permissions for CloudWatch logging"). */
export const CLOUDWATCH_ROLE_TRUST = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export const CLOUDWATCH_ROLE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs";

/** Outside the partner role path on purpose: the API policy exempts every role under that path from its deny. */
export const cloudWatchRoleName = (plan: AccessPlan) => `${plan.stage.namePrefix}-${plan.stage.stage}-apigw-logs`;

export const accessLogGroupName = (plan: AccessPlan) => `/aws/apigateway/${plan.names.apiName}/${plan.names.apiStageName}`;
