/**
 * `npx partner-access <command>`: the one command-line tool. Each command has
 * `--help`; a bad flag prints usage and exits 2 (no stack trace); exit 1 means
 * findings (input problems, access defects, mandatory policy violations); 0
 * means clean.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { formatProblem, githubAnnotation, InputError } from "../components/plan/problems";
import { instant } from "../components/plan/validity";
import { Refusal } from "./access/review-types";
import { stopQuietlyWhenReaderLeaves } from "../client/src/stdio";

/** Exit codes: what CI and people script against. */
export const EXIT = { ok: 0, findings: 1, usage: 2 } as const;

class Findings extends Error {}

const at = () => new Option("--at <time>", "evaluation time: a date or UTC instant (default: now)").argParser((v) => {
    const d = instant(v);
    if (Number.isNaN(d.getTime())) throw new InvalidArgumentError("expected a date (2027-04-01) or a UTC instant (2027-04-01T12:00:00Z)");
    return d;
});
const stackOption = () => new Option("--stack <stack>", "the stage (a Pulumi stack with a Pulumi.<stack>.yaml)").makeOptionMandatory();
const outOption = () => new Option("--out <dir>", "output root; files go to <dir>/<stack>/").default("out");

export function program(): Command {
    const cli = new Command("partner-access")
        .description("Keyless partner access on AWS and GCP: render, check and review a stage offline, and build partner kits.")
        .showHelpAfterError("(run with --help for usage)")
        .exitOverride()
        .configureOutput({ writeErr: (s) => process.stderr.write(s) });

    cli.command("synth")
        .description("Run the program for one stage under Pulumi's mock runtime; write resources, plan, outputs and preview kits.")
        .addOption(stackOption()).addOption(outOption()).addOption(at())
        .option("--registry <file>", "use this registry instead of the stack's registryFile")
        .option("--preview", "play the first `pulumi preview` of a new stack: every id and output unknown")
        .addOption(new Option("--mock-seed <seed>", "seed of values the mock cloud draws at create time (tests)").hideHelp())
        .addOption(new Option("--mock-project-number <n>", "the mock cloud's real project number (tests)").hideHelp())
        .addOption(new Option("--mock-state <dir>", "an earlier synth output (of this stack) whose drawn values existing resources keep (tests)").hideHelp())
        .action(async (o) => (await import("./commands")).synthCommand(o));

    cli.command("policy")
        .description("Run the CrossGuard policy pack over fresh synth output of each stage (all stages by default).")
        .option("--stack <stack...>", "stages to check (default: every Pulumi.<stack>.yaml)").addOption(outOption()).addOption(at())
        .option("--registry <file>", "check the stages rendered from this registry instead of the stack's")
        .action(async (o) => (await import("./commands")).policyCommand(o));

    cli.command("access")
        .description("Effective access matrix of a stage, evaluated on the rendered documents and compared with the plan.")
        .addOption(stackOption()).addOption(outOption()).addOption(at())
        .option("--registry <file>", "review the stage rendered from this registry instead of the stack's")
        .option("--full", "evaluate every identity against every partner's resources (quadratic; default: own grants plus adversarial probes)")
        .action(async (o) => (await import("./commands")).accessCommand(o));

    cli.command("diff")
        .description("What a change does to access, stage by stage (production first), between two synth output roots.")
        .requiredOption("--base <dir>", "synth output root of the base (e.g. the target branch)")
        .requiredOption("--head <dir>", "synth output root of the change")
        .option("--stack <stack...>", "stages to compare (default: every stage either side has)")
        .option("--empty-base", "accept a base with no synth output (it predates synth): every grant is reported as gained")
        .action(async (o) => (await import("./commands")).diffCommand(o));

    cli.command("kits")
        .description("Onboarding kits for each partner of a deployed stage, from its stack outputs.")
        .addOption(stackOption()).addOption(outOption()).addOption(at())
        .option("--outputs <file>", "a saved `pulumi stack output --json` (default: run it)")
        .action(async (o) => (await import("./commands")).kitsCommand(o));

    cli.command("schema")
        .description("Write partners.schema.json, the config block of Pulumi.yaml and README's config table from the input schema.")
        .option("--check", "only check that the committed files are current (exit 1 if not)")
        .action(async (o) => (await import("./commands")).schemaCommand(o));

    cli.command("stages")
        .description("List the stages (one per Pulumi.<stage>.yaml), production ones last, for CI matrices.")
        .option("--json", "print JSON: [{ stack, production }]")
        .action(async (o) => (await import("./commands")).stagesCommand(o));

    cli.command("bench")
        .description("Measure synth and review at generated registry sizes; write out/bench.json.")
        .option("--sizes <list>", "partner counts", "10,100,1000,5000")
        .option("--stack <stack>", "stage config to use", "prod")
        .option("--with-cdk", "also time AWS CDK's synth of the same AWS access beside ours of an AWS-only registry (installs a pinned aws-cdk-lib into node_modules/.cache once)")
        .action(async (o) => (await import("./bench")).benchCommand(o));

    cli.command("expiring")
        .description("Grants that end within N days of --at, and those already ended, across every stage (informs: exit 0).")
        .addOption(new Option("--days <n>", "look this many days ahead").default(30).argParser((v) => {
            if (!/^\d+$/.test(v)) throw new CommanderError(EXIT.usage, "commander.invalidArgument", "a whole number of days, e.g. 30");
            return Number(v);
        }))
        .addOption(at())
        .option("--json", "print JSON: { at, days, stages, expiring: [...], expired: [...] }")
        .action(async (o) => (await import("./expiring")).expiringCommand(o));

    cli.command("access-review")
        .description("Access review for auditors: one row per partner identity and grant of a rendered stage, with granted-since and last-changed from the registry's git history; CSV, Markdown and HTML.")
        .addOption(stackOption()).addOption(outOption()).addOption(at())
        .option("--registry <file>", "review the stage rendered from this registry (its history comes from the repository holding it)")
        .action(async (o) => (await import("./access-review")).accessReviewCommand(o));

    cli.command("proxy-config")
        .description("Config of the local outbound proxy (broker/) for our servers on one cloud, from a deployed stage's outputs.")
        .addOption(stackOption())
        .addOption(new Option("--cloud <cloud>", "where the servers run").choices(["aws", "gcp"]).makeOptionMandatory())
        .option("--outputs <file>", "a saved `pulumi stack output --json` (default: run it)")
        .option("--out <file>", "write the config to this file (default: standard output)")
        .option("--host <host...>", "only these partner hosts (default: every host the stage serves on that cloud)")
        .option("--caller <label>", "a name this machine claims, logged by the broker (unverified on AWS)")
        .action(async (o) => (await import("./proxy-config")).proxyConfigCommand(o));

    return cli;
}

