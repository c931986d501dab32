/**
 * The stage config as the Pulumi program reads it: through `pulumi.Config`,
 * one typed getter per key of the schema. Line numbers come from the stack's
 * file when the key is written there (config may also come from Pulumi.yaml
 * defaults or an ESC environment).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, STAGE_CONFIG_KEYS, StageConfigSchema, StageConfigSource } from "./plan/stage-config";
import { YamlSource } from "./plan/yaml-source";

export function programConfigSource(projectDir: string): StageConfigSource {
    const stack = pulumi.getStack();
    const file = `Pulumi.${stack}.yaml`;
    const config = new pulumi.Config(CONFIG_NAMESPACE);
    const values: Record<string, unknown> = {};
    const props = StageConfigSchema.properties as Record<string, { type?: string }>;
    for (const key of STAGE_CONFIG_KEYS) {
        const type = props[key].type;
        try {
            const v = type === "integer" ? config.getNumber(key) : type === "boolean" ? config.getBoolean(key) : type === "array" ? config.getObject(key) : config.get(key);
            if (v !== undefined) values[key] = v;
        } catch {
            values[key] = config.get(key); // not of its type: the schema says what is wrong
        }
    }
    // Keys no schema property reads (typos, keys of older versions) would be silently ignored: list them.
    for (const full of Object.keys(pulumi.runtime.allConfig())) {
        const [ns, key] = full.split(":");
        if (ns === CONFIG_NAMESPACE && !(key in values) && !STAGE_CONFIG_KEYS.includes(key as never)) values[key] = config.get(key);
    }
    const stackFile = path.join(projectDir, file);
    const yaml = fs.existsSync(stackFile) ? new YamlSource(file, fs.readFileSync(stackFile, "utf8")) : undefined;
    return { stack, file, values, locate: (key) => yaml?.locate(["config", `${CONFIG_NAMESPACE}:${key}`]) };
}
