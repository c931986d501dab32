/**
 * Runs a TypeBox schema through ajv (the validator the JSON Schema file is
 * written for) and turns its errors into problems with file, line, partner and
 * field. Messages come from the schema's `errorMessage`s, so the program and
 * an editor using partners.schema.json say the same thing.
 */
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import ajvErrors from "ajv-errors";
import { TSchema } from "@sinclair/typebox";
import { Problems } from "./problems";

const ajv = ajvErrors(new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true }));
const compiled = new WeakMap<TSchema, ValidateFunction>();

function validator(schema: TSchema): ValidateFunction {
    let v = compiled.get(schema);
    if (!v) compiled.set(schema, (v = ajv.compile(schema)));
    return v;
}

/** Whether a value is valid, reporting nothing. */
export function isValid(schema: TSchema, value: unknown): boolean {
    return validator(schema)(value) === true;
}

/** Where a problem belongs: the partner it concerns and the path its field is named by. */
export type Attribution = (path: (string | number)[]) => { partner?: string; field: (string | number)[] };

/** Adds a problem for each schema violation; true when the value is valid. */
export function checkSchema(schema: TSchema, value: unknown, problems: Problems, attribute: Attribution = (path) => ({ field: path })): boolean {
    const validate = validator(schema);
    if (validate(value)) return true;
    for (const e of relevant(validate.errors ?? [])) {
        const path = toPath(e.instancePath, value);
        let message = e.message ?? "is invalid";
        if (e.keyword === "additionalProperties") {
            const key = e.params.additionalProperty as string;
            path.push(key);
            const allowed = Object.keys(e.parentSchema?.properties ?? {});
            message = allowed.length > 0 ? `unknown field "${key}" (allowed: ${allowed.join(", ")})` : `"${key}" is not allowed here`;
        } else if (e.keyword === "required") {
            path.push(e.params.missingProperty as string);
            message = "is required";
        } else if (e.keyword === "errorMessage") {
            const inner = (e.params.errors as ErrorObject[])[0];
            if (inner?.keyword === "additionalProperties") path.push(inner.params.additionalProperty as string);
        }
        const { partner, field } = attribute(path);
        problems.add(message, path, partner, dottedOrUndefined(field));
    }
    return false;
}

const dottedOrUndefined = (field: (string | number)[]) =>
    field.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("") || undefined;

/**
 * ajv reports a failed `if` beside the error of its `then`, and the branches of
 * an `anyOf`/`oneOf` beside the message that replaced it: keep what a reader
 * acts on.
 */
function relevant(errors: ErrorObject[]): ErrorObject[] {
    const replaced = errors.filter((e) => e.keyword === "errorMessage").flatMap((e) => (e.params.errors as ErrorObject[]))
        .filter((e) => e.keyword === "anyOf" || e.keyword === "oneOf").map((e) => e.schemaPath);
    return errors.filter((e) => e.keyword !== "if" && !replaced.some((p) => e.schemaPath.startsWith(p + "/")));
}

/** JSON pointer -> keys and indexes (indexes where the value is a list). */
function toPath(pointer: string, value: unknown): (string | number)[] {
    const path: (string | number)[] = [];
    let node: any = value;
    for (const raw of pointer.split("/").slice(1)) {
        const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
        const k = Array.isArray(node) ? Number(key) : key;
        path.push(k);
        node = node?.[k];
    }
    return path;
}
