/**
 * The partner kit: what the operator's kit builder writes for one partner in
 * one stage, and everything this client needs. Defined once, here, as a
 * TypeBox schema; `readKit` validates it and explains what is wrong.
 */
import { readFileSync } from "node:fs";
import { Static, TSchema, Type } from "@sinclair/typebox";
import { Value, ValueErrorType } from "@sinclair/typebox/value";
import { PartnerAccessError } from "./errors";
import { credentialUrlProblem, HTTPS_URL_DESCRIPTION, HTTPS_URL_PATTERN } from "./url";

const IsoTime = Type.String({
    pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$",
    description: "an ISO 8601 time such as 2025-01-31T12:00:00Z",
});
const NonEmpty = Type.String({ minLength: 1 });
/** "GET /orders/{orderId}" */
const Route = Type.String({
    pattern: "^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /\\S*$",
    description: 'a route such as "GET /orders/{orderId}"',
});
const Access = Type.Union([Type.Literal("read"), Type.Literal("write"), Type.Literal("read-write")]);
const Cloud = Type.Union([Type.Literal("aws"), Type.Literal("gcp")]);
/** Where signed calls go: https only (src/url.ts, the same rule the client applies before sending). */
const HttpsUrl = Type.String({ pattern: HTTPS_URL_PATTERN, description: HTTPS_URL_DESCRIPTION });
const Email = Type.String({ pattern: "^[^@\\s]+@[^@\\s]+$", description: "an email address" });

export const KitSchema = Type.Object({
    kitVersion: Type.Literal(1),
    source: Type.Union([Type.Literal("stack"), Type.Literal("preview")]),
    stack: NonEmpty,
    generatedAt: IsoTime,
    partner: Type.Object({ slug: NonEmpty, name: NonEmpty, contact: Type.String() }),
    notBefore: Type.Optional(IsoTime),
    expires: Type.Optional(IsoTime),
    aws: Type.Optional(Type.Object({
        accountId: Type.String({ pattern: "^\\d{12}$", description: "a 12-digit AWS account id" }),
        region: Type.String({ pattern: "^[a-z]{2}(-[a-z]+)+-\\d+$", description: "an AWS region such as eu-west-1" }),
        connect: Type.Union([Type.Literal("assume-role"), Type.Literal("direct")]),
        principals: Type.Array(NonEmpty),
        role: Type.Optional(Type.Object({
            arn: Type.String({ pattern: "^arn:aws[a-z-]*:iam::\\d{12}:role/", description: "an IAM role ARN" }),
            externalId: Type.Optional(NonEmpty),
            maxSessionSeconds: Type.Integer({ minimum: 900, maximum: 43200 }),
        })),
        webIdentity: Type.Optional(Type.Object({
            roleArn: Type.String({ pattern: "^arn:aws[a-z-]*:iam::\\d{12}:role/", description: "an IAM role ARN" }),
            audience: NonEmpty,
            serviceAccounts: Type.Array(Type.Object({ email: Email, uniqueId: Type.String({ pattern: "^\\d{10,30}$" }) })),
        })),
        files: Type.Optional(Type.Object({
            bucket: NonEmpty, prefix: NonEmpty, access: Access, actions: Type.Array(NonEmpty),
        })),
        api: Type.Optional(Type.Object({
            invokeUrl: HttpsUrl,
            routes: Type.Array(Route),
        })),
        identityPolicy: Type.Optional(Type.Object({})),
    })),
    gcp: Type.Optional(Type.Object({
        project: NonEmpty,
        files: Type.Optional(Type.Object({
            bucket: NonEmpty, prefix: NonEmpty, access: Access, roles: Type.Array(NonEmpty), serviceAccounts: Type.Array(Email),
        })),
        api: Type.Optional(Type.Object({
            url: HttpsUrl,
            audience: NonEmpty,
            routes: Type.Array(Route),
            serviceAccounts: Type.Array(Email),
        })),
        workloadIdentity: Type.Optional(Type.Array(Type.Object({
            accountId: Type.String({ pattern: "^\\d{12}$" }), audience: NonEmpty, credentialConfig: Type.Object({}),
        }))),
    })),
    mustBeRefused: Type.Array(Type.Union([
        Type.Object({ cloud: Cloud, kind: Type.Literal("list"), bucket: NonEmpty, prefix: Type.String() }),
        Type.Object({ cloud: Cloud, kind: Type.Literal("route"), route: Route }),
    ], { description: '{ cloud: "aws"|"gcp", kind: "list", bucket, prefix } or { cloud, kind: "route", route: "GET /path" }' })),
});

