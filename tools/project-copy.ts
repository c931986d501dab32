/**
 * A scratch copy of the project: the files git tracks, as they are in the
 * work tree, with this checkout's installed dependencies linked in (the
 * program bundles the broker, so broker/node_modules too). For runs that
 * need a stage file of their own without touching the checkout: the test of
 * a third stage, the benchmark with AWS's largest role quota.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "./stack-config";

export function copyProject(dest: string, from = PROJECT_DIR): void {
    const ls = spawnSync("git", ["ls-files", "-z"], { cwd: from, encoding: "utf8" });
    if (ls.status !== 0) throw new Error(`git ls-files in ${from} (the project must be a git checkout): ${ls.stderr}`);
    for (const f of ls.stdout.split("\0").filter(Boolean)) {
        if (!fs.existsSync(path.join(from, f))) continue; // deleted in the work tree
        fs.mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
        fs.copyFileSync(path.join(from, f), path.join(dest, f));
    }
    for (const modules of ["node_modules", path.join("broker", "node_modules"), path.join("policy-pack", "node_modules")]) {
        if (fs.existsSync(path.join(from, modules))) fs.symlinkSync(path.join(from, modules), path.join(dest, modules), "dir");
    }
}
