import * as awsS3 from "@pulumi/aws/s3";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../plan/access-plan";
import { bucketPolicy } from "./policy-documents";

export interface FileExchangeArgs {
    plan: AccessPlan;
}

/**
 * The stage's S3 bucket for file exchange. Partner data outlives the stack:
 * the bucket is protected and retained on delete, versioned, and partners can
 * neither delete nor overwrite objects. Its guards (public access block,
 * ownership, encryption, versioning, policy) are retained on delete too: a
 * destroyed stack leaves a bucket exactly as locked as it was.
 */
export class FileExchange extends pulumi.ComponentResource {
    readonly bucketName: pulumi.Output<string>;
    readonly bucketArn: pulumi.Output<string>;

    constructor(name: string, args: FileExchangeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:aws:FileExchange", name, {}, opts);
        const { plan } = args;
        const child = { parent: this };
        const guard = { parent: this, retainOnDelete: true };

        const bucket = new awsS3.Bucket(`${name}-bucket`, {
            bucket: plan.names.awsBucket,
            forceDestroy: false,
        }, { ...child, protect: true, retainOnDelete: true });

        const publicAccess = new awsS3.BucketPublicAccessBlock(`${name}-public-access`, {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        }, guard);

        new awsS3.BucketOwnershipControls(`${name}-ownership`, {
            bucket: bucket.id,
            rule: { objectOwnership: "BucketOwnerEnforced" },
        }, guard);

        // SSE-S3. (S3 Bucket Keys reduce KMS calls; they do nothing for SSE-S3, so none is set.)
        new awsS3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        }, guard);

        const versioning = new awsS3.BucketVersioning(`${name}-versioning`, {
            bucket: bucket.id,
            versioningConfiguration: { status: "Enabled" },
        }, guard);

        new awsS3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
            bucket: bucket.id,
            rules: [{
                id: "noncurrent-versions-and-incomplete-uploads",
                status: "Enabled",
                filter: {},
                noncurrentVersionExpiration: { noncurrentDays: plan.stage.aws.noncurrentVersionRetentionDays },
                abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
            }],
        }, { ...child, dependsOn: [versioning] });

        // After the public access block, so S3 judges the policy with the block in force.
        new awsS3.BucketPolicy(`${name}-policy`, {
            bucket: bucket.id,
            policy: JSON.stringify(bucketPolicy(plan)),
        }, { ...guard, dependsOn: [publicAccess] });

        this.bucketName = bucket.bucket;
        this.bucketArn = bucket.arn;
        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
    }
}
