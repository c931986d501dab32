import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { AccessPlan, buildPlan } from "../../components/plan/access-plan";
import { loadAccessPlan } from "../../components/plan/load";
import { checkRegistry, parseRegistry } from "../../components/plan/registry";
import { Problems } from "../../components/plan/problems";
import { loadCheckedPlan } from "../../components/stage-inputs";
import { PROJECT_DIR, stackConfigSource } from "../../tools/stack-config";

export const ROOT = PROJECT_DIR;
export const SAMPLE_REGISTRY = path.join(ROOT, "partners.yaml");
/** The evaluation time of the tests: nothing turns red by itself on a later date. */
export const AT = new Date("2026-12-01T00:00:00Z");

export function sampleRegistryObject(): any {
    return YAML.parse(fs.readFileSync(SAMPLE_REGISTRY, "utf8"));
}

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `partner-access-${prefix}-`));
}

/** A registry object written to a temporary file. */
export function registryFile(registry: unknown, name = "partners.yaml"): string {
    const file = path.join(tempDir("registry"), name);
    fs.writeFileSync(file, typeof registry === "string" ? registry : YAML.stringify(registry));
    return file;
}

/** The plan of a stage for a registry (default: the sample), checked exactly as the program checks it. */
export function planFor(stack: string, registry: unknown = sampleRegistryObject(), at = AT): AccessPlan {
    return loadCheckedPlan(stackConfigSource(stack), { projectDir: ROOT, registryOverride: registryFile(registry), at });
}

/** The plan of a registry held in memory (generated, large), without the stage rules. */
export function rawPlanFor(stack: string, registry: unknown, at = AT): AccessPlan {
    const stage = loadAccessPlan(stackConfigSource(stack), { projectDir: ROOT, at }).stage;
    const reg = typeof registry === "string" ? parseRegistry(registry, "generated.yaml") : checkRegistry(JSON.parse(JSON.stringify(registry)), new Problems("generated.yaml"));
    return buildPlan(reg, stage, at);
}
