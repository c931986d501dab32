/**
 * Stage configuration: one Pulumi stack per stage, and the stage IS the stack
 * (`pulumi stack select prod`). Keys live in the `partner-access` namespace,
 * flat so that `Pulumi.yaml` can declare each with its type, description and
 * default (Pulumi project config supports string, integer, boolean and array
 * types, not typed object fields: pulumi/pulumi sdk/go/common/workspace
 * project.go, ValidateConfigValue). The schema below is the one definition:
 * the program validates with it, `partner-access schema` writes the
 * `config:` block of Pulumi.yaml from it, and the README table is checked
 * against it.
 */
import { Static, TSchema, Type } from "@sinclair/typebox";
import {
    AWS_ACCOUNT_ID, AWS_REGION, ENVIRONMENT, GCP_PROJECT_ID, GCP_PROJECT_NUMBER, GCP_REGION, HTTPS_URL, STAGE, re,
} from "./identifiers";
import { Problems } from "./problems";
import { checkSchema } from "./schema-check";

export const CONFIG_NAMESPACE = "partner-access";

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const str = (pattern: string, errorMessage: string, description: string, extra: Record<string, unknown> = {}) =>
    Type.String({ pattern, errorMessage, description, ...extra });
const int = (minimum: number, maximum: number, dflt: number, description: string) =>
    Type.Integer({ minimum, maximum, default: dflt, description, errorMessage: `must be a whole number from ${minimum} to ${maximum}` });
/** Optional strings are declared with an empty default in Pulumi.yaml (the CLI requires a value for a declared key without one). */
const optionalUrl = (description: string) =>
    Type.String({ pattern: `^$|${HTTPS_URL}`, default: "", errorMessage: "must be an https:// URL without a trailing slash", description });

/** IAM roles per account: AWS's default quota, and the most it raises it to (IAM and AWS STS quotas). */
export const AWS_ROLE_QUOTA = { default: 1000, max: 5000 } as const;

export const StageConfigSchema = Type.Object({
    registryFile: Type.String({ minLength: 1, default: "partners.yaml", description: "The partner registry, relative to the project directory." }),
    namePrefix: str("^(?!gcp-)[a-z][a-z0-9-]{1,19}$", "2-20 lowercase letters, digits or hyphens, not starting with gcp- (reserved by Google for Workload Identity pools)",
        "Prefix of physical resource names.", { default: "partner-access" }),
    acceptedEnvironments: Type.Array(str(ENVIRONMENT, "must be an environment name declared in the registry", "A partner environment."), {
        minItems: 1, uniqueItems: true,
        description: "Partner environments whose identities this stage accepts. A stage accepting production environments is a production stage and accepts no other.",
    }),
    awsAccountId: str(AWS_ACCOUNT_ID, "must be a 12-digit AWS account id (quote it in YAML)", "The stage's AWS account; the provider refuses any other."),
    awsRegion: str(AWS_REGION, "must be an AWS region", "The stage's AWS region."),
    awsApiBackendUrl: optionalUrl("HTTPS backend the REST API proxies to; empty: a MOCK integration answering 200."),
    awsMaxSessionDurationSeconds: int(3600, 43200, 3600,
        "Partner role session length. Role chaining (a partner role assumed from another role session) is capped at 1 hour by AWS whatever this says."),
    awsGoogleAudience: Type.String({ default: "", description: "Audience (oaud) a partner's Google ID token must be requested for. Empty: <namePrefix>-<stage>." }),
    awsTrustPolicyMaxChars: int(2048, 4096, 2048, "Your IAM trust-policy quota (2,048 by default, up to 4,096 on request)."),
    awsRoleQuota: int(1, AWS_ROLE_QUOTA.max, AWS_ROLE_QUOTA.default,
        `Your IAM roles-per-account quota (${AWS_ROLE_QUOTA.default.toLocaleString("en")} by default, up to ${AWS_ROLE_QUOTA.max.toLocaleString("en")}), shared with everything else in the account.`),
    awsNoncurrentVersionRetentionDays: int(1, 3650, 90, "How long S3 keeps a noncurrent object version."),
    awsAccessLogRetentionDays: Type.Integer({ enum: LOG_RETENTION_DAYS, default: 365, description: "API access log retention (one of CloudWatch's periods).", errorMessage: `must be one of CloudWatch's retention periods (${LOG_RETENTION_DAYS.join(", ")})` }),
    awsManageApiGatewayAccount: Type.Boolean({ default: true, description: "Create API Gateway's CloudWatch role (one per account and region: manage it from one stack only)." }),
    gcpProject: str(GCP_PROJECT_ID, "must be a GCP project id", "The stage's GCP project."),
    gcpProjectNumber: str(GCP_PROJECT_NUMBER, "must be the project number, quoted", "The project's number (checked against the project at deploy time)."),
    gcpRegion: str(GCP_REGION, "must be a GCP region", "The stage's GCP region."),
    gcpBucketLocation: Type.String({ default: "", description: "GCS bucket location (a region or multi-region such as EU). Empty: the region." }),
    gcpApiBackendUrl: optionalUrl("Backend ESPv2 proxies to; required when any partner has GCP routes (empty: not set)."),
    gcpEspImage: Type.String({ minLength: 1, default: "gcr.io/endpoints-release/endpoints-runtime-serverless:2", description: "ESPv2 image." }),
    gcpSoftDeleteRetentionDays: int(7, 90, 30, "GCS soft delete: how long deleted objects can be restored."),
    gcpNoncurrentVersionRetentionDays: int(1, 3650, 90, "How long GCS keeps a noncurrent object version."),
}, { additionalProperties: false });

