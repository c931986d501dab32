#!/usr/bin/env node
/**
 * partner-access-client: credentials | call | check | commands.
 * Exit codes: 0 fine, 1 a failure found (refused call, failed check, error), 2 bad usage.
 */
import { readFileSync } from "node:fs";
import { parseArgs, ParseArgsConfig } from "node:util";
import { awsAccess, AWS_VIAS, awsCredentialProcess, AwsVia } from "./aws";
import { runCheck, formatLine, formatSummary } from "./check";
import { PartnerAccessError } from "./errors";
import { apiCloud, awsCallContext, Cloud, explainResponse, partnerFetch } from "./fetch";
import { awsConfigLines, Kit, kitCommands, readKit } from "./kit";
import { stopQuietlyWhenReaderLeaves } from "./stdio";

export interface Io {
    stdout: (text: string) => void;
    stderr: (text: string) => void;
}

const defaultIo: Io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

class UsageError extends Error { }

type Options = NonNullable<ParseArgsConfig["options"]>;

const kitOptions: Options = {
    kit: { type: "string" },
    "allow-preview": { type: "boolean" },
    help: { type: "boolean", short: "h" },
};
const googleOptions: Options = { impersonate: { type: "string" } };
const awsOptions: Options = { "aws-via": { type: "string" }, "external-id": { type: "string" }, region: { type: "string" } };

interface Command {
    summary: string;
    usage: string;
    options: Options;
    positionals?: boolean;
    run: (values: Record<string, any>, positionals: string[], io: Io) => Promise<number>;
}

const COMMON_HELP = `  --kit <file>           the kit's .json file from the operator
  --allow-preview        accept a kit made by an offline preview (mocked ids; for trying the client only)
  -h, --help             this help`;

