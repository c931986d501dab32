import * as gcpCloudrunv2 from "@pulumi/gcp/cloudrunv2";
import * as gcpEndpoints from "@pulumi/gcp/endpoints";
import * as gcpProjects from "@pulumi/gcp/projects";
import * as gcpServiceaccount from "@pulumi/gcp/serviceaccount";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AccessPlan } from "../plan/access-plan";
import { endpointsAudience, openApiDocument } from "./openapi";
import { RANDOM_SUFFIX_HEX } from "./workload-identity-providers";

/** Service account ids are 6-30 characters and end in a letter or digit: shorten the prefix, never the stage. */
export function espAccountId(namePrefix: string, stage: string): string {
    const room = 30 - `-${stage}-esp`.length;
    return `${namePrefix.slice(0, room).replace(/-+$/, "")}-${stage}-esp`;
}

/**
 * ESPv2 flags (GoogleCloudPlatform/esp-v2 docker/generic/start_proxy.py):
 * managed rollout follows each configuration Pulumi publishes; escaped slashes
 * (%2F) are refused so a path cannot mean one route to ESPv2 and another to
 * the backend ("to prevent path confusion attacks"); tracing is off, so the
 * stage needs no Cloud Trace API or role.
 */
export const ESP_ARGS = ["--rollout_strategy=managed", "--disallow_escaped_slashes_in_path", "--disable_tracing"];

export interface PartnerEndpointsArgs {
    plan: AccessPlan;
}

/**
 * Cloud Endpoints service configured from the plan's OpenAPI document, served
 * by ESPv2 on Cloud Run. ESPv2 validates each partner's service-account JWT,
 * so Cloud Run's own invoker check is off for the gateway (partners hold
 * self-signed JWTs, not Google ID tokens for the Cloud Run URL).
 *
 * A deleted Endpoints service name is blocked for 30 days ("Restoring a
 * managed service"): each incarnation's name carries a random suffix, so
 * removing every GCP route and granting one again within a month works.
 */
export class PartnerEndpoints extends pulumi.ComponentResource {
    readonly serviceName: pulumi.Output<string>;
    readonly audience: pulumi.Output<string>;
    readonly url: pulumi.Output<string>;
    readonly gatewayServiceAccount: pulumi.Output<string>;

    constructor(name: string, args: PartnerEndpointsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:gcp:PartnerEndpoints", name, {}, opts);
        const { plan } = args;
        const child = { parent: this };
        const project = plan.stage.gcp.project;
        const hex = new random.RandomId(`${name}-service-suffix`, { byteLength: RANDOM_SUFFIX_HEX / 2 }, child).hex;
        const serviceName = hex.apply((h) => `${plan.names.endpointsServiceBase}-${h}.endpoints.${project}.cloud.goog`);

        const service = new gcpEndpoints.Service(`${name}-service`, {
            project,
            serviceName,
            openapiConfig: serviceName.apply((s) => JSON.stringify(openApiDocument(plan, s), null, 2)),
        }, child);
        const enabled = new gcpProjects.Service(`${name}-service-enabled`, {
            project,
            service: service.serviceName,
            disableOnDestroy: false,
        }, child);

        const runtime = new gcpServiceaccount.Account(`${name}-esp`, {
            project,
            accountId: espAccountId(plan.stage.namePrefix, plan.stage.stage),
            displayName: `ESPv2 gateway, partner-access ${plan.stage.stage}`,
        }, child);
        // ESPv2 reports to Service Control and fetches its configuration with this role.
        const controller = new gcpProjects.IAMMember(`${name}-esp-serviceController`, {
            project, role: "roles/servicemanagement.serviceController", member: pulumi.interpolate`serviceAccount:${runtime.email}`,
        }, child);

        const gateway = new gcpCloudrunv2.Service(`${name}-gateway`, {
            project,
            name: `${plan.stage.namePrefix}-${plan.stage.stage}-gateway`,
            location: plan.stage.gcp.region,
            ingress: "INGRESS_TRAFFIC_ALL",
            invokerIamDisabled: true,
            deletionProtection: plan.stage.production,
            template: {
                serviceAccount: runtime.email,
                containers: [{
                    image: plan.stage.gcp.espImage,
                    ports: { containerPort: 8080 },
                    envs: [
                        { name: "ENDPOINTS_SERVICE_NAME", value: service.serviceName },
                        { name: "ESPv2_ARGS", value: ESP_ARGS.join(",") },
                    ],
                }],
            },
        }, { ...child, dependsOn: [enabled, controller] });

        this.serviceName = service.serviceName;
        this.audience = serviceName.apply(endpointsAudience);
        this.url = gateway.uri;
        this.gatewayServiceAccount = runtime.email;
        this.registerOutputs({ serviceName: this.serviceName, audience: this.audience, url: this.url, gatewayServiceAccount: this.gatewayServiceAccount });
    }
}
