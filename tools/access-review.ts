/**
 * `partner-access access-review`: the periodic access review an auditor signs
 * off. One row per partner identity and grant, produced from the RENDERED
 * stack (the access matrix: what the synthesised documents allow, evaluated
 * at --at), never from the registry alone; grants outside their window at
 * --at are listed as expired. The registry's git history adds when each
 * identity got each grant ("granted since") and who last changed the
 * partner's entry. Written as CSV (for spreadsheets), Markdown and HTML.
 */
import * as fs from "fs";
import * as path from "path";
import { FILE_CAPABILITIES, FileCapability, GCS_ROLE_PERMISSIONS } from "../components/plan/capabilities";
import { AccessPlan, PartnerPlan } from "../components/plan/access-plan";
import { awsRoleAttribute } from "../components/plan/identities";
import { ROUTE_PATTERN, Route, matches, parseRoutePattern, routeFor, routeKey } from "../components/plan/routes";
import { evaluationTime } from "../components/plan/validity";
import { Cell, Matrix } from "./access/matrix";
import { SynthOutput } from "./access/synth-output";
import { Commit, RegistryHistory, heldSince, lastChange, partnerEntry } from "./registry-history";

export interface ReviewRow {
    stage: string;
    partner: string;
    contact: string;
    /** The identity as the matrix names it: a partner ARN, `serviceAccount:<email>`, a principalSet, or our role for the partner. */
    identity: string;
    /** The registry identity behind it (an ARN or e-mail), or `role of <slug>` with who may assume it. */
    registryIdentity: string;
    cloud: "aws" | "gcp";
    /** `files partners/<slug>/`, `api GET /orders/{orderId}`, `role <name>`, `federation provider <id>`. */
    resource: string;
    actions: string[];
    /** `active`: allowed at --at; `expired`: granted, but outside its window at --at (the clouds deny it). */
    status: "active" | "expired";
    /** ISO instant of the commit that granted it, or `before history`, `not committed`, `unknown`. */
    grantedSince: string;
    grantedIn?: string;
    /** First commit that ever granted it, when it was dropped and granted again. */
    firstGranted?: string;
    expires?: string;
    lastChanged?: { sha: string; author: string; email: string; date: string; atOrBefore: boolean } | "uncommitted";
    /** The allowed (or expired) matrix cells this row stands for: `via|cloud|resource|action`. */
    cells: string[];
    /** Something an auditor must look at: an allowed cell the plan denies. */
    defect?: string;
}

export interface AccessReview {
    stage: string;
    production: boolean;
    evaluatedAt: string;
    registry: string;
    history: { repo?: string; versions: number; shallow: boolean; unavailable?: string; workingCopyDiffers: boolean };
    rows: ReviewRow[];
    /** Matrix defects and findings: the review is not clean while any exist. */
    defects: number;
    findings: string[];
}

export const cellKey = (c: Pick<Cell, "via" | "cloud" | "resource" | "action">) => `${c.via}|${c.cloud}|${c.resource}|${c.action}`;

/** The matrix cells an access review lists: a partner's allowed cells, and its grants that have expired. */
export const reviewedCells = (m: Matrix): Cell[] =>
    // Outbound cells are OUR identities calling a partner's API through the broker: not a partner's access.
    m.cells.filter((c) => !c.partner.startsWith("(") && !c.resource.startsWith("outbound ") && (c.effective === "allowed" || c.window === "expired"));

// What each action needs, derived from the capability table (one definition).
const CAPABILITY_OF = new Map<string, FileCapability>();
for (const [cap, def] of Object.entries(FILE_CAPABILITIES) as [FileCapability, (typeof FILE_CAPABILITIES)[FileCapability]][]) {
    for (const a of def.s3.objectActions) CAPABILITY_OF.set(a, cap);
    if (def.s3.list) CAPABILITY_OF.set("s3:ListBucket", cap);
    for (const role of def.gcs.roles) for (const perm of GCS_ROLE_PERMISSIONS[role] ?? []) CAPABILITY_OF.set(perm, cap);
}

