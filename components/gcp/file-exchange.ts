import * as gcpStorage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../plan/access-plan";
import { folderPolicies, policyData } from "./folder-policy";

export interface GcsFileExchangeArgs {
    plan: AccessPlan;
    /** Workload Identity pool id (its members name it). */
    poolId: pulumi.Input<string>;
}

/**
 * The stage's GCS bucket: uniform access, public access prevention enforced,
 * versioned with soft delete, protected and retained on delete. Each partner
 * prefix is a managed folder whose whole IAM policy is rendered from the plan.
 */
export class GcsFileExchange extends pulumi.ComponentResource {
    readonly bucketName: pulumi.Output<string>;
    readonly bucketUrl: pulumi.Output<string>;

    constructor(name: string, args: GcsFileExchangeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:gcp:FileExchange", name, {}, opts);
        const { plan } = args;
        const bucket = new gcpStorage.Bucket(`${name}-bucket`, {
            name: plan.names.gcsBucket,
            project: plan.stage.gcp.project,
            location: plan.stage.gcp.bucketLocation,
            uniformBucketLevelAccess: true,
            publicAccessPrevention: "enforced",
            versioning: { enabled: true },
            // Noncurrent versions (only an operator's delete makes one: partner writes are create-only) expire as on S3.
            lifecycleRules: [{
                action: { type: "Delete" },
                condition: { daysSinceNoncurrentTime: plan.stage.gcp.noncurrentVersionRetentionDays, withState: "ARCHIVED" },
            }],
            softDeletePolicy: { retentionDurationSeconds: plan.stage.gcp.softDeleteRetentionDays * 86400 },
            forceDestroy: false,
            labels: { "partner-access-stage": plan.stage.stage },
        }, { parent: this, protect: true, retainOnDelete: true });

        const policies = pulumi.output(args.poolId).apply((poolId) => folderPolicies(plan, poolId));
        for (const p of plan.partners.filter((x) => x.gcp.storageRoles.length > 0)) {
            // Removing a partner deletes its folder (and so its IAM policy); its objects stay in the bucket.
            const folder = new gcpStorage.ManagedFolder(`${name}-${p.slug}`, { bucket: bucket.name, name: p.prefix, forceDestroy: true }, { parent: this });
            new gcpStorage.ManagedFolderIamPolicy(`${name}-${p.slug}`, {
                bucket: bucket.name,
                managedFolder: folder.name,
                policyData: policies.apply((all) => policyData(all.find((f) => f.slug === p.slug)!)),
            }, { parent: this });
        }

        this.bucketName = bucket.name;
        this.bucketUrl = bucket.url;
        this.registerOutputs({ bucketName: this.bucketName, bucketUrl: this.bucketUrl });
    }
}
