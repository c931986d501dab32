/**
 * What each partner needs to connect, per stage, as stack outputs. Derived
 * from the plan and the deployed ids only; the onboarding kits are built from
 * these outputs (`partner-access kits --stack <s>` reads `pulumi stack output
 * --json`), so a kit says exactly what was deployed.
 *
 * External ids are published here on purpose: they are not secrets (AWS:
 * "the external ID is not a secret"; it prevents the confused deputy, not
 * impersonation) and a partner needs them to assume its role.
 */
import { partnerIdentityPolicy } from "./aws/policy-documents";
import { PolicyDocument } from "./aws/iam-document";
import { endpointsAudience } from "./gcp/openapi";
import { credentialConfig, workloadIdentityAudience } from "./gcp/workload-identity-providers";
import { AccessPlan, PartnerPlan } from "./plan/access-plan";
import { accountOfArn } from "./plan/identities";
import { routeKey } from "./plan/routes";
import { FileAccess } from "./plan/schema";
import { Window } from "./plan/validity";

export interface PartnerOutputs {
    name: string;
    contact: string;
    environments: string[];
    prefix: string;
    /** The partner's own validity window (each cloud's grant window may be narrower). */
    window: Window;
    aws: {
        connect: "assume-role" | "direct";
        access: FileAccess;
        principals: string[];
        roleArn?: string;
        externalId?: string;
        maxSessionSeconds: number;
        /** Google service accounts that assume the role with a Google ID token for `audience`. */
        webIdentity?: { audience: string; serviceAccounts: { email: string; uniqueId: string }[] };
        /** The policy the partner attaches to its own principals, in its own account. */
        identityPolicy?: PolicyDocument;
        routes: string[];
        fileActions: string[];
        window: Window;
    };
    gcp: {
        access: FileAccess;
        storageRoles: string[];
        serviceAccounts: string[];
        routes: string[];
        /** Routes the Endpoints configuration served when this was deployed. */
        activeRoutes: string[];
        /** Claims of the self-signed JWT each service account presents to the Endpoints API. */
        jwtClaims: { iss: string; sub: string; aud: string }[];
        workloadIdentity: { accountId: string; audience: string; credentialConfig: Record<string, unknown> }[];
        window: Window;
    };
}

export interface DeployedIds {
    apiId: string;
    poolId: string;
    /** Provider id by AWS account. */
    providerIds: Record<string, string>;
    /** The Endpoints service name, when the stage serves GCP routes. */
    endpointsService?: string;
}

function partnerOutput(plan: AccessPlan, p: PartnerPlan, ids: DeployedIds): PartnerOutputs {
    const accounts = [...new Set(p.gcp.federatedAwsPrincipals.map(accountOfArn))].sort();
    const audience = ids.endpointsService ? endpointsAudience(ids.endpointsService) : undefined;
    return {
        name: p.name,
        contact: p.contact,
        environments: p.environments,
        prefix: p.prefix,
        window: p.window,
        aws: {
            connect: p.aws.connect,
            access: p.aws.access,
            principals: p.aws.principals,
            roleArn: p.aws.role?.arn,
            externalId: p.aws.role?.trustsAwsPrincipals ? p.aws.externalId : undefined,
            maxSessionSeconds: plan.stage.aws.maxSessionDurationSeconds,
            webIdentity: p.aws.role?.trustsGoogle ? { audience: plan.stage.aws.googleAudience, serviceAccounts: p.aws.googleIdentities } : undefined,
            identityPolicy: partnerIdentityPolicy(plan, p, ids.apiId),
            routes: p.aws.routes.map(routeKey),
            fileActions: [...p.aws.files.objectActions, ...(p.aws.files.list ? ["s3:ListBucket"] : [])],
            window: p.aws.window,
        },
        gcp: {
            access: p.gcp.access,
            storageRoles: p.gcp.storageRoles,
            serviceAccounts: p.gcp.serviceAccounts,
            routes: p.gcp.routes.map(routeKey),
            activeRoutes: p.gcp.activeRoutes.map(routeKey),
            jwtClaims: audience && p.gcp.activeRoutes.length > 0 ? p.gcp.serviceAccounts.map((e) => ({ iss: e, sub: e, aud: audience })) : [],
            workloadIdentity: accounts.filter((a) => ids.providerIds[a]).map((a) => {
                const aud = workloadIdentityAudience(plan.stage.gcp.projectNumber, ids.poolId, ids.providerIds[a]);
                return { accountId: a, audience: aud, credentialConfig: credentialConfig(aud) };
            }),
            window: p.gcp.window,
        },
    };
}

export function partnerOutputs(plan: AccessPlan, ids: DeployedIds): Record<string, PartnerOutputs> {
    return Object.fromEntries(plan.partners.map((p) => [p.slug, partnerOutput(plan, p, ids)]));
}