type Grant =
    | { kind: "files"; cloud: "aws" | "gcp"; capability: FileCapability }
    | { kind: "api"; cloud: "aws" | "gcp"; route: Route }
    | { kind: "role" }
    | { kind: "federation" }
    | { kind: "other" };

type Identity = { kind: "role" } | { kind: "aws"; arn: string } | { kind: "gcp"; email: string } | { kind: "unknown"; text: string };

/** The grant a cell exercises and the resource it is listed under. */
function grantOf(c: Cell, plan: AccessPlan, p: PartnerPlan | undefined): { grant: Grant; resource: string } {
    const [kind, ...rest] = c.resource.split(" ");
    if (kind === "files" && p && c.resource === `files ${p.prefix}`) {
        const capability = CAPABILITY_OF.get(c.action);
        return capability ? { grant: { kind: "files", cloud: c.cloud, capability }, resource: c.resource } : { grant: { kind: "other" }, resource: c.resource };
    }
    if (kind === "api") {
        const m = /^api (\S+) (\S+)(?: \(as (\S+ \S+)\))?$/.exec(c.resource);
        const route = m && (m[3] ? plan.routes.find((r) => routeKey(r) === m[3]) : routeFor(plan.routes, m[1], m[2]));
        if (route) return { grant: { kind: "api", cloud: c.cloud, route }, resource: `api ${routeKey(route)}` };
    }
    if (kind === "role" && rest.length === 1) return { grant: { kind: "role" }, resource: c.resource };
    if (kind === "federation") return { grant: { kind: "federation" }, resource: c.resource };
    return { grant: { kind: "other" }, resource: c.resource };
}

function identityOf(c: Cell, p: PartnerPlan | undefined): Identity {
    if (!p) return { kind: "unknown", text: c.via };
    if (c.cloud === "aws") {
        if (p.aws.role && c.via === p.aws.role.arn) return { kind: "role" };
        if (p.aws.principals.includes(c.via)) return { kind: "aws", arn: c.via };
        if (p.aws.googleIdentities.some((g) => g.email === c.via)) return { kind: "gcp", email: c.via };
    } else {
        if (c.via.startsWith("serviceAccount:") && p.gcp.serviceAccounts.includes(c.via.slice("serviceAccount:".length))) return { kind: "gcp", email: c.via.slice("serviceAccount:".length) };
        const federated = p.gcp.federatedAwsPrincipals.find((arn) => c.via === arn || (c.via.startsWith("principalSet://") && c.via.endsWith(`/attribute.aws_role/${awsRoleAttribute(arn)}`)));
        if (federated) return { kind: "aws", arn: federated };
    }
    return { kind: "unknown", text: c.via };
}

// ---- questions asked of any historical registry version (tolerant: plain YAML, no schema) ----

function strings(v: unknown, out: Set<string>): Set<string> {
    if (typeof v === "string") out.add(v.toLowerCase());
    else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
    else if (v && typeof v === "object") Object.values(v).forEach((x) => strings(x, out));
    return out;
}

/** The identities an entry lists for this stage's environments (or, in a registry without environments, all it lists). */
function identitiesIn(entry: Record<string, unknown>, accepted: string[]): Set<string> {
    const ids = entry.identities;
    if (!ids || typeof ids !== "object" || Array.isArray(ids)) return strings(ids, new Set());
    const keys = Object.keys(ids);
    const envs = keys.filter((k) => accepted.includes(k));
    if (envs.length > 0) return strings(envs.map((k) => (ids as Record<string, unknown>)[k]), new Set());
    if (keys.every((k) => k === "aws" || k === "gcp")) return strings(ids, new Set()); // an older flat shape
    return new Set();
}

const grantOfCloud = (entry: Record<string, unknown>, cloud: "aws" | "gcp") => (entry[cloud] && typeof entry[cloud] === "object" ? (entry[cloud] as Record<string, unknown>) : {});
const hasCapability = (files: unknown, cap: FileCapability) => typeof files === "string" && files.toLowerCase().split(/[^a-z]+/).includes(cap);
function grantsRoute(api: unknown, route: Route): boolean {
    if (api === "all") return true;
    if (!Array.isArray(api)) return false;
    const re = new RegExp(ROUTE_PATTERN);
    return api.some((p) => typeof p === "string" && re.test(p) && matches(parseRoutePattern(p), route));
}
const anyGrant = (g: Record<string, unknown>) => hasCapability(g.files, "read") || hasCapability(g.files, "write") || g.api === "all" || (Array.isArray(g.api) && g.api.length > 0);