export type StageConfigValues = Static<typeof StageConfigSchema>;
export type StageConfigKey = keyof StageConfigValues;

/** Keys of older config files, refused with the way forward. */
const RETIRED_KEYS: Record<string, string> = {
    stage: "the stage is the stack name: remove this key",
    production: "a stage is production when it accepts production environments (declared in the registry): remove this key",
    aws: "aws settings are flat keys now: awsAccountId, awsRegion, ... (see Pulumi.yaml)",
    gcp: "gcp settings are flat keys now: gcpProject, gcpProjectNumber, ... (see Pulumi.yaml)",
};

/** Production floors: a production stage keeps history at least this long (README, "Production floors"). */
export const PRODUCTION_FLOORS: Partial<Record<StageConfigKey, number>> = {
    awsNoncurrentVersionRetentionDays: 30,
    gcpNoncurrentVersionRetentionDays: 30,
    gcpSoftDeleteRetentionDays: 14,
    awsAccessLogRetentionDays: 90,
};

export interface AwsStageConfig {
    accountId: string;
    region: string;
    /** HTTP backend the REST API proxies to; absent: a MOCK integration so the stack deploys as is. */
    apiBackendUrl?: string;
    maxSessionDurationSeconds: number;
    /** Audience a partner's Google service account requests for the ID token it exchanges with STS. */
    googleAudience: string;
    trustPolicyMaxChars: number;
    roleQuota: number;
    noncurrentVersionRetentionDays: number;
    accessLogRetentionDays: number;
    manageApiGatewayAccount: boolean;
}

export interface GcpStageConfig {
    project: string;
    projectNumber: string;
    region: string;
    bucketLocation: string;
    apiBackendUrl?: string;
    espImage: string;
    softDeleteRetentionDays: number;
    noncurrentVersionRetentionDays: number;
}

export interface StageConfig {
    /** The stack name. */
    stage: string;
    /** Derived: the stage accepts the registry's production environments. */
    production: boolean;
    namePrefix: string;
    registryFile: string;
    acceptedEnvironments: string[];
    aws: AwsStageConfig;
    gcp: GcpStageConfig;
}

/** Where config values come from: the program's `pulumi.Config`, or a stack file read by the tools. */
export interface StageConfigSource {
    stack: string;
    /** For messages: `Pulumi.prod.yaml`. */
    file: string;
    /** Values by key (namespace stripped), typed as Pulumi hands them over; absent keys take the schema's default. */
    values: Record<string, unknown>;
    locate?: (key: string) => { line: number; column: number } | undefined;
}

const SCHEMA_PROPERTIES = StageConfigSchema.properties as Record<string, TSchema>;
export const STAGE_CONFIG_KEYS = Object.keys(SCHEMA_PROPERTIES) as StageConfigKey[];

