/**
 * Stack configuration as the Pulumi CLI hands it to a program or a policy
 * pack: `Pulumi.<stack>.yaml` values over the `config:` defaults declared in
 * Pulumi.yaml (pkg/workspace/config.go ValidateStackConfigAndApplyProjectConfig),
 * flattened to `namespace:key` -> string, objects and lists as JSON (the
 * PULUMI_CONFIG environment variable; sdk/nodejs/cmd/pulumi-language-nodejs).
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { InputError } from "../components/plan/problems";
import { CONFIG_NAMESPACE, StageConfigSource } from "../components/plan/stage-config";
import { YamlSource } from "../components/plan/yaml-source";

export const PROJECT_DIR = path.resolve(__dirname, "..");

/** Every stage: one `Pulumi.<stage>.yaml` each, nothing else to add for a new one. */
export function listStacks(projectDir = PROJECT_DIR): string[] {
    return fs.readdirSync(projectDir).map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
}

const asConfigString = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

/** Parsed stack files, by path and modification time: tools and tests read them many times per process. */
const parsed = new Map<string, unknown>();
function memo<T>(files: string[], key: string, make: () => T): T {
    const k = `${key}|${files.map((f) => `${f}@${fs.existsSync(f) ? fs.statSync(f).mtimeMs : "-"}`).join("|")}`;
    if (!parsed.has(k)) parsed.set(k, make());
    return parsed.get(k) as T;
}

/** The flat config map the CLI would pass: project defaults first, the stack's values over them. */
export function stackConfigMap(stack: string, projectDir = PROJECT_DIR): Record<string, string> {
    const files = [path.join(projectDir, "Pulumi.yaml"), path.join(projectDir, `Pulumi.${stack}.yaml`)];
    return { ...memo(files, "map", () => readStackConfigMap(stack, projectDir)) };
}

function readStackConfigMap(stack: string, projectDir: string): Record<string, string> {
    const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new InputError([{ file: `Pulumi.${stack}.yaml`, message: `no such stack config (stacks: ${listStacks(projectDir).join(", ")})` }]);
    const project = YAML.parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) ?? {};
    const out: Record<string, string> = {};
    for (const [k, decl] of Object.entries<any>(project.config ?? {})) {
        const key = k.includes(":") ? k : `${project.name}:${k}`;
        if (decl && typeof decl === "object" && "default" in decl) out[key] = asConfigString(decl.default);
        else if (decl !== null && typeof decl !== "object") out[key] = asConfigString(decl);
    }
    const source = new YamlSource(`Pulumi.${stack}.yaml`, fs.readFileSync(file, "utf8"));
    source.problems.throwIfAny();
    for (const [k, v] of Object.entries((source.value as any)?.config ?? {})) out[k] = asConfigString(v);
    return out;
}

/** The stage config source the tools validate, from the same map the program will read. */
export function stackConfigSource(stack: string, projectDir = PROJECT_DIR): StageConfigSource {
    const map = stackConfigMap(stack, projectDir);
    const file = `Pulumi.${stack}.yaml`;
    const yaml = memo([path.join(projectDir, file)], "source", () => new YamlSource(file, fs.readFileSync(path.join(projectDir, file), "utf8")));
    const values = Object.fromEntries(Object.entries(map).filter(([k]) => k.startsWith(`${CONFIG_NAMESPACE}:`)).map(([k, v]) => [k.slice(CONFIG_NAMESPACE.length + 1), v]));
    return { stack, file, values, locate: (key) => yaml.locate(["config", `${CONFIG_NAMESPACE}:${key}`]) };
}
