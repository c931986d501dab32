import { Provider as AwsProvider } from "@pulumi/aws/provider";
import * as gcpOrganizations from "@pulumi/gcp/organizations";
import { Provider as GcpProvider } from "@pulumi/gcp/provider";
import * as pulumi from "@pulumi/pulumi";
import { FileExchange } from "./aws/file-exchange";
import { PartnerApi } from "./aws/partner-api";
import { PartnerRoles } from "./aws/partner-roles";
import { GcsFileExchange } from "./gcp/file-exchange";
import { PartnerEndpoints } from "./gcp/partner-endpoints";
import { BROKER_SERVICES, ProjectServices, REQUIRED_SERVICES } from "./gcp/project-services";
import { WorkloadIdentity } from "./gcp/workload-identity";
import { partnerOutputs } from "./partner-outputs";
import { deployOutbound } from "./outbound"; // outbound token broker
import { AccessPlan } from "./plan/access-plan";
import { routeKey } from "./plan/routes";

/**
 * The GCP project number in config names the project in every federated
 * member and audience; a wrong one would grant nothing (or someone else's
 * pool). Like `allowedAccountIds` on AWS, the stack refuses to touch a project
 * whose number differs: the provider's project comes through this check.
 */
function verifiedProject(plan: AccessPlan): pulumi.Output<string> {
    const { project, projectNumber } = plan.stage.gcp;
    return gcpOrganizations.getProjectOutput({ projectId: project }).apply((p) => {
        if (p.number !== projectNumber) {
            throw new pulumi.RunError(`Pulumi.${plan.stage.stage}.yaml: partner-access:gcpProjectNumber is ${projectNumber}, but project ${project} has number ${p.number}`);
        }
        return project;
    });
}

/**
 * Renders an access plan on both clouds. Explicit providers pin each stage to
 * its own AWS account and GCP project: a stack pointed at the wrong account
 * fails before it changes anything.
 */
export function deployPartnerAccess(plan: AccessPlan) {
    const { stage } = plan;
    const awsProvider = new AwsProvider("aws", {
        region: stage.aws.region,
        allowedAccountIds: [stage.aws.accountId],
        defaultTags: { tags: { "managed-by": "partner-access", "partner-access:stage": stage.stage } },
    });
    const gcpProvider = new GcpProvider("gcp", {
        project: verifiedProject(plan),
        region: stage.gcp.region,
        defaultLabels: { "managed-by": "partner-access", "partner-access-stage": stage.stage },
    });
    const awsOpts = { provider: awsProvider };
    const gcpOpts = { provider: gcpProvider };

    const files = new FileExchange("file-exchange", { plan }, awsOpts);
    const api = new PartnerApi("partner-api", { plan }, awsOpts);
    const roles = new PartnerRoles("partner-roles", { plan, apiId: api.apiId }, awsOpts);

    const services = new ProjectServices("gcp-services", {
        project: stage.gcp.project,
        services: [...REQUIRED_SERVICES, ...(plan.outbound.length > 0 ? BROKER_SERVICES : [])],
    }, gcpOpts);
    const afterServices = { ...gcpOpts, dependsOn: [services] };
    const federation = new WorkloadIdentity("workload-identity", { plan }, afterServices);
    const gcsFiles = new GcsFileExchange("gcs-file-exchange", { plan, poolId: federation.poolId }, afterServices);
    const endpoints = plan.partners.some((p) => p.gcp.activeRoutes.length > 0)
        ? new PartnerEndpoints("partner-endpoints", { plan }, afterServices)
        : undefined;

    // --- outbound token broker (components/outbound.ts): nothing without outbound hosts ---
    const outbound = deployOutbound(plan, awsOpts, afterServices);
    // --- end outbound token broker ---

    const ids = pulumi.all([api.apiId, federation.poolId, pulumi.all(federation.providerIds), endpoints?.serviceName]);
    return {
        stage: stage.stage,
        production: stage.production,
        api: { routes: plan.routes.map(routeKey) },
        aws: {
            accountId: stage.aws.accountId,
            region: stage.aws.region,
            bucketName: files.bucketName,
            apiId: api.apiId,
            invokeUrl: api.invokeUrl,
            backendClientCertificate: api.clientCertificatePem,
            roleArns: roles.roleArns,
        },
        gcp: {
            project: stage.gcp.project,
            projectNumber: stage.gcp.projectNumber,
            bucketName: gcsFiles.bucketName,
            endpointsHost: endpoints?.serviceName,
            endpointsUrl: endpoints?.url,
            audience: endpoints?.audience,
            gatewayServiceAccount: endpoints?.gatewayServiceAccount,
            workloadIdentityPool: federation.poolName,
        },
        partners: ids.apply(([apiId, poolId, providerIds, endpointsService]) => partnerOutputs(plan, { apiId, poolId, providerIds, endpointsService })),
        excludedPartners: plan.excluded,
        outbound, // outbound token broker: { [host]: { partner, token, aws?, gcp? } }
    };
}