const commands: Record<string, Command> = {
    credentials: {
        summary: "print AWS credentials for ~/.aws/config credential_process, from a Google ID token (keyless)",
        usage: `usage: partner-access-client credentials (--kit <file> | --role-arn <arn> --audience <aud> --region <region>) [--impersonate <email>]

Gets a Google ID token for the stage's audience (the metadata server when you run on Google Cloud,
or by impersonating your service account with --impersonate from your own machine), exchanges it
with STS AssumeRoleWithWebIdentity (no AWS credentials needed) and prints
{"Version":1,"AccessKeyId":...,"SecretAccessKey":...,"SessionToken":...,"Expiration":...}.
Nothing is written to disk; SDKs call it again before Expiration. In ~/.aws/config:

  [profile partner-access]
  credential_process = npx -y @partner-access/client credentials --kit /path/to/kit.json
  region = <the kit's aws.region>

Options:
${COMMON_HELP}
  --role-arn <arn>       role to assume (default: the kit's aws.webIdentity.roleArn)
  --audience <aud>       ID token audience (default: the kit's aws.webIdentity.audience)
  --region <region>      STS region (default: the kit's aws.region)
  --impersonate <email>  get the ID token as this service account, from your Application Default Credentials
  --role-session-name <name>`,
        options: { ...kitOptions, ...googleOptions, "role-arn": { type: "string" }, audience: { type: "string" }, region: { type: "string" }, "role-session-name": { type: "string" } },
        run: async (v, _p, io) => {
            const kit = v.kit ? readKit(v.kit, { allowPreview: v["allow-preview"] }) : undefined;
            if (!kit && !(v["role-arn"] && v.audience && v.region)) throw new UsageError("give --kit, or all of --role-arn, --audience and --region");
            const out = await awsCredentialProcess({
                kit, roleArn: v["role-arn"], audience: v.audience, region: v.region, impersonate: v.impersonate, roleSessionName: v["role-session-name"],
            });
            io.stdout(JSON.stringify(out) + "\n");
            return 0;
        },
    },
    call: {
        summary: "send a signed request to the stage's API (SigV4 on AWS, a Google-signed JWT on GCP)",
        usage: `usage: partner-access-client call --kit <file> [--cloud aws|gcp] [-X METHOD] [--data @file|text] [-H 'name: value'] <path>

Example: partner-access-client call --kit kit.json --cloud aws -X GET /orders/42
Prints the response body; exits 1 when the API answers an error, with the reason and the fix.

AWS: signs with SigV4 (execute-api, the kit's region) using your credentials from the default chain;
when the kit says connect: assume-role, it first assumes the partner role with the kit's external id.
GCP: signs a JWT {iss, sub: your service account, aud: the kit's audience, exp: +1 h} through IAM
Credentials signJwt (keyless; your Application Default Credentials need Token Creator on the account).

Options:
${COMMON_HELP}
  --cloud aws|gcp        which API (default: the only one the kit grants)
  -X, --request <METHOD> HTTP method (default GET)
  -d, --data <@file|text>  request body (JSON is sent as application/json unless -H says otherwise)
  -H, --header <h: v>    extra header (repeatable)
  -i, --include          print the status line and headers too
  --aws-via <how>        auto | assume-role | web-identity | direct
  --external-id <id>     override the kit's external id
  --region <region>      override the kit's AWS region (rarely right)
  --impersonate <email>  Google: act as this service account
  --service-account <email>  GCP: the account that signs the JWT
  --ca-file <pem>        also trust this CA (a TLS-inspecting proxy's)
  --timeout <seconds>    give up when the whole call (connect to last byte) takes longer (default 30)
  --max-body-bytes <n>   refuse an answer body larger than this (default 10485760, 10 MiB)`,
        options: {
            ...kitOptions, ...googleOptions, ...awsOptions,
            cloud: { type: "string" }, request: { type: "string", short: "X" }, data: { type: "string", short: "d" },
            header: { type: "string", short: "H", multiple: true }, include: { type: "boolean", short: "i" },
            "service-account": { type: "string" }, "ca-file": { type: "string" },
            timeout: { type: "string" }, "max-body-bytes": { type: "string" },
        },
        positionals: true,
        run: async (v, positionals, io) => {
            if (positionals.length !== 1) throw new UsageError("give exactly one path, such as /orders/42");
            const flags = awsFlags(v);
            const timeoutMs = v.timeout === undefined ? undefined : positiveNumber(v.timeout, "--timeout") * 1000;
            const maxBodyBytes = v["max-body-bytes"] === undefined ? undefined : positiveNumber(v["max-body-bytes"], "--max-body-bytes");
            const wanted = cloudOf(v.cloud);
            const kit = requireKit(v);
            const cloud = apiCloud(kit, wanted);
            const headers: Record<string, string> = {};
            for (const h of (v.header ?? []) as string[]) {
                const i = h.indexOf(":");
                if (i <= 0) throw new UsageError(`a header is "name: value", not ${JSON.stringify(h)}`);
                headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
            }
            let body: string | Buffer | undefined;
            if (v.data !== undefined) {
                const data: string | Buffer = v.data.startsWith("@") ? readData(v.data.slice(1)) : v.data;
                if (!headers["content-type"]) headers["content-type"] = looksJson(data) ? "application/json" : "text/plain";
                body = data;
            }
            const method = (v.request ?? "GET").toUpperCase();
            const path = positionals[0];
            const access = cloud === "aws" ? await awsAccess(kit, flags) : undefined;
            const res = await partnerFetch(kit, path, {
                cloud, method, headers, body, access, impersonate: v.impersonate, serviceAccount: v["service-account"],
                ca: v["ca-file"] ? readData(v["ca-file"]) : undefined,
                timeoutMs, maxBodyBytes,
            });
            const text = await res.text();
            if (v.include) {
                io.stdout(`HTTP ${res.status} ${res.statusText}\n`);
                res.headers.forEach((value, name) => io.stdout(`${name}: ${value}\n`));
                io.stdout("\n");
            }
            io.stdout(text + (text && !text.endsWith("\n") ? "\n" : ""));
            if (res.ok) return 0;
            const d = explainResponse(kit, cloud, method, path, res, text,
                { aws: access ? await awsCallContext(access, `${method} ${path}`) : undefined, serviceAccount: v["service-account"] ?? v.impersonate });
            io.stderr(`error: HTTP ${res.status} from ${cloud === "aws" ? "API Gateway" : "the API"}${d ? `\n  reason: ${d.reason}\n  fix:    ${d.fix}` : ""}\n`);
            return 1;
        },
    },
    check: {
        summary: "try every grant of the kit and confirm that what you must not reach is refused",
        usage: `usage: partner-access-client check --kit <file> [--include-mutating] [--json]

For each grant in the kit: assumes the role, lists your prefix, writes a small probe object
<prefix>.partner-access-check/<time>.txt where you may write (it stays: the bucket is versioned and
nobody can delete) and reads it back where you may read, on S3 and GCS; calls each granted API route
that only reads (GET, HEAD). Then confirms the kit's mustBeRefused list is refused.
Prints one line per check (✓ / ✗ / - not probed) with the reason and the fix of each failure.
Exits 1 when anything failed, or when no must-be-refused probe was performed and refused.

Options:
${COMMON_HELP}
  --include-mutating     also call POST/PUT/PATCH/DELETE routes (with an empty JSON body)
  --json                 print the result as JSON
  --aws-via <how>        auto | assume-role | web-identity | direct
  --external-id <id>     override the kit's external id
  --region <region>      override the kit's AWS region (rarely right)
  --impersonate <email>  Google: act as this service account (files, ID tokens)
  --service-account <email>  GCP: the account that signs API JWTs
  --ca-file <pem>        also trust this CA for API calls`,
        options: {
            ...kitOptions, ...googleOptions, ...awsOptions,
            "include-mutating": { type: "boolean" }, json: { type: "boolean" }, "service-account": { type: "string" }, "ca-file": { type: "string" },
        },
        run: async (v, _p, io) => {
            const flags = awsFlags(v);
            const kit = requireKit(v);
            const result = await runCheck(kit, {
                ...flags, impersonate: v.impersonate, serviceAccount: v["service-account"], includeMutating: v["include-mutating"],
                ca: v["ca-file"] ? readData(v["ca-file"]) : undefined,
                onLine: v.json ? undefined : (line) => io.stdout(formatLine(line) + "\n"),
            });
            if (v.json) io.stdout(JSON.stringify(result, null, 2) + "\n");
            else io.stdout(formatSummary(result) + "\n");
            return result.ok ? 0 : 1;
        },
    },
    commands: {
        summary: "print the client command lines (and the ~/.aws/config profile) for a kit",
        usage: `usage: partner-access-client commands --kit <file>

Options:
${COMMON_HELP}`,
        options: { ...kitOptions },
        run: async (v, _p, io) => {
            const kit = requireKit(v);
            io.stdout(kitCommands(kit, { kitPath: v.kit }).join("\n") + "\n");
            const profile = awsConfigLines(kit, { kitPath: v.kit });
            if (profile.length > 0) io.stdout(`\n# ~/.aws/config\n${profile.join("\n")}\n`);
            return 0;
        },
    },
};

