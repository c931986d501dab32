/**
 * Cloud Storage grants per partner, from the plan. Each partner's prefix is a
 * managed folder whose WHOLE IAM policy is ours (ManagedFolderIamPolicy is
 * authoritative for the folder; ManagedFolderIamBinding would own one role and
 * condition only, leaving a hand-added objectAdmin in place: magic-modules
 * tpgiamresource/iam.go.tmpl, iamBindingKey{role, condition}). The grant is
 * confined to the prefix by construction, listing works inside it, and no
 * partner's members count against another's or the bucket's policy limit.
 */
import { AccessPlan, PartnerPlan } from "../plan/access-plan";
import { awsRoleAttribute } from "../plan/identities";
import { Window, isBounded, isoInstant } from "../plan/validity";

export interface IamCondition {
    title: string;
    description: string;
    expression: string;
}

export interface FolderBinding {
    role: string;
    members: string[];
    condition?: IamCondition;
}

export interface FolderPolicy {
    slug: string;
    /** Managed folder, e.g. `partners/acme/`. */
    folder: string;
    bindings: FolderBinding[];
}

/** Member string for an AWS principal federated through the stage's Workload Identity pool. */
export function federatedMember(plan: AccessPlan, poolId: string, awsArn: string): string {
    return `principalSet://iam.googleapis.com/projects/${plan.stage.gcp.projectNumber}/locations/global/workloadIdentityPools/${poolId}/attribute.aws_role/${awsRoleAttribute(awsArn)}`;
}

/** Who the partner is on GCP: its service accounts and its federated AWS principals. */
export function partnerMembers(plan: AccessPlan, poolId: string, p: PartnerPlan): string[] {
    return [...p.gcp.serviceAccounts.map((e) => `serviceAccount:${e}`), ...p.gcp.federatedAwsPrincipals.map((a) => federatedMember(plan, poolId, a))];
}

/** `request.time` bounds: IAM enforces the window on every request (IAM Conditions, date/time attributes). */
export function windowExpression(w: Window): string | undefined {
    const parts = [
        ...(w.notBefore ? [`request.time >= timestamp("${isoInstant(w.notBefore)}")`] : []),
        ...(w.expires ? [`request.time < timestamp("${isoInstant(w.expires)}")`] : []),
    ];
    return parts.length > 0 ? parts.join(" && ") : undefined;
}

/**
 * The condition on one binding: objects under the partner's prefix only
 * (object-level roles; a list request names the bucket, so the viewer role
 * relies on the folder alone), within the grant's window.
 */
export function bindingCondition(plan: AccessPlan, p: PartnerPlan, role: string): IamCondition | undefined {
    const prefix = role === "roles/storage.objectViewer"
        ? undefined
        : `resource.name.startsWith("projects/_/buckets/${plan.names.gcsBucket}/objects/${p.prefix}")`;
    const when = windowExpression(p.gcp.window);
    const expression = [prefix, when].filter(Boolean).join(" && ");
    if (!expression) return undefined;
    return {
        title: `${p.slug}-${role.split(".").pop()}`.slice(0, 100),
        description: [prefix ? `objects under ${p.prefix} only` : undefined, isBounded(p.gcp.window) ? `from ${p.gcp.window.notBefore ?? "now"} until ${p.gcp.window.expires ?? "further notice"}` : undefined]
            .filter(Boolean).join("; "),
        expression,
    };
}

export function folderPolicies(plan: AccessPlan, poolId: string): FolderPolicy[] {
    const out: FolderPolicy[] = [];
    for (const p of plan.partners) {
        const members = partnerMembers(plan, poolId, p);
        if (members.length === 0 || p.gcp.storageRoles.length === 0) continue;
        out.push({
            slug: p.slug,
            folder: p.prefix,
            bindings: p.gcp.storageRoles.map((role) => ({ role, members, condition: bindingCondition(plan, p, role) })),
        });
    }
    return out;
}

/** The folder's whole IAM policy as the provider takes it (it sets version 3 itself, which conditions need). */
export function policyData(policy: FolderPolicy): string {
    return JSON.stringify({
        bindings: policy.bindings.map((b) => ({ role: b.role, members: [...b.members].sort(), ...(b.condition ? { condition: b.condition } : {}) })),
    });
}
