#!/usr/bin/env node
// partner-access-proxy: runs the bundled proxy when built (npm run build:proxy),
// otherwise the TypeScript source through ts-node (a checkout with dev dependencies).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const built = path.join(__dirname, "..", "dist", "partner-access-proxy.js");
if (fs.existsSync(built)) {
    require(built);
} else {
    require("ts-node").register({ transpileOnly: true });
    require(path.join(__dirname, "..", "src", "proxy-cli.ts"));
}
