/**
 * Runs the policy pack's policies over a synth `resources.json`, offline: the
 * same policy objects `pulumi preview --policy-pack policy-pack` loads, called
 * with the arguments the CrossGuard analyzer would pass.
 */
import { EnforcementLevel, Policies, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy, UnknownValueError, unknownCheckingProxy } from "@pulumi/policy";
import { policies } from "../policy-pack/policies";
import { SynthResource, UNKNOWN, mapDeep } from "./synth";

export interface Violation {
    policy: string;
    enforcementLevel: EnforcementLevel;
    urn?: string;
    message: string;
}

class NotApplicable extends Error {}

/** Synth's UNKNOWN marker (from `--preview`) becomes the sentinel the policy SDK treats as unknown. */
const policyUnknowns = (v: unknown) => mapDeep(v, (x) => (x === UNKNOWN ? require("@pulumi/policy/proxy").unknownStringValue : undefined));

const options = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };

/**
 * A policy's config as the CLI hands it: the defaults of its configSchema,
 * then what the config file gives (pulumi/pulumi pkg/resource/analyzer/config.go
 * ReconcilePolicyPackConfig); the pack also works with none at all.
 */
function policyConfig(policy: Policies[number], given: object | undefined): object {
    const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).filter(([, s]) => s.default !== undefined).map(([k, s]) => [k, s.default]));
    return { ...defaults, ...(given ?? {}) };
}

/**
 * Runs every policy over synth resources. `config` is a `--policy-pack-config`
 * object: policy name -> its properties (e.g. `exceptions`, `espImages`).
 */
export function runPolicies(resources: SynthResource[], config: Record<string, object> = {}): Violation[] {
    const violations: Violation[] = [];
    const common = (policy: Policies[number]) => ({
        stackTags: new Map<string, string>(),
        getConfig: <T extends object>() => policyConfig(policy, config[policy.name]) as T,
        notApplicable: (reason?: string): never => { throw new NotApplicable(reason); },
    });
    // As the analyzer does: reading a value unknown during preview throws UnknownValueError.
    const policyResources: PolicyResource[] = resources.map((r) => ({
        type: r.type, props: unknownCheckingProxy(policyUnknowns(r.inputs) as Record<string, any>), urn: r.urn, name: r.name, opts: { ...options, parent: r.parent },
        dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined,
    }));
    const byUrn = new Map(policyResources.map((r) => [r.urn, r]));
    resources.forEach((r, i) => {
        const deps = Object.entries(r.propertyDependencies ?? {}).map(([k, urns]) => [k, urns.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => !!x)] as const);
        policyResources[i].propertyDependencies = Object.fromEntries(deps);
        policyResources[i].dependencies = [...new Set(deps.flatMap(([, rs]) => rs))];
    });
    const unknownAdvisory = (policy: string, e: unknown, urn?: string) =>
        violations.push({ policy, enforcementLevel: "advisory", urn, message: `can't run during preview: ${(e as Error).message}` });
    for (const policy of policies) {
        const level = policy.enforcementLevel ?? "mandatory";
        if (level === "disabled") continue;
        const report = (urn?: string) => (message: string, at?: string) => violations.push({ policy: policy.name, enforcementLevel: level, urn: at ?? urn, message });
        try {
            if ("validateResource" in policy && policy.validateResource) {
                const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
                for (const r of policyResources) {
                    const args: ResourceValidationArgs = { ...common(policy), type: r.type, props: r.props, urn: r.urn, name: r.name, opts: r.opts, isType: () => false, asType: () => undefined };
                    for (const validate of validations) {
                        try {
                            validate(args, report(r.urn));
                        } catch (e) {
                            // The SDK reports such a check as advisory "can't run during preview": never a silent pass.
                            if (e instanceof UnknownValueError) unknownAdvisory(policy.name, e, r.urn);
                            else if (!(e instanceof NotApplicable)) throw e;
                        }
                    }
                }
            } else if ("validateStack" in policy && (policy as StackValidationPolicy).validateStack) {
                (policy as StackValidationPolicy).validateStack({ ...common(policy), resources: policyResources }, report());
            }
        } catch (e) {
            if (e instanceof UnknownValueError) unknownAdvisory(policy.name, e);
            else if (!(e instanceof NotApplicable)) throw e;
        }
    }
    return violations;
}

/**
 * Runs the policies as the Pulumi CLI runs the pack for a stack: no policy
 * configuration, and the stack's name and config in the environment the
 * Node.js language host sets (PULUMI_NODEJS_STACK, PULUMI_NODEJS_PROJECT,
 * PULUMI_CONFIG; see policy-pack/policies/stack-context.ts).
 */
export function runPoliciesAsCli(resources: SynthResource[], stack: string, config: Record<string, string>, policyConfig: Record<string, object> = {}): Violation[] {
    const keys = ["PULUMI_NODEJS_STACK", "PULUMI_NODEJS_PROJECT", "PULUMI_CONFIG"] as const;
    const saved = keys.map((k) => process.env[k]);
    Object.assign(process.env, { PULUMI_NODEJS_STACK: stack, PULUMI_NODEJS_PROJECT: "partner-access", PULUMI_CONFIG: JSON.stringify(config) });
    try {
        return runPolicies(resources, policyConfig);
    } finally {
        keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
    }
}
