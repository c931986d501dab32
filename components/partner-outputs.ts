/**
 * What each partner needs to connect, per stage: derived from the plan and the
 * deployed API id only, so synth, stack outputs and onboarding agree.
 */
import { partnerIdentityPolicy } from "./aws/policy-documents";
import { PolicyDocument } from "./aws/iam-document";
import { endpointsAudience } from "./gcp/openapi";
import { credentialConfig, workloadIdentityAudience } from "./gcp/workload-identity-providers";
import { AccessPlan } from "./plan/access-plan";
import { accountOfArn } from "./plan/identifiers";
import { routeKey } from "./plan/routes";

export interface PartnerOutputs {
    name: string;
    environments: string[];
    prefix: string;
    aws: {
        connect: string;
        roleArn?: string;
        externalId?: string;
        googleAudience?: string;
        /** The policy the partner attaches to its own principals, in its own account. */
        identityPolicy?: PolicyDocument;
        routes: string[];
        fileActions: string[];
    };
    gcp: {
        storageRoles: string[];
        routes: string[];
        /** Claims of the self-signed JWT each service account presents to the Endpoints API. */
        jwtClaims: { iss: string; sub: string; aud: string }[];
        workloadIdentity: { accountId: string; audience: string; credentialConfig: Record<string, unknown> }[];
    };
}

export function partnerOutputs(plan: AccessPlan, apiId: string): Record<string, PartnerOutputs> {
    const out: Record<string, PartnerOutputs> = {};
    for (const p of plan.partners) {
        const accounts = [...new Set(p.gcp.federatedAwsPrincipals.map(accountOfArn))].sort();
        out[p.slug] = {
            name: p.name,
            environments: p.environments,
            prefix: p.prefix,
            aws: {
                connect: p.aws.connect,
                roleArn: p.aws.role?.arn,
                externalId: p.aws.role?.trustsAwsPrincipals ? p.aws.externalId : undefined,
                googleAudience: p.aws.role?.trustsGoogle ? plan.stage.aws.googleAudience : undefined,
                identityPolicy: partnerIdentityPolicy(plan, p, apiId),
                routes: p.aws.routes.map(routeKey),
                fileActions: [...p.aws.files.objectActions, ...(p.aws.files.list ? ["s3:ListBucket"] : [])],
            },
            gcp: {
                storageRoles: p.gcp.storageRoles,
                routes: p.gcp.routes.map(routeKey),
                jwtClaims: p.gcp.routes.length > 0 ? p.gcp.serviceAccounts.map((e) => ({ iss: e, sub: e, aud: endpointsAudience(plan) })) : [],
                workloadIdentity: accounts.map((a) => ({ accountId: a, audience: workloadIdentityAudience(plan, a), credentialConfig: credentialConfig(plan, a) })),
            },
        };
    }
    return out;
}
