/**
 * partner-access: one stack per stage. Reads the stage config and the partner
 * registry, turns them into an access plan (failing before any resource if the
 * input is bad), renders the plan on AWS and GCP, and exports what partners need.
 */
import * as pulumi from "@pulumi/pulumi";
import { deployPartnerAccess } from "./components/partner-access";
import { loadCheckedPlan, rawStageConfig } from "./components/stage-inputs";

const plan = loadCheckedPlan(rawStageConfig(pulumi.runtime.allConfig()), `Pulumi.${pulumi.getStack()}.yaml`);
const deployed = deployPartnerAccess(plan);

export const stage = deployed.stage;
export const aws = deployed.aws;
export const gcp = deployed.gcp;
export const partners = deployed.partners;
export const excludedPartners = deployed.excludedPartners;
