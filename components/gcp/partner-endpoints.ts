import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../plan/access-plan";
import { endpointsAudience, openApiDocument } from "./openapi";

/** Service account ids are 6-30 characters and end in a letter or digit: shorten the prefix, never the stage. */
export function espAccountId(namePrefix: string, stage: string): string {
    const room = 30 - `-${stage}-esp`.length;
    return `${namePrefix.slice(0, room).replace(/-+$/, "")}-${stage}-esp`;
}

export interface PartnerEndpointsArgs {
    plan: AccessPlan;
}

/**
 * Cloud Endpoints service configured from the plan's OpenAPI document, served
 * by ESPv2 on Cloud Run. ESPv2 validates each partner's service-account JWT;
 * Cloud Run admits everyone to the gateway because ESPv2 is the authenticator.
 */
export class PartnerEndpoints extends pulumi.ComponentResource {
    readonly serviceName: pulumi.Output<string>;
    readonly audience: string;
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: PartnerEndpointsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:gcp:PartnerEndpoints", name, {}, opts);
        const { plan } = args;
        const child = { parent: this };
        const project = plan.stage.gcp.project;

        const service = new gcp.endpoints.Service(`${name}-service`, {
            project,
            serviceName: plan.names.endpointsService,
            openapiConfig: JSON.stringify(openApiDocument(plan), null, 2),
        }, child);
        const enabled = new gcp.projects.Service(`${name}-service-enabled`, {
            project,
            service: service.serviceName,
            disableOnDestroy: false,
        }, child);

        const runtime = new gcp.serviceaccount.Account(`${name}-esp`, {
            project,
            accountId: espAccountId(plan.stage.namePrefix, plan.stage.stage),
            displayName: `ESPv2 gateway, partner-access ${plan.stage.stage}`,
        }, child);
        // ESPv2 reports to Service Control and fetches its configuration with these roles.
        const roles = ["roles/servicemanagement.serviceController", "roles/cloudtrace.agent"].map((role) =>
            new gcp.projects.IAMMember(`${name}-esp-${role.split("/")[1]}`, {
                project, role, member: pulumi.interpolate`serviceAccount:${runtime.email}`,
            }, child));

        const gateway = new gcp.cloudrunv2.Service(`${name}-gateway`, {
            project,
            name: `${plan.stage.namePrefix}-${plan.stage.stage}-gateway`,
            location: plan.stage.gcp.region,
            ingress: "INGRESS_TRAFFIC_ALL",
            deletionProtection: plan.stage.production,
            template: {
                serviceAccount: runtime.email,
                containers: [{
                    image: plan.stage.gcp.espImage,
                    ports: { containerPort: 8080 },
                    envs: [
                        { name: "ENDPOINTS_SERVICE_NAME", value: service.serviceName },
                        // Managed rollout: ESPv2 follows the newest service configuration as Pulumi publishes it.
                        { name: "ESPv2_ARGS", value: "--rollout_strategy=managed,--cors_preset=basic" },
                    ],
                }],
            },
        }, { ...child, dependsOn: [enabled, ...roles] });

        new gcp.cloudrunv2.ServiceIamMember(`${name}-gateway-invoker`, {
            project,
            location: gateway.location,
            name: gateway.name,
            role: "roles/run.invoker",
            member: "allUsers",
        }, child);

        this.serviceName = service.serviceName;
        this.audience = endpointsAudience(plan);
        this.url = gateway.uri;
        this.registerOutputs({ serviceName: this.serviceName, audience: this.audience, url: this.url });
    }
}
