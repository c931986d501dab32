/**
 * `partner-access proxy-config --stack <s> --cloud aws|gcp`: the config file of
 * the local outbound proxy (broker/, `partner-access-proxy --config`) for our
 * servers on one cloud, from the deployed stage's `outbound` stack output.
 * Built with the broker's own `buildProxyConfig`, so the proxy reads exactly
 * what the broker package validates.
 */
import * as fs from "fs";
import * as path from "path";
import { aliasName, BrokerRoutes, buildProxyConfig, ProxyConfig } from "../broker/src";
import { OutboundHostOutput } from "../components/outbound";
import { Findings } from "./cli";
import { readStackOutputs } from "./stack-outputs";

export interface ProxyConfigOptions {
    stack: string;
    cloud: "aws" | "gcp";
    /** A saved `pulumi stack output --json` (default: run it). */
    outputs?: string;
    /** Where to write the config (default: standard output). */
    out?: string;
    /** Only these hosts (default: every host the stage serves on that cloud). */
    host?: string[];
    /** A label this machine claims; the broker logs it (unverified on AWS). */
    caller?: string;
}

/** The proxy config for one cloud from a stage's outputs; throws Findings when the outputs cannot give one. */
export function proxyConfigFromOutputs(outputs: any, o: Pick<ProxyConfigOptions, "stack" | "cloud" | "host" | "caller">): ProxyConfig {
    if (outputs?.stage !== o.stack) throw new Findings(`those outputs are of stage ${JSON.stringify(outputs?.stage)}, not ${o.stack}`);
    const outbound: Record<string, OutboundHostOutput> = outputs.outbound ?? {};
    const served = Object.entries(outbound).filter(([, h]) => h[o.cloud]);
    if (served.length === 0) throw new Findings(`stage ${o.stack} has no outbound host with ${o.cloud.toUpperCase()} callers: there is no broker to configure`);
    const unknown = (o.host ?? []).filter((h) => !served.some(([host]) => host === h.toLowerCase()));
    if (unknown.length > 0) throw new Findings(`not served on ${o.cloud.toUpperCase()} in ${o.stack}: ${unknown.join(", ")} (served: ${served.map(([h]) => h).join(", ")})`);

    const routes: BrokerRoutes = {
        stage: o.stack,
        routes: served.map(([host, h]) => ({ partner: h.partner, host, token: { header: "unused" }, callers: {}, secret: {} })),
    };
    let where: Parameters<typeof buildProxyConfig>[1];
    if (o.cloud === "aws") {
        const arns = [...new Set(served.map(([, h]) => h.aws!.functionArn))];
        if (arns.length !== 1) throw new Findings(`the outputs name ${arns.length} broker functions (${arns.join(", ")}); a stage has one`);
        // The proxy derives each alias from partner and host, as the component named it: check they agree.
        for (const [host, h] of served) {
            if (h.aws!.alias !== aliasName(h.partner, host)) throw new Findings(`${host}: the deployed alias ${h.aws!.alias} is not ${aliasName(h.partner, host)}, the one the proxy would invoke`);
        }
        where = { cloud: "aws", functionArn: arns[0] };
    } else {
        const urls = [...new Set(served.map(([, h]) => h.gcp!.url))];
        if (urls.length !== 1) throw new Findings(`the outputs name ${urls.length} broker URLs (${urls.join(", ")}); a stage has one`);
        where = { cloud: "gcp", url: urls[0] };
    }
    try {
        return buildProxyConfig(routes, where, { hosts: o.host ?? served.map(([host]) => host), caller: o.caller });
    } catch (e) {
        throw new Findings(`the outputs do not make a valid proxy config: ${(e as Error).message}`);
    }
}

export async function proxyConfigCommand(o: ProxyConfigOptions): Promise<void> {
    let config: ProxyConfig;
    try {
        config = proxyConfigFromOutputs(readStackOutputs(o.stack, o.outputs), o);
    } catch (e) {
        // The CLI turns Findings into exit 1 without printing them: say why here.
        if (e instanceof Findings) process.stderr.write(`partner-access: ${e.message}\n`);
        throw e;
    }
    const text = JSON.stringify(config, null, 2) + "\n";
    if (!o.out) {
        process.stdout.write(text);
        return;
    }
    fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
    fs.writeFileSync(o.out, text);
    process.stderr.write(`partner-access: proxy config for ${Object.keys(config.hosts).length} host(s) on ${o.cloud.toUpperCase()} written to ${o.out}\n` +
        `  run: node partner-access-proxy.js --config ${o.out} --port 3128   (broker/README.md, "Our servers: run the proxy")\n`);
}
