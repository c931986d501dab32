/**
 * Offline synth: runs the real program (`index.ts` with a stack's config, as
 * the CLI hands it) under Pulumi's mock runtime, with no cloud and no CLI, and
 * captures every registered resource with its inputs as the provider would
 * receive them.
 *
 * One stack per process: Pulumi's runtime is process-global.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../components/plan/access-plan";
import { loadCheckedPlan } from "../components/stage-inputs";
import { cloudMocks } from "./mocks";
import { previewKits, writeKits } from "./kits";
import { PROJECT_DIR, stackConfigMap, stackConfigSource } from "./stack-config";
import { MOCKED_OUTPUTS, inputDigest } from "./synth-manifest";

export interface SynthOptions {
    stack: string;
    /** Registry file that replaces the stack's `registryFile` (absolute). */
    registry?: string;
    /** Output root; files go to `<outDir>/<stack>/`. */
    outDir: string;
    /** Evaluation time (default: now). */
    at: Date;
    /**
     * Like the first `pulumi preview` of a new stack: every id and computed
     * output is unknown. Writes resources.json (unknowns as UNKNOWN) and
     * plan.json only: there are no outputs to report.
     */
    preview?: boolean;
    /**
     * The mock cloud's answers (tests): its real project number, the seed of
     * values drawn at create time, and a previous synth output whose drawn
     * values resources that already exist keep (as Pulumi keeps their state).
     */
    mockCloud?: { projectNumber?: string; seed?: string; stateFrom?: string };
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

// --- outbound broker: assets and archives (their contents are promises, which JSON would drop) ---
/** Files up to this size (and JSON files, such as a bundled routes.json, of any size) are recorded with their text; others by sha256 and size. */
const ASSET_TEXT_MAX_BYTES = 64 * 1024;

/**
 * Replaces each asset with `{ $asset: { sha256, bytes, text? } }` (or `{ $asset: { path | uri } }`)
 * and each archive with `{ $archive: { <name>: ... } }`, so resources.json shows what the
 * engine would upload (e.g. the broker's code and its routes.json) and a change to it.
 */
export async function recordAssets(v: any, keepText = false): Promise<unknown> {
    if (pulumi.asset.Asset.isInstance(v)) {
        const a = v as unknown as { text?: Promise<string>; path?: Promise<string>; uri?: Promise<string> };
        if (a.text) {
            const text = await a.text;
            const bytes = Buffer.byteLength(text, "utf8");
            return { $asset: { sha256: sha256(text), bytes, ...(keepText || bytes <= ASSET_TEXT_MAX_BYTES ? { text } : {}) } };
        }
        return { $asset: a.path ? { path: await a.path } : { uri: await a.uri } };
    }
    if (pulumi.asset.Archive.isInstance(v)) {
        const a = v as unknown as { assets?: Promise<Record<string, unknown>>; path?: Promise<string>; uri?: Promise<string> };
        if (a.assets) {
            const assets = await a.assets;
            const out: Record<string, unknown> = {};
            for (const name of Object.keys(assets).sort()) out[name] = await recordAssets(assets[name], name.endsWith(".json"));
            return { $archive: out };
        }
        return { $archive: a.path ? { path: await a.path } : { uri: await a.uri } };
    }
    if (Array.isArray(v)) return Promise.all(v.map((x) => recordAssets(x)));
    if (v && typeof v === "object" && !pulumi.isUnknown(v)) {
        return Object.fromEntries(await Promise.all(Object.entries(v).map(async ([k, x]) => [k, await recordAssets(x)])));
    }
    return v;
}
// --- end outbound broker ---

export interface SynthResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    /** Provider reference (`<provider urn>::<id>`) the resource is registered with. */
    provider?: string;
    /** Input property -> URNs of the resources its value came from (known even while the value is not). */
    propertyDependencies?: Record<string, string[]>;
    /** Resources it was told to wait for (dependsOn) and those its inputs come from. */
    dependencies?: string[];
    /** Resource options that change what the engine does on delete. */
    options?: { protect?: boolean; retainOnDelete?: boolean; deleteBeforeReplace?: boolean };
    inputs: Record<string, unknown>;
}

export interface SynthResult {
    stack: string;
    dir: string;
    plan: AccessPlan;
    resources: SynthResource[];
    outputs: Record<string, unknown>;
}

/** Resolves a value holding Outputs to plain JSON. */
function resolve<T>(value: T): Promise<unknown> {
    return new Promise((res) => pulumi.output(value).apply((v) => { res(v); return v; }));
}