export type Kit = Static<typeof KitSchema>;
export type RefusalProbe = Kit["mustBeRefused"][number];

function describe(schema: TSchema): string {
    if (schema.description) return schema.description;
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    if (schema.anyOf) return (schema.anyOf as TSchema[]).map(describe).join(" or ");
    if (schema.type === "string" && schema.pattern) return `a string matching ${schema.pattern}`;
    return String(schema.type ?? "a valid value");
}

const show = (v: unknown) => (v === undefined ? "missing" : JSON.stringify(v)?.slice(0, 80));

/** Readable schema problems, one per field ("/aws/accountId: expected a 12-digit AWS account id, got \"1234\""). */
export function kitProblems(data: unknown): string[] {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const e of Value.Errors(KitSchema, data)) {
        // A union reports one error per branch below it; the union's own line says it better.
        if ([...seen].some((p) => e.path.startsWith(p + "/") || e.path === p)) continue;
        seen.add(e.path);
        const where = e.path || "(the kit)";
        let what: string;
        if (e.type === ValueErrorType.ObjectRequiredProperty) what = "is required";
        else if (e.type === ValueErrorType.Union || e.type === ValueErrorType.Literal || e.type === ValueErrorType.String
            || e.type === ValueErrorType.StringPattern) what = `expected ${describe(e.schema)}, got ${show(e.value)}`;
        else what = `${e.message}, got ${show(e.value)}`;
        out.push(`${where}: ${what}`);
    }
    if (out.length === 0 && data && typeof data === "object") out.push(...semanticProblems(data as Kit));
    return out;
}

function semanticProblems(kit: Kit): string[] {
    const out: string[] = [];
    for (const key of ["generatedAt", "notBefore", "expires"] as const) {
        const v = kit[key];
        if (v !== undefined && Number.isNaN(Date.parse(v))) out.push(`/${key}: not a valid time: ${v}`);
    }
    for (const [where, url] of [["/aws/api/invokeUrl", kit.aws?.api?.invokeUrl], ["/gcp/api/url", kit.gcp?.api?.url]] as const) {
        const problem = url === undefined ? undefined : credentialUrlProblem(url);
        if (problem) out.push(`${where}: ${problem}`);
    }
    if (kit.aws?.connect === "assume-role" && !kit.aws.role && !kit.aws.webIdentity) {
        out.push("/aws/role: connect is assume-role but the kit names no role (role or webIdentity)");
    }
    return out;
}

export interface ReadKitOptions {
    /** Accept a kit made by an offline preview (mocked ids): for trying the client only. */
    allowPreview?: boolean;
}

/** Validates parsed JSON as a kit. `origin` names it in messages (a file path). */
export function parseKit(data: unknown, origin = "kit", options: ReadKitOptions = {}): Kit {
    if (data && typeof data === "object" && "kitVersion" in data && (data as any).kitVersion !== 1) {
        throw new PartnerAccessError(`${origin} is kit version ${JSON.stringify((data as any).kitVersion)}; this client reads version 1`,
            "upgrade the client (npx -y @partner-access/client@latest ...) or ask the operator for a version 1 kit");
    }
    const problems = kitProblems(data);
    if (problems.length > 0) {
        throw new PartnerAccessError(`${origin} is not a valid partner kit:\n  ${problems.join("\n  ")}`,
            "use the kit file exactly as the operator sent it (the .json one), or ask the operator for a new one");
    }
    const kit = data as Kit;
    if (kit.source === "preview" && !options.allowPreview) {
        throw new PartnerAccessError(`${origin} comes from a preview (an offline synth with mocked ids): its ARNs, URLs and buckets are not real`,
            "ask the operator for the kit of the deployed stack; pass --allow-preview only to try the client against it");
    }
    return kit;
}

