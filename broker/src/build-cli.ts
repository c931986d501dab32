/**
 * Writes bundles to disk (for inspection, or for servers that run the proxy):
 *   build-cli proxy <outDir>
 *   build-cli broker <aws|gcp> <routes.json> <outDir>
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Bundle, bundleBroker, bundleProxy, PROXY_FILE } from "./bundle";

function write(bundle: Bundle, outDir: string): void {
    fs.mkdirSync(outDir, { recursive: true });
    for (const [name, content] of Object.entries(bundle.files)) {
        fs.writeFileSync(path.join(outDir, name), content, { mode: name === PROXY_FILE ? 0o755 : 0o644 });
    }
    process.stdout.write(`${Object.keys(bundle.files).map((f) => path.join(outDir, f)).join("\n")}\nsha256 ${bundle.sha256}\n`);
}

const [what, ...rest] = process.argv.slice(2);
if (what === "proxy" && rest.length === 1) write(bundleProxy(), rest[0]);
else if (what === "broker" && rest.length === 3 && (rest[0] === "aws" || rest[0] === "gcp")) write(bundleBroker(rest[0], JSON.parse(fs.readFileSync(rest[1], "utf8"))), rest[2]);
else {
    process.stderr.write("usage: build-cli proxy <outDir> | build-cli broker <aws|gcp> <routes.json> <outDir>\n");
    process.exit(2);
}