export async function synth(opts: SynthOptions): Promise<SynthResult> {
    const config = stackConfigMap(opts.stack);
    if (opts.registry) config["partner-access:registryFile"] = opts.registry;
    // Validate first, exactly as the program will: bad input fails before the runtime starts.
    const plan = loadCheckedPlan(stackConfigSource(opts.stack), { projectDir: PROJECT_DIR, registryOverride: opts.registry, at: opts.at });
    process.env.PARTNER_ACCESS_AT = opts.at.toISOString();

    pulumi.runtime.setAllConfig(config);
    const registered = new Map<string, Omit<SynthResource, "urn" | "parent">>();
    const resources: SynthResource[] = [];
    // Preview of a new stack: the cloud has answered nothing yet, so every id and output is unknown.
    const previous = opts.mockCloud?.stateFrom ? JSON.parse(fs.readFileSync(path.join(opts.mockCloud.stateFrom, "drawn.json"), "utf8")) : {};
    const drawn: Record<string, unknown> = {};
    const cloud = cloudMocks({
        accountId: plan.stage.aws.accountId, region: plan.stage.aws.region, project: plan.stage.gcp.project,
        projectNumber: opts.mockCloud?.projectNumber ?? plan.stage.gcp.projectNumber, seed: opts.mockCloud?.seed ?? "first-deploy",
    }, previous, drawn);
    const mocks: pulumi.runtime.Mocks = opts.preview ? { call: cloud.call, newResource: () => ({ id: "", state: {} }) } : cloud;
    await pulumi.runtime.setMocks({
        call: mocks.call,
        async newResource(args) {
            const inputs = markUnknowns(await recordAssets(args.inputs)) as Record<string, unknown>;
            registered.set(`${args.type}::${args.name}`, { type: args.type, name: args.name, provider: args.provider || undefined, inputs });
            return mocks.newResource(args);
        },
    }, "partner-access", opts.stack, !!opts.preview);

    // The mock monitor does not pass parent, dependencies or options to newResource: read them off the request.
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
                const options = { protect: req.getProtect() || undefined, retainOnDelete: req.getRetainondelete() || undefined, deleteBeforeReplace: req.getDeletebeforereplace() || undefined };
                resources.push({
                    urn: resp.getUrn(), type: r.type, name: r.name, parent: req.getParent() || undefined, provider: r.provider,
                    ...(Object.keys(deps).length > 0 ? { propertyDependencies: deps } : {}),
                    ...(req.getDependenciesList().length > 0 ? { dependencies: req.getDependenciesList() } : {}),
                    ...(Object.values(options).some(Boolean) ? { options: JSON.parse(JSON.stringify(options)) } : {}),
                    inputs: r.inputs,
                });
            }
            callback(err, resp);
        });

    const program = require(path.join(PROJECT_DIR, "index.ts"));
    // In preview, outputs built from unknowns never resolve: there is nothing to report.
    const outputs = opts.preview ? {} : ((await resolve({ ...program })) as Record<string, unknown>);
    await (require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();

    const dir = path.join(path.resolve(opts.outDir), opts.stack);
    fs.mkdirSync(dir, { recursive: true });
    const write = (f: string, v: unknown) => fs.writeFileSync(path.join(dir, f), JSON.stringify(v, null, 2) + "\n");
    write("resources.json", resources);
    write("plan.json", plan);
    write("manifest.json", { stack: opts.stack, evaluatedAt: opts.at.toISOString(), preview: !!opts.preview, inputs: inputDigest(opts.stack, opts.registry) });
    write("drawn.json", drawn);
    if (!opts.preview) {
        write("outputs.json", { ...outputs, [MOCKED_OUTPUTS]: "an offline synth's outputs: every id is mocked; kits and proxy configs come from `pulumi stack output --json`" });
        // Mocked ids: kits for reading only, marked as previews; the kits sent to partners come from the deployed stack.
        writeKits(path.join(dir, "preview-kits"), previewKits(outputs as any, opts.stack, opts.at));
    }
    return { stack: opts.stack, dir, plan, resources, outputs };
}

export function summary(r: SynthResult): string {
    const byType = new Map<string, number>();
    for (const x of r.resources) byType.set(x.type, (byType.get(x.type) ?? 0) + 1);
    const lines = [
        `stage ${r.plan.stage.stage} (${r.plan.stage.production ? "production" : "non-production"}; accepts ${r.plan.stage.acceptedEnvironments.join(", ")}; evaluated at ${r.plan.evaluatedAt})`,
        `partners: ${r.plan.partners.map((p) => p.slug).join(", ") || "none"}` +
            (r.plan.excluded.length ? `; not in this stage: ${r.plan.excluded.map((e) => e.slug).join(", ")}` : ""),
        `${r.resources.length} resources:`,
        ...[...byType.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => `  ${String(n).padStart(5)}  ${t}`),
        `written to ${path.relative(process.cwd(), r.dir) || "."}/{resources,plan,outputs,manifest}.json and preview-kits/ (mocked ids: previews, never send them)`,
        `peak memory ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
    ];
    return lines.join("\n");
}

export const sha256 = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");
