/**
 * Two exact speed-ups of the IAM evaluator (@cloud-copilot/iam-simulate), which
 * spent three quarters of the review's time at 1,000 partners on them:
 *
 * - `String.prototype.localeCompare(that, locales, options)` is specified as
 *   constructing `Intl.Collator(locales, options)` and comparing with it
 *   (ECMA-402, sec-string.prototype.localecompare). V8 builds that collator on
 *   every call (about 8 µs); the evaluator compares ARNs character by character
 *   this way. The same collator, built once per (locales, options), gives the
 *   same answers by that definition.
 * - `getResourceTypesForAction(service, action, resource)` is a pure function of
 *   its arguments and the bundled IAM data (which resource type an ARN is, by
 *   automaton intersection, twice per request). The route probes ask it the
 *   same questions for every partner; it answers each once. Its callers only
 *   read the result.
 *
 * Installed in each process or worker that runs the evaluator. If a release of
 * the evaluator moves a function, that speed-up is skipped, nothing else.
 */
import * as path from "path";

const builtin = String.prototype.localeCompare;
const collators = new Map<string, Intl.Collator>();

function cacheKey(locales: unknown, options: unknown): string | undefined {
    if (locales !== undefined && typeof locales !== "string") return undefined;
    let key = `${locales ?? ""}|`;
    if (options === undefined) return key;
    if (typeof options !== "object" || options === null || Object.getPrototypeOf(options) !== Object.prototype) return undefined;
    for (const k in options) {
        const v = (options as Record<string, unknown>)[k];
        if (v !== undefined && typeof v !== "string" && typeof v !== "boolean" && typeof v !== "number") return undefined;
        key += `${k}=${String(v)};`;
    }
    return key;
}

function localeCompare(this: string, that: string, locales?: string | string[], options?: Intl.CollatorOptions): number {
    const key = cacheKey(locales, options);
    if (key === undefined) return builtin.call(this, that, locales, options);
    let collator = collators.get(key);
    if (!collator) collators.set(key, (collator = new Intl.Collator(locales, options)));
    return collator.compare(String(this), String(that));
}

/** A module of the evaluator by its path inside the package, or undefined if a release moved it. */
function evaluatorModule<T>(...file: string[]): (T & { memoized?: boolean }) | undefined {
    try {
        return require(path.join(path.dirname(require.resolve("@cloud-copilot/iam-simulate")), ...file));
    } catch {
        return undefined;
    }
}

function memoizeResourceTypes(): void {
    const mod = evaluatorModule<{ getResourceTypesForAction?: (...a: string[]) => Promise<unknown> }>("simulation_engine", "resourceTypes.js");
    if (!mod) return;
    const original = mod.getResourceTypesForAction;
    if (typeof original !== "function" || mod.memoized) return;
    const answers = new Map<string, Promise<unknown>>();
    mod.getResourceTypesForAction = (service: string, action: string, resource: string) => {
        const key = `${service}\u0000${action}\u0000${resource}`;
        let answer = answers.get(key);
        if (!answer) {
            if (answers.size > 100_000) answers.clear();
            answers.set(key, (answer = original(service, action, resource)));
            answer.catch(() => answers.delete(key));
        }
        return answer;
    };
    mod.memoized = true;
}

let installed = false;

/** Installs both, once per process or worker thread (each has its own module registry). */
export function speedUpEvaluator(): void {
    if (installed) return;
    installed = true;
    String.prototype.localeCompare = localeCompare;
    memoizeResourceTypes();
}

/** The built-in, for tests comparing the two. */
export const builtinLocaleCompare = builtin;
