/**
 * `partner-access expiring`: the grants that end within N days of a time, and
 * those already ended, across every stage (one Pulumi.<stage>.yaml each). It
 * informs and always exits 0: the clouds end AWS and GCS access by themselves
 * (the windows are in the IAM conditions), the daily deploy takes routes out
 * of the Endpoints document, and the scheduled workflow turns this list into
 * one GitHub issue so that renewals are asked for in time.
 */
import * as path from "path";
import { AccessPlan, PartnerPlan } from "../components/plan/access-plan";
import { loadAccessPlan } from "../components/plan/load";
import { Registry, loadRegistry } from "../components/plan/registry";
import { routeKey } from "../components/plan/routes";
import { Window, evaluationTime, instant } from "../components/plan/validity";
import { PROJECT_DIR, listStacks, stackConfigSource } from "./stack-config";

export interface ExpiringGrant {
    partner: string;
    name: string;
    contact: string;
    stage: string;
    production: boolean;
    cloud: "aws" | "gcp";
    /** What ends: `files read-write; API GET /orders, POST /orders`. */
    what: string;
    /** As written in the registry (a date means 00:00 UTC that day). */
    expires: string;
    /** The registry field that sets the end: `partners[acme].expires` or `partners[acme].gcp.expires`. */
    setBy: string;
    /** Whole days from the evaluation time to the end (negative once ended). */
    daysLeft: number;
    state: "expiring" | "expired";
}

export interface ExpiringReport {
    at: string;
    days: number;
    stages: string[];
    /** Ending within `days` of `at`, soonest first. */
    expiring: ExpiringGrant[];
    /** Ended at or before `at`, most recent first. */
    expired: ExpiringGrant[];
}

const DAY = 24 * 3600 * 1000;

function describe(p: PartnerPlan, cloud: "aws" | "gcp"): string {
    const g = p[cloud];
    const routes = g.routes.map(routeKey);
    const parts = [
        ...(g.access !== "none" ? [`files ${g.access}`] : []),
        ...(routes.length > 0 ? [`API ${routes.length > 4 ? `${routes.slice(0, 4).join(", ")} and ${routes.length - 4} more` : routes.join(", ")}`] : []),
    ];
    return parts.join("; ") || "role assumption";
}

/** A cloud grant the stage actually renders: some identity accepted here holds it. */
function held(p: PartnerPlan, cloud: "aws" | "gcp"): boolean {
    if (cloud === "aws") return p.aws.principals.length + p.aws.googleIdentities.length > 0;
    return p.gcp.serviceAccounts.length + p.gcp.federatedAwsPrincipals.length > 0;
}

function setBy(registry: Registry | undefined, slug: string, cloud: "aws" | "gcp", window: Window): string {
    const partner = registry?.partners.find((p) => p.slug === slug);
    if (partner?.[cloud].expires === window.expires) return `partners[${slug}].${cloud}.expires`;
    return `partners[${slug}].expires`;
}

/** The grants of one stage's plan that end within `days` of `at`, or have ended. */
export function expiringInPlan(plan: AccessPlan, at: Date, days: number, registry?: Registry): ExpiringGrant[] {
    const out: ExpiringGrant[] = [];
    for (const p of plan.partners) {
        for (const cloud of ["aws", "gcp"] as const) {
            const window = p[cloud].window;
            if (!window.expires || !held(p, cloud)) continue;
            const end = instant(window.expires).getTime();
            const left = end - at.getTime();
            if (left > days * DAY) continue;
            out.push({
                partner: p.slug, name: p.name, contact: p.contact, stage: plan.stage.stage, production: plan.stage.production, cloud,
                what: describe(p, cloud), expires: window.expires, setBy: setBy(registry, p.slug, cloud, window),
                daysLeft: Math.floor(left / DAY), state: left > 0 ? "expiring" : "expired",
            });
        }
    }
    return out;
}

/** Every stage's expiring and expired grants at `at`. */
export function expiringReport(opts: { at: Date; days: number; projectDir?: string; stacks?: string[] }): ExpiringReport {
    const projectDir = opts.projectDir ?? PROJECT_DIR;
    const stacks = opts.stacks ?? listStacks(projectDir);
    const all: ExpiringGrant[] = [];
    for (const stack of stacks) {
        const plan = loadAccessPlan(stackConfigSource(stack, projectDir), { projectDir, at: opts.at });
        let registry: Registry | undefined;
        try {
            registry = loadRegistry(path.resolve(projectDir, plan.stage.registryFile));
        } catch {
            registry = undefined; // the plan loaded it a moment ago; `setBy` only loses precision
        }
        all.push(...expiringInPlan(plan, opts.at, opts.days, registry));
    }
    const byEnd = (a: ExpiringGrant, b: ExpiringGrant) => instant(a.expires).getTime() - instant(b.expires).getTime()
        || a.partner.localeCompare(b.partner) || a.stage.localeCompare(b.stage) || a.cloud.localeCompare(b.cloud);
    return {
        at: opts.at.toISOString(), days: opts.days, stages: stacks,
        expiring: all.filter((g) => g.state === "expiring").sort(byEnd),
        expired: all.filter((g) => g.state === "expired").sort((a, b) => byEnd(b, a)),
    };
}

export function formatExpiring(r: ExpiringReport): string {
    const line = (g: ExpiringGrant) =>
        `  ${g.partner.padEnd(20)} ${(g.stage + (g.production ? " (production)" : "")).padEnd(18)} ${g.cloud.toUpperCase().padEnd(4)} ${g.expires.padEnd(11)} ` +
        `${g.state === "expiring" ? `in ${g.daysLeft} day(s)` : `${-g.daysLeft} day(s) ago`}  ${g.what}  [${g.setBy}]`;
    const lines = [`grants ending within ${r.days} day(s) of ${r.at} (stages: ${r.stages.join(", ")})`];
    lines.push(r.expiring.length > 0 ? `expiring (${r.expiring.length}):` : "expiring: none");
    lines.push(...r.expiring.map(line));
    lines.push(r.expired.length > 0 ? `already expired (${r.expired.length}): the clouds deny them; renew, or remove them from the registry` : "already expired: none");
    lines.push(...r.expired.map(line));
    return lines.join("\n");
}

export async function expiringCommand(o: { days: number; at?: Date; json?: boolean }): Promise<void> {
    const report = expiringReport({ at: o.at ?? evaluationTime(), days: o.days });
    console.log(o.json ? JSON.stringify(report, null, 2) : formatExpiring(report));
}