/** Does this version of the registry give `identity` of partner `slug` the grant? undefined: cannot tell. */
function holds(doc: unknown, slug: string, identity: Identity, grant: Grant, accepted: string[]): boolean | undefined {
    if (identity.kind === "unknown" || grant.kind === "other") return undefined;
    const entry = partnerEntry(doc, slug);
    if (!entry) return false;
    const ids = identitiesIn(entry, accepted);
    const has = identity.kind === "role" ? ids.size > 0 : ids.has((identity.kind === "aws" ? identity.arn : identity.email).toLowerCase());
    if (!has) return false;
    const aws = grantOfCloud(entry, "aws");
    const direct = aws.connect === "direct";
    switch (grant.kind) {
        case "files":
        case "api": {
            // Our role carries assume-role partners' grants; their own principals hold them only when connected directly.
            if (grant.cloud === "aws" && identity.kind === "aws" && !direct) return false;
            const g = grantOfCloud(entry, grant.cloud);
            return grant.kind === "files" ? hasCapability(g.files, grant.capability) : grantsRoute(g.api, grant.route);
        }
        case "role":
            return anyGrant(aws) && !(identity.kind === "aws" && direct);
        case "federation": {
            const g = grantOfCloud(entry, "gcp");
            return hasCapability(g.files, "read") || hasCapability(g.files, "write");
        }
    }
}

const utc = (date: string) => new Date(date).toISOString().replace(/\.000Z$/, "Z");

/** The review of one rendered stage, its matrix and the registry's history. */
export function accessReview(s: SynthOutput, m: Matrix, history: RegistryHistory): AccessReview {
    const plan = s.plan;
    const partners = new Map(plan.partners.map((p) => [p.slug, p]));
    const accepted = plan.stage.acceptedEnvironments;
    const rows = new Map<string, ReviewRow & { grant: Grant; id: Identity }>();
    for (const c of reviewedCells(m)) {
        const p = partners.get(c.partner);
        const { grant, resource } = grantOf(c, plan, p);
        const id = identityOf(c, p);
        const status = c.effective === "allowed" ? "active" : "expired";
        const sub = grant.kind === "files" ? grant.capability : "";
        const key = [c.partner, c.via, c.cloud, resource, sub, status].join("\u0000");
        let row = rows.get(key);
        if (!row) {
            row = {
                stage: plan.stage.stage, partner: c.partner, contact: p?.contact ?? "", identity: c.via, registryIdentity: "", cloud: c.cloud, resource, actions: [], status,
                grantedSince: "", expires: p?.[c.cloud].window.expires, cells: [], grant, id,
            };
            rows.set(key, row);
        }
        if (!row.actions.includes(c.action)) row.actions.push(c.action);
        row.cells.push(cellKey(c));
        if (c.effective !== c.planned) row.defect = `${c.action} is ${c.effective}, the plan says ${c.planned}`;
    }
    const roleHolders = (slug: string) => reviewedCells(m).filter((c) => c.partner === slug && c.cloud === "aws" && c.resource.startsWith("role ")).map((c) => c.via);
    const changes = new Map<string, ReturnType<typeof lastChange>>();
    const out: ReviewRow[] = [];
    for (const r of rows.values()) {
        const { grant, id, ...row } = r;
        row.registryIdentity = id.kind === "role" ? `role of ${row.partner} (assumed by ${[...new Set(roleHolders(row.partner))].join(", ") || "nobody"})`
            : id.kind === "aws" ? id.arn : id.kind === "gcp" ? id.email : `unrecognised: ${id.text}`;
        if (history.unavailable) row.grantedSince = "unknown";
        else {
            const h = heldSince(history, (doc) => holds(doc, row.partner, id, grant, accepted));
            row.grantedSince = h.unknown ? "unknown" : h.uncommitted ? "not committed" : h.beforeHistory ? "before history" : h.since ? utc(h.since.date) : "unknown";
            row.grantedIn = h.since?.sha ?? (h.beforeHistory ? history.versions.find((v) => v.doc !== undefined)?.commit.sha : undefined);
            if (h.first && h.since && h.first.sha !== h.since.sha) row.firstGranted = `${utc(h.first.date)} (${h.first.sha.slice(0, 12)})`;
        }
        if (!history.unavailable) {
            if (!changes.has(row.partner)) changes.set(row.partner, lastChange(history, row.partner));
            const lc = changes.get(row.partner)!;
            row.lastChanged = lc.uncommitted ? "uncommitted" : lc.commit && { sha: lc.commit.sha, author: lc.commit.author, email: lc.commit.email, date: utc(lc.commit.date), atOrBefore: lc.atOrBefore };
        }
        out.push(row);
    }
    out.sort((a, b) => a.partner.localeCompare(b.partner) || a.cloud.localeCompare(b.cloud) || a.identity.localeCompare(b.identity) || a.resource.localeCompare(b.resource) || a.actions.join().localeCompare(b.actions.join()));
    return {
        stage: plan.stage.stage, production: plan.stage.production, evaluatedAt: plan.evaluatedAt, registry: plan.stage.registryFile,
        history: { repo: history.repo, versions: history.versions.length, shallow: history.shallow, unavailable: history.unavailable, workingCopyDiffers: !!history.working?.differsFromHead },
        rows: out, defects: m.defects.length,
        findings: m.findings.map((f) => `${f.cloud.toUpperCase()} ${f.where}${f.partner ? ` (${f.partner})` : ""}: ${f.message}`),
    };
}

