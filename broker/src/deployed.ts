/** Shared by the deployed entry points: the routes table beside the bundle and env overrides. */
import * as fs from "node:fs";
import * as path from "node:path";
import { MAX_FORWARD_TIMEOUT_MS } from "./limits";
import { BrokerRoutes, assertRoutes, ROUTES_FILE } from "./routes";

export function loadBundledRoutes(dir: string): BrokerRoutes {
    return assertRoutes(JSON.parse(fs.readFileSync(path.join(dir, ROUTES_FILE), "utf8")));
}

/** Optional override of the forward deadline (ms) set by the lead's component. */
export const TIMEOUT_ENV = "PARTNER_ACCESS_BROKER_TIMEOUT_MS";

/** Capped at MAX_FORWARD_TIMEOUT_MS: the broker must answer before the platform stops it. */
export function timeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
    const v = Number(env[TIMEOUT_ENV]);
    return Number.isFinite(v) && v > 0 ? Math.min(v, MAX_FORWARD_TIMEOUT_MS) : undefined;
}
