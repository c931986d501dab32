/**
 * Effective access of one stage, computed from what synth rendered (never from
 * the plan's own rendering): AWS documents through an IAM policy evaluator and
 * structural reasoning, GCP folder policies, federation and the Endpoints
 * document through CEL and structural reasoning. Compared, cell by cell, with
 * the plan: a cell whose effect differs is a defect; so is every finding.
 * Development tool: the IAM evaluator is AGPL-3.0 and a devDependency.
 */
import { reviewAws } from "./aws-review";
import { reviewGcp } from "./gcp-review";
import { reviewOutbound } from "./outbound-review";
import { rendered } from "./rendered";
import { Cell, Finding, Progress } from "./review-types";
import { SynthOutput } from "./synth-output";

export type { Cell, Effect, Finding } from "./review-types";
export { awsCallers, awsRequest, routeProbes } from "./aws-review";

export interface Matrix {
    stack: string;
    production: boolean;
    evaluatedAt: string;
    mode: "linear" | "full";
    cells: Cell[];
    /** Cells whose effect differs from the plan. */
    defects: Cell[];
    /** Documents that grant what the plan does not, found by reasoning on their structure. */
    findings: Finding[];
}

export async function accessMatrix(s: SynthOutput, opts: { full?: boolean; progress?: Progress } = {}): Promise<Matrix> {
    const r = rendered(s);
    const aws = await reviewAws(s, r, opts);
    const gcp = reviewGcp(s, r, opts);
    const outbound = await reviewOutbound(s, r, opts); // outbound token broker: who can make it call each partner host
    const cells = [...aws.cells, ...gcp.cells, ...outbound.cells];
    return {
        stack: s.plan.stage.stage, production: s.plan.stage.production, evaluatedAt: s.plan.evaluatedAt, mode: opts.full ? "full" : "linear",
        cells, defects: cells.filter((c) => c.effective !== c.planned), findings: [...aws.findings, ...gcp.findings, ...outbound.findings],
    };
}

export const blocking = (m: Matrix) => m.defects.length + m.findings.length;

/** A compact table: for each partner and identity, what is allowed; every defect and finding flagged. */
export function formatMatrix(m: Matrix): string {
    const lines = [`stage ${m.stack} at ${m.evaluatedAt} (${m.mode}): ${m.cells.length} cells evaluated, ${m.cells.filter((c) => c.effective === "allowed").length} allowed, ` +
        `${m.cells.filter((c) => c.window === "expired").length} expired, ${m.defects.length} defect(s), ${m.findings.length} finding(s)`];
    for (const f of m.findings) lines.push(`  FINDING (${f.cloud}) ${f.where}${f.partner ? ` [${f.partner}]` : ""}: ${f.message}`);
    const groups = new Map<string, Cell[]>();
    for (const c of m.cells) groups.set(`${c.partner}\u0000${c.cloud}\u0000${c.via}`, [...(groups.get(`${c.partner}\u0000${c.cloud}\u0000${c.via}`) ?? []), c]);
    for (const [key, cells] of groups) {
        const [partner, cloud, via] = key.split("\u0000");
        lines.push("", `${partner} on ${cloud.toUpperCase()} as ${via}`);
        const byResource = new Map<string, Cell[]>();
        for (const c of cells) byResource.set(c.resource, [...(byResource.get(c.resource) ?? []), c]);
        let denied = 0;
        for (const [resource, rc] of byResource) {
            const allowed = rc.filter((c) => c.effective === "allowed").map((c) => c.action);
            const expired = rc.filter((c) => c.window).map((c) => `${c.action} (${c.window})`);
            const defects = rc.filter((c) => c.effective !== c.planned);
            if (allowed.length === 0 && defects.length === 0 && expired.length === 0) {
                denied++;
                continue;
            }
            lines.push(`  ${resource.padEnd(40)} ${[...allowed, ...expired].join(", ") || "-"}`);
            for (const d of defects) lines.push(`    DEFECT: ${d.action} is ${d.effective}, the plan says ${d.planned}`);
        }
        if (denied > 0) lines.push(`  (${denied} other probe(s): everything denied, as planned)`);
    }
    return lines.join("\n");
}
