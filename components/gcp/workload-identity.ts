import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../plan/access-plan";
import { AWS_ATTRIBUTE_MAPPING, awsProviderSpecs } from "./workload-identity-providers";

export interface WorkloadIdentityArgs {
    plan: AccessPlan;
}

/**
 * A Workload Identity pool per stage; an AWS provider per partner account
 * whose attribute condition admits only that account's accepted ARNs. The
 * grants themselves are principalSet members on the partners' folders.
 */
export class WorkloadIdentity extends pulumi.ComponentResource {
    readonly poolName: pulumi.Output<string>;
    /** Provider resource name (`projects/N/locations/global/workloadIdentityPools/P/providers/X`) by AWS account. */
    readonly providerNames: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: WorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:gcp:WorkloadIdentity", name, {}, opts);
        const { plan } = args;
        const pool = new gcp.iam.WorkloadIdentityPool(`${name}-pool`, {
            project: plan.stage.gcp.project,
            workloadIdentityPoolId: plan.names.workloadIdentityPool,
            displayName: plan.names.workloadIdentityPool,
            description: `AWS partners of partner-access ${plan.stage.stage}`,
        }, { parent: this });
        for (const spec of awsProviderSpecs(plan)) {
            const provider = new gcp.iam.WorkloadIdentityPoolProvider(`${name}-${spec.providerId}`, {
                project: plan.stage.gcp.project,
                workloadIdentityPoolId: pool.workloadIdentityPoolId,
                workloadIdentityPoolProviderId: spec.providerId,
                displayName: spec.providerId,
                description: `AWS account ${spec.accountId}: ${spec.partners.join(", ")}`.slice(0, 256),
                aws: { accountId: spec.accountId },
                attributeMapping: AWS_ATTRIBUTE_MAPPING,
                attributeCondition: spec.attributeCondition,
            }, { parent: this });
            this.providerNames[spec.accountId] = provider.name;
        }
        this.poolName = pool.name;
        this.registerOutputs({ poolName: this.poolName, providerNames: this.providerNames });
    }
}
