/**
 * Onboarding kits: per partner per stage, what it needs to connect, as JSON
 * (read by the partner client, `@partner-access/client`) and Markdown with the
 * client commands beside raw snippets. Built from the stack outputs ONLY:
 * `partner-access kits --stack prod` reads `pulumi stack output --json` of the
 * deployed stack, so a kit carries the real API id, role ARNs and audiences.
 * Synth writes the same from mocked outputs, marked `source: "preview"`: for
 * reading, never for sending.
 */
import * as fs from "fs";
import * as path from "path";
import { PartnerOutputs } from "../components/partner-outputs";
import { ACCESS_LEVELS } from "../components/plan/capabilities";
import { isoInstant, windowState } from "../components/plan/validity";

/** Stack outputs as `pulumi stack output --json` prints them. */
export interface StackOutputs {
    stage: string;
    api: { routes: string[] };
    aws: { accountId: string; region: string; bucketName: string; apiId: string; invokeUrl: string };
    gcp: { project: string; projectNumber: string; bucketName: string; endpointsUrl?: string; audience?: string };
    partners: Record<string, PartnerOutputs>;
}

export type KitAccess = "read" | "write" | "read-write";
export type RefusedProbe = { cloud: "aws" | "gcp"; kind: "list"; bucket: string; prefix: string } | { cloud: "aws" | "gcp"; kind: "route"; route: string };

/** The kit the partner client reads (its schema: client/src/kit.ts). */
export interface Kit {
    kitVersion: 1;
    source: "stack" | "preview";
    stack: string;
    generatedAt: string;
    partner: { slug: string; name: string; contact: string };
    notBefore?: string;
    expires?: string;
    aws?: {
        accountId: string;
        region: string;
        connect: "assume-role" | "direct";
        principals: string[];
        role?: { arn: string; externalId?: string; maxSessionSeconds: number };
        webIdentity?: { roleArn: string; audience: string; serviceAccounts: { email: string; uniqueId: string }[] };
        files?: { bucket: string; prefix: string; access: KitAccess; actions: string[] };
        api?: { invokeUrl: string; routes: string[] };
        identityPolicy?: object;
    };
    gcp?: {
        project: string;
        files?: { bucket: string; prefix: string; access: KitAccess; roles: string[]; serviceAccounts: string[] };
        api?: { url: string; audience: string; routes: string[]; serviceAccounts: string[] };
        workloadIdentity?: { accountId: string; audience: string; credentialConfig: object }[];
    };
    mustBeRefused: RefusedProbe[];
}

export interface KitFiles {
    slug: string;
    kit: Kit;
    markdown: string;
}

const fence = (lang: string, body: string) => ["```" + lang, body.trim(), "```"].join("\n");
const samplePath = (route: string) => route.split(" ")[1].replace(/\{[^}]+\}/g, "42");
/** The partner client as kits tell partners to run it: the package client/ publishes, by its own name. */
const CLIENT = `npx -y ${JSON.parse(fs.readFileSync(path.join(__dirname, "..", "client", "package.json"), "utf8")).name}`;

/** Methods the partner client's check calls without --include-mutating: the only ones worth a must-be-refused probe. */
const SAFE_METHODS = ["GET", "HEAD"];

/**
 * What the partner's check must find refused on one cloud, always at least one probe it performs by default:
 * listing the shared parent prefix `partners/` of the exchange bucket (outside the partner's own prefix, and
 * naming no other partner), whatever the partner is granted; and, when the kit has an API on that cloud, one
 * route it is not granted, called with a safe method (a mutating one would be skipped by the check).
 */
export function refusalProbes(cloud: "aws" | "gcp", bucket: string, apiRoutes: string[], granted: string[], hasApi: boolean): RefusedProbe[] {
    const probes: RefusedProbe[] = [{ cloud, kind: "list", bucket, prefix: "partners/" }];
    const ungranted = apiRoutes.find((r) => !granted.includes(r) && SAFE_METHODS.includes(r.split(" ")[0].toUpperCase()));
    if (hasApi && ungranted) probes.push({ cloud, kind: "route", route: ungranted });
    return probes;
}

