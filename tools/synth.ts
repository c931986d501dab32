/**
 * Offline synth: runs the real program (`index.ts` with a stack's config)
 * under Pulumi's mock runtime — no cloud, no CLI — and captures every
 * registered resource with its inputs as the provider would receive them.
 *
 * One stack per process: Pulumi's runtime is process-global.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../components/plan/access-plan";
import { loadCheckedPlan, rawStageConfig } from "../components/stage-inputs";
import { InputError, Problems } from "../components/plan/problems";
import { StageConfig, parseStageConfig } from "../components/plan/stage-config";
import { cloudMocks } from "./mocks";
import { onboardingKits } from "./onboarding";

export interface SynthOptions {
    stack: string;
    /** Registry file that replaces the stack's `registryFile` (resolved against the caller's cwd). */
    registry?: string;
    /** Output root; files go to `<outDir>/<stack>/`. */
    outDir: string;
    /** Directory holding Pulumi.yaml and index.ts. */
    projectDir: string;
    /**
     * Like the first `pulumi preview` of a new stack: every id and computed
     * output is unknown. Writes resources.json (unknowns as UNKNOWN) and
     * plan.json only: there are no outputs to report.
     */
    preview?: boolean;
}

/** How an input that is unknown during preview is written: Pulumi's own wire sentinel. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Rebuilds plain JSON-like data, letting `replace` swap any value (undefined: keep walking). */
export function mapDeep(v: unknown, replace: (x: unknown) => unknown): unknown {
    const r = replace(v);
    if (r !== undefined) return r;
    if (Array.isArray(v)) return v.map((x) => mapDeep(x, replace));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapDeep(x, replace)]));
    return v;
}

/** Replaces Pulumi's in-memory unknowns with UNKNOWN so they survive JSON. */
const markUnknowns = (v: unknown) => mapDeep(v, (x) => (pulumi.isUnknown(x) ? UNKNOWN : undefined));

export interface SynthResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    /** Provider reference (`<provider urn>::<id>`) the resource is registered with. */
    provider?: string;
    /** Input property -> URNs of the resources its value came from (known even while the value is not). */
    propertyDependencies?: Record<string, string[]>;
    inputs: Record<string, unknown>;
}

export interface SynthResult {
    stack: string;
    dir: string;
    plan: AccessPlan;
    resources: SynthResource[];
    outputs: Record<string, unknown>;
}

/** Flat `key -> string` config as the Pulumi CLI hands it to a program. */
export function readStackConfig(projectDir: string, stack: string): Record<string, string> {
    const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new InputError([{ file: `Pulumi.${stack}.yaml`, message: `no such stack config (stacks: ${listStacks(projectDir).join(", ")})` }]);
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries((doc.config ?? {}) as Record<string, unknown>)) {
        out[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return out;
}

function listStacks(projectDir: string): string[] {
    return fs.readdirSync(projectDir).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s);
}

/** A stack's validated stage config (throws InputError listing every problem). */
export function readStageConfig(projectDir: string, stack: string): StageConfig {
    const problems = new Problems(`Pulumi.${stack}.yaml`);
    const config = parseStageConfig(rawStageConfig(readStackConfig(projectDir, stack)), problems);
    problems.throwIfAny();
    return config;
}

/** Resolves a value holding Outputs to plain JSON. */
function resolve<T>(value: T): Promise<unknown> {
    return new Promise((res) => pulumi.output(value).apply((v) => { res(v); return v; }));
}

