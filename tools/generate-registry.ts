/**
 * Generates a registry of N fictional partners mixing every option, for scale
 * tests and the benchmark. Deterministic for a given (count, seed).
 */
import * as YAML from "yaml";

export interface GenerateOptions {
    count: number;
    seed?: number;
    /** Every how-many-th partner connects `direct` (their principals sit in shared resource policies). */
    directEvery?: number;
    /** At most this many `direct` partners (the API resource policy's 8,192 characters hold about 15). */
    maxDirect?: number;
}

function rng(seed: number): () => number {
    let s = seed >>> 0 || 1;
    return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

export const GENERATED_ROUTES = ["GET /catalog", "GET /orders", "POST /orders", "GET /orders/{orderId}", "GET /orders/{orderId}/items", "GET /invoices/{invoiceId}", "PUT /invoices/{invoiceId}"];
const FILES = ["none", "read", "write", "read-write"];

export function generateRegistry(o: GenerateOptions): Record<string, unknown> {
    const rand = rng(o.seed ?? 42);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    // `direct` partners share the bucket and API resource policies (8,192 characters for the API): a few per cent at most.
    const directEvery = o.directEvery ?? 100;
    const maxDirect = o.maxDirect ?? (o.directEvery ? Infinity : 12);
    let direct = 0;
    const partners = [];
    for (let i = 0; i < o.count; i++) {
        const slug = `partner-${String(i).padStart(5, "0")}`;
        const account = (n: number) => String(100000000000 + i * 10 + n);
        const uid = (n: number) => String(10n ** 20n + BigInt(i * 10 + n));
        const env = (name: string, n: number) => ({
            aws: rand() < 0.1 ? [`arn:aws:iam::${account(n)}:user/${slug}-${name}`] : [`arn:aws:iam::${account(n)}:role/${slug}-${name}`],
            gcp: [{ email: `${slug.replace(/-/g, "")}-${name}@${slug}-${name}.iam.gserviceaccount.com`, ...(rand() < 0.5 ? { uniqueId: uid(n) } : {}) }],
        });
        const api = () => pick<unknown>(["all", [], [pick(GENERATED_ROUTES)], ["GET /orders/*"], ["* /invoices/*", "GET /catalog"]]);
        const isDirect = i % directEvery === directEvery - 1 && direct < maxDirect;
        if (isDirect) direct++;
        const window = rand() < 0.2 ? { expires: `${2027 + (i % 3)}-0${1 + (i % 9)}-15` } : {};
        partners.push({
            slug,
            name: `Partner ${i}`,
            contact: `ops@${slug}.example`,
            ...window,
            identities: { dev: env("dev", 1), stag: env("stag", 2), prod: env("prod", 3) },
            aws: {
                connect: isDirect ? "direct" : "assume-role",
                ...(i % 3 === 0 && !isDirect ? { externalId: `${slug}-ext` } : {}),
                files: pick(FILES),
                api: api(),
            },
            gcp: { files: pick(FILES), api: api() },
            ...(i % 50 === 7 ? { outbound: [{ host: `api.${slug}.example`, token: { header: "X-Api-Key" }, callers: { prod: { aws: ["arn:aws:iam::222222222222:role/orders-sync"] }, stag: { aws: ["arn:aws:iam::111111111111:role/orders-sync"] } } }] } : {}),
        });
    }
    return {
        version: 2,
        environments: { dev: { production: false }, stag: { production: false }, prod: { production: true } },
        api: { routes: GENERATED_ROUTES },
        partners,
    };
}

export function generateRegistryYaml(o: GenerateOptions): string {
    return YAML.stringify(generateRegistry(o));
}