/** The kit of one partner, from the stack outputs. */
export function kitOf(outputs: StackOutputs, slug: string, source: Kit["source"], at: Date): Kit {
    const o = outputs.partners[slug];
    // The partner's own window (a grant may end earlier: each cloud section says so), as instants the client reads.
    const window = { notBefore: o.window.notBefore && isoInstant(o.window.notBefore), expires: o.window.expires && isoInstant(o.window.expires) };
    const awsUsable = o.aws.principals.length > 0 || !!o.aws.webIdentity;
    const kit: Kit = {
        kitVersion: 1, source, stack: outputs.stage, generatedAt: at.toISOString(),
        partner: { slug, name: o.name, contact: o.contact },
        ...(window.notBefore ? { notBefore: window.notBefore } : {}),
        ...(window.expires ? { expires: window.expires } : {}),
        mustBeRefused: [],
    };
    if (awsUsable && (o.aws.access !== "none" || o.aws.routes.length > 0)) {
        kit.aws = {
            accountId: outputs.aws.accountId, region: outputs.aws.region, connect: o.aws.connect, principals: o.aws.principals,
            ...(o.aws.roleArn ? { role: { arn: o.aws.roleArn, ...(o.aws.externalId ? { externalId: o.aws.externalId } : {}), maxSessionSeconds: o.aws.maxSessionSeconds } } : {}),
            ...(o.aws.webIdentity && o.aws.roleArn ? { webIdentity: { roleArn: o.aws.roleArn, ...o.aws.webIdentity } } : {}),
            ...(o.aws.access !== "none" ? { files: { bucket: outputs.aws.bucketName, prefix: o.prefix, access: o.aws.access as KitAccess, actions: o.aws.fileActions } } : {}),
            ...(o.aws.routes.length > 0 ? { api: { invokeUrl: outputs.aws.invokeUrl, routes: o.aws.routes } } : {}),
            ...(o.aws.identityPolicy ? { identityPolicy: o.aws.identityPolicy } : {}),
        };
        kit.mustBeRefused.push(...refusalProbes("aws", outputs.aws.bucketName, outputs.api.routes, o.aws.routes, !!kit.aws.api));
    }
    if (o.gcp.access !== "none" || o.gcp.activeRoutes.length > 0) {
        kit.gcp = {
            project: outputs.gcp.project,
            ...(o.gcp.access !== "none" ? { files: { bucket: outputs.gcp.bucketName, prefix: o.prefix, access: o.gcp.access as KitAccess, roles: o.gcp.storageRoles, serviceAccounts: o.gcp.serviceAccounts } } : {}),
            ...(o.gcp.activeRoutes.length > 0 && outputs.gcp.endpointsUrl && outputs.gcp.audience
                ? { api: { url: outputs.gcp.endpointsUrl, audience: outputs.gcp.audience, routes: o.gcp.activeRoutes, serviceAccounts: o.gcp.serviceAccounts } } : {}),
            ...(o.gcp.workloadIdentity.length > 0 ? { workloadIdentity: o.gcp.workloadIdentity } : {}),
        };
        kit.mustBeRefused.push(...refusalProbes("gcp", outputs.gcp.bucketName, outputs.api.routes, o.gcp.activeRoutes, !!kit.gcp.api));
    }
    return kit;
}

/** The human page: what was granted, the client commands, and raw snippets that work with stock tools. */
export function kitMarkdown(kit: Kit, at: Date): string {
    const stage = kit.stack;
    const md: string[] = [];
    if (kit.source === "preview") {
        md.push("> **PREVIEW: built by an offline synth from MOCKED ids. Do not send it to the partner;**",
            `> **run \`npx partner-access kits --stack ${stage}\` against the deployed stack instead.**`, "");
    }
    md.push(`# ${kit.partner.name}: partner-access ${stage}`, "");
    const state = windowState({ notBefore: kit.notBefore, expires: kit.expires }, at);
    if (kit.notBefore || kit.expires) {
        md.push(`Access ${state === "expired" ? "EXPIRED on" : "is valid"}${kit.notBefore ? ` from ${kit.notBefore}` : ""}${kit.expires ? ` until ${kit.expires} (00:00 UTC if a date)` : ""}` +
            "; the clouds enforce these dates themselves.", "");
    }
    md.push("Files live under `partners/" + kit.partner.slug + "/` in both clouds. You cannot reach other partners' files. " +
        "Uploads are **create-only** on both clouds: each file needs a new name (a second upload of the same name is refused with 412), and nobody can delete.", "",
        "## Quick check with the partner client", "",
        "Save the JSON kit as `kit.json`, then, with your own credentials (AWS and/or Google):", "",
        fence("sh", [`${CLIENT} check --kit kit.json`, "# signed calls, from scripts or a shell:", `${CLIENT} call --kit kit.json --cloud ${kit.aws?.api ? "aws" : "gcp"} ${(kit.aws?.api ?? kit.gcp?.api)?.routes[0] ? samplePath((kit.aws?.api ?? kit.gcp?.api)!.routes[0]) : "/"}`].join("\n")), "");
    if (kit.aws) md.push(...awsSection(kit));
    if (kit.gcp) md.push(...gcpSection(kit));
    if (!kit.aws && !kit.gcp) md.push("No access in this stage.", "");
    md.push(`Questions: your contact on file is ${kit.partner.contact}.`, "");
    return md.join("\n");
}

