/**
 * Synth variants several test files need, made by child processes started
 * once in the global setup and run in the background (two at a time) while
 * the tests that do not need them run: Pulumi's runtime is process-global,
 * so every synth is a process, and these are the suite's main cost.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as YAML from "yaml";
import * as fs from "fs";
import * as path from "path";
import { SynthOutput, readSynthOutput } from "../../tools/access/synth-output";
import { AT, ROOT, registryFile, sampleRegistryObject, tempDir } from "./fixtures";

/** A git repository of its own (no global or system config: no signing, hooks or templates of this machine). */
function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
    const r = spawnSync("git", args, {
        cwd, encoding: "utf8",
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_TERMINAL_PROMPT: "0", ...env },
    });
    assert.equal(r.status, 0, `git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
}

interface Commit {
    sha: string;
    date: string;
}

/**
 * The registry's history in a temporary repository: an old version that does
 * not match today's schema (version 1, no `environments`; Globex without GCP,
 * Acme without POST /orders nor its prod service account, no Umbrella), a
 * commit that broke the YAML, then today's sample. Initech never changes.
 */
function makeRegistryRepo(): { file: string; commits: { alice: Commit; bob: Commit; carol: Commit } } {
    const dir = tempDir("registry-repo");
    const file = path.join(dir, "partners.yaml");
    git(dir, ["init", "-q", "-b", "main"]);
    const commit = (name: string, date: string, text: string, message: string): Commit => {
        fs.writeFileSync(file, text);
        git(dir, ["add", "partners.yaml"]);
        git(dir, ["commit", "-q", "--no-verify", "-m", message], {
            GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: `${name.toLowerCase()}@example.org`, GIT_AUTHOR_DATE: date,
            GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: `${name.toLowerCase()}@example.org`, GIT_COMMITTER_DATE: date,
        });
        return { sha: git(dir, ["rev-parse", "HEAD"]), date: new Date(date).toISOString().replace(/\.000Z$/, "Z") };
    };
    const old = sampleRegistryObject();
    old.version = 1;
    delete old.environments;
    delete old.retired;
    old.partners = old.partners.filter((p: any) => p.slug !== "umbrella");
    const acme = old.partners.find((p: any) => p.slug === "acme-logistics");
    acme.aws.api = acme.aws.api.filter((r: string) => r !== "POST /orders");
    delete acme.identities.prod.gcp;
    delete old.partners.find((p: any) => p.slug === "globex").gcp;
    const alice = commit("Alice", "2026-01-10T09:00:00Z", YAML.stringify(old), "Registry as imported");
    const bob = commit("Bob", "2026-03-01T09:00:00Z", "partners: [\n  - slug: acme-logistics\n    name: {broken\n", "WIP (broken YAML)");
    const carol = commit("Carol", "2026-06-01T09:00:00Z", fs.readFileSync(path.join(ROOT, "partners.yaml"), "utf8"), "Acme: POST /orders and its prod service account; Globex on GCP; Umbrella");
    return { file, commits: { alice, bob, carol } };
}


let repo: ReturnType<typeof makeRegistryRepo> | undefined;
/** The registry's history repository (made once for the suite). */
export const registryRepo = () => (repo ??= makeRegistryRepo());

interface Variant {
    stack: string;
    registry?: () => unknown;
    /** A registry file as it is (not a copy). */
    registryPath?: () => string;
    args?: string[];
    /** A variant whose drawn values this one continues from (as a later `pulumi up` of the same stack would). */
    after?: string;
}

const withoutPutRoute = () => {
    const reg = sampleRegistryObject();
    reg.api.routes = reg.api.routes.filter((r: string) => r !== "PUT /invoices/{invoiceId}");
    return reg;
};
const withoutGcp = () => {
    const reg = sampleRegistryObject();
    for (const p of reg.partners) p.gcp = { files: "none", api: [] };
    return reg;
};
const diffHead = () => {
    const reg = sampleRegistryObject();
    const partner = (slug: string) => reg.partners.find((p: any) => p.slug === slug);
    reg.partners[0].aws.files = "read"; // acme loses writes on AWS
    reg.partners.push({ slug: "hooli-two", name: "Hooli Two", contact: "it@hooli.example", identities: { prod: { aws: ["arn:aws:iam::777777777777:role/hooli-reader"] } }, aws: { files: "read" } });
    // Forms the pack must accept as rendered: a partner's prod and stag identities in one AWS account (globex, direct:
    // the prod trust names the account's root pinned to the prod role), and a federated IAM user with a path (acme).
    partner("globex").identities.stag.aws = ["arn:aws:iam::333333333334:role/exchange/globex-stag"];
    partner("acme-logistics").identities.prod.aws.push("arn:aws:iam::210987654322:user/ci/acme-uploader");
    return reg;
};

export const GLOBEX = "api.globex.example";
export const INITECH = "api.initech.example";
const sa = (name: string, stage: string) => `${name}@example-partner-${stage}.iam.gserviceaccount.com`;
/** The sample registry with two more outbound hosts: globex (Bearer, both clouds) and initech (query, GCP only in stag). */
export function threeHostRegistry(): any {
    const reg = sampleRegistryObject();
    const partner = (slug: string) => reg.partners.find((p: any) => p.slug === slug);
    partner("globex").outbound = [{
        host: GLOBEX, token: { header: "Authorization", scheme: "Bearer" },
        callers: { stag: { aws: ["arn:aws:iam::111111111111:role/billing-sync"], gcp: [sa("billing-sync", "stag")] }, prod: { aws: ["arn:aws:iam::222222222222:role/billing-sync"] } },
    }];
    partner("initech").outbound = [{
        host: INITECH, token: { query: "api_key" },
        callers: { stag: { gcp: [sa("reports", "stag")] }, prod: { aws: ["arn:aws:iam::222222222222:role/reports"] } },
    }];
    return reg;
}

export const VARIANTS: Record<string, Variant> = {
    /**
     * Who has access after both sample expiries (acme's GCP grant 2027-09-30, initech 2027-12-31)? Rendered
     * from the history repository's registry (today's sample), so the access review reads that history.
     */
    at2028: { stack: "prod", registryPath: () => registryRepo().file, args: ["--at", "2028-01-01T00:00:00Z"] },
    /** The first preview of a new stack: every id unknown. */
    preview: { stack: "prod", args: ["--preview"] },
    /** A project whose real number is not the one configured: refused at deploy time. */
    mismatch: { stack: "prod", args: ["--mock-project-number", "999999999"] },
    /** The next deploy after a route left the catalogue. */
    routeRemoved: { stack: "prod", registry: withoutPutRoute, after: "prod" },
    /** Every GCP grant removed, then all back within a month. */
    withoutGcp: { stack: "prod", registry: withoutGcp, args: ["--mock-seed", "deploy-2"], after: "prod" },
    backAgain: { stack: "prod", registry: sampleRegistryObject, args: ["--mock-seed", "deploy-3"], after: "withoutGcp" },
    /** A pull request's head: acme reads only on AWS, a new partner. */
    diffHead: { stack: "prod", registry: diffHead },
    /** Three outbound hosts in stag. */
    threeHosts: { stack: "stag", registry: threeHostRegistry },
    /** Who has access on 2027-04-01 (before every sample expiry)? */
    at20270401: { stack: "prod", args: ["--at", "2027-04-01T00:00:00Z"] },
};

export interface VariantRun {
    status: number | null;
    stderr: string;
    /** The output root (`<dir>/<stack>/...`). */
    dir: string;
    output?: SynthOutput;
}

const runs = new Map<string, Promise<VariantRun>>();
let slots = 2;
const waiting: (() => void)[] = [];
const acquire = () => new Promise<void>((resolve) => (slots > 0 ? (slots--, resolve()) : waiting.push(resolve)));
const release = () => (waiting.length > 0 ? waiting.shift()!() : slots++);

function synthProcess(stack: string, args: string[]): Promise<VariantRun> {
    const out = tempDir("variant");
    return new Promise((resolve) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "tools", "cli.ts"), "synth", "--stack", stack, "--out", out,
            ...(args.includes("--at") ? [] : ["--at", AT.toISOString()]), ...args], {
            cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" }, stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.on("exit", (status) => {
            let output: SynthOutput | undefined;
            try {
                // A preview writes no outputs: its resources and plan are what it has.
                output = status !== 0 ? undefined : args.includes("--preview")
                    ? { dir: path.join(out, stack), resources: JSON.parse(fs.readFileSync(path.join(out, stack, "resources.json"), "utf8")), plan: JSON.parse(fs.readFileSync(path.join(out, stack, "plan.json"), "utf8")), outputs: {} }
                    : readSynthOutput(path.join(out, stack));
            } catch (e) {
                stderr += `\n${e}`;
            }
            resolve({ status, stderr, dir: out, output });
        });
    });
}

/** The base synths of the sample stages (made first, in the global setup). */
export function baseDir(stack: string): string {
    const shared = process.env.PARTNER_ACCESS_TEST_SYNTH;
    if (!shared) throw new Error("the global setup has not made the sample synths");
    return path.join(shared, stack);
}

function start(name: string): Promise<VariantRun> {
    const hit = runs.get(name);
    if (hit) return hit;
    const v = VARIANTS[name];
    if (!v) throw new Error(`no synth variant ${name}`);
    const run = (async () => {
        const previous = v.after === "prod" || v.after === "stag" ? baseDir(v.after) : v.after ? path.join((await start(v.after)).dir, v.stack) : undefined;
        await acquire();
        try {
            const registry = v.registryPath?.() ?? (v.registry && registryFile(v.registry()));
            return await synthProcess(v.stack, [...(registry ? ["--registry", registry] : []), ...(previous ? ["--mock-state", previous] : []), ...(v.args ?? [])]);
        } finally {
            release();
        }
    })();
    runs.set(name, run);
    return run;
}

/** Starts every variant in the background (the global setup calls this). */
export function startVariants(): void {
    for (const name of Object.keys(VARIANTS)) void start(name);
}

/** A variant's synth output, once made (failing if its synth failed). */
export async function variant(name: string): Promise<SynthOutput> {
    const r = await start(name);
    if (!r.output) throw new Error(`synth variant ${name} failed (${r.status}):\n${r.stderr}`);
    return r.output;
}

/** A variant's run as it ended (for those expected to fail). */
export const variantRun = (name: string): Promise<VariantRun> => start(name);


