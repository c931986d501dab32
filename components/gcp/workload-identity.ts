import * as gcpIam from "@pulumi/gcp/iam";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AccessPlan } from "../plan/access-plan";
import { AWS_ATTRIBUTE_MAPPING, RANDOM_SUFFIX_HEX, awsProviderSpecs, withSuffix } from "./workload-identity-providers";

export interface WorkloadIdentityArgs {
    plan: AccessPlan;
}

/**
 * A Workload Identity pool per stage; an AWS provider per partner account
 * whose attribute condition admits only that account's accepted ARNs. The
 * grants themselves are principalSet members on the partners' folders.
 *
 * Google soft-deletes pools and providers and refuses their ids for 30 days
 * ("You cannot reuse the ID of a soft-deleted provider until it is
 * permanently deleted": magic-modules WorkloadIdentityPoolProvider.yaml). An
 * account removed and added back within a month would fail `pulumi up`, so
 * each incarnation's id carries a random suffix drawn when it is created
 * (kept in state while it lives, new when it is created again).
 */
export class WorkloadIdentity extends pulumi.ComponentResource {
    readonly poolId: pulumi.Output<string>;
    readonly poolName: pulumi.Output<string>;
    /** Provider id by AWS account. */
    readonly providerIds: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: WorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:gcp:WorkloadIdentity", name, {}, opts);
        const { plan } = args;
        const suffix = (id: string) => new random.RandomId(id, { byteLength: RANDOM_SUFFIX_HEX / 2 }, { parent: this }).hex;
        const poolId = suffix(`${name}-pool-suffix`).apply((hex) => withSuffix(plan.names.workloadIdentityPoolBase, hex));
        const pool = new gcpIam.WorkloadIdentityPool(`${name}-pool`, {
            project: plan.stage.gcp.project,
            workloadIdentityPoolId: poolId,
            displayName: plan.names.workloadIdentityPoolBase.slice(0, 32),
            description: `AWS partners of partner-access ${plan.stage.stage}`,
        }, { parent: this });
        for (const spec of awsProviderSpecs(plan)) {
            const providerId = suffix(`${name}-${spec.providerIdBase}-suffix`).apply((hex) => withSuffix(spec.providerIdBase, hex));
            new gcpIam.WorkloadIdentityPoolProvider(`${name}-${spec.providerIdBase}`, {
                project: plan.stage.gcp.project,
                workloadIdentityPoolId: pool.workloadIdentityPoolId,
                workloadIdentityPoolProviderId: providerId,
                displayName: spec.providerIdBase,
                description: `AWS account ${spec.accountId}: ${spec.partners.join(", ")}`.slice(0, 256),
                aws: { accountId: spec.accountId },
                attributeMapping: AWS_ATTRIBUTE_MAPPING,
                attributeCondition: spec.attributeCondition,
            }, { parent: this });
            this.providerIds[spec.accountId] = providerId;
        }
        this.poolId = pool.workloadIdentityPoolId;
        this.poolName = pool.name;
        this.registerOutputs({ poolId: this.poolId, poolName: this.poolName, providerIds: this.providerIds });
    }
}