function awsSection(kit: Kit): string[] {
    const a = kit.aws!;
    const stage = kit.stack;
    const profile = `partner-access-${stage}`;
    const md: string[] = ["## AWS", ""];
    if (a.role && a.connect === "assume-role" && a.principals.length > 0) {
        md.push(`Your principals (${a.principals.map((x) => `\`${x}\``).join(", ")}) assume our role \`${a.role.arn}\`` +
            (a.role.externalId ? ` with external id \`${a.role.externalId}\`` : "") + ". Attach this policy to them in your account:", "",
        fence("json", JSON.stringify(a.identityPolicy, null, 2)), "",
        "AWS CLI profile (`~/.aws/config`). Where your principal's credentials come from decides the source line: " +
            "`credential_source` when it is the role of an EC2 instance, ECS task or the environment; `source_profile` when another profile holds them.", "",
        fence("ini", [`[profile ${profile}]`, `role_arn = ${a.role.arn}`, ...(a.role.externalId ? [`external_id = ${a.role.externalId}`] : []),
            "credential_source = Ec2InstanceMetadata   # or EcsContainer, or Environment", "# source_profile = <profile holding your principal's keys>   (instead of credential_source)",
            `region = ${a.region}`].join("\n")), "",
        "Role chaining (assuming this role from another role's session) caps the session at one hour, whatever the role allows.", "");
    } else if (a.connect === "direct" && a.principals.length > 0) {
        md.push(`Your principals (${a.principals.map((x) => `\`${x}\``).join(", ")}) call us directly. Attach this policy to them in your account (our bucket and API policies name them too; both are needed):`, "",
            fence("json", JSON.stringify(a.identityPolicy, null, 2)), "");
    }
    if (a.webIdentity) {
        md.push("### From Google Cloud, without keys", "",
            `Your service account(s) ${a.webIdentity.serviceAccounts.map((x) => `\`${x.email}\``).join(", ")} assume \`${a.webIdentity.roleArn}\` with a Google ID token for audience \`${a.webIdentity.audience}\`. ` +
                "Let any AWS SDK or the CLI get credentials through the partner client (`~/.aws/config`):", "",
            fence("ini", [`[profile ${profile}-google]`, `credential_process = ${CLIENT} credentials --kit /path/to/kit.json`, `region = ${a.region}`].join("\n")), "",
            "Or by hand:", "",
            fence("sh", [
                "# On a Google Cloud workload running as the service account:",
                `TOKEN=$(curl -s -H "Metadata-Flavor: Google" "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity?audience=${a.webIdentity.audience}&format=full")`,
                "# Elsewhere, impersonating it:",
                `# TOKEN=$(gcloud auth print-identity-token --impersonate-service-account=${a.webIdentity.serviceAccounts[0].email} --audiences=${a.webIdentity.audience} --include-email)`,
                `aws sts assume-role-with-web-identity --role-arn ${a.webIdentity.roleArn} --role-session-name ${kit.partner.slug}-${stage} --web-identity-token "$TOKEN"`,
            ].join("\n")), "");
    }
    const viaProfile = a.role && a.connect === "assume-role" && a.principals.length > 0 ? ` --profile ${profile}` : "";
    if (a.files) {
        const caps = ACCESS_LEVELS[a.files.access];
        const key = `${a.files.prefix}report-$(date -u +%Y%m%dT%H%M%SZ).csv`;
        md.push(`Files: \`s3://${a.files.bucket}/${a.files.prefix}\` (${a.files.actions.join(", ")}). AWS CLI v2.17.34+ for \`--if-none-match\`.`, "",
            fence("sh", [
                ...(caps.includes("read") ? [`aws s3 ls s3://${a.files.bucket}/${a.files.prefix}${viaProfile}`, `aws s3 cp s3://${a.files.bucket}/${a.files.prefix}report.csv ./report.csv${viaProfile}`] : []),
                ...(caps.includes("write") ? [`aws s3api put-object --bucket ${a.files.bucket} --key "${key}" --body ./report.csv --if-none-match '*'${viaProfile}`] : []),
            ].join("\n")), "");
    }
    if (a.api) {
        const url = `${a.api.invokeUrl}${samplePath(a.api.routes[0])}`;
        md.push(`API: \`${a.api.invokeUrl}\`, signed with SigV4 for \`execute-api\`. Routes: ${a.api.routes.map((r) => `\`${r}\``).join(", ")}.`, "",
            "With curl 7.76+ (`--aws-sigv4` and `--fail-with-body`). Temporary credentials need their session token header; long-term keys must not send an empty one:", "",
            fence("sh", [
                ...(viaProfile ? [`eval "$(aws configure export-credentials${viaProfile} --format env)"   # exports AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN`] : []),
                "token=(); [ -n \"${AWS_SESSION_TOKEN:-}\" ] && token=(-H \"x-amz-security-token: $AWS_SESSION_TOKEN\")",
                `curl --fail-with-body --aws-sigv4 "aws:amz:${a.region}:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "\${token[@]}" \\`,
                `  -X ${a.api.routes[0].split(" ")[0]} "${url}"`,
            ].join("\n")), "");
    }
    return md;
}