export function readKit(path: string, options: ReadKitOptions = {}): Kit {
    let text: string;
    try {
        text = readFileSync(path, "utf8");
    } catch (e) {
        throw new PartnerAccessError(`cannot read the kit ${path}: ${(e as Error).message}`, "pass the path of the kit's .json file with --kit");
    }
    let data: unknown;
    try {
        data = JSON.parse(text);
    } catch (e) {
        throw new PartnerAccessError(`${path} is not JSON (${(e as Error).message})`,
            "pass the kit's .json file (not the .md one) with --kit");
    }
    return parseKit(data, path, options);
}

// ---------------------------------------------------------------- routes

export interface Route { method: string; path: string }

export function parseRoute(route: string): Route {
    const i = route.indexOf(" ");
    return { method: route.slice(0, i).toUpperCase(), path: route.slice(i + 1) };
}

/** The sample value `check` puts in path parameters: harmless and easy to spot in logs. */
export const SAMPLE_PATH_VALUE = "partner-access-check";

export function fillPath(path: string, value = SAMPLE_PATH_VALUE): string {
    return path.replace(/\{[^}]+\}/g, encodeURIComponent(value));
}

export const isHarmless = (method: string) => method === "GET" || method === "HEAD";

/** Whether a concrete request (GET /orders/42) is one of the granted routes (GET /orders/{orderId}). */
export function routeMatches(route: string, method: string, path: string): boolean {
    const r = parseRoute(route);
    if (r.method !== method.toUpperCase()) return false;
    const pattern = "^" + r.path.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[^/]+") + "$";
    return new RegExp(pattern).test(path.split("?")[0]);
}

// ---------------------------------------------------------------- commands for the kit

export interface KitCommandOptions {
    /** How the partner refers to the kit file. */
    kitPath?: string;
    /** How the client is run. */
    runner?: string;
}

const RUNNER = "npx -y @partner-access/client";
const shq = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** The `~/.aws/config` profile that gets AWS credentials from Google (web identity), or [] when the kit has none. */
export function awsConfigLines(kit: Kit, options: KitCommandOptions = {}): string[] {
    if (!kit.aws?.webIdentity) return [];
    const kitPath = options.kitPath ?? "/path/to/kit.json";
    return [
        `[profile partner-access-${kit.stack}]`,
        `credential_process = ${options.runner ?? RUNNER} credentials --kit ${shq(kitPath)}`,
        `region = ${kit.aws.region}`,
    ];
}

/** The client command lines for a kit, to show beside the raw snippets. Lines starting with "#" are comments. */
export function kitCommands(kit: Kit, options: KitCommandOptions = {}): string[] {
    const run = options.runner ?? RUNNER;
    const k = `--kit ${shq(options.kitPath ?? "kit.json")}`;
    const lines = ["# Check everything this kit grants (and that what it must not reach is refused):", `${run} check ${k}`];
    const aws = kit.aws?.api?.routes[0];
    if (aws) {
        const r = parseRoute(aws);
        lines.push("# Call the AWS API (SigV4), path parameters filled in by you:", `${run} call ${k} --cloud aws -X ${r.method} ${shq(r.path)}`);
    }
    const gcp = kit.gcp?.api?.routes[0];
    if (gcp) {
        const r = parseRoute(gcp);
        lines.push("# Call the GCP API (a JWT signed by your service account, keyless):", `${run} call ${k} --cloud gcp -X ${r.method} ${shq(r.path)}`);
    }
    if (kit.aws?.webIdentity) {
        lines.push("# AWS credentials from a Google Cloud workload, for ~/.aws/config (credential_process):",
            ...awsConfigLines(kit, options).map((l) => `#   ${l}`),
            `${run} credentials ${k}`);
    }
    return lines;
}
