import * as gcpProjects from "@pulumi/gcp/projects";
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

/** Only when partners have outbound hosts: the token broker (a Cloud Run function built by Cloud Build) and its secrets. */
export const BROKER_SERVICES = ["secretmanager.googleapis.com", "cloudfunctions.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com"];

/** Enables the Google APIs the stage uses; never disables them on destroy (other workloads may share the project). */
export class ProjectServices extends pulumi.ComponentResource {
    readonly services: gcpProjects.Service[];

    constructor(name: string, args: { project: string; services: string[] }, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:gcp:ProjectServices", name, {}, opts);
        this.services = args.services.map((service) => new gcpProjects.Service(`${name}-${service.split(".")[0]}`, {
            project: args.project,
            service,
            disableOnDestroy: false,
            disableDependentServices: false,
        }, { parent: this }));
        this.registerOutputs({});
    }
}