function gcpSection(kit: Kit): string[] {
    const g = kit.gcp!;
    const md: string[] = ["## GCP", ""];
    if (g.files) {
        const caps = ACCESS_LEVELS[g.files.access];
        const gs = `gs://${g.files.bucket}/${g.files.prefix}`;
        const name = `${g.files.prefix}report-$(date -u +%Y%m%dT%H%M%SZ).csv`;
        md.push(`Files: \`${gs}\` (${g.files.roles.join(", ")}) for ${[...g.files.serviceAccounts.map((e) => `\`${e}\``), ...(g.workloadIdentity ? ["your AWS roles (below)"] : [])].join(", ")}.`, "");
        const lines: string[] = [];
        if (caps.includes("read")) lines.push(`gcloud storage ls '${gs}*'`, `gcloud storage cp ${gs}report.csv ./report.csv`);
        if (caps.includes("write") && caps.includes("read")) lines.push(`gcloud storage cp --if-generation-match=0 ./report.csv "gs://${g.files.bucket}/${name}"`);
        if (caps.includes("write") && !caps.includes("read")) {
            // gcloud storage cp reads the destination first (objects.get), which a write-only grant does not allow: use the JSON API.
            lines.push(`curl --fail-with-body -X POST --data-binary @report.csv -H "Authorization: Bearer $(gcloud auth print-access-token)" \\`,
                `  "https://storage.googleapis.com/upload/storage/v1/b/${g.files.bucket}/o?uploadType=media&ifGenerationMatch=0&name=${name.replace(/\//g, "%2F")}"`);
        }
        md.push(fence("sh", lines.join("\n")), "");
    }
    if (g.api) {
        md.push(`API: \`${g.api.url}\` accepts a JWT signed by your service account, \`iss\` = \`sub\` = the account, \`aud\` = \`${g.api.audience}\`. Routes: ${g.api.routes.map((r) => `\`${r}\``).join(", ")}.`, "",
            fence("sh", [
                "NOW=$(date +%s)",
                `printf '{"iss":"%s","sub":"%s","aud":"%s","iat":%d,"exp":%d}' ${g.api.serviceAccounts[0]} ${g.api.serviceAccounts[0]} ${g.api.audience} "$NOW" "$((NOW + 3600))" > claims.json`,
                `gcloud iam service-accounts sign-jwt claims.json signed.jwt --iam-account=${g.api.serviceAccounts[0]}`,
                `curl --fail-with-body -X ${g.api.routes[0].split(" ")[0]} -H "Authorization: Bearer $(cat signed.jwt)" "${g.api.url}${samplePath(g.api.routes[0])}"`,
            ].join("\n")), "");
    }
    for (const w of g.workloadIdentity ?? []) {
        const envConfig = { ...w.credentialConfig, credential_source: { environment_id: "aws1", regional_cred_verification_url: "https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15" } };
        md.push(`### From AWS account ${w.accountId}, without keys`, "",
            `Your AWS roles reach the bucket through Workload Identity Federation (\`${w.audience}\`). On EC2/ECS (credentials from the instance metadata service), save as \`partner-access-${kit.stack}-gcp.json\`:`, "",
            fence("json", JSON.stringify(w.credentialConfig, null, 2)), "",
            "Anywhere else (an IAM user's keys, or credentials you exported), Google's libraries read `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` and `AWS_REGION` from the environment with this one instead:", "",
            fence("json", JSON.stringify(envConfig, null, 2)), "",
            fence("sh", [`export GOOGLE_APPLICATION_CREDENTIALS="$PWD/partner-access-${kit.stack}-gcp.json"`, `gcloud auth login --cred-file="$GOOGLE_APPLICATION_CREDENTIALS"`, ...(g.files ? [`gcloud storage ls 'gs://${g.files.bucket}/${g.files.prefix}*'`] : [])].join("\n")), "");
    }
    return md;
}

export function kitsOf(outputs: StackOutputs, source: Kit["source"], at: Date): KitFiles[] {
    return Object.keys(outputs.partners).sort().map((slug) => {
        const kit = kitOf(outputs, slug, source, at);
        return { slug, kit, markdown: kitMarkdown(kit, at) };
    });
}

export const previewKits = (outputs: StackOutputs, _stack: string, at: Date) => kitsOf(outputs, "preview", at);

export function writeKits(dir: string, kits: KitFiles[]): void {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const k of kits) {
        fs.writeFileSync(path.join(dir, `${k.slug}.json`), JSON.stringify(k.kit, null, 2) + "\n");
        fs.writeFileSync(path.join(dir, `${k.slug}.md`), k.markdown);
    }
}
