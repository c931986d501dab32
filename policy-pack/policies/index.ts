import { Policies } from "@pulumi/policy";
import { apiMethodsAuthenticated, noWildcardPrincipals, pinnedFederation, s3DenyInsecureTransport, s3PublicAccessBlocked } from "./aws";
import { gcsBucketPrivate, noPublicGcpMembers, workloadIdentityConditioned } from "./gcp";
import { s3BucketsGuarded, stageIsolation } from "./stack";

/** Every policy of the pack; the pack and the offline runner both use this list. */
export const policies: Policies = [
    noWildcardPrincipals,
    pinnedFederation,
    s3PublicAccessBlocked,
    s3DenyInsecureTransport,
    apiMethodsAuthenticated,
    noPublicGcpMembers,
    gcsBucketPrivate,
    workloadIdentityConditioned,
    s3BucketsGuarded,
    stageIsolation,
];
