import { Policies } from "@pulumi/policy";
import { apiMethodsAuthenticated } from "./api";
import { noWildcardPrincipals, pinnedFederation, s3DenyInsecureTransport, s3PublicAccessBlocked, servicePrincipalsConditioned } from "./aws";
import { outboundBroker, outboundBrokerSecretsGuarded } from "./broker";
import { withExceptions } from "./exceptions";
import { cloudRunInvokerNotPublic, cloudRunNotPublic, gcpMembersExact, gcsBucketPrivate, noPublicGcpMembers, workloadIdentityConditioned } from "./gcp";
import { s3AccessGrantsToIam, s3AclsDisabled, s3ReplicationStaysOurs } from "./s3-data-paths";
import { principalsFromRegistry, s3BucketsGuarded, stageIsolation } from "./stack";
import { endpointsIssuersOwnKeys, endpointsOperationsAuthenticated } from "./gcp-surface";
import { serviceAccountImpersonationRendered, workloadIdentityMappingRendered, workloadIdentityMembersOurs, workloadIdentityProvidersListed } from "./gcp-federation";

/**
 * Every policy of the pack; the pack and the offline runner both use this
 * list. Each honours explicit, reasoned exceptions from its config
 * (exceptions.ts) and needs no other configuration.
 */
export const policies: Policies = [
    noWildcardPrincipals,
    pinnedFederation,
    servicePrincipalsConditioned,
    s3PublicAccessBlocked,
    s3DenyInsecureTransport,
    s3AclsDisabled,
    s3ReplicationStaysOurs,
    s3AccessGrantsToIam,
    apiMethodsAuthenticated,
    noPublicGcpMembers,
    gcpMembersExact,
    gcsBucketPrivate,
    workloadIdentityConditioned,
    cloudRunNotPublic,
    cloudRunInvokerNotPublic,
    outboundBroker,
    outboundBrokerSecretsGuarded,
    s3BucketsGuarded,
    stageIsolation,
    principalsFromRegistry,
    endpointsOperationsAuthenticated,
    endpointsIssuersOwnKeys,
    workloadIdentityMembersOurs,
    workloadIdentityProvidersListed,
    workloadIdentityMappingRendered,
    serviceAccountImpersonationRendered,
].map(withExceptions);
