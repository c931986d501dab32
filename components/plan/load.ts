/**
 * Turns raw stage configuration and the registry file into an access plan,
 * failing with every problem at once. Shared by the Pulumi program and tools.
 */
import { AccessPlan, buildPlan } from "./access-plan";
import { InputError, Problem, Problems } from "./problems";
import { Registry, loadRegistry } from "./registry";
import { RawStageConfig, parseStageConfig } from "./stage-config";

/**
 * @param raw        the `partner-access:*` config values, namespace stripped
 * @param configFile the file they came from, for messages (`Pulumi.stag.yaml`)
 * @param registryOverride a registry path that wins over `registryFile` in config
 */
export function loadAccessPlan(raw: RawStageConfig, configFile: string, registryOverride?: string): AccessPlan {
    const configProblems = new Problems(configFile);
    const stage = parseStageConfig(raw, configProblems);
    const registryFile = registryOverride ?? stage.registryFile;
    let registry: Registry | undefined;
    let registryProblems: Problem[] = [];
    try {
        registry = loadRegistry(registryFile);
    } catch (e) {
        if (!(e instanceof InputError)) throw e;
        registryProblems = e.problems;
    }
    const all = [...configProblems.list, ...registryProblems];
    if (all.length > 0 || !registry) throw new InputError(all);
    return buildPlan(registry, { ...stage, registryFile });
}
