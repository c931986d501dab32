/**
 * The one definition of every input: the partner registry (`partners.yaml`)
 * and the stage configuration (`Pulumi.<stage>.yaml`). From these TypeBox
 * schemas come the TypeScript types (`Static`), the run-time validator (ajv,
 * with `errorMessage` from ajv-errors), `partners.schema.json` for editors
 * (generated: `partner-access schema`), and the typed `config:` block of
 * `Pulumi.yaml`. Rules JSON Schema can express live here; what needs other
 * data (cross-references, uniqueness, stage rules) lives in registry.ts and
 * stage-config.ts.
 */
import { Static, TSchema, Type } from "@sinclair/typebox";
import {
    AWS_ACCOUNT_ID, AWS_PRINCIPAL_ARN, AWS_REGION, AWS_ROLE_ARN, AWS_ROOT_ARN, DATE_OR_INSTANT, EMAIL, ENVIRONMENT, EXTERNAL_ID,
    GCP_PROJECT_ID, GCP_PROJECT_NUMBER, GCP_REGION, GCP_SERVICE_ACCOUNT_EMAIL, GCP_UNIQUE_ID, HEADER_NAME, HOSTNAME, HTTPS_URL,
    QUERY_PARAMETER, SLUG, STAGE,
} from "./identifiers";
import { ROUTE, ROUTE_PATTERN } from "./routes";

const text = (pattern: string, errorMessage: string, description?: string) =>
    Type.String({ pattern, errorMessage, ...(description ? { description } : {}) });

export const REGISTRY_VERSION = 2;

export const FILE_ACCESS = ["none", "read", "write", "read-write"] as const;
export type FileAccess = (typeof FILE_ACCESS)[number];
export const CONNECT_MODES = ["assume-role", "direct"] as const;
export type ConnectMode = (typeof CONNECT_MODES)[number];

const Slug = text(SLUG, "must be a slug: 2-20 lowercase letters, digits and single hyphens, starting with a letter",
    "Names the partner's resources and its prefix partners/<slug>/; never reused once retired.");
const EnvironmentName = text(ENVIRONMENT, "must be an environment name: lowercase letters, digits and hyphens");
const NonBlank = Type.String({ pattern: "\\S", errorMessage: "must not be blank" });
const When = text(DATE_OR_INSTANT, "must be a date (2027-03-31, meaning 00:00 UTC that day) or an instant in UTC (2027-03-31T12:00:00Z)");

const AwsPrincipal = text(AWS_PRINCIPAL_ARN,
    "must be one IAM role or user ARN (arn:aws:iam::<12 digits>:role/<name>), or an account root with allowAccountRoot; wildcards are never accepted, " +
    "nor a user whose ARN contains assumed-role (Google's AWS mapping would read it as a role session)");
const ServiceAccount = Type.Object({
    email: text(GCP_SERVICE_ACCOUNT_EMAIL, "must be a service account email (<name>@<project>.iam.gserviceaccount.com); users, groups, domains and allUsers are never accepted"),
    uniqueId: Type.Optional(text(GCP_UNIQUE_ID, "must be the service account's 21-digit unique id, quoted (a YAML number this long loses precision)",
        "Needed for keyless AWS access (web identity): AWS pins the token's subject to it.")),
}, { additionalProperties: false });

const EnvironmentIdentities = Type.Object({
    aws: Type.Optional(Type.Array(AwsPrincipal, { uniqueItems: true })),
    gcp: Type.Optional(Type.Array(ServiceAccount)),
}, {
    additionalProperties: false,
    anyOf: [{ required: ["aws"], properties: { aws: { minItems: 1 } } }, { required: ["gcp"], properties: { gcp: { minItems: 1 } } }],
    errorMessage: { anyOf: "lists no identity: give `aws` and/or `gcp` identities" },
});

/** `"all"` or route patterns; if/then/else (not anyOf) so a bad pattern is reported at its own item. */
const Api = Type.Unsafe<"all" | string[]>({
    if: { type: "string" },
    then: { const: "all", errorMessage: 'must be "all" or a list of "METHOD /path" patterns' },
    else: {
        type: "array",
        items: text(ROUTE_PATTERN, 'must be "METHOD /path" from the catalogue: METHOD may be *, and a path may end in /* (every route below it); * is not allowed inside a path'),
        errorMessage: { type: 'must be "all" or a list of "METHOD /path" patterns' },
    },
    description: '"all", or route patterns: "GET /orders", "* /invoices/*"',
});

/** A string from a fixed list (an enum reads better in editors and errors than a union of literals). */
const oneOf = <T extends string>(values: readonly T[], extra: Record<string, unknown> = {}) =>
    Type.Unsafe<T>({ type: "string", enum: [...values], errorMessage: `must be one of ${values.join(", ")}`, ...extra });

const Window = {
    notBefore: Type.Optional(When),
    expires: Type.Optional(When),
};

export const DEFAULT_GRANT = { files: "none" as FileAccess, api: [] as string[], connect: "assume-role" as ConnectMode };

const FilesField = Type.Optional(oneOf(FILE_ACCESS, { default: DEFAULT_GRANT.files }));

const AwsGrant = Type.Object({
    connect: Type.Optional(oneOf(CONNECT_MODES, {
        default: DEFAULT_GRANT.connect,
        description: "assume-role: the partner assumes a role in our account; direct: our bucket and API policies name its principals.",
    })),
    externalId: Type.Optional(text(EXTERNAL_ID, "must be 2-1224 characters of [A-Za-z0-9+=,.@:/_-]")),
    files: FilesField,
    api: Type.Optional(Api),
    ...Window,
}, {
    additionalProperties: false,
    if: { required: ["connect"], properties: { connect: { const: "direct" } } },
    then: { properties: { externalId: { not: {}, errorMessage: "an external id only applies to `connect: assume-role`" } } },
});

