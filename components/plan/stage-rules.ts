/**
 * Rules that need both the stage config and the registry: which environments
 * a stage accepts (and so whether it is production), production floors, and
 * partner identities that are really ours.
 */
import { awsIdentity } from "./identities";
import { Problems } from "./problems";
import { Registry } from "./registry";
import { CONFIG_NAMESPACE, PRODUCTION_FLOORS, StageConfig, StageConfigKey, StageConfigValues } from "./stage-config";

/**
 * Fills `production` and adds a problem for every rule broken. `config`
 * problems name the stack's config file, `registry` problems the registry.
 */
export function applyStageRules(stage: StageConfig, values: Partial<StageConfigValues>, registry: Registry, config: Problems, registryProblems: Problems): StageConfig {
    const key = (k: string) => `${CONFIG_NAMESPACE}:${k}`;
    const declared = registry.environments;
    for (const env of stage.acceptedEnvironments) {
        if (!(env in declared)) config.add(`"${env}" is not an environment the registry declares (${Object.keys(declared).join(", ")})`, ["acceptedEnvironments"], undefined, key("acceptedEnvironments"));
    }
    const accepted = stage.acceptedEnvironments.filter((e) => e in declared);
    const prod = accepted.filter((e) => declared[e].production);
    const nonProd = accepted.filter((e) => !declared[e].production);
    if (prod.length > 0 && nonProd.length > 0) {
        config.add(`a stage accepts production environments (${prod.join(", ")}) or non-production ones (${nonProd.join(", ")}), never both: stage isolation depends on it`,
            ["acceptedEnvironments"], undefined, key("acceptedEnvironments"));
    }
    const production = prod.length > 0;
    if (production) {
        for (const [k, floor] of Object.entries(PRODUCTION_FLOORS) as [StageConfigKey, number][]) {
            const v = values[k];
            if (typeof v === "number" && v < floor) {
                config.add(`a production stage keeps this at least ${floor} days (README, "Production floors"); ${v} would lose history a partner or an auditor may need`, [k], undefined, key(k));
            }
        }
    }
    // A partner principal in our own account would be exempt from the API's deny-everyone-else by account,
    // and could be any of our roles; a partner service account in our project is one of ours.
    registry.partners.forEach((p, i) => {
        for (const env of accepted) {
            const ids = p.identities[env];
            if (!ids) continue;
            ids.aws.forEach((arn, j) => {
                if (awsIdentity(arn).account === stage.aws.accountId) {
                    registryProblems.add(`"${arn}" is in this stage's own AWS account (${stage.aws.accountId}, stage ${stage.stage}): a partner identity must be the partner's; ` +
                        "one of ours would be trusted as a partner and, for direct partners, exempt the whole account from the API's deny",
                    ["partners", i, "identities", env, "aws", j], p.slug, `identities.${env}.aws[${j}]`);
                }
            });
            ids.gcp.forEach((g, j) => {
                if (g.email.endsWith(`@${stage.gcp.project}.iam.gserviceaccount.com`)) {
                    registryProblems.add(`"${g.email}" belongs to this stage's own GCP project (${stage.gcp.project}): a partner identity must be the partner's`,
                        ["partners", i, "identities", env, "gcp", j, "email"], p.slug, `identities.${env}.gcp[${j}].email`);
                }
            });
        }
    });
    return { ...stage, production };
}
