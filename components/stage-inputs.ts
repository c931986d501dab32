/**
 * Everything the program checks before it registers a single resource:
 * registry and stage config (every problem at once), then the cloud quotas the
 * rendered plan must fit. Used by `index.ts` and the offline tools alike.
 */
import { awsLimitProblems } from "./aws/limits";
import { AccessPlan } from "./plan/access-plan";
import { loadAccessPlan } from "./plan/load";
import { InputError, Problem } from "./plan/problems";
import { RawStageConfig } from "./plan/stage-config";

export function loadCheckedPlan(raw: RawStageConfig, configFile: string, registryOverride?: string): AccessPlan {
    const plan = loadAccessPlan(raw, configFile, registryOverride);
    const problems: Problem[] = [...awsLimitProblems(plan, plan.stage.registryFile)];
    if (!plan.stage.gcp.apiBackendUrl) {
        const callers = plan.partners.filter((p) => p.gcp.routes.length > 0).map((p) => p.slug);
        if (callers.length > 0) {
            problems.push({ file: configFile, field: "partner-access:gcp.apiBackendUrl", message: `required: ${callers.join(", ")} may call GCP API routes, and ESPv2 needs a backend to proxy to` });
        }
    }
    if (problems.length > 0) throw new InputError(problems);
    return plan;
}

/** `partner-access:*` keys of a flat Pulumi config map, namespace stripped, JSON values parsed. */
export function rawStageConfig(all: Record<string, string>): RawStageConfig {
    const raw: RawStageConfig = {};
    for (const [key, value] of Object.entries(all)) {
        if (!key.startsWith("partner-access:")) continue;
        let parsed: unknown = value;
        try {
            parsed = JSON.parse(value);
        } catch {
            // A plain string value.
        }
        raw[key.slice("partner-access:".length)] = parsed;
    }
    return raw;
}