const GcpGrant = Type.Object({ files: FilesField, api: Type.Optional(Api), ...Window }, { additionalProperties: false });

export const Outbound = Type.Object({
    host: text(HOSTNAME, "must be a public DNS name (lower case, no scheme, port or IP address); the broker always uses HTTPS on port 443"),
    token: Type.Object({
        header: Type.Optional(text(HEADER_NAME, "must be an HTTP header name")),
        scheme: Type.Optional(Type.Literal("Bearer", { errorMessage: 'must be "Bearer" (with header: Authorization)' })),
        query: Type.Optional(text(QUERY_PARAMETER, "must be a query parameter name")),
    }, {
        additionalProperties: false,
        oneOf: [{ required: ["header"], not: { required: ["query"] } }, { required: ["query"], not: { anyOf: [{ required: ["header"] }, { required: ["scheme"] }] } }],
        errorMessage: { oneOf: "must say how the token is applied: `header: <name>` (optionally `scheme: Bearer`) or `query: <parameter>`" },
        description: "How the broker applies the partner's token. The token itself is never in the registry.",
    }),
    callers: Type.Record(Type.String({ pattern: STAGE }), Type.Object({
        aws: Type.Optional(Type.Array(text(AWS_ROLE_ARN, "must be one of our IAM role ARNs (no users, roots or wildcards)"), { uniqueItems: true })),
        gcp: Type.Optional(Type.Array(text(GCP_SERVICE_ACCOUNT_EMAIL, "must be one of our service account emails"), { uniqueItems: true })),
    }, { additionalProperties: false, minProperties: 1 }), {
        minProperties: 1,
        errorMessage: { minProperties: "must list, per stage, which of our identities may call this partner", additionalProperties: "stage names are 2-10 lowercase letters, digits or hyphens" },
        description: "Per stage (stack), our own identities allowed to call the partner through the broker.",
    }),
}, { additionalProperties: false });

const rootNeedsOptIn = {
    if: { not: { required: ["allowAccountRoot"], properties: { allowAccountRoot: { const: true } } } },
    then: {
        properties: {
            identities: {
                additionalProperties: {
                    properties: {
                        aws: {
                            items: {
                                not: { pattern: AWS_ROOT_ARN },
                                errorMessage: "an account root trusts every principal of that account: set allowAccountRoot: true to accept it",
                            },
                        },
                    },
                },
            },
        },
    },
};

export const PartnerSchema = Type.Object({
    slug: Slug,
    name: NonBlank,
    contact: text(EMAIL, "must be a contact e-mail address"),
    allowAccountRoot: Type.Optional(Type.Boolean({ default: false, description: "Accept arn:aws:iam::<account>:root identities (a whole account)." })),
    ...Window,
    identities: Type.Record(EnvironmentName, EnvironmentIdentities, {
        minProperties: 1,
        errorMessage: { minProperties: "at least one environment of identities is required (e.g. `prod:`)" },
        description: "Identities per partner environment; each stage accepts some environments.",
    }),
    aws: Type.Optional(AwsGrant),
    gcp: Type.Optional(GcpGrant),
    outbound: Type.Optional(Type.Array(Outbound)),
}, { additionalProperties: false, ...rootNeedsOptIn });

export const RetiredSchema = Type.Object({
    slug: Slug,
    retiredOn: When,
    reason: NonBlank,
}, { additionalProperties: false });

export const RegistrySchema = Type.Object({
    $schema: Type.Optional(Type.String()),
    version: Type.Literal(REGISTRY_VERSION, { errorMessage: `must be ${REGISTRY_VERSION} (version 1 registries: declare \`environments\` and set version: 2)` }),
    environments: Type.Record(EnvironmentName, Type.Object({
        production: Type.Boolean({ description: "Only production stages accept this environment's identities, and they accept no other." }),
        description: Type.Optional(Type.String()),
    }, { additionalProperties: false }), {
        minProperties: 1,
        description: "The partner environments that exist, declared once, and which are production.",
    }),
    api: Type.Object({
        routes: Type.Array(text(ROUTE, 'must be "METHOD /path" with literal segments ([A-Za-z0-9._~-], never . or ..) or {param}s'), {
            minItems: 1, uniqueItems: true,
            errorMessage: { minItems: "must list the routes the API exposes", uniqueItems: "lists a route twice" },
        }),
    }, { additionalProperties: false }),
    partners: Type.Array(PartnerSchema, {
        minItems: 1,
        errorMessage: { minItems: "the registry lists no partners (an empty registry would revoke everyone at once; remove the stack instead)" },
    }),
    retired: Type.Optional(Type.Array(RetiredSchema, {
        description: "Partners that have left: their slugs are never reused; their data stays in both buckets.",
    })),
}, { additionalProperties: false, title: "partner-access registry" });

export type RegistryDocument = Static<typeof RegistrySchema>;
export type PartnerDocument = Static<typeof PartnerSchema>;
export type OutboundDocument = Static<typeof Outbound>;

/** The JSON Schema file editors use, exactly what the program validates with. */
export function registryJsonSchema(): Record<string, unknown> {
    return { $schema: "http://json-schema.org/draft-07/schema#", $id: "partners.schema.json", ...JSON.parse(JSON.stringify(RegistrySchema)) };
}

export type { TSchema };