/** Validates a stage's config; problems name the file, line and `partner-access:<key>`. */
export function parseStageConfig(source: StageConfigSource, problems: Problems): { config: StageConfig; values: Partial<StageConfigValues> } {
    const key = (k: string) => `${CONFIG_NAMESPACE}:${k}`;
    if (!re(STAGE).test(source.stack)) {
        problems.add(`stack name "${source.stack}" is not a stage name: 2-10 lowercase letters, digits or hyphens (it appears in resource names)`, [], undefined, "stack");
    }
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(source.values)) {
        if (RETIRED_KEYS[k]) problems.add(RETIRED_KEYS[k], [k], undefined, key(k));
        else if (!(k in SCHEMA_PROPERTIES)) problems.add(`unknown key (allowed: ${STAGE_CONFIG_KEYS.join(", ")})`, [k], undefined, key(k));
        else values[k] = v;
    }
    for (const k of STAGE_CONFIG_KEYS) if (values[k] === undefined && "default" in SCHEMA_PROPERTIES[k]) values[k] = SCHEMA_PROPERTIES[k].default;
    const typed = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, coerce(SCHEMA_PROPERTIES[k], v)]));
    checkSchema(StageConfigSchema, typed, problems, (path) => ({ field: [key(String(path[0] ?? ""))] }));
    const c = typed as StageConfigValues;
    const stage = source.stack;
    const config: StageConfig = {
        stage,
        production: false, // decided against the registry's environments (stage-rules.ts)
        namePrefix: c.namePrefix,
        registryFile: c.registryFile,
        acceptedEnvironments: c.acceptedEnvironments ?? [],
        aws: {
            accountId: c.awsAccountId, region: c.awsRegion,
            apiBackendUrl: c.awsApiBackendUrl || undefined,
            maxSessionDurationSeconds: c.awsMaxSessionDurationSeconds,
            googleAudience: c.awsGoogleAudience || `${c.namePrefix}-${stage}`,
            trustPolicyMaxChars: c.awsTrustPolicyMaxChars,
            roleQuota: c.awsRoleQuota,
            noncurrentVersionRetentionDays: c.awsNoncurrentVersionRetentionDays,
            accessLogRetentionDays: c.awsAccessLogRetentionDays,
            manageApiGatewayAccount: c.awsManageApiGatewayAccount,
        },
        gcp: {
            project: c.gcpProject, projectNumber: c.gcpProjectNumber, region: c.gcpRegion,
            bucketLocation: c.gcpBucketLocation || (c.gcpRegion ?? "").toUpperCase(),
            apiBackendUrl: c.gcpApiBackendUrl || undefined,
            espImage: c.gcpEspImage,
            softDeleteRetentionDays: c.gcpSoftDeleteRetentionDays,
            noncurrentVersionRetentionDays: c.gcpNoncurrentVersionRetentionDays,
        },
    };
    return { config, values: c };
}

/**
 * Pulumi hands every config value to the program as a string (PULUMI_CONFIG)
 * and its typed getters parse them: "3600" is an integer, "true" a boolean, a
 * list is JSON (sdk/nodejs/config.ts getNumber/getBoolean/getObject). Strings
 * that do not parse are left for the schema to refuse with its message.
 */
function coerce(schema: TSchema, v: unknown): unknown {
    if (typeof v !== "string") return v;
    if (schema.type === "integer" && /^-?\d+$/.test(v.trim())) return Number(v);
    if (schema.type === "boolean" && (v === "true" || v === "false")) return v === "true";
    if (schema.type === "array") {
        try {
            return JSON.parse(v);
        } catch {
            return v;
        }
    }
    return v;
}

/** The `config:` block of Pulumi.yaml: type, description and default of every key. */
export function pulumiProjectConfig(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const k of STAGE_CONFIG_KEYS) {
        const s = SCHEMA_PROPERTIES[k];
        out[`${CONFIG_NAMESPACE}:${k}`] = {
            type: s.type === "integer" ? "integer" : s.type,
            ...(s.type === "array" ? { items: { type: "string" } } : {}),
            description: s.description,
            ...("default" in s ? { default: s.default } : {}),
        };
    }
    return out;
}
