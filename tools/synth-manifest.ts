/**
 * What a synth output was made from. Review tools compare it with the inputs
 * in front of them and never read stale output silently: they re-synth, or
 * refuse output that does not match the registry, config and program it
 * claims to come from.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { evaluationTime, windowsDiffer } from "../components/plan/validity";
import { PROJECT_DIR, stackConfigMap } from "./stack-config";

export interface InputDigest {
    /** The registry file the output was made from (absolute), and its content digest. */
    registryPath: string;
    registry: string;
    stackConfig: string;
    projectConfig: string;
    program: string;
}

/**
 * The key synth adds to the outputs it writes (never a program output): kits
 * and proxy configs are refused from such outputs, whose ids are mocked.
 */
export const MOCKED_OUTPUTS = "partnerAccessMockedOutputs";

export interface Manifest {
    stack: string;
    evaluatedAt: string;
    preview: boolean;
    inputs: InputDigest;
}

const sha = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");

function files(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory() ? files(p) : e.name.endsWith(".ts") ? [p] : [];
    }).sort();
}

/** Digest of the program, its config and the registry, as they are now in `projectDir`. */
export function inputDigest(stack: string, registryOverride?: string, projectDir = PROJECT_DIR): InputDigest {
    const config = stackConfigMap(stack, projectDir);
    const registry = path.resolve(projectDir, registryOverride ?? config["partner-access:registryFile"] ?? "partners.yaml");
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f) : Buffer.from(""));
    const program = [path.join(projectDir, "index.ts"), ...files(path.join(projectDir, "components")),
        // components/ import the identity rules and rendered forms the pack defines (policy-pack/policies/rendered.ts, ...).
        ...files(path.join(projectDir, "policy-pack", "policies")),
        // The outbound token broker is bundled at synth time: its source and lockfile are program too.
        ...files(path.join(projectDir, "broker", "src")), path.join(projectDir, "broker", "package-lock.json")];
    return {
        registryPath: registry,
        registry: sha(read(registry)),
        stackConfig: sha(read(path.join(projectDir, `Pulumi.${stack}.yaml`))),
        projectConfig: sha(read(path.join(projectDir, "Pulumi.yaml"))),
        program: sha(program.map((f) => sha(read(f))).join("\n")),
    };
}

/**
 * The stack config an output was rendered with, as the Pulumi CLI would hand it to the policy pack:
 * the stack's, with the registry the output was made from (`--registry` replaces `registryFile`).
 */
export function configRenderedWith(stack: string, dir: string, projectDir = PROJECT_DIR): Record<string, string> {
    const config = stackConfigMap(stack, projectDir);
    const registry = readManifest(dir)?.inputs.registryPath;
    if (registry) config["partner-access:registryFile"] = registry;
    return config;
}

export function readManifest(dir: string): Manifest | undefined {
    const file = path.join(dir, "manifest.json");
    return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : undefined;
}

/**
 * Why the synth output in `dir` is not what the current inputs give, or
 * undefined when it is. The registry compared is `registry`, or the stack's
 * configured one; with `asClaimed`, the one the output says it came from.
 */
export function staleness(dir: string, stack: string, opts: { registry?: string; asClaimed?: boolean; at?: Date; projectDir?: string } = {}): string | undefined {
    const m = readManifest(dir);
    if (!m) return `${dir} has no manifest.json (not written by this version's synth)`;
    if (m.preview) return `${dir} is a --preview synth (unknown values): review needs a full synth`;
    const now = inputDigest(stack, opts.registry ?? (opts.asClaimed ? m.inputs.registryPath : undefined), opts.projectDir);
    const changed = (Object.keys(now) as (keyof InputDigest)[]).filter((k) => m.inputs[k] !== now[k]);
    if (changed.length > 0) return `${dir} was made from other inputs (${changed.join(", ")} changed since)`;
    if (opts.at && new Date(m.evaluatedAt).getTime() !== opts.at.getTime()) return `${dir} was evaluated at ${m.evaluatedAt}, not ${opts.at.toISOString()}`;
    if (!opts.at) {
        // No time asked: now. Output made at another time still holds if no grant window opened or closed in between.
        const now = evaluationTime();
        const registry = fs.existsSync(m.inputs.registryPath) ? YAML.parse(fs.readFileSync(m.inputs.registryPath, "utf8")) : undefined;
        if (windowsDiffer(registry, new Date(m.evaluatedAt), now)) return `${dir} was evaluated at ${m.evaluatedAt}, and a grant window opened or closed since`;
    }
    return undefined;
}
