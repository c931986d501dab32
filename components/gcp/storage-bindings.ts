/**
 * Cloud Storage grants per partner, from the plan. Each partner's prefix is a
 * managed folder with its own IAM policy: the grant is confined to the prefix
 * by construction, listing works inside it (GCS checks `storage.objects.list`
 * on the managed folder), and no partner's members count against another's or
 * the bucket's 1,500-member policy limit. The folder is ours alone, so each
 * role is one authoritative binding: a member added by hand is removed again.
 */
import { AccessPlan, PartnerPlan } from "../plan/access-plan";

export interface StorageBinding {
    slug: string;
    /** Managed folder, e.g. `partners/acme/`. */
    folder: string;
    role: string;
    members: string[];
    /** IAM Condition; on object-level roles only (see `prefixCondition`). */
    condition?: { title: string; description: string; expression: string };
}

/** Member string for an AWS principal federated through the stage's Workload Identity pool. */
export function federatedMember(plan: AccessPlan, awsArn: string): string {
    return `principalSet://iam.googleapis.com/projects/${plan.stage.gcp.projectNumber}/locations/global/workloadIdentityPools/${plan.names.workloadIdentityPool}/attribute.aws_role/${awsRoleAttribute(awsArn)}`;
}

/**
 * The `attribute.aws_role` value Google's default AWS mapping yields: a role's
 * session becomes `arn:aws:sts::ACCOUNT:assumed-role/NAME` (the IAM path is
 * dropped); a user stays its own ARN.
 */
export function awsRoleAttribute(arn: string): string {
    const m = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
    return m ? `arn:aws:sts::${m[1]}:assumed-role/${m[2]}` : arn;
}

/**
 * Defence in depth on object-level roles: even inside the managed folder, the
 * object name must start with the partner's prefix. Not applied to the viewer
 * role: a list request names the bucket, not an object, so the condition
 * would refuse listing.
 */
export function prefixCondition(plan: AccessPlan, p: PartnerPlan) {
    return {
        title: `prefix-${p.slug}`,
        description: `Objects under ${p.prefix} only`,
        expression: `resource.name.startsWith("projects/_/buckets/${plan.names.gcsBucket}/objects/${p.prefix}")`,
    };
}

export function storageBindings(plan: AccessPlan): StorageBinding[] {
    const out: StorageBinding[] = [];
    for (const p of plan.partners) {
        const members = [
            ...p.gcp.serviceAccounts.map((e) => `serviceAccount:${e}`),
            ...p.gcp.federatedAwsPrincipals.map((a) => federatedMember(plan, a)),
        ];
        if (members.length === 0) continue;
        for (const role of p.gcp.storageRoles) {
            out.push({
                slug: p.slug, folder: p.prefix, role, members,
                condition: role === "roles/storage.objectViewer" ? undefined : prefixCondition(plan, p),
            });
        }
    }
    return out;
}
