/**
 * AWS quotas on policy documents and roles, checked on the rendered documents
 * before anything is registered, so a registry that would break a quota fails
 * synth and preview with the limit and the way out, not half-way through `up`.
 */
import { AccessPlan } from "../plan/access-plan";
import { PlanProblem } from "../plan/load";
import { AWS_ROLE_QUOTA } from "../plan/stage-config";
import { PolicyDocument, policySize } from "./iam-document";
import { apiResourcePolicy, bucketPolicy, partnerIdentityPolicy, rolePermissionPolicy, trustPolicy } from "./policy-documents";

export const LIMITS = {
    bucketPolicy: 20480,
    apiResourcePolicy: 8192,
    /** Inline policies of one role, all together. */
    roleInlinePolicies: 10240,
    /** A partner attaches this as a managed policy on its side. */
    managedPolicy: 6144,
};

/** API ids are 10 characters: a placeholder of that length measures the real size. */
export const API_ID_PLACEHOLDER = "0123456789";

export interface DocumentSize {
    kind: "bucketPolicy" | "apiResourcePolicy" | "trustPolicy" | "rolePermissionPolicy" | "partnerIdentityPolicy";
    owner: string;
    size: number;
    limit: number;
}

/**
 * Every AWS document of the stage with its size and quota. The API resource
 * policy is measured as API Gateway stores it: each `execute-api:/` expanded to
 * the API's ARN.
 */
export function awsDocumentSizes(plan: AccessPlan): DocumentSize[] {
    const apiArnLength = `arn:aws:execute-api:${plan.stage.aws.region}:${plan.stage.aws.accountId}:${API_ID_PLACEHOLDER}`.length - "execute-api:".length;
    const apiPolicy = JSON.stringify(apiResourcePolicy(plan));
    const sizes: DocumentSize[] = [
        { kind: "bucketPolicy", owner: plan.names.awsBucket, size: policySize(bucketPolicy(plan)), limit: LIMITS.bucketPolicy },
        { kind: "apiResourcePolicy", owner: plan.names.apiName, size: apiPolicy.length + apiArnLength * (apiPolicy.split('"execute-api:/').length - 1), limit: LIMITS.apiResourcePolicy },
    ];
    for (const p of plan.partners) {
        if (p.aws.role) {
            sizes.push({ kind: "trustPolicy", owner: p.slug, size: policySize(trustPolicy(plan, p)), limit: plan.stage.aws.trustPolicyMaxChars });
            sizes.push({ kind: "rolePermissionPolicy", owner: p.slug, size: policySize(rolePermissionPolicy(plan, p, API_ID_PLACEHOLDER)), limit: LIMITS.roleInlinePolicies });
        }
        const identity: PolicyDocument | undefined = partnerIdentityPolicy(plan, p, API_ID_PLACEHOLDER);
        if (identity) sizes.push({ kind: "partnerIdentityPolicy", owner: p.slug, size: policySize(identity), limit: LIMITS.managedPolicy });
    }
    return sizes;
}

const WAY_OUT: Record<DocumentSize["kind"], string> = {
    bucketPolicy: "move some `direct` partners to `connect: assume-role` (their grant then lives on their own role, not in the bucket policy)",
    apiResourcePolicy: "move some `direct` partners to `connect: assume-role` (same-account role callers need no resource policy entry)",
    trustPolicy: "list fewer identities for this partner, or raise the IAM quota (up to 4,096) and set partner-access:awsTrustPolicyMaxChars",
    rolePermissionPolicy: "grant route patterns (`GET /orders/*`) or `all` instead of many single routes",
    partnerIdentityPolicy: "grant route patterns or `all` instead of many single routes, so the partner's own managed policy fits",
};

/** Problems for every document over its quota and for a role count over the account quota. */
export function awsLimitProblems(plan: AccessPlan): PlanProblem[] {
    const problems: PlanProblem[] = [];
    for (const d of awsDocumentSizes(plan)) {
        if (d.size > d.limit) {
            const partner = plan.partners.some((p) => p.slug === d.owner) ? d.owner : undefined;
            problems.push({ partner, field: partner ? ["aws"] : undefined, message: `${d.kind} of ${d.owner} would be ${d.size} characters, over the AWS limit of ${d.limit}: ${WAY_OUT[d.kind]}` });
        }
    }
    const roles = plan.partners.filter((p) => p.aws.role).length;
    if (roles > plan.stage.aws.roleQuota) {
        problems.push({
            configKey: "awsRoleQuota",
            message: `stage ${plan.stage.stage} needs ${roles} partner roles, over the IAM roles-per-account quota (${plan.stage.aws.roleQuota}): request an increase (up to ${AWS_ROLE_QUOTA.max.toLocaleString("en")}) and raise awsRoleQuota, or split the partners over several stacks (README, "Scale")`,
        });
    }
    return problems;
}
