/**
 * partner-access-proxy --config /etc/partner-access/proxy.json [--port 3128]
 *
 * Runs the local proxy on 127.0.0.1 and ::1. Config and port may also come
 * from PARTNER_ACCESS_PROXY_CONFIG and PARTNER_ACCESS_PROXY_PORT.
 */
import { parseArgs } from "node:util";
import { DEFAULT_PROXY_PORT, loadProxyConfig, startProxy } from "./proxy";

const USAGE = "usage: partner-access-proxy --config <proxy.json> [--port <port>]\n";

function usage(message: string): never {
    process.stderr.write(`${message}\n${USAGE}`);
    process.exit(2);
}

async function main(argv: string[]): Promise<void> {
    let values: { config?: string; port?: string; help?: boolean };
    try {
        // Node's own parser (util.parseArgs): the bundled proxy carries no CLI library.
        ({ values } = parseArgs({ args: argv, options: { config: { type: "string" }, port: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true }));
    } catch (err) {
        usage((err as Error).message);
    }
    if (values.help) {
        process.stdout.write(`Forward proxy that reaches partner APIs through the partner-access token broker (loopback only).\n${USAGE}`);
        return;
    }
    const config = values.config ?? process.env.PARTNER_ACCESS_PROXY_CONFIG;
    const portText = values.port ?? process.env.PARTNER_ACCESS_PROXY_PORT;
    const port = portText !== undefined ? Number(portText) : DEFAULT_PROXY_PORT;
    if (!config) usage("--config is required");
    if (!Number.isInteger(port) || port < 0 || port > 65535) usage("--port must be a port number");
    const proxy = await startProxy(loadProxyConfig(config), { port });
    process.stderr.write(`partner-access-proxy listening on ${proxy.addresses.map((a) => `http://${a}`).join(", ")}\n`);
    const stop = () => void proxy.close().then(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`partner-access-proxy: ${(err as Error).message}\n`);
    process.exit(1);
});