// ---- rendering: CSV (RFC 4180, formula-safe), Markdown, HTML (escaped) ----

export const COLUMNS: [string, (r: ReviewRow) => string][] = [
    ["stage", (r) => r.stage],
    ["partner", (r) => r.partner],
    ["contact", (r) => r.contact],
    ["identity", (r) => r.identity],
    ["registry identity", (r) => r.registryIdentity],
    ["cloud", (r) => r.cloud],
    ["resource", (r) => r.resource],
    ["actions", (r) => r.actions.join(" ")],
    ["status", (r) => r.status + (r.defect ? ` (DEFECT: ${r.defect})` : "")],
    ["granted since", (r) => r.grantedSince],
    ["granted in", (r) => r.grantedIn?.slice(0, 12) ?? ""],
    ["first granted", (r) => r.firstGranted ?? ""],
    ["expires", (r) => r.expires ?? ""],
    ["last changed", (r) => (r.lastChanged === "uncommitted" ? "uncommitted changes" : r.lastChanged ? `${r.lastChanged.atOrBefore ? "at or before " : ""}${r.lastChanged.date}` : "")],
    ["last changed by", (r) => (r.lastChanged && r.lastChanged !== "uncommitted" ? `${r.lastChanged.author} <${r.lastChanged.email}>` : "")],
    ["last change commit", (r) => (r.lastChanged && r.lastChanged !== "uncommitted" ? r.lastChanged.sha.slice(0, 12) : "")],
];