/** Prints input problems as people and GitHub read them. */
export function reportProblems(e: InputError): void {
    for (const p of e.problems) {
        console.error(formatProblem(p));
        if (process.env.GITHUB_ACTIONS === "true") console.log(githubAnnotation(p));
    }
    console.error(`${e.problems.length} problem(s): nothing was rendered.`);
}

export async function main(argv: string[]): Promise<number> {
    try {
        await program().parseAsync(argv, { from: "user" });
        return EXIT.ok;
    } catch (e) {
        if (e instanceof CommanderError) {
            // --help and --version end here too, with exit code 0.
            return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
        }
        if (e instanceof InputError) {
            reportProblems(e);
            return EXIT.findings;
        }
        if (e instanceof Findings || e instanceof Refusal) {
            console.error(`partner-access: ${e.message}`);
            return EXIT.findings;
        }
        throw e;
    }
}

export { Findings };

/** Runs the CLI and exits with its code; an unexpected crash exits 3 with its stack (a bug to report). */
export function run(argv: string[]): void {
    stopQuietlyWhenReaderLeaves(3);
    main(argv).then(exitWhenDrained, (e) => {
        console.error(e?.stack ?? String(e));
        exitWhenDrained(3);
    });
}

/**
 * Exits once stdout and stderr are drained: writes to a pipe are asynchronous
 * in Node, and process.exit() drops what is still queued (a review piped
 * into `tee` or a CI log lost its last 20 KB at 100 partners). A write's
 * callback runs once it and everything queued before it are flushed.
 */
export function exitWhenDrained(code: number): void {
    process.exitCode = code;
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

if (require.main === module) run(process.argv.slice(2));
