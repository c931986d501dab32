/**
 * Explicit, reasoned exceptions, honoured by every rule (the cdk-nag model:
 * a suppression names the rule, the resource and why). CrossGuard config is
 * per policy (`--policy-pack-config`, `pulumi policy enable --config`), so
 * every policy declares the same `exceptions` property and honours the
 * entries that name it; the same list can be pasted under every policy, or
 * grouped with `exceptionsConfig`.
 *
 * The pack needs no configuration: with none (or the schema defaults the CLI
 * sends when no file is given, pulumi/pulumi pkg/resource/analyzer/config.go
 * ReconcilePolicyPackConfig), nothing is excepted.
 */
import { Policy, PolicyConfigSchema, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

export interface PolicyException {
    /** The policy's name. */
    policy: string;
    /** The resource's URN, exactly. */
    urn: string;
    /** Why this resource may break the rule: shown in review, required. */
    reason: string;
}

/** A reason of a few words at least: an empty or one-word reason is no reason. */
const REASON = "\\S+\\s+\\S+\\s+\\S+";

export const exceptionsProperty = {
    type: "array" as const,
    default: [],
    description: "Resources this policy does not judge, each with the reason (reviewed like code).",
    items: {
        type: "object" as const,
        properties: {
            policy: { type: "string" as const, minLength: 1 },
            urn: { type: "string" as const, pattern: "^urn:pulumi:" },
            reason: { type: "string" as const, pattern: REASON },
        },
        required: ["policy", "urn", "reason"],
        additionalProperties: false,
    },
};

export const exceptionsSchema: PolicyConfigSchema = { properties: { exceptions: exceptionsProperty } };

/** The exceptions a policy's config grants to one URN (entries without a real reason grant nothing). */
export function excepted(config: { exceptions?: PolicyException[] } | undefined, policy: string, urn: string | undefined): PolicyException | undefined {
    if (!urn) return undefined;
    return (config?.exceptions ?? []).find((e) => e && e.policy === policy && e.urn === urn && new RegExp(REASON).test(String(e.reason ?? "")));
}

/** A `--policy-pack-config` object from one list of exceptions. */
export function exceptionsConfig(list: PolicyException[]): Record<string, { exceptions: PolicyException[] }> {
    const out: Record<string, { exceptions: PolicyException[] }> = {};
    for (const e of list) (out[e.policy] ??= { exceptions: [] }).exceptions.push(e);
    return out;
}

/**
 * The policy with exceptions honoured: an excepted resource is not judged by
 * a resource policy; a stack policy's findings on an excepted URN are dropped.
 * Adds the `exceptions` property to the policy's config schema.
 */
export function withExceptions<P extends Policy>(policy: P): P {
    const configSchema: PolicyConfigSchema = {
        ...(policy.configSchema ?? {}),
        properties: { ...(policy.configSchema?.properties ?? {}), exceptions: exceptionsProperty },
    };
    if ("validateResource" in policy && policy.validateResource) {
        const p = policy as unknown as ResourceValidationPolicy;
        const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource!];
        const wrapped: ResourceValidationPolicy = {
            ...p,
            configSchema,
            validateResource: validations.map((validate) => (args, report) => {
                if (excepted(args.getConfig(), p.name, args.urn)) return;
                return validate(args, report);
            }),
        };
        return wrapped as unknown as P;
    }
    const s = policy as unknown as StackValidationPolicy;
    const wrapped: StackValidationPolicy = {
        ...s,
        configSchema,
        validateStack: (args, report) => {
            const config = args.getConfig<{ exceptions?: PolicyException[] }>();
            const filtered: ReportViolation = (message, urn) => {
                if (!excepted(config, s.name, urn)) report(message, urn);
            };
            return s.validateStack!(args, filtered);
        },
    };
    return wrapped as unknown as P;
}

/**
 * A property's value, or undefined while it is unknown (preview). The policy
 * SDK throws UnknownValueError on reading an unknown; it is recognised by
 * name because the program and the pack may load different copies of
 * @pulumi/policy (instanceof would fail across them).
 */
export function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (e) {
        if (isUnknownError(e)) return undefined;
        throw e;
    }
}

export const isUnknownError = (e: unknown) => (e as Error)?.constructor?.name === "UnknownValueError";