function requireKit(v: Record<string, any>): Kit {
    if (!v.kit) throw new UsageError("--kit <file> is required");
    return readKit(v.kit, { allowPreview: v["allow-preview"] });
}

function cloudOf(v: string | undefined): Cloud | undefined {
    if (v === undefined || v === "aws" || v === "gcp") return v;
    throw new UsageError(`--cloud is aws or gcp, not ${JSON.stringify(v)}`);
}

function awsFlags(v: Record<string, any>) {
    const via = v["aws-via"] as AwsVia | undefined;
    if (via !== undefined && !AWS_VIAS.includes(via)) throw new UsageError(`--aws-via is one of ${AWS_VIAS.join(", ")}, not ${JSON.stringify(via)}`);
    return { via, externalId: v["external-id"], region: v.region };
}

function positiveNumber(text: string, flag: string): number {
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(n > 0)) throw new UsageError(`${flag} is a positive number, not ${JSON.stringify(text)}`);
    return n;
}

function readData(file: string): Buffer {
    try {
        return readFileSync(file);
    } catch (e) {
        throw new PartnerAccessError(`cannot read ${file}: ${(e as Error).message}`, "check the file name");
    }
}

function looksJson(body: string | Buffer): boolean {
    try {
        JSON.parse(body.toString());
        return true;
    } catch {
        return false;
    }
}

export function usage(): string {
    const width = Math.max(...Object.keys(commands).map((c) => c.length));
    return [
        "usage: partner-access-client <command> [options]",
        "",
        "Commands:",
        ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
        "",
        "partner-access-client <command> --help  shows a command's options.",
        "Exit codes: 0 fine, 1 a failure was found, 2 bad usage.",
    ].join("\n");
}

/** Runs the CLI; resolves to the exit code. Never throws. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
    const [name, ...rest] = argv;
    if (name === undefined) {
        io.stderr(usage() + "\n");
        return 2;
    }
    if (name === "--help" || name === "-h" || name === "help") {
        io.stdout(usage() + "\n");
        return 0;
    }
    const command = commands[name];
    if (!command) {
        io.stderr(`error: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
        return 2;
    }
    try {
        let parsed;
        try {
            parsed = parseArgs({ args: rest, options: command.options, allowPositionals: Boolean(command.positionals), strict: true });
        } catch (e) {
            throw new UsageError((e as Error).message);
        }
        if (parsed.values.help) {
            io.stdout(command.usage + "\n");
            return 0;
        }
        return await command.run(parsed.values, parsed.positionals, io);
    } catch (e) {
        if (e instanceof UsageError) {
            io.stderr(`error: ${e.message}\n\n${command.usage}\n`);
            return 2;
        }
        if (e instanceof PartnerAccessError) {
            io.stderr(`error: ${e.message}\n  fix: ${e.fix}\n`);
        } else {
            io.stderr(`error: ${(e as Error)?.message ?? String(e)}\n`);
        }
        if (process.env.PARTNER_ACCESS_DEBUG) io.stderr(`${(e as Error)?.stack ?? ""}\n`);
        return 1;
    }
}

if (require.main === module) {
    stopQuietlyWhenReaderLeaves(1);
    main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
