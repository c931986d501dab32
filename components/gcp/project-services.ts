import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

export const REQUIRED_SERVICES = [
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
    "storage.googleapis.com",
    "run.googleapis.com",
    "servicemanagement.googleapis.com",
    "servicecontrol.googleapis.com",
    "endpoints.googleapis.com",
];

/** Enables the Google APIs the stage uses; never disables them on destroy (other workloads may share the project). */
export class ProjectServices extends pulumi.ComponentResource {
    readonly services: gcp.projects.Service[];

    constructor(name: string, args: { project: string }, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:gcp:ProjectServices", name, {}, opts);
        this.services = REQUIRED_SERVICES.map((service) => new gcp.projects.Service(`${name}-${service.split(".")[0]}`, {
            project: args.project,
            service,
            disableOnDestroy: false,
            disableDependentServices: false,
        }, { parent: this }));
        this.registerOutputs({});
    }
}
