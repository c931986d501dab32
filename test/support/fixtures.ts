import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { AccessPlan, buildPlan } from "../../components/plan/access-plan";
import { Problems } from "../../components/plan/problems";
import { parseRegistry } from "../../components/plan/registry";
import { StageConfig, parseStageConfig } from "../../components/plan/stage-config";
import { rawStageConfig } from "../../components/stage-inputs";
import { readStackConfig } from "../../tools/synth";

export const ROOT = path.resolve(__dirname, "..", "..");
export const SAMPLE_REGISTRY = path.join(ROOT, "partners.yaml");

export function sampleRegistryObject(): any {
    return YAML.parse(fs.readFileSync(SAMPLE_REGISTRY, "utf8"));
}

export function stageConfig(stack: string): StageConfig {
    const problems = new Problems(`Pulumi.${stack}.yaml`);
    const c = parseStageConfig(rawStageConfig(readStackConfig(ROOT, stack)), problems);
    problems.throwIfAny();
    return c;
}

export function planFor(stack: string, registry: unknown = sampleRegistryObject()): AccessPlan {
    return buildPlan(parseRegistry(YAML.stringify(registry), "partners.yaml"), stageConfig(stack));
}

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), `partner-access-${prefix}-`));
}
