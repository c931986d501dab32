/**
 * partner-access-proxy --config /etc/partner-access/proxy.json [--port 3128]
 *
 * Runs the local proxy on 127.0.0.1 and ::1. Config and port may also come
 * from PARTNER_ACCESS_PROXY_CONFIG and PARTNER_ACCESS_PROXY_PORT.
 */
import { DEFAULT_PROXY_PORT, loadProxyConfig, startProxy } from "./proxy";

function usage(message: string): never {
    process.stderr.write(`${message}\nusage: partner-access-proxy --config <proxy.json> [--port <port>]\n`);
    process.exit(2);
}

async function main(argv: string[]): Promise<void> {
    let config = process.env.PARTNER_ACCESS_PROXY_CONFIG;
    let port = process.env.PARTNER_ACCESS_PROXY_PORT ? Number(process.env.PARTNER_ACCESS_PROXY_PORT) : DEFAULT_PROXY_PORT;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--config") config = argv[++i];
        else if (a === "--port") port = Number(argv[++i]);
        else if (a === "--help" || a === "-h") usage("Forward proxy that reaches partner APIs through the partner-access token broker.");
        else usage(`unknown argument ${a}`);
    }
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
