/**
 * Stage config + registry -> access plan, failing with every problem of both
 * files at once. Shared by the Pulumi program and the tools.
 */
import * as path from "path";
import { AccessPlan, buildPlan } from "./access-plan";
import { InputError, Problem, Problems, dotted } from "./problems";
import { Registry, loadRegistry } from "./registry";
import { StageConfigSource, parseStageConfig } from "./stage-config";
import { applyStageRules } from "./stage-rules";

/** A problem found once the plan exists (a quota, an unrenderable grant): where it belongs, by partner field or config key. */
export interface PlanProblem {
    message: string;
    partner?: string;
    /** Path inside the partner's registry entry, e.g. ["aws", "api"]. */
    field?: (string | number)[];
    /** A stage config key, when the config is what to change. */
    configKey?: string;
}

export interface LoadOptions {
    /** Directory of Pulumi.yaml: the registry file is relative to it. */
    projectDir: string;
    /** A registry that wins over `registryFile` in config (absolute, or relative to projectDir). */
    registryOverride?: string;
    /** The evaluation time (decides what the Endpoints document serves). */
    at: Date;
    /** Checks on the rendered plan (components/stage-inputs.ts): run only when the inputs themselves are clean. */
    checks?: (plan: AccessPlan) => PlanProblem[];
}

export function loadAccessPlan(source: StageConfigSource, opts: LoadOptions): AccessPlan {
    const configProblems = new Problems(source.file, (p) => source.locate?.(String(p[0] ?? "")));
    const { config, values } = parseStageConfig(source, configProblems);
    const registryPath = path.resolve(opts.projectDir, opts.registryOverride ?? config.registryFile);
    // Messages name the registry as a reviewer sees it in the repository.
    const registryName = path.relative(opts.projectDir, registryPath).startsWith("..") ? registryPath : path.relative(opts.projectDir, registryPath);
    let registry: Registry | undefined;
    let registryProblems: Problem[] = [];
    try {
        registry = { ...loadRegistry(registryPath), file: registryName };
    } catch (e) {
        if (!(e instanceof InputError)) throw e;
        registryProblems = e.problems.map((p) => ({ ...p, file: registryName }));
    }
    const ruleProblems = new Problems(registryName, (p) => registry?.locate(p));
    const stage = registry ? applyStageRules(config, values, registry, configProblems, ruleProblems) : config;
    const all = [...configProblems.list, ...registryProblems, ...ruleProblems.list];
    if (all.length > 0 || !registry) throw new InputError(all);
    const plan = buildPlan(registry, { ...stage, registryFile: registryName }, opts.at);
    const found = opts.checks?.(plan) ?? [];
    if (found.length > 0) {
        const index = new Map(registry.partners.map((p, i) => [p.slug, i]));
        for (const f of found) {
            if (f.configKey) configProblems.add(f.message, [f.configKey], undefined, `partner-access:${f.configKey}`);
            else if (f.partner) ruleProblems.add(f.message, ["partners", index.get(f.partner)!, ...(f.field ?? [])], f.partner, f.field ? dotted(f.field) : undefined);
            else ruleProblems.add(f.message, ["partners"]);
        }
        throw new InputError([...configProblems.list, ...ruleProblems.list]);
    }
    return plan;
}
