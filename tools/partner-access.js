#!/usr/bin/env node
// `npx partner-access <command>`: runs tools/cli.ts through ts-node (transpile only; `npm test` type-checks).
require("ts-node").register({ transpileOnly: true, project: require("path").join(__dirname, "..", "tsconfig.json") });
require("./cli.ts").run(process.argv.slice(2));
