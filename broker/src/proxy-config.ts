/** The proxy config file `{ stage, cloud, hosts }`: types, validation, and a builder for the lead's CLI. */
import * as fs from "node:fs";
import { isIP } from "node:net";
import { classifyAddress } from "./address-guard";
import { aliasName, BrokerRoutes, normalizeHost } from "./routes";

/** Where one host's broker lives. AWS: functionArn (unqualified) + alias. GCP: url of the Cloud Run service. */
export interface HostTarget {
    functionArn?: string;
    alias?: string;
    url?: string;
}

/** The proxy config file the lead's CLI writes from stack outputs. */
export interface ProxyConfig {
    stage: string;
    cloud: "aws" | "gcp";
    hosts: Record<string, HostTarget>;
    /** Optional label this machine claims (logged by the broker as unverified on AWS). */
    caller?: string;
}

const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}$/;
const ALIAS = /^(?!\d+$)[A-Za-z0-9_-]{1,128}$/;

/** Validates a parsed config file; throws one Error listing every problem. */
export function parseProxyConfig(raw: unknown): ProxyConfig {
    const problems: string[] = [];
    const c = (raw ?? {}) as Partial<ProxyConfig>;
    if (typeof c.stage !== "string" || !c.stage) problems.push("stage must be a non-empty string");
    if (c.cloud !== "aws" && c.cloud !== "gcp") problems.push('cloud must be "aws" or "gcp"');
    if (c.caller !== undefined && typeof c.caller !== "string") problems.push("caller must be a string");
    const hosts: Record<string, HostTarget> = {};
    if (typeof c.hosts !== "object" || c.hosts === null) problems.push("hosts must be an object");
    else {
        for (const [name, t] of Object.entries(c.hosts)) {
            const host = normalizeHost(name);
            const target = (t ?? {}) as HostTarget;
            if (c.cloud === "aws") {
                if (!FUNCTION_ARN.test(target.functionArn ?? "")) problems.push(`hosts["${name}"].functionArn must be an unqualified Lambda function ARN`);
                if (!ALIAS.test(target.alias ?? "")) problems.push(`hosts["${name}"].alias must be a Lambda alias name`);
            } else if (c.cloud === "gcp") {
                let ok = false;
                try {
                    const u = new URL(target.url ?? "");
                    ok = u.protocol === "https:" || (u.protocol === "http:" && isLoopbackHost(u.hostname));
                } catch {
                    ok = false;
                }
                if (!ok) problems.push(`hosts["${name}"].url must be the https:// URL of the Cloud Run broker`);
            }
            hosts[host] = target;
        }
    }
    if (problems.length) throw new Error(`invalid proxy config:\n  ${problems.join("\n  ")}`);
    return { stage: c.stage!, cloud: c.cloud!, hosts, ...(c.caller ? { caller: c.caller } : {}) };
}

export function loadProxyConfig(file: string): ProxyConfig {
    return parseProxyConfig(JSON.parse(fs.readFileSync(file, "utf8")));
}

function isLoopbackHost(host: string): boolean {
    const bare = host.replace(/^\[|\]$/g, "");
    return isIP(bare) ? classifyAddress(bare).range === "loopback" : bare === "localhost";
}

/**
 * The config a machine's proxy needs, from the routes table and the stack
 * outputs: AWS `{ functionArn }` (unqualified; aliases follow aliasName), GCP
 * `{ url }` of the Cloud Run service. `hosts` limits it to the hosts this
 * machine calls (default: every host whose callers list `caller`, or all).
 */
export function buildProxyConfig(
    routes: BrokerRoutes,
    where: { cloud: "aws"; functionArn: string } | { cloud: "gcp"; url: string },
    opts: { hosts?: string[]; caller?: string } = {},
): ProxyConfig {
    const hosts: Record<string, HostTarget> = {};
    for (const r of routes.routes) {
        if (opts.hosts && !opts.hosts.map(normalizeHost).includes(normalizeHost(r.host))) continue;
        if (!opts.hosts && opts.caller && !(r.callers[where.cloud] ?? []).includes(opts.caller)) continue;
        hosts[normalizeHost(r.host)] = where.cloud === "aws" ? { functionArn: where.functionArn, alias: aliasName(r.partner, r.host) } : { url: where.url };
    }
    return parseProxyConfig({ stage: routes.stage, cloud: where.cloud, hosts, ...(opts.caller ? { caller: opts.caller } : {}) });
}
