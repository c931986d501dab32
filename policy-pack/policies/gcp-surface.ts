/**
 * The GCP partner API surface: a Cloud Endpoints service (ESPv2), whose
 * OpenAPI 2 document (`openapiConfig`, YAML or JSON text) decides who may call
 * what. ESPv2 enforces exactly what the document says: an operation without a
 * security requirement, `x-google-allow: all`, or a JWT definition trusting an
 * issuer anyone can get tokens from is an open door, whatever IAM says.
 *
 * What opens access is read loosely (any operation key, the document's
 * `security` when the operation has none); what closes it strictly (exact
 * keys, the exact forms partner-access renders: components/gcp/openapi.ts).
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { isObject, readYamlOrJson } from "./documents";
import { GCP_SERVICE_ACCOUNT_EMAIL, re } from "./identifiers";
import { JWKS_BASE, serviceAccountJwksUri } from "./rendered";

export const ENDPOINTS_SERVICE = "gcp:endpoints/service:Service";


/** Swagger 2.0 operations (the Path Item Object's fixed fields: https://swagger.io/specification/v2/). */
const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch"]);

export type EndpointsDocument = { doc: Record<string, any> } | { error: string };

/**
 * The service's OpenAPI document, or why it cannot be checked. Reading
 * `openapiConfig` while it is unknown (preview) throws the SDK's
 * UnknownValueError: reported as not checkable, never passed. A gRPC service
 * (grpcConfig, protocOutputBase64) is not what partner-access renders and is
 * not read here, so it is refused as not checkable.
 */
export function endpointsDocument(props: Record<string, any>): EndpointsDocument {
    if (props.grpcConfig !== undefined && props.grpcConfig !== null) return { error: "a gRPC service configuration (grpcConfig), which this check does not read" };
    if (props.protocOutputBase64 !== undefined && props.protocOutputBase64 !== null) return { error: "a gRPC descriptor (protocOutputBase64), which this check does not read" };
    const text = props.openapiConfig;
    if (typeof text !== "string" || text.trim() === "") return { error: "no OpenAPI document (openapiConfig)" };
    const read = readYamlOrJson(text);
    if ("error" in read) return { error: `openapiConfig cannot be read as Service Management would (${read.error})` };
    const doc = read.value;
    if (!isObject(doc)) return { error: "openapiConfig is not an object" };
    // Endpoints reads OpenAPI 2 documents this way; an OpenAPI 3 document has other extensions (x-google-api-management).
    if (doc.swagger !== "2.0") return { error: `openapiConfig is not an OpenAPI 2.0 document (swagger: ${JSON.stringify(doc.swagger ?? null)})` };
    return { doc };
}

/**
 * Why a list of security requirements lets some call through unauthenticated,
 * or undefined. Requirements are alternatives (OR), each a conjunction of
 * named schemes: an empty list, or an empty alternative `{}`, means "no
 * authentication" (OpenAPI 2.0, Operation Object `security`: "To remove a
 * top-level security declaration, an empty array can be used";
 * https://github.com/OAI/OpenAPI-Specification/blob/main/versions/2.0.md). A
 * scheme not defined in securityDefinitions cannot be judged.
 */
function openRequirement(security: unknown, definitions: Record<string, unknown>): string | undefined {
    if (security === undefined) return "no security requirement (neither on the operation nor at the top level)";
    if (!Array.isArray(security)) return `a security value that is not a list (${JSON.stringify(security)})`;
    if (security.length === 0) return "an empty security list, which removes authentication";
    for (const alt of security) {
        if (!isObject(alt)) return `a security requirement that is not an object (${JSON.stringify(alt)})`;
        if (Object.keys(alt).length === 0) return "an empty security requirement {}, an alternative that admits anyone";
        const undefinedName = Object.keys(alt).find((name) => !Object.prototype.hasOwnProperty.call(definitions, name));
        if (undefinedName !== undefined) return `a security requirement naming "${undefinedName}", which securityDefinitions does not define`;
    }
    return undefined;
}

