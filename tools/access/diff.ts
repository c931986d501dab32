/**
 * What a pull request changes, stage by stage (production first): access
 * granted and revoked, computed from the effective access matrices of the base
 * and the pull request's synth outputs; resources added, changed and removed;
 * and the policy pack's findings on the pull request.
 */
import * as fs from "fs";
import * as path from "path";
import { Violation, runPoliciesAsCli } from "../policy-run";
import { listStacks } from "../stack-config";
import { configRenderedWith, readManifest, staleness } from "../synth-manifest";
import { Cell, Finding, Matrix, accessMatrix } from "./matrix";
import { Progress, Refusal } from "./review-types";
import { SynthOutput, readSynthOutput } from "./synth-output";

export interface StackDiff {
    stack: string;
    production: boolean;
    gained: string[];
    revoked: string[];
    added: string[];
    removed: string[];
    changed: { urn: string; fields: string[] }[];
    findings: Violation[];
    defects: Cell[];
    /** Documents granting what the plan does not (matrix findings). */
    structural: Finding[];
    /** Grants outside their window at the evaluation time: shown, never defects. */
    outsideWindow: string[];
    /** Resources several partners share whose change touches all of them (blast radius). */
    sharedChanged: string[];
}

/** Resources whose one instance serves every partner of a kind: a change to them reaches beyond one partner. */
const SHARED = new Map([
    ["gcp:endpoints/service:Service", "the Endpoints service configuration (a new rollout for every partner with GCP routes)"],
    ["aws:s3/bucketPolicy:BucketPolicy", "the S3 bucket policy (direct partners, and the guards of every prefix)"],
    ["aws:apigateway/restApi:RestApi", "the REST API definition or resource policy (every partner's routes are redeployed)"],
    ["gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", "a Workload Identity provider (every partner federating from that AWS account)"],
    // outbound token broker: one function per cloud serves every outbound host; a new bundle redeploys it for all
    ["aws:lambda/function:Function", "the AWS outbound token broker (a new version for every outbound host's alias)"],
    ["gcp:cloudfunctionsv2/function:Function", "the GCP outbound token broker (a rebuild serving every outbound host)"],
]);

function stacksIn(root: string): string[] {
    if (!fs.existsSync(root)) return [];
    return fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, "resources.json")));
}

function sentence(stack: string, c: Cell, verb: string): string {
    const [kind, ...rest] = c.resource.split(" ");
    // Outbound token broker: the identity is ours, the host the partner's ("... gains invoke broker for acme's api.acme.example").
    if (kind === "outbound") return `${c.via} ${verb} ${c.action} for ${c.partner}'s ${rest.join(" ")} on ${stack} (${c.cloud.toUpperCase()} token broker)`;
    const what = kind === "files" ? `${c.cloud === "aws" ? "S3" : "GCS"} ${rest.join(" ")}*`
        : kind === "role" ? `${c.cloud.toUpperCase()} role ${rest.join(" ")}`
        : `${c.cloud.toUpperCase()} API ${rest.join(" ")}`;
    return `${c.partner} ${verb} ${c.action} on ${stack} ${what} (as ${c.via})`;
}

const allowedKeys = (m: Matrix | undefined) =>
    new Map((m?.cells ?? []).filter((c) => c.effective === "allowed").map((c) => [`${c.partner}|${c.via}|${c.cloud}|${c.resource}|${c.action}`, c]));

export async function diffStack(stack: string, base: SynthOutput | undefined, pr: SynthOutput | undefined, progress?: Progress): Promise<StackDiff> {
    const [mb, mp] = [base && (await accessMatrix(base, { progress })), pr && (await accessMatrix(pr, { progress }))];
    const [ab, ap] = [allowedKeys(mb), allowedKeys(mp)];
    const byUrn = (s?: SynthOutput) => new Map((s?.resources ?? []).map((r) => [r.urn, r]));
    const [rb, rp] = [byUrn(base), byUrn(pr)];
    const changed: StackDiff["changed"] = [];
    for (const [urn, r] of rp) {
        const old = rb.get(urn);
        if (!old) continue;
        const fields = [...new Set([...Object.keys(old.inputs), ...Object.keys(r.inputs)])]
            .filter((k) => JSON.stringify(old.inputs[k]) !== JSON.stringify(r.inputs[k])).sort();
        if (fields.length > 0) changed.push({ urn, fields });
    }
    return {
        stack,
        production: (pr ?? base)!.plan.stage.production,
        gained: [...ap].filter(([k]) => !ab.has(k)).map(([, c]) => sentence(stack, c, "gains")).sort(),
        revoked: [...ab].filter(([k]) => !ap.has(k)).map(([, c]) => sentence(stack, c, "loses")).sort(),
        added: [...rp.keys()].filter((u) => !rb.has(u)).sort(),
        removed: [...rb.keys()].filter((u) => !rp.has(u)).sort(),
        changed,
        findings: pr ? runPoliciesAsCli(pr.resources, stack, safeConfig(stack, pr.dir)) : [],
        defects: mp?.defects ?? [],
        structural: mp?.findings ?? [],
        outsideWindow: (mp?.cells ?? []).filter((c) => c.window).map((c) => sentence(stack, c, c.window === "expired" ? "has an expired grant of" : "has a not-yet-started grant of")).sort(),
        sharedChanged: [...new Set([...changed.map((c) => c.urn), ...[...rp.keys()].filter((u) => !rb.has(u))].map((u) => rp.get(u)?.type).filter((t): t is string => !!t && SHARED.has(t)))].map((t) => SHARED.get(t)!),
    };
}

