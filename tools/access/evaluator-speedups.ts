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

/** The options Intl.Collator reads (ECMA-402, Intl.Collator constructor); any other property is ignored by it. */
const COLLATOR_OPTIONS = ["usage", "localeMatcher", "collation", "numeric", "caseFirst", "sensitivity", "ignorePunctuation"] as const;

/**
 * The cache key of a call, or undefined when the call is not one whose
 * collator is certainly the same as another's: then the built-in answers it.
 * Only plain strings, a locale given as one non-empty string (or none), and
 * options that are a plain object of own data properties with primitive
 * values (strings, booleans, numbers); each option keyed
 * with its type, since `numeric: "false"` and `numeric: false` differ
 * (and as text, since NaN and Infinity do too).
 */
function cacheKey(self: unknown, that: unknown, locales: unknown, options: unknown): string | undefined {
    if (typeof self !== "string" || typeof that !== "string") return undefined;
    if (locales !== undefined && (typeof locales !== "string" || locales === "")) return undefined;
    if (options === undefined) return JSON.stringify([locales ?? null]);
    if (typeof options !== "object" || options === null || Object.getPrototypeOf(options) !== Object.prototype) return undefined;
    const props = Object.getOwnPropertyDescriptors(options);
    if (Object.values(props).some((d) => !("value" in d))) return undefined; // a getter may answer differently each time
    // Objects convert through their own toString (two may print alike); symbols cannot convert.
    if (COLLATOR_OPTIONS.some((k) => k in props && !["string", "boolean", "number", "undefined"].includes(typeof props[k].value))) return undefined;
    return JSON.stringify([locales ?? null, ...COLLATOR_OPTIONS.map((k) => (k in props ? [typeof props[k].value, String(props[k].value)] : null))]);
}

function localeCompare(this: string, that: string, locales?: string | string[], options?: Intl.CollatorOptions): number {
    const key = cacheKey(this, that, locales, options);
    if (key === undefined) return builtin.call(this, that, locales, options);
    let collator = collators.get(key);
    if (!collator) {
        if (collators.size > 1_000) collators.clear();
        collators.set(key, (collator = new Intl.Collator(locales, options)));
    }
    return collator.compare(this, that);
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
