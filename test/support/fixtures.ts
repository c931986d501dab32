import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { AccessPlan, buildPlan } from "../../components/plan/access-plan";
import { parseRegistry } from "../../components/plan/registry";
import { StageConfig } from "../../components/plan/stage-config";
import { readStageConfig } from "../../tools/synth";

export const ROOT = path.resolve(__dirname, "..", "..");
export const SAMPLE_REGISTRY = path.join(ROOT, "partners.yaml");

export function sampleRegistryObject(): any {
    return YAML.parse(fs.readFileSync(SAMPLE_REGISTRY, "utf8"));
}

export function stageConfig(stack: string): StageConfig {
    return readStageConfig(ROOT, stack);
}

export function planFor(stack: string, registry: unknown = sampleRegistryObject()): AccessPlan {
    return buildPlan(parseRegistry(YAML.stringify(registry), "partners.yaml"), stageConfig(stack));
}

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `partner-access-${prefix}-`));
}
