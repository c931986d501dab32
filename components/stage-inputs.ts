/**
 * Everything the program checks before it registers a single resource: stage
 * config and registry (every problem at once), then what the rendered plan
 * must fit: AWS quotas, grants IAM can express exactly, Google's limits.
 * Used by `index.ts` and the offline tools alike.
 */
import { awsLimitProblems } from "./aws/limits";
import { routeGrant } from "./aws/route-coverage";
import { ATTRIBUTE_CONDITION_MAX_CHARS, awsProviderSpecs } from "./gcp/workload-identity-providers";
import { AccessPlan } from "./plan/access-plan";
import { LoadOptions, PlanProblem, loadAccessPlan } from "./plan/load";
import { routeKey } from "./plan/routes";
import { StageConfigSource } from "./plan/stage-config";

export function renderProblems(plan: AccessPlan): PlanProblem[] {
    const problems: PlanProblem[] = [...awsLimitProblems(plan)];
    for (const p of plan.partners) {
        for (const c of routeGrant(plan.routes, p.aws.routes).conflicts) {
            problems.push({
                partner: p.slug, field: ["aws", "api"],
                message: `granting ${routeKey(c.granted)} without ${routeKey(c.ungranted)} cannot be expressed exactly in IAM (a resource wildcard also matches "/"): ` +
                    `the deny that keeps ${routeKey(c.ungranted)} out would also refuse some ${routeKey(c.granted)} requests. Grant both, or neither, or rename one path in api.routes.`,
            });
        }
    }
    for (const spec of awsProviderSpecs(plan)) {
        if (spec.attributeCondition.length > ATTRIBUTE_CONDITION_MAX_CHARS) {
            problems.push({
                partner: spec.partners[0], field: ["identities"],
                message: `the Workload Identity condition for AWS account ${spec.accountId} (${spec.partners.join(", ")}) would be ${spec.attributeCondition.length} characters, ` +
                    `over Google's ${ATTRIBUTE_CONDITION_MAX_CHARS}: federate fewer roles of that account into GCP`,
            });
        }
    }
    if (!plan.stage.gcp.apiBackendUrl) {
        const callers = plan.partners.filter((p) => p.gcp.routes.length > 0).map((p) => p.slug);
        if (callers.length > 0) problems.push({ configKey: "gcpApiBackendUrl", message: `required: ${callers.join(", ")} may call GCP API routes, and ESPv2 needs a backend to proxy to` });
    }
    return problems;
}

export function loadCheckedPlan(source: StageConfigSource, opts: Omit<LoadOptions, "checks">): AccessPlan {
    return loadAccessPlan(source, { ...opts, checks: renderProblems });
}