/** One CSV field: quoted when needed; a leading =, +, -, @ (a formula to spreadsheets) is defused with a quote mark. */
export function csvField(v: string): string {
    const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(r: AccessReview): string {
    return [COLUMNS.map(([h]) => h), ...r.rows.map((row) => COLUMNS.map(([, f]) => f(row)))].map((fields) => fields.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** Text safe inside a Markdown table cell: no HTML, no emphasis or links, no cell breaks. */
export function mdText(v: string): string {
    return v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/[\\`*_[\]|~]/g, "\\$&").replace(/\r?\n/g, " ");
}

export function htmlText(v: string): string {
    return v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function preamble(r: AccessReview): string[] {
    const h = r.history;
    return [
        `Stage ${r.stage}${r.production ? " (production)" : ""}, evaluated at ${r.evaluatedAt}, from the rendered stack (the access matrix of what its documents allow).`,
        `${r.rows.length} grant(s) of partner identities: ${r.rows.filter((x) => x.status === "active").length} active, ${r.rows.filter((x) => x.status === "expired").length} expired (outside their window: the clouds deny them).`,
        h.unavailable ? `Registry history unavailable (${h.unavailable}): "granted since" and "last changed" are unknown.`
            : `Registry ${r.registry}: ${h.versions} committed version(s)${h.shallow ? " in a SHALLOW clone (older history missing: fetch it in full for exact dates)" : ""}${h.workingCopyDiffers ? "; the working copy has uncommitted changes" : ""}. ` +
              `"before history": held since the oldest version in the repository's history, and possibly earlier.`,
        ...(r.defects + r.findings.length > 0 ? [`NOT CLEAN: ${r.defects} access defect(s), ${r.findings.length} finding(s): ${r.findings.join("; ")}`] : []),
    ];
}

export function toMarkdown(r: AccessReview): string {
    const lines = [`# Partner access review: ${mdText(r.stage)}`, "", ...preamble(r).map((l) => `${mdText(l)}  `), ""];
    lines.push(`| ${COLUMNS.map(([h]) => h).join(" | ")} |`, `|${COLUMNS.map(() => "---").join("|")}|`);
    for (const row of r.rows) lines.push(`| ${COLUMNS.map(([, f]) => mdText(f(row))).join(" | ")} |`);
    return lines.join("\n") + "\n";
}

export function toHtml(r: AccessReview): string {
    const title = `Partner access review: ${r.stage}`;
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
        `<title>${htmlText(title)}</title>`,
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;font-size:.85rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}" +
            "th{background:#f3f3f3;position:sticky;top:0}tr.expired td{color:#777}tr.defect td{background:#fdd}</style>",
        "</head><body>",
        `<h1>${htmlText(title)}</h1>`,
        ...preamble(r).map((l) => `<p>${htmlText(l)}</p>`),
        "<table><thead><tr>" + COLUMNS.map(([h]) => `<th>${htmlText(h)}</th>`).join("") + "</tr></thead><tbody>",
        ...r.rows.map((row) => `<tr class="${row.defect ? "defect" : row.status}">` + COLUMNS.map(([, f]) => `<td>${htmlText(f(row))}</td>`).join("") + "</tr>"),
        "</tbody></table></body></html>",
        "",
    ].join("\n");
}

export function writeReview(dir: string, r: AccessReview): string[] {
    fs.mkdirSync(dir, { recursive: true });
    const files: [string, string][] = [["access-review.csv", toCsv(r)], ["access-review.md", toMarkdown(r)], ["access-review.html", toHtml(r)]];
    for (const [f, text] of files) fs.writeFileSync(path.join(dir, f), text);
    return files.map(([f]) => path.join(dir, f));
}

export async function accessReviewCommand(o: { stack: string; out: string; at?: Date; registry?: string }): Promise<void> {
    const { ensureSynth } = await import("./commands");
    const { accessMatrix } = await import("./access/matrix");
    const { readSynthOutput } = await import("./access/synth-output");
    const { registryHistory } = await import("./registry-history");
    const { PROJECT_DIR } = await import("./stack-config");
    const { Findings } = await import("./cli");
    const progress = (message: string) => process.stderr.write(`partner-access: ${message}\n`);
    const dir = ensureSynth(o.stack, path.resolve(o.out), o.at ?? evaluationTime(), o.registry);
    const s = readSynthOutput(dir);
    const matrix = await accessMatrix(s, { progress });
    const history = registryHistory(path.resolve(PROJECT_DIR, s.plan.stage.registryFile));
    const review = accessReview(s, matrix, history);
    const written = writeReview(dir, review);
    console.log(preamble(review).join("\n"));
    console.log(`written: ${written.map((f) => path.relative(process.cwd(), f)).join(", ")}`);
    if (review.defects + review.findings.length > 0) throw new Findings(`${review.defects} defect(s), ${review.findings.length} finding(s)`);
}

export type { Commit };
