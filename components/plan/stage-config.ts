/**
 * Stage configuration (`Pulumi.<stage>.yaml`, namespace `partner-access`),
 * typed and validated like the registry. Pulumi-free: the caller passes the raw
 * values, whether they come from `pulumi.Config` or straight from the YAML file.
 */
import {
    AWS_ACCOUNT_ID, AWS_REGION, ENVIRONMENT, GCP_PROJECT_ID, GCP_PROJECT_NUMBER, GCP_REGION,
} from "./identifiers";
import { Problems } from "./problems";

/** Partner environments whose identities only a production stage may accept. */
export const PRODUCTION_ENVIRONMENTS = ["prod"];

export interface AwsStageConfig {
    accountId: string;
    region: string;
    /** HTTP backend the REST API proxies to; absent: a MOCK integration so the stack deploys as is. */
    apiBackendUrl?: string;
    maxSessionDurationSeconds: number;
    /** Audience a partner's Google service account requests for the ID token it exchanges with STS. */
    googleAudience: string;
    /** IAM quota: characters of a role trust policy (2,048 by default, up to 4,096 on request). */
    trustPolicyMaxChars: number;
    /** IAM quota: roles per account (1,000 by default, up to 5,000 on request), shared with everything else in the account. */
    roleQuota: number;
    noncurrentVersionRetentionDays: number;
    accessLogRetentionDays: number;
    /** API Gateway's CloudWatch role is one setting per account and region: manage it from one stack only. */
    manageApiGatewayAccount: boolean;
}

export interface GcpStageConfig {
    project: string;
    projectNumber: string;
    region: string;
    /** Bucket location (region or multi-region such as EU). */
    bucketLocation: string;
    apiBackendUrl?: string;
    espImage: string;
    softDeleteRetentionDays: number;
    /** Overwritten versions are kept this long, as on S3. */
    noncurrentVersionRetentionDays: number;
}

export interface StageConfig {
    /** Stack name this config came from (`stag`, `prod`). */
    stage: string;
    production: boolean;
    namePrefix: string;
    registryFile: string;
    acceptedEnvironments: string[];
    aws: AwsStageConfig;
    gcp: GcpStageConfig;
}

/** Raw configuration: the `partner-access:` keys without their namespace. */
export type RawStageConfig = Record<string, unknown>;

const TOP_KEYS = ["stage", "production", "namePrefix", "registryFile", "acceptedEnvironments", "aws", "gcp"];
const AWS_KEYS = ["accountId", "region", "apiBackendUrl", "maxSessionDurationSeconds", "googleAudience", "trustPolicyMaxChars",
    "roleQuota", "noncurrentVersionRetentionDays", "accessLogRetentionDays", "manageApiGatewayAccount"];
