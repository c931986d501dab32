/**
 * Deterministic bundles for deployment. The lead's Pulumi component puts
 * `files` into a pulumi.asset.AssetArchive (one StringAsset per file) and may
 * use `sha256` to name/trigger the deployment.
 *
 * Same source, same lockfile and same routes → byte-identical files: esbuild
 * with fixed options, paths in comments relative to broker/, no source map,
 * no legal comments, no timestamps.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildSync } from "esbuild";
import { assertRoutes, BrokerRoutes, ROUTES_FILE } from "./routes";

export type Target = "aws" | "gcp";

export interface Bundle {
    /** File name → content, e.g. `index.js`, `routes.json` (GCP also `package.json`). */
    files: Record<string, string>;
    /** sha256 (hex) over every file name and content, in name order. */
    sha256: string;
}

/** Lambda: runtime and handler for the AWS bundle. */
export const LAMBDA_RUNTIME = "nodejs22.x";
export const LAMBDA_HANDLER = "index.handler";
/** Cloud Run functions gen2: runtime and entry point for the GCP bundle. */
export const GCP_RUNTIME = "nodejs22";
export const GCP_ENTRY_POINT = "forward";

export interface BundleOptions {
    /** The broker/ folder; found from this file's location by default. */
    brokerDir?: string;
}

/** broker/: the nearest folder above this file whose package.json is @partner-access/broker. */
export function findBrokerDir(from: string = __dirname): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        const pkg = path.join(dir, "package.json");
        if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "@partner-access/broker") return dir;
        if (path.dirname(dir) === dir) throw new Error(`no @partner-access/broker package.json above ${from}; pass brokerDir`);
    }
}

function build(brokerDir: string, entry: string, target: string, banner?: string): string {
    const result = buildSync({
        absWorkingDir: brokerDir,
        entryPoints: [`src/${entry}`],
        outfile: "index.js",
        bundle: true,
        write: false,
        platform: "node",
        target,
        format: "cjs",
        minify: false,
        legalComments: "none",
        sourcemap: false,
        charset: "utf8",
        logLevel: "silent",
        ...(banner ? { banner: { js: banner } } : {}),
    });
    if (result.outputFiles.length !== 1) throw new Error(`esbuild produced ${result.outputFiles.length} files for ${entry}`);
    return result.outputFiles[0].text;
}

export function hashFiles(files: Record<string, string>): string {
    const h = createHash("sha256");
    for (const name of Object.keys(files).sort()) {
        h.update(`${name}\0${Buffer.byteLength(files[name], "utf8")}\0`);
        h.update(files[name], "utf8");
    }
    return h.digest("hex");
}

/** The deployable broker for one cloud, with the routes table beside it. */
export function bundleBroker(target: Target, routes: BrokerRoutes, opts: BundleOptions = {}): Bundle {
    if (target !== "aws" && target !== "gcp") throw new Error(`unknown target ${String(target)}`);
    assertRoutes(routes);
    const dir = opts.brokerDir ?? findBrokerDir();
    const files: Record<string, string> = {
        "index.js": build(dir, `entry-${target}.ts`, "node22"),
        [ROUTES_FILE]: JSON.stringify(routes, null, 2) + "\n",
    };
    if (target === "gcp") {
        // No dependencies: everything is in index.js. The Cloud Run functions
        // build adds the Functions Framework, which calls `forward`.
        files["package.json"] =
            JSON.stringify({ name: "partner-access-broker", version: "1.0.0", private: true, main: "index.js", scripts: { start: "node index.js" }, engines: { node: ">=22" } }, null, 2) + "\n";
    }
    return { files, sha256: hashFiles(files) };
}

/** The local proxy as one executable file (`node partner-access-proxy.js --config ...`). */
export const PROXY_FILE = "partner-access-proxy.js";

export function bundleProxy(opts: BundleOptions = {}): Bundle {
    const dir = opts.brokerDir ?? findBrokerDir();
    const files = { [PROXY_FILE]: build(dir, "proxy-cli.ts", "node20", "#!/usr/bin/env node") };
    return { files, sha256: hashFiles(files) };
}
