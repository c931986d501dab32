import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { deniesInsecureTransport } from "./aws";

const S3_GUARDS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

/** A property's value, or undefined while it is unknown (preview). */
function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (e) {
        if ((e as Error)?.constructor?.name === "UnknownValueError") return undefined;
        throw e;
    }
}

export const s3BucketsGuarded: StackValidationPolicy = {
    name: "s3-buckets-guarded",
    description: "Every S3 bucket of the stack has a public access block with all four settings and a bucket policy that denies requests without TLS. " +
        "Remediation: add aws.s3.BucketPublicAccessBlock and aws.s3.BucketPolicy for the bucket (partner-access's FileExchange does).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const of = (type: string) => args.resources.filter((r) => r.type === type);
        for (const bucket of of("aws:s3/bucket:Bucket")) {
            const names = [known(() => bucket.props.bucket), known(() => bucket.props.id)].filter((v) => v !== undefined);
            // Its side resources name it by id (unknown in a first preview) and depend on it (always known).
            const mine = (r: PolicyResource) => (r.propertyDependencies?.bucket ?? []).some((d) => d.urn === bucket.urn) || names.includes(known(() => r.props.bucket));
            const blocks = of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").filter(mine);
            if (!blocks.some((b) => S3_GUARDS.every((k) => b.props[k] === true))) report(`bucket ${names[0]} has no public access block with all four settings.`, bucket.urn);
            if (!of("aws:s3/bucketPolicy:BucketPolicy").filter(mine).some((p) => deniesInsecureTransport(p.props.policy))) {
                report(`bucket ${names[0]} has no bucket policy denying requests without TLS.`, bucket.urn);
            }
        }
    },
};

export interface StageIsolationConfig {
    /** Stacks that are production; default ["prod"]. */
    productionStacks?: string[];
    /** Partner environments whose identities a production stack may hold; default ["prod"]. */
    productionEnvironments?: string[];
    /** The partner registry, relative to the working directory; default partners.yaml. */
    registry?: string;
    /** The stack being checked; default the current Pulumi stack. */
    stack?: string;
}

/** Every identity string the registry lists under environments other than the production ones. */
export function nonProductionIdentities(registryText: string, productionEnvironments: string[]): Map<string, string> {
    const out = new Map<string, string>();
    const reg = YAML.parse(registryText) ?? {};
    for (const p of reg.partners ?? []) {
        for (const [env, ids] of Object.entries<any>(p?.identities ?? {})) {
            if (productionEnvironments.includes(env)) continue;
            for (const arn of ids?.aws ?? []) out.set(String(arn), `${p.slug}/${env}`);
            for (const g of ids?.gcp ?? []) {
                if (g?.email) out.set(String(g.email), `${p.slug}/${env}`);
                if (g?.uniqueId) out.set(String(g.uniqueId), `${p.slug}/${env}`);
            }
        }
    }
    return out;
}

function currentStack(): string | undefined {
    try {
        return require("@pulumi/pulumi").getStack();
    } catch {
        return undefined;
    }
}

const registryCache = new Map<string, Map<string, string>>();

/**
 * A resource policy, not a stack policy: during `pulumi up` resource policies
 * run on each resource's resolved inputs before it is created, stack policies
 * only after everything exists. Unknown values during preview make the SDK
 * report the check as not runnable (advisory) rather than pass it.
 */
export const stageIsolation: ResourceValidationPolicy = {
    name: "stage-isolation",
    description: "A production stack trusts and grants no identity of a non-production partner environment. " +
        "Remediation: list the identity under the partner's prod environment only, or remove it.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            productionStacks: { type: "array", items: { type: "string" }, default: ["prod"] },
            productionEnvironments: { type: "array", items: { type: "string" }, default: ["prod"] },
            registry: { type: "string", default: "partners.yaml" },
            stack: { type: "string" },
        },
    },
    validateResource: (args, report) => {
        const cfg = args.getConfig<StageIsolationConfig>();
        const stack = cfg.stack ?? currentStack();
        if (!stack || !(cfg.productionStacks ?? ["prod"]).includes(stack)) return;
        const file = path.resolve(cfg.registry ?? "partners.yaml");
        if (!fs.existsSync(file)) return report(`cannot check stage isolation: registry ${file} not found (set the policy's "registry" config).`);
        const key = `${file}|${(cfg.productionEnvironments ?? ["prod"]).join(",")}`;
        if (!registryCache.has(key)) registryCache.set(key, nonProductionIdentities(fs.readFileSync(file, "utf8"), cfg.productionEnvironments ?? ["prod"]));
        const text = JSON.stringify(args.props);
        for (const [id, where] of registryCache.get(key)!) {
            if (text.includes(id)) report(`${args.type} ${args.name} names ${id}, an identity of ${where}, in production stack ${stack}.`);
        }
    },
};