const GCP_KEYS = ["project", "projectNumber", "region", "bucketLocation", "apiBackendUrl", "espImage", "softDeleteRetentionDays", "noncurrentVersionRetentionDays"];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Validates a stage config; problems are added to `problems` (file = the stack's config file). */
export function parseStageConfig(raw: RawStageConfig, problems: Problems): StageConfig {
    const add = (m: string, f: string) => problems.add(m, `partner-access:${f}`);
    for (const k of Object.keys(raw)) if (!TOP_KEYS.includes(k)) add(`unknown key (allowed: ${TOP_KEYS.join(", ")})`, k);

    const stage = typeof raw.stage === "string" && /^[a-z][a-z0-9-]{1,9}$/.test(raw.stage) ? raw.stage : "";
    if (!stage) add("required: 2-10 lowercase letters, digits or hyphens (it appears in resource names)", "stage");
    const production = bool(raw.production, stage === "prod", "production", add);
    const namePrefix = typeof raw.namePrefix === "string" ? raw.namePrefix : "partner-access";
    if (!/^[a-z][a-z0-9-]{1,19}$/.test(namePrefix)) add("2-20 lowercase letters, digits or hyphens", "namePrefix");
    // It starts the Workload Identity pool id, which Google reserves "gcp-" for.
    else if (namePrefix.startsWith("gcp-")) add('must not start with "gcp-" (reserved by Google for Workload Identity pools)', "namePrefix");
    const registryFile = typeof raw.registryFile === "string" && raw.registryFile ? raw.registryFile : "partners.yaml";

    const accepted = Array.isArray(raw.acceptedEnvironments) ? raw.acceptedEnvironments : [];
    if (accepted.length === 0) add("required: the partner environments this stage accepts, e.g. [dev, stag]", "acceptedEnvironments");
    const acceptedEnvironments: string[] = [];
    for (const env of accepted) {
        if (typeof env !== "string" || !ENVIRONMENT.test(env)) add(`${JSON.stringify(env)} is not an environment name`, "acceptedEnvironments");
        else if (production && !PRODUCTION_ENVIRONMENTS.includes(env)) add(`a production stage must not accept the non-production environment "${env}"`, "acceptedEnvironments");
        else if (!production && PRODUCTION_ENVIRONMENTS.includes(env)) add(`a non-production stage must not accept the production environment "${env}"`, "acceptedEnvironments");
        else if (!acceptedEnvironments.includes(env)) acceptedEnvironments.push(env);
    }

    const a: Obj = isObj(raw.aws) ? raw.aws : {};
    if (!isObj(raw.aws)) add("required: a mapping with accountId and region", "aws");
    for (const k of Object.keys(a)) if (!AWS_KEYS.includes(k)) add(`unknown key (allowed: ${AWS_KEYS.join(", ")})`, `aws.${k}`);
    const accountId = typeof a.accountId === "string" && AWS_ACCOUNT_ID.test(a.accountId) ? a.accountId : "";
    if (!accountId) add(`${JSON.stringify(a.accountId)} is not a 12-digit AWS account id (quote it in YAML)`, "aws.accountId");
    const region = typeof a.region === "string" && AWS_REGION.test(a.region) ? a.region : "";
    if (!region) add(`${JSON.stringify(a.region)} is not an AWS region`, "aws.region");

    const g: Obj = isObj(raw.gcp) ? raw.gcp : {};
    if (!isObj(raw.gcp)) add("required: a mapping with project, projectNumber and region", "gcp");
    for (const k of Object.keys(g)) if (!GCP_KEYS.includes(k)) add(`unknown key (allowed: ${GCP_KEYS.join(", ")})`, `gcp.${k}`);
    const project = typeof g.project === "string" && GCP_PROJECT_ID.test(g.project) ? g.project : "";
    if (!project) add(`${JSON.stringify(g.project)} is not a GCP project id`, "gcp.project");
    const projectNumber = typeof g.projectNumber === "string" && GCP_PROJECT_NUMBER.test(g.projectNumber) ? g.projectNumber : "";
    if (!projectNumber) add(`${JSON.stringify(g.projectNumber)} is not a GCP project number (quote it in YAML)`, "gcp.projectNumber");
    const gcpRegion = typeof g.region === "string" && GCP_REGION.test(g.region) ? g.region : "";
    if (!gcpRegion) add(`${JSON.stringify(g.region)} is not a GCP region`, "gcp.region");

    return {
        stage, production, namePrefix, registryFile, acceptedEnvironments,
        aws: {
            accountId, region,
            apiBackendUrl: url(a.apiBackendUrl, "aws.apiBackendUrl", add),
            maxSessionDurationSeconds: int(a.maxSessionDurationSeconds, 3600, 3600, 43200, "aws.maxSessionDurationSeconds", add),
            googleAudience: typeof a.googleAudience === "string" && a.googleAudience ? a.googleAudience : `${namePrefix}-${stage}`,
            trustPolicyMaxChars: int(a.trustPolicyMaxChars, 2048, 2048, 4096, "aws.trustPolicyMaxChars", add),
            roleQuota: int(a.roleQuota, 1000, 1, 5000, "aws.roleQuota", add),
            noncurrentVersionRetentionDays: int(a.noncurrentVersionRetentionDays, 90, 1, 3650, "aws.noncurrentVersionRetentionDays", add),
            accessLogRetentionDays: logRetention(a.accessLogRetentionDays, add),
            manageApiGatewayAccount: bool(a.manageApiGatewayAccount, true, "aws.manageApiGatewayAccount", add),
        },
        gcp: {
            project, projectNumber, region: gcpRegion,
            bucketLocation: typeof g.bucketLocation === "string" && g.bucketLocation ? g.bucketLocation : gcpRegion.toUpperCase(),
            apiBackendUrl: url(g.apiBackendUrl, "gcp.apiBackendUrl", add),
            espImage: typeof g.espImage === "string" && g.espImage ? g.espImage : "gcr.io/endpoints-release/endpoints-runtime-serverless:2",
            softDeleteRetentionDays: int(g.softDeleteRetentionDays, 30, 7, 90, "gcp.softDeleteRetentionDays", add),
            noncurrentVersionRetentionDays: int(g.noncurrentVersionRetentionDays, 90, 1, 3650, "gcp.noncurrentVersionRetentionDays", add),
        },
    };
}

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

function logRetention(v: unknown, add: (m: string, f: string) => void): number {
    if (v === undefined) return 365;
    const n = typeof v === "string" ? Number(v) : v;
    if (typeof n === "number" && LOG_RETENTION_DAYS.includes(n)) return n;
    add(`must be one of CloudWatch's retention periods (${LOG_RETENTION_DAYS.join(", ")})`, "aws.accessLogRetentionDays");
    return 365;
}

function bool(v: unknown, dflt: boolean, field: string, add: (m: string, f: string) => void): boolean {
    if (v === undefined) return dflt;
    if (v === true || v === "true") return true;
    if (v === false || v === "false") return false;
    add("must be true or false", field);
    return dflt;
}

function int(v: unknown, dflt: number, min: number, max: number, field: string, add: (m: string, f: string) => void): number {
    if (v === undefined) return dflt;
    const n = typeof v === "string" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
        add(`must be a whole number from ${min} to ${max}`, field);
        return dflt;
    }
    return n;
}

function url(v: unknown, field: string, add: (m: string, f: string) => void): string | undefined {
    if (v === undefined || v === "") return undefined;
    if (typeof v !== "string" || !/^https:\/\/[a-z0-9.-]+(?::\d+)?(?:\/[^\s]*)?$/i.test(v) || v.endsWith("/")) {
        add("must be an https:// URL without a trailing slash", field);
        return undefined;
    }
    return v;
}
