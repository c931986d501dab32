/**
 * When access is valid. A partner, and each of its cloud grants, may carry
 * `notBefore` and `expires`; the effective window is their intersection. A
 * date means 00:00:00 UTC that day: `expires: 2027-04-01` denies from the
 * first second of 1 April. Renderers put the window where each cloud enforces
 * it by itself (IAM `aws:CurrentTime`, GCS `request.time`); everything that
 * judges access takes the evaluation time as an input, never `Date.now()`.
 */
export interface Window {
    notBefore?: string;
    expires?: string;
}

export function instant(when: string): Date {
    return new Date(when.length === 10 ? `${when}T00:00:00Z` : when);
}

/** ISO form the clouds' conditions take (`2027-04-01T00:00:00Z`). */
export function isoInstant(when: string): string {
    return instant(when).toISOString().replace(/\.000Z$/, "Z");
}

/** The later start and the earlier end of several windows. */
export function intersect(...windows: (Window | undefined)[]): Window {
    const out: Window = {};
    for (const w of windows) {
        if (w?.notBefore && (!out.notBefore || instant(w.notBefore) > instant(out.notBefore))) out.notBefore = w.notBefore;
        if (w?.expires && (!out.expires || instant(w.expires) < instant(out.expires))) out.expires = w.expires;
    }
    return out;
}

export type WindowState = "active" | "not-yet" | "expired";

export function windowState(w: Window, at: Date): WindowState {
    if (w.notBefore && at < instant(w.notBefore)) return "not-yet";
    if (w.expires && at >= instant(w.expires)) return "expired";
    return "active";
}

export const isBounded = (w: Window): boolean => !!(w.notBefore || w.expires);

const WINDOW_FIELDS: readonly (keyof Window)[] = ["notBefore", "expires"];

/** Every instant at which some window of a parsed registry opens or closes: between two of them, every window's state stays the same. */
export function windowBoundaries(registry: unknown): Date[] {
    const out: Date[] = [];
    const walk = (v: unknown): void => {
        if (Array.isArray(v)) return v.forEach(walk);
        if (typeof v !== "object" || v === null) return;
        for (const [k, child] of Object.entries(v)) {
            if ((WINDOW_FIELDS as string[]).includes(k) && (typeof child === "string" || child instanceof Date)) out.push(child instanceof Date ? child : instant(child));
            else walk(child);
        }
    };
    walk(registry);
    return out.filter((d) => !Number.isNaN(d.getTime()));
}

/** True when some window changes state between the two instants: what was judged at one is not what holds at the other. */
export function windowsDiffer(registry: unknown, a: Date, b: Date): boolean {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    // windowState: "not-yet" while at < notBefore, "expired" once at >= expires; a state changes at the boundary itself.
    return windowBoundaries(registry).some((d) => lo < d && d <= hi);
}

/**
 * The evaluation time of a run: now, unless PARTNER_ACCESS_AT pins it (the
 * offline tools and tests do, so nothing turns red by itself on a later date).
 */
export function evaluationTime(env: NodeJS.ProcessEnv = process.env): Date {
    const at = env.PARTNER_ACCESS_AT ? instant(env.PARTNER_ACCESS_AT) : new Date();
    if (Number.isNaN(at.getTime())) throw new Error(`PARTNER_ACCESS_AT=${env.PARTNER_ACCESS_AT} is not a date or instant`);
    return at;
}
