import * as awsApigateway from "@pulumi/aws/apigateway";
import * as awsCloudwatch from "@pulumi/aws/cloudwatch";
import * as awsIam from "@pulumi/aws/iam";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../plan/access-plan";
import { ACCESS_LOG_FORMAT, CLOUDWATCH_ROLE_POLICY_ARN, CLOUDWATCH_ROLE_TRUST, accessLogGroupName, cloudWatchRoleName } from "./api-logging";
import { apiResourcePolicy } from "./policy-documents";
import { restApiDefinition } from "./rest-api-definition";

export { ACCESS_LOG_FORMAT, CLOUDWATCH_ROLE_TRUST } from "./api-logging";

export interface PartnerApiArgs {
    plan: AccessPlan;
}

/**
 * Regional REST API described by one OpenAPI body (every operation SigV4),
 * with its resource policy on the API itself. The Deployment is re-created
 * whenever body or policy change, after the API is updated in place, so the
 * stage serves exactly the current definition. A client certificate lets the
 * backend tell calls that came through the gateway (README, "Backend contract").
 */
export class PartnerApi extends pulumi.ComponentResource {
    readonly apiId: pulumi.Output<string>;
    readonly invokeUrl: pulumi.Output<string>;
    readonly clientCertificatePem: pulumi.Output<string>;
    readonly stageName: string;

    constructor(name: string, args: PartnerApiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:aws:PartnerApi", name, {}, opts);
        const { plan } = args;
        const child = { parent: this };
        const body = JSON.stringify(restApiDefinition(plan));
        const policy = JSON.stringify(apiResourcePolicy(plan));

        const api = new awsApigateway.RestApi(`${name}-rest-api`, {
            name: plan.names.apiName,
            description: `Partner API (${plan.stage.stage}); SigV4 only`,
            endpointConfiguration: { types: "REGIONAL" },
            body,
            // The provider's default; explicit because removing a route depends on it.
            putRestApiMode: "overwrite",
            failOnWarnings: true,
            // Only here, never also in a RestApiPolicy: the two fight (hashicorp/terraform-provider-aws#49672).
            policy,
        }, child);

        const deployment = new awsApigateway.Deployment(`${name}-deployment`, {
            restApi: api.id,
            description: `partner-access ${plan.stage.stage}`,
            triggers: { redeployment: crypto.createHash("sha256").update(body).update("\n").update(policy).digest("hex") },
        }, child);

        const logGroup = new awsCloudwatch.LogGroup(`${name}-access-log`, {
            name: accessLogGroupName(plan),
            retentionInDays: plan.stage.aws.accessLogRetentionDays,
        }, child);

        const accountSettings = plan.stage.aws.manageApiGatewayAccount ? [this.cloudWatchAccountSettings(name, plan)] : [];

        const certificate = new awsApigateway.ClientCertificate(`${name}-backend-certificate`, {
            description: `partner-access ${plan.stage.stage}: presented to the backend on every proxied call`,
        }, child);

        const stage = new awsApigateway.Stage(`${name}-stage`, {
            restApi: api.id,
            deployment: deployment.id,
            stageName: plan.names.apiStageName,
            clientCertificateId: certificate.id,
            accessLogSettings: { destinationArn: logGroup.arn, format: ACCESS_LOG_FORMAT },
        }, { ...child, dependsOn: accountSettings });

        // Execution logging needs the account's CloudWatch role too.
        new awsApigateway.MethodSettings(`${name}-method-settings`, {
            restApi: api.id,
            stageName: stage.stageName,
            methodPath: "*/*",
            settings: { metricsEnabled: true, loggingLevel: "ERROR", dataTraceEnabled: false },
        }, { ...child, dependsOn: accountSettings });

        this.apiId = api.id;
        this.stageName = plan.names.apiStageName;
        this.invokeUrl = stage.invokeUrl;
        this.clientCertificatePem = certificate.pemEncodedCertificate;
        this.registerOutputs({ apiId: this.apiId, invokeUrl: this.invokeUrl, clientCertificatePem: this.clientCertificatePem });
    }

    /** API Gateway logs to CloudWatch through one role per account and region. */
    private cloudWatchAccountSettings(name: string, plan: AccessPlan): awsApigateway.Account {
        const role = new awsIam.Role(`${name}-cloudwatch-role`, {
            // Outside the partner role path on purpose (cloudWatchRoleName).
            name: cloudWatchRoleName(plan),
            assumeRolePolicy: CLOUDWATCH_ROLE_TRUST,
        }, { parent: this });
        const attachment = new awsIam.RolePolicyAttachment(`${name}-cloudwatch-role`, {
            role: role.name,
            policyArn: CLOUDWATCH_ROLE_POLICY_ARN,
        }, { parent: this });
        return new awsApigateway.Account(`${name}-account-settings`, { cloudwatchRoleArn: role.arn }, { parent: this, dependsOn: [attachment] });
    }
}
