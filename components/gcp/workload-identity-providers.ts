/**
 * Workload Identity Federation for AWS partners, from the plan: one AWS
 * provider per partner AWS account (an AWS provider names one account), whose
 * attribute condition admits exactly the accepted ARNs.
 */
import { AccessPlan } from "../plan/access-plan";
import { accountOfArn, awsRoleAttribute } from "../plan/identities";
import { awsProviderCondition } from "../../policy-pack/policies/rendered";

/**
 * The mapping, the id limits and the suffix rule are defined once in the policy
 * pack (policy-pack/policies/rendered.ts), which checks every provider and
 * principalSet against them: what is rendered and what is accepted cannot drift.
 */
export { AWS_ATTRIBUTE_MAPPING, RANDOM_SUFFIX_HEX, WORKLOAD_IDENTITY_ID_MAX, withSuffix } from "../../policy-pack/policies/rendered";

/** Google's limit on an attribute condition (magic-modules WorkloadIdentityPoolProvider.yaml: "The maximum length ... is 4096 characters"). */
export const ATTRIBUTE_CONDITION_MAX_CHARS = 4096;

export interface AwsProviderSpec {
    /** Provider id without its random suffix. */
    providerIdBase: string;
    accountId: string;
    /** Partners whose identities this provider admits. */
    partners: string[];
    /** `aws_role` values admitted. */
    roles: string[];
    attributeCondition: string;
}

export function awsProviderSpecs(plan: AccessPlan): AwsProviderSpec[] {
    const byAccount = new Map<string, { partners: Set<string>; roles: Set<string> }>();
    for (const p of plan.partners) {
        for (const arn of p.gcp.federatedAwsPrincipals) {
            const acct = accountOfArn(arn);
            const entry = byAccount.get(acct) ?? { partners: new Set(), roles: new Set() };
            entry.partners.add(p.slug);
            entry.roles.add(awsRoleAttribute(arn));
            byAccount.set(acct, entry);
        }
    }
    return [...byAccount.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([accountId, e]) => {
        const roles = [...e.roles].sort();
        return {
            providerIdBase: `aws-${accountId}`,
            accountId,
            partners: [...e.partners].sort(),
            roles,
            attributeCondition: awsProviderCondition(accountId, roles),
        };
    });
}

/** `//iam.googleapis.com/...` audience a federated AWS caller presents to Google STS. */
export function workloadIdentityAudience(projectNumber: string, poolId: string, providerId: string): string {
    return `//iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}/providers/${providerId}`;
}

/**
 * The credential configuration file a partner's AWS workload hands to Google's
 * client libraries (what `gcloud iam workload-identity-pools create-cred-config
 * --aws` writes). No impersonation: the federated principal is granted directly.
 */
export function credentialConfig(audience: string): Record<string, unknown> {
    return {
        universe_domain: "googleapis.com",
        type: "external_account",
        audience,
        subject_token_type: "urn:ietf:params:aws:token-type:aws4_request",
        token_url: "https://sts.googleapis.com/v1/token",
        credential_source: {
            environment_id: "aws1",
            region_url: "http://169.254.169.254/latest/meta-data/placement/availability-zone",
            url: "http://169.254.169.254/latest/meta-data/iam/security-credentials",
            regional_cred_verification_url: "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15",
            imdsv2_session_token_url: "http://169.254.169.254/latest/api/token",
        },
    };
}
