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
    /** Reuse a bundle made earlier from the same inputs (default true); false always runs esbuild. */
    cache?: boolean;
}

/** broker/: the nearest folder above this file whose package.json is @partner-access/broker. */
export function findBrokerDir(from: string = __dirname): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        const pkg = path.join(dir, "package.json");
        if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, "utf8")).name === "@partner-access/broker") return dir;
        if (path.dirname(dir) === dir) throw new Error(`no @partner-access/broker package.json above ${from}; pass brokerDir`);
    }
}

/** Every file a bundle is made from: the sources, the lockfile (which pins every dependency), the bundler. */
function inputsDigest(brokerDir: string): string {
    const h = createHash("sha256");
    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])).sort();
    for (const f of [...walk(path.join(brokerDir, "src")), path.join(brokerDir, "package-lock.json")]) {
        h.update(`${path.relative(brokerDir, f)}\0`).update(fs.readFileSync(f)).update("\0");
    }
    return h.update(require("esbuild/package.json").version).digest("hex");
}

/**
 * Builds once per content: the same inputs give byte-identical output (a
 * tested property), so a bundle made earlier from the same sources, lockfile
 * and esbuild is reused from node_modules/.cache (never committed, per install).
 */
function build(brokerDir: string, entry: string, target: string, banner?: string, cache = true): string {
    if (!cache) return buildUncached(brokerDir, entry, target, banner);
    const key = createHash("sha256").update(JSON.stringify([inputsDigest(brokerDir), entry, target, banner ?? ""])).digest("hex");
    const cached = path.join(brokerDir, "node_modules", ".cache", "partner-access-bundles", `${key}.js`);
    if (fs.existsSync(cached)) return fs.readFileSync(cached, "utf8");
    const text = buildUncached(brokerDir, entry, target, banner);
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    // Written aside, then renamed: a concurrent build never reads half a file.
    const partial = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(partial, text);
    fs.renameSync(partial, cached);
    return text;
}

function buildUncached(brokerDir: string, entry: string, target: string, banner?: string): string {
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
        "index.js": build(dir, `entry-${target}.ts`, "node22", undefined, opts.cache),
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
