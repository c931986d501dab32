/**
 * Files generated from the one definition of the inputs (components/plan/
 * schema.ts and stage-config.ts): `partners.schema.json` for editors, and the
 * typed `config:` block of `Pulumi.yaml` the CLI checks stack config against.
 * `partner-access schema` writes them; `--check` (and a test) fails when a
 * committed file is stale.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { registryJsonSchema } from "../components/plan/schema";
import { pulumiProjectConfig } from "../components/plan/stage-config";
import { PROJECT_DIR } from "./stack-config";

export interface GeneratedFile {
    file: string;
    content: string;
}

export function generatedFiles(projectDir = PROJECT_DIR): GeneratedFile[] {
    const project = YAML.parse(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8"));
    const pulumiYaml = new YAML.Document({
        name: project.name,
        description: project.description,
        runtime: project.runtime,
        config: Object.fromEntries(Object.entries(pulumiProjectConfig()).map(([k, v]) => [k.split(":")[1], v])),
    });
    pulumiYaml.commentBefore = " The stage config keys are declared below with type, description and default, so\n" +
        " `pulumi config` and `pulumi up` check them. Generated from components/plan/stage-config.ts\n" +
        " by `npx partner-access schema`: edit the schema there, not this block.";
    return [
        { file: "partners.schema.json", content: JSON.stringify(registryJsonSchema(), null, 2) + "\n" },
        { file: "Pulumi.yaml", content: pulumiYaml.toString({ lineWidth: 0 }) },
    ];
}

/** Files whose committed content differs from what the schema gives. */
export function staleFiles(projectDir = PROJECT_DIR): string[] {
    return generatedFiles(projectDir).filter((g) => {
        const f = path.join(projectDir, g.file);
        return !fs.existsSync(f) || fs.readFileSync(f, "utf8") !== g.content;
    }).map((g) => g.file);
}

export function writeGeneratedFiles(projectDir = PROJECT_DIR): string[] {
    const stale = staleFiles(projectDir);
    for (const g of generatedFiles(projectDir)) if (stale.includes(g.file)) fs.writeFileSync(path.join(projectDir, g.file), g.content);
    return stale;
}
