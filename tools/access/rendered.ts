/**
 * The documents a stage renders, read back from synth output the way the
 * clouds will store them. Review tools judge these, never the plan's own
 * rendering functions.
 */
import { SynthOutput, doc, ofType } from "./synth-output";

export interface RenderedRole {
    name: string;
    arn: string;
    trust: any;
    /** Inline policies attached to the role. */
    policies: any[];
}

export interface RenderedStage {
    bucketPolicy: any;
    /** The REST API resource policy as API Gateway stores it (`execute-api:/` expanded). */
    apiPolicy: any;
    apiBody: any;
    apiId: string;
    roles: Map<string, RenderedRole>;
    /** Managed folder -> its whole IAM policy. */
    folderPolicies: Map<string, { bindings: { role: string; members: string[]; condition?: { expression: string } }[] }>;
    /** Every other GCS IAM grant (bucket-level bindings and members, folder bindings and members): none is planned. */
    otherStorageGrants: { type: string; name: string; role: string; members: string[]; folder?: string; expression?: string }[];
    wifProviders: { providerId: string; accountId: string; attributeCondition: string; attributeMapping: Record<string, string>; disabled: boolean }[];
    poolId: string;
    openapi: any;
}

/**
 * API Gateway expands `execute-api:/...` in a resource policy to the API's own
 * ARN when it saves the policy ("API Gateway resource policy examples").
 */
export function expandApiShorthand(policy: any, region: string, account: string, apiId: string): any {
    return JSON.parse(JSON.stringify(policy).replace(/"execute-api:\//g, `"arn:aws:execute-api:${region}:${account}:${apiId}/`));
}

export function rendered(s: SynthOutput): RenderedStage {
    const { region, accountId } = s.plan.stage.aws;
    const api = ofType(s, "aws:apigateway/restApi:RestApi")[0];
    const apiId = s.outputs.aws.apiId as string;
    const roles = new Map<string, RenderedRole>();
    for (const r of ofType(s, "aws:iam/role:Role")) {
        roles.set(r.inputs.name, { name: r.inputs.name, arn: `arn:aws:iam::${accountId}:role${r.inputs.path ?? "/"}${r.inputs.name}`, trust: doc(r.inputs.assumeRolePolicy), policies: [] });
    }
    for (const p of ofType(s, "aws:iam/rolePolicy:RolePolicy")) roles.get(p.inputs.role)?.policies.push(doc(p.inputs.policy));
    const folderPolicies = new Map<string, any>();
    for (const p of ofType(s, "gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy")) folderPolicies.set(p.inputs.managedFolder, doc(p.inputs.policyData));
    const otherStorageGrants = [
        "gcp:storage/bucketIAMBinding:BucketIAMBinding", "gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
        "gcp:storage/managedFolderIamBinding:ManagedFolderIamBinding", "gcp:storage/managedFolderIamMember:ManagedFolderIamMember",
    ].flatMap((type) => ofType(s, type).flatMap((r) => {
        const bindings = r.inputs.policyData ? doc(r.inputs.policyData).bindings ?? [] : [{ role: r.inputs.role, members: r.inputs.members ?? [r.inputs.member], condition: r.inputs.condition }];
        return bindings.map((b: any) => ({ type, name: r.name, role: String(b.role), members: (b.members ?? []).map(String), folder: r.inputs.managedFolder, expression: b.condition?.expression }));
    }));
    const endpoints = ofType(s, "gcp:endpoints/service:Service")[0];
    return {
        bucketPolicy: doc(ofType(s, "aws:s3/bucketPolicy:BucketPolicy")[0]?.inputs.policy ?? "{}"),
        apiPolicy: api?.inputs.policy ? expandApiShorthand(doc(api.inputs.policy), region, accountId, apiId) : undefined,
        apiBody: api?.inputs.body ? doc(api.inputs.body) : { paths: {} },
        apiId,
        roles,
        folderPolicies,
        otherStorageGrants,
        wifProviders: ofType(s, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").map((r) => ({
            providerId: r.inputs.workloadIdentityPoolProviderId, accountId: r.inputs.aws?.accountId, attributeCondition: r.inputs.attributeCondition ?? "",
            attributeMapping: r.inputs.attributeMapping ?? {}, disabled: r.inputs.disabled === true,
        })),
        poolId: ofType(s, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool")[0]?.inputs.workloadIdentityPoolId,
        openapi: endpoints ? doc(endpoints.inputs.openapiConfig) : { paths: {}, securityDefinitions: {} },
    };
}