export const endpointsOperationsAuthenticated: ResourceValidationPolicy = {
    name: "endpoints-operations-authenticated",
    description: "Every operation of a Cloud Endpoints OpenAPI document requires authentication: its own non-empty `security` list, or the document's non-empty " +
        "top-level one when it has none; no empty list or empty alternative `{}`; every scheme named is defined. `x-google-allow` other than \"configured\" " +
        "(\"all\" passes calls to paths the document does not list, with or without authentication) and `x-google-endpoints` allowCors (OPTIONS reaches the " +
        "backend unauthenticated) are refused. ESPv2 enforces only what the document says. A document that cannot be read is refused. " +
        "Remediation: list each operation with the security requirements of the partners granted it, as partner-access renders (components/gcp/openapi.ts); leave a route granted to nobody out.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== ENDPOINTS_SERVICE) return;
        const read = endpointsDocument(args.props);
        if ("error" in read) return report(`${read.error}; it cannot be checked, so it is refused.`);
        const { doc } = read;
        // "When all is used, unconfigured calls—with or without an API key or user authentication—pass through ESP to your API"
        // (OpenAPI extensions, x-google-allow: https://cloud.google.com/endpoints/docs/openapi/openapi-extensions).
        if (doc["x-google-allow"] !== undefined && doc["x-google-allow"] !== "configured") {
            report(`x-google-allow is ${JSON.stringify(doc["x-google-allow"])}: calls to paths the document does not list reach the backend, authenticated or not.`);
        }
        for (const e of Array.isArray(doc["x-google-endpoints"]) ? doc["x-google-endpoints"] : []) {
            if (isObject(e) && (e.allowCors === true || e.allowCors === "true")) report(`x-google-endpoints allowCors is on for ${e.name ?? "the service"}: OPTIONS requests reach the backend without authentication.`);
        }
        const definitions = isObject(doc.securityDefinitions) ? doc.securityDefinitions : {};
        const paths = doc.paths ?? {};
        if (!isObject(paths)) return report("paths is not an object; it cannot be checked, so it is refused.");
        for (const [path, item] of Object.entries(paths)) {
            if (path.startsWith("x-")) continue; // extensions of the Paths Object
            if (!isObject(item)) return report(`path ${path} is not an object; it cannot be checked, so it is refused.`);
            if ("$ref" in item) return report(`path ${path} is a $ref, which this check does not follow; it cannot be checked, so it is refused.`);
            for (const [method, op] of Object.entries(item)) {
                if (!METHODS.has(method.toLowerCase())) continue;
                if (method !== method.toLowerCase()) {
                    report(`${method} ${path}: an operation key not in lower case, which this check cannot match with what ESPv2 serves; it is refused.`);
                    continue;
                }
                const security = isObject(op) && "security" in op ? op.security : doc.security;
                const why = openRequirement(security, definitions);
                if (why) report(`${method.toUpperCase()} ${path} has ${why}: ESPv2 lets unauthenticated calls through to the backend.`);
            }
        }
    },
};

const SERVICE_ACCOUNT_EMAIL = re(GCP_SERVICE_ACCOUNT_EMAIL);

export const endpointsIssuersOwnKeys: ResourceValidationPolicy = {
    name: "endpoints-issuers-own-keys",
    description: "Every securityDefinition of a Cloud Endpoints OpenAPI document is a JWT definition (type oauth2 with x-google-issuer) whose issuer is a " +
        `service account e-mail and whose x-google-jwks_uri is that account's own keys (${JWKS_BASE}<the same e-mail>, what partner-access renders): ` +
        "then only the holder of that account's keys can mint an accepted token. An issuer such as https://accounts.google.com, or any key set not the " +
        "issuer's own, admits tokens anyone can obtain or that someone else signs; an API key identifies no one. Whether the e-mail is listed in the registry " +
        "is judged by principals-from-registry. Remediation: one definition per partner service account, as components/gcp/openapi.ts renders.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== ENDPOINTS_SERVICE) return;
        const read = endpointsDocument(args.props);
        if ("error" in read) return report(`${read.error}; it cannot be checked, so it is refused.`);
        const definitions = read.doc.securityDefinitions;
        if (definitions === undefined) return;
        if (!isObject(definitions)) return report("securityDefinitions is not an object; it cannot be checked, so it is refused.");
        for (const [name, def] of Object.entries(definitions)) {
            if (!isObject(def)) {
                report(`security definition "${name}" is not an object; it cannot be checked, so it is refused.`);
                continue;
            }
            const issuer = def["x-google-issuer"];
            if (def.type !== "oauth2" || issuer === undefined) {
                report(`security definition "${name}" (type ${JSON.stringify(def.type ?? null)}) is not a JWT definition with x-google-issuer: only service-account JWTs are accepted.`);
                continue;
            }
            if (typeof issuer !== "string" || !SERVICE_ACCOUNT_EMAIL.test(issuer)) {
                report(`security definition "${name}" trusts issuer ${JSON.stringify(issuer)}, which is not a service account e-mail (${GCP_SERVICE_ACCOUNT_EMAIL}): tokens would come from an issuer, or a key set, that is not one service account's.`);
                continue;
            }
            const jwks = def["x-google-jwks_uri"];
            if (jwks !== serviceAccountJwksUri(issuer)) {
                report(`security definition "${name}" verifies issuer ${issuer} with keys from ${JSON.stringify(jwks ?? null)}, not the account's own (${serviceAccountJwksUri(issuer)}): whoever holds those keys can sign as ${issuer}.`);
            }
        }
    },
};
