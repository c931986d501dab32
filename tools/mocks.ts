/**
 * Pulumi mocks that answer like the clouds would: ids, ARNs, URLs and names
 * built from the stage's account, region and project, so rendered policies and
 * outputs read as they will after `pulumi up`. Deterministic: the same input
 * gives the same output, which keeps synth diffs meaningful.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";

export interface CloudIdentity {
    accountId: string;
    region: string;
    project: string;
    /** The project's real number: what `gcp.organizations.getProject` answers (tests make it differ from config). */
    projectNumber: string;
    /**
     * Random values a provider draws at create time (RandomId): a fresh seed
     * stands for a fresh creation. Resources that already exist keep their
     * state; the deploy-sequence tests model that.
     */
    seed: string;
}

const hash = (s: string, n: number) => crypto.createHash("sha256").update(s).digest("hex").slice(0, n);
/** API Gateway ids are 10 lowercase alphanumerics. */
const apiGatewayId = (s: string) => BigInt("0x" + hash(s, 15)).toString(36).padStart(10, "0").slice(-10);

/**
 * @param previous values drawn by an earlier run, by `type::name`: a resource that exists keeps them
 * @param drawn    filled with the values this run draws (for the next run's `previous`)
 */
export function cloudMocks(c: CloudIdentity, previous: Record<string, any> = {}, drawn: Record<string, unknown> = {}): pulumi.runtime.Mocks {
    return {
        // The one invoke: the project number check (components/partner-access.ts).
        call(args) {
            if (args.token === "gcp:organizations/getProject:getProject") {
                return { projectId: args.inputs.projectId, number: c.projectNumber, name: args.inputs.projectId };
            }
            throw new Error(`the program made an invoke the mocks do not model: ${args.token}`);
        },
        newResource(args) {
            const i = args.inputs;
            const id = (v: string) => ({ id: v, state: { ...i } });
            const withState = (idv: string, extra: Record<string, unknown>) => ({ id: idv, state: { ...i, ...extra } });
            switch (args.type) {
                case "aws:s3/bucket:Bucket":
                    return withState(i.bucket, { arn: `arn:aws:s3:::${i.bucket}`, bucketDomainName: `${i.bucket}.s3.amazonaws.com`, region: c.region });
                case "aws:iam/role:Role":
                    return withState(i.name, { arn: `arn:aws:iam::${c.accountId}:role${i.path ?? "/"}${i.name}`, uniqueId: "AROA" + hash(i.name, 17).toUpperCase() });
                case "aws:apigateway/restApi:RestApi": {
                    const apiId = apiGatewayId(`${c.accountId}/${i.name}`);
                    return withState(apiId, {
                        rootResourceId: apiGatewayId(`${apiId}/`),
                        arn: `arn:aws:apigateway:${c.region}::/restapis/${apiId}`,
                        executionArn: `arn:aws:execute-api:${c.region}:${c.accountId}:${apiId}`,
                    });
                }
                case "aws:apigateway/clientCertificate:ClientCertificate":
                    return withState(hash(args.name, 6), { pemEncodedCertificate: `-----BEGIN CERTIFICATE-----\nMOCK${hash(args.name, 40)}\n-----END CERTIFICATE-----\n` });
                case "random:index/randomId:RandomId": {
                    const key = `${args.type}::${args.name}`;
                    const hex: string = previous[key] ?? hash(`${c.seed}/${args.name}`, (i.byteLength ?? 4) * 2);
                    drawn[key] = hex;
                    return withState(hex, { hex, dec: BigInt("0x" + hex).toString(), b64Std: Buffer.from(hex, "hex").toString("base64") });
                }
                case "aws:apigateway/deployment:Deployment":
                    return id(apiGatewayId(`deployment/${args.name}`));
                case "aws:apigateway/stage:Stage":
                    return withState(`ags-${i.restApi}-${i.stageName}`, {
                        invokeUrl: `https://${i.restApi}.execute-api.${c.region}.amazonaws.com/${i.stageName}`,
                        executionArn: `arn:aws:execute-api:${c.region}:${c.accountId}:${i.restApi}/${i.stageName}`,
                        arn: `arn:aws:apigateway:${c.region}::/restapis/${i.restApi}/stages/${i.stageName}`,
                    });
                case "aws:cloudwatch/logGroup:LogGroup":
                    return withState(i.name, { arn: `arn:aws:logs:${c.region}:${c.accountId}:log-group:${i.name}` });
                case "gcp:storage/bucket:Bucket":
                    return withState(i.name, { url: `gs://${i.name}`, selfLink: `https://www.googleapis.com/storage/v1/b/${i.name}` });
                case "gcp:storage/managedFolder:ManagedFolder":
                    return withState(`${i.bucket}/${i.name}`, {});
                case "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
                    return withState(`projects/${c.project}/locations/global/workloadIdentityPools/${i.workloadIdentityPoolId}`, {
                        name: `projects/${c.projectNumber}/locations/global/workloadIdentityPools/${i.workloadIdentityPoolId}`, state: "ACTIVE",
                    });
                case "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
                    return withState(`${i.workloadIdentityPoolId}/${i.workloadIdentityPoolProviderId}`, {
                        name: `projects/${c.projectNumber}/locations/global/workloadIdentityPools/${i.workloadIdentityPoolId}/providers/${i.workloadIdentityPoolProviderId}`, state: "ACTIVE",
                    });
                case "gcp:serviceaccount/account:Account": {
                    const email = `${i.accountId}@${c.project}.iam.gserviceaccount.com`;
                    return withState(`projects/${c.project}/serviceAccounts/${email}`, { email, member: `serviceAccount:${email}`, uniqueId: BigInt("0x" + hash(email, 16)).toString().padStart(21, "1").slice(0, 21) });
                }
                case "gcp:cloudrunv2/service:Service":
                    return withState(`projects/${c.project}/locations/${i.location}/services/${i.name}`, { uri: `https://${i.name}-${c.projectNumber}.${i.location}.run.app` });
                case "gcp:endpoints/service:Service":
                    return withState(i.serviceName, { configId: "2026-11-22r0", dnsAddress: i.serviceName });
                // --- outbound token broker ---
                case "aws:lambda/function:Function": {
                    const arn = `arn:aws:lambda:${c.region}:${c.accountId}:function:${i.name}`;
                    // publish: true makes version 1 on create; invokeArn is what API Gateway integrations use.
                    const version = i.publish ? "1" : "$LATEST";
                    return withState(i.name, { arn, version, qualifiedArn: `${arn}:${version}`, invokeArn: `arn:aws:apigateway:${c.region}:lambda:path/2015-03-31/functions/${arn}/invocations` });
                }
                case "aws:lambda/alias:Alias": {
                    const arn = `arn:aws:lambda:${c.region}:${c.accountId}:function:${i.functionName}:${i.name}`;
                    return withState(arn, { arn, invokeArn: `arn:aws:apigateway:${c.region}:lambda:path/2015-03-31/functions/${arn}/invocations` });
                }
                case "aws:lambda/permission:Permission":
                    return withState(i.statementId, {});
                case "aws:secretsmanager/secret:Secret": {
                    // Secrets Manager appends "-" and six random characters to the name in the ARN.
                    const suffix = BigInt("0x" + hash(`${c.seed}/${i.name}`, 12)).toString(36).padStart(6, "0").slice(-6).replace(/^./, (x) => x.toUpperCase());
                    const arn = `arn:aws:secretsmanager:${c.region}:${c.accountId}:secret:${i.name}-${suffix}`;
                    return withState(arn, { arn });
                }
                case "aws:secretsmanager/secretPolicy:SecretPolicy":
                    return withState(i.secretArn, {});
                case "gcp:secretmanager/secret:Secret":
                    return withState(`projects/${i.project ?? c.project}/secrets/${i.secretId}`, { name: `projects/${c.projectNumber}/secrets/${i.secretId}`, createTime: "2026-11-22T00:00:00Z" });
                case "gcp:secretmanager/secretIamPolicy:SecretIamPolicy":
                    return withState(`projects/${i.project ?? c.project}/secrets/${i.secretId}`, { etag: `BwY${hash(args.name, 8)}` });
                case "gcp:storage/bucketObject:BucketObject":
                    return withState(`${i.bucket}-${i.name}`, {
                        outputName: i.name, selfLink: `https://www.googleapis.com/storage/v1/b/${i.bucket}/o/${encodeURIComponent(i.name)}`,
                        mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${i.bucket}/o/${encodeURIComponent(i.name)}?generation=1&alt=media`, generation: 1,
                    });
                case "gcp:cloudfunctionsv2/function:Function": {
                    const project = i.project ?? c.project;
                    // A Cloud Run function (gen2) runs as the Cloud Run service of the same name.
                    return withState(`projects/${project}/locations/${i.location}/functions/${i.name}`, {
                        state: "ACTIVE", environment: "GEN_2", url: `https://${i.location}-${project}.cloudfunctions.net/${i.name}`,
                        serviceConfig: { ...(i.serviceConfig ?? {}), service: `projects/${project}/locations/${i.location}/services/${i.name}`, uri: `https://${i.name}-${c.projectNumber}.${i.location}.run.app` },
                    });
                }
                case "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding":
                    return withState(`projects/${i.project ?? c.project}/locations/${i.location}/services/${i.name}/${i.role}`, { etag: `BwY${hash(args.name, 8)}` });
                // --- end outbound token broker ---
                default:
                    // Providers, components, policies and bindings: the id is stable, the state is the inputs.
                    return id(`${args.name}-${hash(args.type + args.name, 8)}`);
            }
        },
    };
}
