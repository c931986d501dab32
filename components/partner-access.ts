import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { FileExchange } from "./aws/file-exchange";
import { PartnerApi } from "./aws/partner-api";
import { PartnerRoles } from "./aws/partner-roles";
import { GcsFileExchange } from "./gcp/file-exchange";
import { PartnerEndpoints } from "./gcp/partner-endpoints";
import { ProjectServices } from "./gcp/project-services";
import { WorkloadIdentity } from "./gcp/workload-identity";
import { partnerOutputs } from "./partner-outputs";
import { AccessPlan } from "./plan/access-plan";

/**
 * Renders an access plan on both clouds. Explicit providers pin each stage to
 * its own AWS account and GCP project: a stack pointed at the wrong account
 * fails before it changes anything.
 */
export function deployPartnerAccess(plan: AccessPlan) {
    const { stage } = plan;
    const awsProvider = new aws.Provider("aws", {
        region: stage.aws.region as aws.Region,
        allowedAccountIds: [stage.aws.accountId],
        defaultTags: { tags: { "managed-by": "partner-access", "partner-access:stage": stage.stage } },
    });
    const gcpProvider = new gcp.Provider("gcp", {
        project: stage.gcp.project,
        region: stage.gcp.region,
        defaultLabels: { "managed-by": "partner-access", "partner-access-stage": stage.stage },
    });
    const awsOpts = { provider: awsProvider };
    const gcpOpts = { provider: gcpProvider };

    const files = new FileExchange("file-exchange", { plan }, awsOpts);
    const api = new PartnerApi("partner-api", { plan }, awsOpts);
    const roles = new PartnerRoles("partner-roles", { plan, apiId: api.apiId }, awsOpts);

    const services = new ProjectServices("gcp-services", { project: stage.gcp.project }, gcpOpts);
    const afterServices = { ...gcpOpts, dependsOn: [services] };
    const gcsFiles = new GcsFileExchange("gcs-file-exchange", { plan }, afterServices);
    const federation = new WorkloadIdentity("workload-identity", { plan }, afterServices);
    const endpoints = plan.partners.some((p) => p.gcp.routes.length > 0)
        ? new PartnerEndpoints("partner-endpoints", { plan }, afterServices)
        : undefined;

    return {
        stage: stage.stage,
        aws: {
            accountId: stage.aws.accountId,
            region: stage.aws.region,
            bucketName: files.bucketName,
            apiId: api.apiId,
            invokeUrl: api.invokeUrl,
            roleArns: roles.roleArns,
        },
        gcp: {
            project: stage.gcp.project,
            bucketName: gcsFiles.bucketName,
            endpointsHost: endpoints?.serviceName,
            endpointsUrl: endpoints?.url,
            audience: endpoints?.audience,
            workloadIdentityPool: federation.poolName,
        },
        partners: api.apiId.apply((apiId) => partnerOutputs(plan, apiId)),
        excludedPartners: plan.excluded,
    };
}
