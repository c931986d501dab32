/**
 * What the Pulumi CLI tells a policy pack about the stack it checks. The
 * Node.js language host starts the pack with its working directory set to the
 * pack's folder and passes the stack in the environment: PULUMI_NODEJS_STACK,
 * PULUMI_NODEJS_PROJECT and PULUMI_CONFIG (JSON, "namespace:key" -> string),
 * pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs/main.go (PolicyProxy,
 * RunPlugin). Nothing gives the pack the project's directory, so it looks for
 * the project (Pulumi.yaml with this project's name) where it can be: beside
 * the pack (`--policy-pack policy-pack`), PARTNER_ACCESS_PROJECT_DIR, or the
 * directory the CLI was run from (an organisation-enabled pack runs from
 * ~/.pulumi/policies/...).
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export interface StackContext {
    stack?: string;
    project?: string;
    /** `namespace:key` -> value as the CLI passes it (objects and lists as JSON). */
    config: Record<string, string>;
}

export function stackContext(env: NodeJS.ProcessEnv = process.env): StackContext {
    let config: Record<string, string> = {};
    try {
        const raw = JSON.parse(env.PULUMI_CONFIG ?? "{}") as Record<string, string>;
        // The host may write program config keys as "ns:config:key"; the SDK reads both forms.
        config = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.replace(/^([^:]+):config:/, "$1:"), v]));
    } catch {
        config = {};
    }
    return { stack: env.PULUMI_NODEJS_STACK, project: env.PULUMI_NODEJS_PROJECT, config };
}

/** Project names by Pulumi.yaml path and modification time: rules ask for every resource. */
const projectNames = new Map<string, string | undefined>();

function isProject(dir: string, project?: string): boolean {
    const file = path.join(dir, "Pulumi.yaml");
    if (!fs.existsSync(file)) return false;
    if (!project) return true;
    const key = `${file}@${fs.statSync(file).mtimeMs}`;
    if (!projectNames.has(key)) {
        try {
            projectNames.set(key, YAML.parse(fs.readFileSync(file, "utf8"))?.name);
        } catch {
            projectNames.set(key, undefined);
        }
    }
    return projectNames.get(key) === project;
}

const ancestors = (dir: string) => dir.split(path.sep).map((_, i, parts) => parts.slice(0, parts.length - i).join(path.sep) || path.sep);

/** The project directory, or undefined with the places looked at. */
export function findProjectDir(ctx: StackContext, env: NodeJS.ProcessEnv = process.env, packDir = path.resolve(__dirname, "..")): { dir?: string; searched: string[] } {
    const candidates = [
        ...(env.PARTNER_ACCESS_PROJECT_DIR ? [path.resolve(env.PARTNER_ACCESS_PROJECT_DIR)] : []),
        path.dirname(packDir),
        path.dirname(process.cwd()),
        ...(env.PWD ? ancestors(path.resolve(env.PWD)) : []),
    ];
    const searched = [...new Set(candidates)];
    return { dir: searched.find((d) => isProject(d, ctx.project)), searched };
}
