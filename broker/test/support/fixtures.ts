import { ResolvedAddress } from "../../src/address-guard";
import { BrokerOptions } from "../../src/core";
import { RequestEnvelope } from "../../src/envelope";
import { CLOUD_RUN_LIMITS, LAMBDA_LIMITS } from "../../src/limits";
import { BrokerRoutes } from "../../src/routes";
import { SecretStore } from "../../src/secrets";

export const ACCOUNT = "111111111111";
export const FUNCTION_ARN = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:partner-access-broker-stag`;

export const TOKENS = {
    "api.partner.test": "tok-header-5b1f0c7e9a",
    "bearer.partner.test": "tok-bearer-8d2a44c1f0",
    "query.partner.test": "tok-query-3e9b7f21aa",
    "slow.partner.test": "tok-slow-77c0de12ab",
    "internal.partner.test": "tok-internal-0f0f0f0f",
    localhost: "tok-localhost-1a2b3c4d",
} as const;

export const ORDERS_ROLE = `arn:aws:iam::${ACCOUNT}:role/orders-sync`;
export const ORDERS_SA = "orders-sync@proj.iam.gserviceaccount.com";
export const BILLING_SA = "billing@proj.iam.gserviceaccount.com";

function route(partner: string, host: keyof typeof TOKENS, token: BrokerRoutes["routes"][number]["token"], gcp: string[] = [ORDERS_SA]) {
    return {
        partner,
        host,
        token,
        callers: { aws: [ORDERS_ROLE], gcp },
        secret: { aws: `partner-access/stag/outbound/${partner}/${host}`, gcp: `projects/proj/secrets/partner-access-stag-outbound-${partner}-${host.replace(/\./g, "-")}` },
    };
}

export const ROUTES: BrokerRoutes = {
    stage: "stag",
    routes: [
        route("acme-logistics", "api.partner.test", { header: "X-Api-Key" }),
        route("bearer-co", "bearer.partner.test", { header: "Authorization", scheme: "Bearer" }, [BILLING_SA]),
        route("query-co", "query.partner.test", { query: "api_key" }),
        route("slow-co", "slow.partner.test", { header: "X-Api-Key" }),
        route("internal-co", "internal.partner.test", { header: "X-Api-Key" }),
        route("local-co", "localhost", { header: "X-Api-Key" }),
    ],
};

/** Every partner host of the fixtures resolves to the test server on 127.0.0.1. */
export const loopbackResolver = async (host: string): Promise<ResolvedAddress[]> => {
    if (host.endsWith(".partner.test") || host === "localhost") return [{ address: "127.0.0.1", family: 4 }];
    throw Object.assign(new Error(`no such host ${host}`), { code: "ENOTFOUND" });
};

/** The test's explicit exception to the SSRF guard: 127.0.0.1 only. */
export const allowTestLoopback = (address: string) => address === "127.0.0.1";

export function req(url: string, init: Partial<RequestEnvelope> = {}): RequestEnvelope {
    return { v: 1, method: "GET", url, headers: {}, ...init };
}

export function decode(body?: string): string {
    return body ? Buffer.from(body, "base64").toString("utf8") : "";
}

/** An unsigned JWT with the given claims (Cloud Run verified the real one before the container sees it). */
export function fakeIdToken(claims: Record<string, unknown>): string {
    const b = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    return `${b({ alg: "RS256", typ: "JWT" })}.${b({ aud: "https://broker.example", iss: "https://accounts.google.com", ...claims })}.c2lnbmF0dXJl`;
}

/** Everything any broker/proxy logger or the process printed during the run. */
export const everything: string[] = [];

for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        everything.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
        return write(chunk, ...rest);
    }) as typeof stream.write;
}

/** Every token value of the fixtures (and any other secret a test registers). */
export const SECRET_VALUES: string[] = [...Object.values(TOKENS)];

export function leakedSecrets(): string[] {
    const text = everything.join("\n");
    return SECRET_VALUES.filter((t) => text.includes(t) || text.includes(encodeURIComponent(t)) || text.includes(Buffer.from(t).toString("base64")));
}

/** Collects a broker's or proxy's log lines (and keeps them for the leak check). */
export class LogCapture {
    readonly lines: string[] = [];
    readonly log = (line: string) => {
        this.lines.push(line);
        everything.push(line);
    };
    parsed(): Record<string, unknown>[] {
        return this.lines.map((l) => JSON.parse(l));
    }
}

/** A broker as the tests run it: the cloud's payload limits, loopback-only resolution, the test CA and upstream port. */
export function testBrokerOptions(cloud: "aws" | "gcp", secrets: SecretStore, wiring: { ca: string; upstreamPort: number; log: (line: string) => void }): BrokerOptions {
    return {
        routes: ROUTES, cloud, secrets, limits: cloud === "aws" ? LAMBDA_LIMITS : CLOUD_RUN_LIMITS,
        resolve: loopbackResolver, addressAllowed: allowTestLoopback, tls: { ca: wiring.ca }, upstreamPort: wiring.upstreamPort, log: wiring.log,
    };
}
