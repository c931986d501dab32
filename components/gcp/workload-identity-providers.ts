/**
 * Workload Identity Federation for AWS partners, from the plan: one AWS
 * provider per partner AWS account (Google admits one provider per account in
 * a pool), whose attribute condition admits exactly the accepted ARNs.
 */
import { AccessPlan } from "../plan/access-plan";
import { accountOfArn } from "../plan/identifiers";
import { awsRoleAttribute } from "./storage-bindings";

/** Google's default AWS mapping, written out so the principalSet members are stable. */
export const AWS_ATTRIBUTE_MAPPING: Record<string, string> = {
    "google.subject": "assertion.arn",
    "attribute.aws_account": "assertion.account",
    "attribute.aws_role":
        "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn",
};

export interface AwsProviderSpec {
    providerId: string;
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
            providerId: `aws-${accountId}`,
            accountId,
            partners: [...e.partners].sort(),
            roles,
            attributeCondition: `assertion.account == "${accountId}" && attribute.aws_role in [${roles.map((r) => `"${r}"`).join(", ")}]`,
        };
    });
}

/** `//iam.googleapis.com/...` audience a federated AWS caller presents to Google STS. */
export function workloadIdentityAudience(plan: AccessPlan, accountId: string): string {
    return `//iam.googleapis.com/projects/${plan.stage.gcp.projectNumber}/locations/global/workloadIdentityPools/${plan.names.workloadIdentityPool}/providers/aws-${accountId}`;
}

/**
 * The credential configuration file a partner's AWS workload hands to Google's
 * client libraries (what `gcloud iam workload-identity-pools create-cred-config
 * --aws` writes). No impersonation: the federated principal is granted directly.
 */
export function credentialConfig(plan: AccessPlan, accountId: string): Record<string, unknown> {
    return {
        universe_domain: "googleapis.com",
        type: "external_account",
        audience: workloadIdentityAudience(plan, accountId),
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
