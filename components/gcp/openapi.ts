/**
 * The Cloud Endpoints (ESPv2) OpenAPI 2.0 document, from the plan. Each
 * partner service account is its own JWT issuer; each route lists only the
 * issuers of partners granted it at the evaluation time. A route granted to
 * nobody is left out, so ESPv2 refuses it: an empty `security` would mean "no
 * authentication". OpenAPI cannot express time: a grant outside its window is
 * absent, and the daily deploy brings the document up to date.
 */
import { AccessPlan } from "../plan/access-plan";
import { pathParams, routeKey } from "../plan/routes";
import { operationId } from "../aws/rest-api-definition";
import { JWKS_BASE, serviceAccountJwksUri } from "../../policy-pack/policies/rendered";

/** Defined once in the policy pack, which accepts exactly this form (endpoints-issuers-own-keys). */
export { JWKS_BASE };

/** Security definition name of one partner service account: stable and readable. */
export function securityName(slug: string, email: string): string {
    return `${slug}--${email.split("@")[0]}--${email.split("@")[1].split(".")[0]}`;
}

export const endpointsAudience = (serviceName: string) => `https://${serviceName}`;

export interface OpenApiDocument {
    swagger: "2.0";
    info: { title: string; description: string; version: string };
    host: string;
    schemes: string[];
    produces: string[];
    "x-google-backend"?: { address: string; jwt_audience: string; path_translation: string; deadline: number };
    securityDefinitions: Record<string, Record<string, unknown>>;
    paths: Record<string, Record<string, unknown>>;
}

export function openApiDocument(plan: AccessPlan, serviceName: string): OpenApiDocument {
    const audience = endpointsAudience(serviceName);
    const securityDefinitions: OpenApiDocument["securityDefinitions"] = {};
    const grantees = new Map<string, string[]>(); // route key -> security names
    for (const p of plan.partners) {
        if (p.gcp.activeRoutes.length === 0) continue;
        for (const email of p.gcp.serviceAccounts) {
            const name = securityName(p.slug, email);
            securityDefinitions[name] = {
                authorizationUrl: "",
                flow: "implicit",
                type: "oauth2",
                "x-google-issuer": email,
                // As Google documents it: the raw email in the path.
                "x-google-jwks_uri": serviceAccountJwksUri(email),
                "x-google-audiences": audience,
            };
            for (const r of p.gcp.activeRoutes) grantees.set(routeKey(r), [...(grantees.get(routeKey(r)) ?? []), name]);
        }
    }
    const paths: OpenApiDocument["paths"] = {};
    for (const r of plan.routes) {
        const names = grantees.get(routeKey(r));
        if (!names) continue;
        const params = pathParams(r.path).map((name) => ({ name, in: "path", required: true, type: "string" }));
        (paths[r.path] ??= {})[r.method.toLowerCase()] = {
            operationId: operationId(r),
            summary: `${routeKey(r)} (partners: ${[...new Set(names.map((n) => n.split("--")[0]))].join(", ")})`,
            ...(params.length > 0 ? { parameters: params } : {}),
            // A list of requirements is OR: any one granted partner's token passes.
            security: names.map((n) => ({ [n]: [] })),
            responses: { "200": { description: "Proxied from the backend" } },
        };
    }
    const backend = plan.stage.gcp.apiBackendUrl;
    return {
        swagger: "2.0",
        info: { title: plan.names.apiName, description: `Partner API (${plan.stage.stage}); Google-signed service account JWTs only`, version: "1.0.0" },
        host: serviceName,
        schemes: ["https"],
        produces: ["application/json"],
        // ESPv2 calls the backend with an ID token of its own service account for this audience: the backend
        // refuses anything else (README, "Backend contract").
        ...(backend ? { "x-google-backend": { address: backend, jwt_audience: backend, path_translation: "APPEND_PATH_TO_ADDRESS", deadline: 30 } } : {}),
        securityDefinitions,
        paths,
    };
}
