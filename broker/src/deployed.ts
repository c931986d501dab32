/** Shared by the deployed entry points: the routes table beside the bundle and env overrides. */
import * as fs from "node:fs";
import * as path from "node:path";
import { BrokerRoutes, assertRoutes, ROUTES_FILE } from "./routes";

export function loadBundledRoutes(dir: string): BrokerRoutes {
    return assertRoutes(JSON.parse(fs.readFileSync(path.join(dir, ROUTES_FILE), "utf8")));
}

/** Optional override of the upstream timeout (ms) set by the lead's component. */
export const TIMEOUT_ENV = "PARTNER_ACCESS_BROKER_TIMEOUT_MS";

export function timeoutFromEnv(): number | undefined {
    const v = Number(process.env[TIMEOUT_ENV]);
    return Number.isFinite(v) && v > 0 ? v : undefined;
}
