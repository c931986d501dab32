/** Secret stores (one per cloud) and the short per-host cache in front of them. */

/**
 * Reads one token. Resolves `undefined` when the slot exists in the design but
 * holds no usable value yet (not created, no enabled version, empty, or the
 * placeholder); rejects on any other failure (access denied, throttled, ...).
 */
export interface SecretStore {
    get(ref: string): Promise<string | undefined>;
}

/**
 * A value that means "not set". The components write no value at all (a
 * Secrets Manager secret and a Secret Manager secret can both exist without
 * one); an operator may still put this to switch a host off without deleting
 * the secret. The broker treats it, an empty value and a whitespace-only value
 * as "not set".
 */
export const TOKEN_PLACEHOLDER = "partner-access:unset";

/** A store's read ran out of its own time bounds (SDK timeout or total): the broker answers 504, not 500. */
export class SecretReadTimeout extends Error {
    override readonly name = "SecretReadTimeout";
}

export function usableToken(value: string | undefined | null): string | undefined {
    if (value === undefined || value === null) return undefined;
    const trimmed = value.trim();
    if (!trimmed || trimmed === TOKEN_PLACEHOLDER) return undefined;
    return trimmed;
}

interface Entry {
    value: string;
    expires: number;
}

/**
 * Caches tokens for `ttlMs` per secret ref and shares one in-flight fetch per
 * ref. Missing values and failures are not cached, so a token set by an
 * operator is used on the next request.
 */
export class SecretCache {
    private readonly entries = new Map<string, Entry>();
    private readonly inflight = new Map<string, Promise<string | undefined>>();

    constructor(
        private readonly store: SecretStore,
        private readonly ttlMs: number,
        private readonly now: () => number = Date.now,
    ) {}

    async get(ref: string): Promise<string | undefined> {
        const hit = this.entries.get(ref);
        if (hit && hit.expires > this.now()) return hit.value;
        const pending = this.inflight.get(ref);
        if (pending) return pending;
        const p = (async () => {
            try {
                const value = usableToken(await this.store.get(ref));
                if (value === undefined) this.entries.delete(ref);
                else this.entries.set(ref, { value, expires: this.now() + this.ttlMs });
                return value;
            } finally {
                this.inflight.delete(ref);
            }
        })();
        this.inflight.set(ref, p);
        return p;
    }
}