function safeConfig(stack: string, dir: string): Record<string, string> {
    try {
        return configRenderedWith(stack, dir);
    } catch {
        return {};
    }
}

/**
 * Diffs every stage either side has. Refuses to compare nothing (a side
 * holding no output at all, or a stage neither side has), output not
 * written by this version's synth, and head output that the current inputs
 * would not give (re-synth it first).
 */
export async function accessDiff(baseRoot: string, prRoot: string, opts: { stacks?: string[]; emptyBase?: boolean; progress?: Progress } = {}): Promise<StackDiff[]> {
    // A side holding nothing (a mistyped folder) would report every grant of the other as gained or lost;
    // only a base that predates synth may, when the caller says so.
    for (const [side, root] of (opts.emptyBase ? [["head", prRoot]] : [["base", baseRoot], ["head", prRoot]]) as ["base" | "head", string][]) {
        if (!fs.existsSync(root)) throw new Refusal(`${side} ${root} does not exist`);
        if (stacksIn(root).length === 0) throw new Refusal(`${side} ${root} holds no synth output: comparing with nothing would report every grant as ${side === "base" ? "gained" : "lost"}`);
    }
    const stacks = opts.stacks ?? [...new Set([...stacksIn(baseRoot), ...stacksIn(prRoot)])];
    const absent = stacks.filter((stack) => !stacksIn(baseRoot).includes(stack) && !stacksIn(prRoot).includes(stack));
    if (absent.length > 0) throw new Refusal(`neither ${baseRoot} nor ${prRoot} holds synth output of ${absent.join(", ")}`);
    const current = new Set(listStacks());
    for (const stack of stacks) {
        for (const [side, root] of [["base", baseRoot], ["head", prRoot]] as const) {
            const dir = path.join(root, stack);
            if (fs.existsSync(path.join(dir, "resources.json")) && !readManifest(dir)) throw new Refusal(`${side} ${dir} has no manifest.json: re-synth it with this version`);
        }
        const head = path.join(prRoot, stack);
        if (current.has(stack) && fs.existsSync(path.join(head, "resources.json"))) {
            const why = staleness(head, stack, { asClaimed: true });
            if (why) throw new Refusal(`head output is stale: ${why}; run \`npx partner-access synth --stack ${stack} --out ${prRoot}\` first`);
        }
    }
    const read = (root: string, stack: string) => (fs.existsSync(path.join(root, stack, "resources.json")) ? readSynthOutput(path.join(root, stack)) : undefined);
    const diffs: StackDiff[] = [];
    for (const stack of stacks) {
        opts.progress?.(`comparing ${stack}`);
        diffs.push(await diffStack(stack, read(baseRoot, stack), read(prRoot, stack), opts.progress));
    }
    return diffs.sort((a, b) => Number(b.production) - Number(a.production) || a.stack.localeCompare(b.stack));
}

/** `type name` of a URN (`urn:pulumi:stack::project::parent$type::name`); a name may itself contain "::". */
const short = (urn: string) => {
    const parts = urn.split("::");
    return `${parts[2].split("$").pop()} ${parts.slice(3).join("::")}`;
};

export function formatDiff(diffs: StackDiff[]): string {
    const out = ["## Partner access changes", ""];
    if (diffs.length === 0) out.push("No synth output found on either side.");
    for (const d of diffs) {
        out.push(`### ${d.stack}${d.production ? " (production)" : ""}`, "");
        const list = (title: string, items: string[]) => {
            out.push(`**${title}** (${items.length})`, "");
            out.push(...(items.length ? items.map((i) => `- ${i}`) : ["- none"]), "");
        };
        list("Access granted", d.gained);
        list("Access revoked", d.revoked);
        list("Access defects (effect differs from the plan)", [
            ...d.structural.map((f) => `${f.cloud.toUpperCase()} ${f.where}${f.partner ? ` (${f.partner})` : ""}: ${f.message}`),
            ...d.defects.map((c) => `${c.partner} as ${c.via}: ${c.action} on ${c.resource} is ${c.effective}, planned ${c.planned}`),
        ]);
        if (d.outsideWindow.length > 0) list("Outside their validity window (not defects)", d.outsideWindow);
        if (d.sharedChanged.length > 0) list("Shared resources changed (they reach beyond the partners named above)", d.sharedChanged);
        list("Policy findings", d.findings.map((f) => `[${f.enforcementLevel}] ${f.policy}: ${f.urn ? short(f.urn) : "(stack)"}: ${f.message}`));
        out.push(`**Resources**: ${d.added.length} added, ${d.changed.length} changed, ${d.removed.length} removed`, "");
        if (d.added.length + d.changed.length + d.removed.length > 0) {
            out.push("<details><summary>resources</summary>", "");
            out.push(...d.added.map((u) => `- added \`${short(u)}\``));
            out.push(...d.changed.map((c) => `- changed \`${short(c.urn)}\`: ${c.fields.join(", ")}`));
            out.push(...d.removed.map((u) => `- removed \`${short(u)}\``));
            out.push("", "</details>", "");
        }
    }
    return out.join("\n");
}
