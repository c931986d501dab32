import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../plan/access-plan";
import { storageBindings } from "./storage-bindings";

export interface GcsFileExchangeArgs {
    plan: AccessPlan;
}

/**
 * The stage's GCS bucket: uniform access, public access prevention enforced,
 * versioned with soft delete, protected and retained on delete. Each partner
 * prefix is a managed folder carrying that partner's members only, one
 * authoritative binding per role.
 */
export class GcsFileExchange extends pulumi.ComponentResource {
    readonly bucketName: pulumi.Output<string>;
    readonly bucketUrl: pulumi.Output<string>;

    constructor(name: string, args: GcsFileExchangeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:gcp:FileExchange", name, {}, opts);
        const { plan } = args;
        const bucket = new gcp.storage.Bucket(`${name}-bucket`, {
            name: plan.names.gcsBucket,
            project: plan.stage.gcp.project,
            location: plan.stage.gcp.bucketLocation,
            uniformBucketLevelAccess: true,
            publicAccessPrevention: "enforced",
            versioning: { enabled: true },
            // Overwritten versions expire as on S3; live objects are never touched.
            lifecycleRules: [{
                action: { type: "Delete" },
                condition: { daysSinceNoncurrentTime: plan.stage.gcp.noncurrentVersionRetentionDays, withState: "ARCHIVED" },
            }],
            softDeletePolicy: { retentionDurationSeconds: plan.stage.gcp.softDeleteRetentionDays * 86400 },
            forceDestroy: false,
            labels: { "partner-access-stage": plan.stage.stage },
        }, { parent: this, protect: true, retainOnDelete: true });

        const folders = new Map<string, gcp.storage.ManagedFolder>();
        storageBindings(plan).forEach((b) => {
            let folder = folders.get(b.slug);
            if (!folder) {
                // forceDestroy: removing a partner deletes its folder and so its IAM policy; its objects stay in the bucket.
                folder = new gcp.storage.ManagedFolder(`${name}-${b.slug}`, { bucket: bucket.name, name: b.folder, forceDestroy: true }, { parent: this });
                folders.set(b.slug, folder);
            }
            new gcp.storage.ManagedFolderIamBinding(`${name}-${b.slug}-${b.role.replace("roles/storage.", "")}`, {
                bucket: bucket.name,
                managedFolder: folder.name,
                role: b.role,
                members: b.members,
                condition: b.condition,
            }, { parent: this });
        });

        this.bucketName = bucket.name;
        this.bucketUrl = bucket.url;
        this.registerOutputs({ bucketName: this.bucketName, bucketUrl: this.bucketUrl });
    }
}
