import { createHash } from "crypto";
import * as gcpCloudfunctionsv2 from "@pulumi/gcp/cloudfunctionsv2";
import * as gcpCloudrunv2 from "@pulumi/gcp/cloudrunv2";
import * as gcpSecretmanager from "@pulumi/gcp/secretmanager";
import * as gcpServiceaccount from "@pulumi/gcp/serviceaccount";
import * as gcpStorage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";
import { BROKER_FUNCTION_TIMEOUT_SECONDS, bundleBroker, GCP_ENTRY_POINT, GCP_RUNTIME, ROUTES_FILE } from "../../broker/src";
import { bundleArchive } from "../broker-archive";
import { brokerFunctionName, brokerRoutes, gcpSecretId } from "../broker-routes";
import { AccessPlan } from "../plan/access-plan";
import { brokerAccountId, brokerSourceBucket, brokerSourceObject, invokerMembers, RUN_INVOKER, tokenSecretPolicyData } from "./broker-documents";

export interface GcpTokenBrokerArgs {
    plan: AccessPlan;
}

export interface GcpBrokerHost {
    partner: string;
    /** The Secret Manager secret id an operator adds the token to as a version. */
    secretId: pulumi.Output<string>;
}

/** Environment variable naming the sha256 of the routes.json bundled in the zip (the revision records which table it runs). */
export const ROUTES_SHA256_ENV = "PARTNER_ACCESS_ROUTES_SHA256";

/**
 * The outbound token broker on GCP: one Cloud Run function (gen2, built by
 * Cloud Build from a source zip; no Docker here) per stage, run as its own
 * service account, and one Secret Manager secret per host, created EMPTY (no
 * SecretVersion: an operator adds the token with `gcloud secrets versions
 * add`). Only the hosts' listed service accounts may invoke it, and the
 * broker serves a caller only the hosts that list it.
 */
export class GcpTokenBroker extends pulumi.ComponentResource {
    /** The Cloud Run URL the proxy posts to (and the audience of its ID token). */
    readonly url: pulumi.Output<string>;
    readonly serviceAccountEmail: pulumi.Output<string>;
    readonly hosts: Record<string, GcpBrokerHost> = {};
    readonly bundleSha256: string;

    constructor(name: string, args: GcpTokenBrokerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:gcp:TokenBroker", name, {}, opts);
        const { plan } = args;
        const child = { parent: this };
        const project = plan.stage.gcp.project;
        const region = plan.stage.gcp.region;
        const functionName = brokerFunctionName(plan);
        const labels = { "partner-access-stage": plan.stage.stage, "partner-access-component": "token-broker" };
        const routes = brokerRoutes(plan, "gcp");

        const account = new gcpServiceaccount.Account(`${name}-sa`, {
            project,
            accountId: brokerAccountId(plan.stage.namePrefix, plan.stage.stage),
            displayName: `Outbound token broker, partner-access ${plan.stage.stage}`,
        }, child);

        const access: gcpSecretmanager.SecretIamPolicy[] = [];
        for (const r of routes.routes) {
            const secretId = gcpSecretId(plan, r);
            const secret = new gcpSecretmanager.Secret(`${name}-${secretId}`, {
                project,
                secretId,
                replication: { auto: {} },
                labels: { ...labels, "partner-access-partner": r.partner },
                annotations: { "partner-access-host": r.host },
            }, child);
            // Authoritative for the secret: any other grant on it is removed at the next deploy.
            access.push(new gcpSecretmanager.SecretIamPolicy(`${name}-${secretId}-access`, {
                project,
                secretId: secret.secretId,
                policyData: account.email.apply(tokenSecretPolicyData),
            }, child));
            this.hosts[r.host] = { partner: r.partner, secretId: secret.secretId };
        }

        const bucket = new gcpStorage.Bucket(`${name}-source`, {
            project,
            name: brokerSourceBucket(plan),
            location: region,
            uniformBucketLevelAccess: true,
            publicAccessPrevention: "enforced",
            // Holds nothing but build input that the next deploy writes again.
            forceDestroy: true,
            labels,
        }, child);

        // Reproducible: same broker source, lockfile and routes -> byte-identical files, same archive.
        const bundle = bundleBroker("gcp", routes);
        this.bundleSha256 = bundle.sha256;
        const source = new gcpStorage.BucketObject(`${name}-source-zip`, {
            bucket: bucket.name,
            name: brokerSourceObject(bundle.sha256),
            source: bundleArchive(bundle.files),
            contentType: "application/zip",
            metadata: { "bundle-sha256": bundle.sha256 },
        }, child);

        const fn = new gcpCloudfunctionsv2.Function(`${name}-function`, {
            project,
            location: region,
            name: functionName,
            description: `partner-access ${plan.stage.stage}: outbound token broker for ${routes.routes.length} partner host(s)`,
            labels,
            buildConfig: {
                runtime: GCP_RUNTIME,
                entryPoint: GCP_ENTRY_POINT,
                source: { storageSource: { bucket: bucket.name, object: source.name } },
            },
            serviceConfig: {
                serviceAccountEmail: account.email,
                // Reached from our servers wherever they run; Cloud Run's IAM check (below) decides who gets in.
                ingressSettings: "ALLOW_ALL",
                timeoutSeconds: BROKER_FUNCTION_TIMEOUT_SECONDS,
                availableMemory: "256M",
                maxInstanceCount: 10,
                allTrafficOnLatestRevision: true,
                // The routes table itself is routes.json beside index.js in the zip; this names which one.
                environmentVariables: { [ROUTES_SHA256_ENV]: createHash("sha256").update(bundle.files[ROUTES_FILE], "utf8").digest("hex") },
            },
        }, { ...child, dependsOn: access });

        // Authoritative for roles/run.invoker on the function's Cloud Run service: exactly the listed
        // callers, never allUsers. Cloud Run cannot tell hosts apart, so the broker also checks each
        // host's own caller list against the email of the token Cloud Run verified.
        const service = fn.serviceConfig.apply((c) => (c?.service ?? functionName).split("/").pop()!);
        new gcpCloudrunv2.ServiceIamBinding(`${name}-invokers`, {
            project,
            location: region,
            name: service,
            role: RUN_INVOKER,
            members: invokerMembers(plan),
        }, child);

        this.url = fn.serviceConfig.apply((c) => c?.uri ?? "");
        this.serviceAccountEmail = account.email;
        this.registerOutputs({ url: this.url, serviceAccountEmail: this.serviceAccountEmail, bundleSha256: this.bundleSha256 });
    }
}