export async function synth(opts: SynthOptions): Promise<SynthResult> {
    const projectDir = path.resolve(opts.projectDir);
    const config = readStackConfig(projectDir, opts.stack);
    if (opts.registry) config["partner-access:registryFile"] = path.resolve(opts.registry);
    process.chdir(projectDir);

    // Validate first, exactly as the program will: bad input fails before the runtime starts.
    const plan = loadCheckedPlan(rawStageConfig(config), `Pulumi.${opts.stack}.yaml`);

    pulumi.runtime.setAllConfig(config);
    const registered = new Map<string, Omit<SynthResource, "urn" | "parent">>();
    const resources: SynthResource[] = [];
    // Preview of a new stack: the cloud has answered nothing yet, so every id and output is unknown.
    const mocks: pulumi.runtime.Mocks = opts.preview ? { call: () => ({}), newResource: () => ({ id: "", state: {} }) } : cloudMocks({
        accountId: plan.stage.aws.accountId, region: plan.stage.aws.region, project: plan.stage.gcp.project, projectNumber: plan.stage.gcp.projectNumber,
    });
    await pulumi.runtime.setMocks({
        call: mocks.call,
        newResource(args) {
            registered.set(`${args.type}::${args.name}`, { type: args.type, name: args.name, provider: args.provider || undefined, inputs: markUnknowns(args.inputs) as Record<string, unknown> });
            return mocks.newResource(args);
        },
    }, "partner-access", opts.stack, !!opts.preview);

    // The mock monitor does not pass the parent to newResource: read it off the request.
    const monitor = (pulumi.runtime as unknown as { getMonitor(): any }).getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) =>
        register(req, (err: unknown, resp: any) => {
            if (!err) {
                const r = registered.get(`${req.getType()}::${req.getName()}`)!;
                const deps: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((v: any, k: string) => {
                    if (v.getUrnsList().length > 0) deps[k] = v.getUrnsList();
                });
                resources.push({
                    urn: resp.getUrn(), type: r.type, name: r.name, parent: req.getParent() || undefined, provider: r.provider,
                    ...(Object.keys(deps).length > 0 ? { propertyDependencies: deps } : {}), inputs: r.inputs,
                });
            }
            callback(err, resp);
        });

    const program = require(path.join(projectDir, "index.ts"));
    // In preview, outputs built from unknowns never resolve: there is nothing to report.
    const outputs = opts.preview ? {} : ((await resolve({ ...program })) as Record<string, unknown>);
    await (require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();

    const dir = path.join(path.resolve(opts.outDir), opts.stack);
    fs.mkdirSync(dir, { recursive: true });
    const write = (f: string, v: unknown) => fs.writeFileSync(path.join(dir, f), JSON.stringify(v, null, 2) + "\n");
    write("resources.json", resources);
    write("plan.json", plan);
    if (opts.preview) return { stack: opts.stack, dir, plan, resources, outputs };
    write("outputs.json", outputs);
    const kits = path.join(dir, "onboarding");
    fs.rmSync(kits, { recursive: true, force: true });
    fs.mkdirSync(kits);
    for (const kit of onboardingKits(plan, outputs)) {
        fs.writeFileSync(path.join(kits, `${kit.slug}.json`), JSON.stringify(kit.json, null, 2) + "\n");
        fs.writeFileSync(path.join(kits, `${kit.slug}.md`), kit.markdown);
    }
    return { stack: opts.stack, dir, plan, resources, outputs };
}

export function summary(r: SynthResult): string {
    const byType = new Map<string, number>();
    for (const x of r.resources) byType.set(x.type, (byType.get(x.type) ?? 0) + 1);
    const lines = [
        `stage ${r.plan.stage.stage} (${r.plan.stage.production ? "production" : "non-production"}; accepts ${r.plan.stage.acceptedEnvironments.join(", ")})`,
        `partners: ${r.plan.partners.map((p) => p.slug).join(", ") || "none"}` +
            (r.plan.excluded.length ? `; not in this stage: ${r.plan.excluded.map((e) => e.slug).join(", ")}` : ""),
        `${r.resources.length} resources:`,
        ...[...byType.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `  ${String(n).padStart(5)}  ${t}`),
        `written to ${path.relative(process.cwd(), r.dir) || "."}/{resources,plan,outputs}.json and onboarding/<partner>.{md,json}`,
        `peak memory ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
    ];
    return lines.join("\n");
}
