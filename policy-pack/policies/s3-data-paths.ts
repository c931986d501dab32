/**
 * Ways into a bucket's data that bypass its bucket policy: ACLs, replication
 * to another account, and S3 Access Grants. partner-access renders none of
 * them; each rule says what would make one safe. Values unknown during a
 * preview are read directly, so the SDK reports the check as not runnable
 * rather than passing it.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { isObject, list } from "./documents";
import { stackContext } from "./stack-context";


/**
 * With Object Ownership "BucketOwnerEnforced", "ACLs are disabled and no longer
 * affect permissions" (S3 User Guide, "Controlling ownership of objects and
 * disabling ACLs for your bucket",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html).
 * Any other setting lets an ACL grant another account (a canonical user id,
 * which no public access block stops) read or write the bucket's objects.
 */
export const s3AclsDisabled: ResourceValidationPolicy = {
    name: "s3-acls-disabled",
    description: "S3 ACLs are disabled (Object Ownership BucketOwnerEnforced) and no bucket sets an ACL other than private: an ACL grant to another account " +
        "bypasses the bucket policy, and the public access block stops only public ones. Remediation: aws.s3.BucketOwnershipControls with BucketOwnerEnforced; grant through the bucket policy.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const p = args.props;
        switch (args.type) {
            case "aws:s3/bucketOwnershipControls:BucketOwnershipControls": {
                const ownership = p.rule?.objectOwnership;
                if (ownership !== undefined && ownership !== "BucketOwnerEnforced") report(`object ownership is ${ownership}: ACLs stay in effect and can grant other accounts.`);
                return;
            }
            case "aws:s3/bucketAcl:BucketAcl":
            case "aws:s3/bucketAclV2:BucketAclV2":
            case "aws:s3/bucket:Bucket":
            case "aws:s3/bucketV2:BucketV2": {
                const acl = p.acl;
                if (acl !== undefined && acl !== "private") report(`the bucket's ACL is ${acl}: it grants beyond the bucket's owner.`);
                const grants = [...list(p.grants), ...list(p.accessControlPolicy?.grants)];
                if (grants.length > 0) report(`the bucket sets ${grants.length} ACL grant(s): grant access through the bucket policy, where the registry's rules apply.`);
                return;
            }
        }
    },
};

/**
 * Replication copies every matching object to the destination bucket, under
 * that bucket's owner's policies: a destination in another account is data
 * leaving ours, whatever our bucket policy says. The destination's owner is
 * stated by `destination.account` (required for an owner override); without
 * it the rule cannot tell whose bucket it is.
 */
export const s3ReplicationStaysOurs: ResourceValidationPolicy = {
    name: "s3-replication-stays-ours",
    description: "S3 replication writes only to buckets of the stack's own AWS account (partner-access:awsAccountId), stated by each rule's destination.account. " +
        "Remediation: replicate within our account, or remove the replication.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:s3/bucketReplicationConfig:BucketReplicationConfig") return;
        const ours = stackContext().config["partner-access:awsAccountId"];
        list(args.props.rules).forEach((rule, i) => {
            const destination = isObject(rule) ? rule.destination : undefined;
            const account = destination?.account;
            const bucket = destination?.bucket ?? "its destination";
            if (account === undefined || account === null || account === "") report(`rule ${i} replicates to ${bucket} without destination.account: whose bucket it is cannot be checked.`);
            else if (ours && account !== ours) report(`rule ${i} replicates to ${bucket} in account ${account}, not ours (${ours}): the data would leave our account.`);
            else if (!ours && !/^\d{12}$/.test(String(account))) report(`rule ${i} names destination account ${account}, which is not an account id.`);
        });
    },
};

/**
 * S3 Access Grants give S3 data to an IAM principal or a directory user or
 * group, beside the bucket policy. IAM grantees are compared with the registry
 * by principals-from-registry; directory users and groups are never listed.
 */
export const s3AccessGrantsToIam: ResourceValidationPolicy = {
    name: "s3-access-grants-iam-only",
    description: "S3 Access Grants name IAM principals only (which principals-from-registry compares with the registry), never directory users or groups " +
        "that no registry entry can list. Remediation: grant through the bucket policy, as partner-access does.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== "aws:s3control/accessGrant:AccessGrant") return;
        const type = args.props.grantee?.granteeType;
        if (type !== undefined && type !== "IAM") report(`the grant's grantee is of type ${type}: only IAM principals can be compared with the registry.`);
    },
};
