/**
 * partner-access: one stack per stage. Reads the stage config and the partner
 * registry, turns them into an access plan (failing before any resource if the
 * input is bad), renders the plan on AWS and GCP, and exports what partners need.
 */
import * as pulumi from "@pulumi/pulumi";
import { deployPartnerAccess } from "./components/partner-access";
import { InputError } from "./components/plan/problems";
import { evaluationTime } from "./components/plan/validity";
import { programConfigSource } from "./components/program-config";
import { withoutPromiseStackTraces } from "./components/runtime-tuning";
import { loadCheckedPlan } from "./components/stage-inputs";

withoutPromiseStackTraces();

function checkedPlan() {
    try {
        return loadCheckedPlan(programConfigSource(__dirname), { projectDir: __dirname, at: evaluationTime() });
    } catch (e) {
        // A RunError prints its message alone: the list of problems, no stack trace (pulumi/pulumi sdk/nodejs/cmd/run/run.ts).
        if (e instanceof InputError) throw new pulumi.RunError(e.message);
        throw e;
    }
}

const deployed = deployPartnerAccess(checkedPlan());

export const stage = deployed.stage;
export const production = deployed.production;
export const api = deployed.api;
export const aws = deployed.aws;
export const gcp = deployed.gcp;
export const partners = deployed.partners;
export const excludedPartners = deployed.excludedPartners;
export const outbound = deployed.outbound;
