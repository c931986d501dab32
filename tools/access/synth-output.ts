/** Reading what `npm run synth` wrote for one stack. */
import * as fs from "fs";
import * as path from "path";
import { AccessPlan } from "../../components/plan/access-plan";
import { SynthResource } from "../synth";

/** Inputs are arbitrary provider JSON: readers index into them freely. */
export type Resource = Omit<SynthResource, "inputs"> & { inputs: any };

export interface SynthOutput {
    dir: string;
    resources: Resource[];
    plan: AccessPlan;
    outputs: any;
}

export function readSynthOutput(dir: string): SynthOutput {
    const read = (f: string) => {
        const file = path.join(dir, f);
        if (!fs.existsSync(file)) throw new Error(`${file} not found: run \`npm run synth -- --stack ${path.basename(dir)} --out ${path.dirname(dir)}\` first`);
        return JSON.parse(fs.readFileSync(file, "utf8"));
    };
    return { dir, resources: read("resources.json"), plan: read("plan.json"), outputs: read("outputs.json") };
}

export function ofType(s: SynthOutput, type: string): Resource[] {
    return s.resources.filter((r) => r.type === type);
}

export function one(s: SynthOutput, type: string, name?: string): Resource {
    const hits = ofType(s, type).filter((r) => !name || r.name === name);
    if (hits.length !== 1) throw new Error(`expected one ${type} ${name ?? ""}, found ${hits.length}`);
    return hits[0];
}

/** A policy input given as a JSON string or an object. */
export function doc(value: unknown): any {
    return typeof value === "string" ? JSON.parse(value) : value;
}
