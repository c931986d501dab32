/**
 * The outbound token broker, from the plan: names of its secrets and function
 * on each cloud, and the routes table bundled beside its code. Pure functions:
 * the components (aws/token-broker.ts, gcp/token-broker.ts) only render what
 * these return.
 *
 * No token value ever passes through here: the registry says how a token is
 * applied (header or query parameter), never what it is, and every secret is
 * created empty. Operators set tokens with one cloud command (broker/README.md).
 */
import { createHash } from "crypto";
import { aliasName, BrokerRoutes, Route } from "../broker/src";
import { AccessPlan, OutboundPlan } from "./plan/access-plan";

export type BrokerCloud = "aws" | "gcp";

/** Hosts a cloud's broker serves: those with callers on that cloud in this stage. */
export function outboundOn(plan: AccessPlan, cloud: BrokerCloud): OutboundPlan[] {
    return plan.outbound.filter((o) => o.callers[cloud].length > 0);
}

/** `<namePrefix>-<stage>-token-broker`: the Lambda function, its role, and the Cloud Run function. */
export function brokerFunctionName(plan: AccessPlan): string {
    return `${plan.stage.namePrefix}-${plan.stage.stage}-token-broker`;
}

/** Secrets Manager secret name of a host's token: `<namePrefix>/<stage>/outbound/<partner>/<host>`. */
export function awsSecretName(plan: AccessPlan, o: Pick<OutboundPlan, "partner" | "host">): string {
    return `${plan.stage.namePrefix}/${plan.stage.stage}/outbound/${o.partner}/${o.host}`;
}

/** First 8 hex of sha256(host): a host name has dots, which Secret Manager ids do not allow. */
export const hostHash8 = (host: string) => createHash("sha256").update(host, "utf8").digest("hex").slice(0, 8);

/** Secret Manager secret id of a host's token: `<namePrefix>-<stage>-outbound-<partner>-<hash8 of host>`. */
export function gcpSecretId(plan: AccessPlan, o: Pick<OutboundPlan, "partner" | "host">): string {
    return `${plan.stage.namePrefix}-${plan.stage.stage}-outbound-${o.partner}-${hostHash8(o.host)}`;
}

/** The secret's resource name as the broker reads it (`projects/<project id>/secrets/<id>`). */
export function gcpSecretName(plan: AccessPlan, o: Pick<OutboundPlan, "partner" | "host">): string {
    return `projects/${plan.stage.gcp.project}/secrets/${gcpSecretId(plan, o)}`;
}

/**
 * The routes table one cloud's broker bundles as routes.json: only that
 * cloud's hosts, callers and secret, so a change on one cloud does not
 * redeploy the other. On AWS the alias invoked decides the host (callers are
 * informational there); on GCP the broker checks the verified caller email
 * against the host's `callers.gcp`.
 */
export function brokerRoutes(plan: AccessPlan, cloud: BrokerCloud): BrokerRoutes {
    const routes: Route[] = outboundOn(plan, cloud).map((o) => ({
        partner: o.partner,
        host: o.host,
        token: o.token.query !== undefined ? { query: o.token.query } : o.token.scheme ? { header: o.token.header!, scheme: "Bearer" as const } : { header: o.token.header! },
        callers: { [cloud]: [...o.callers[cloud]].sort() },
        secret: { [cloud]: cloud === "aws" ? awsSecretName(plan, o) : gcpSecretName(plan, o) },
    }));
    return { stage: plan.stage.stage, routes };
}

/** How the broker applies a host's token, in words: `header X-Api-Key`, `header Authorization (Bearer)`, `query api_key`. */
export function tokenPlacement(o: Pick<OutboundPlan, "token">): string {
    if (o.token.query !== undefined) return `query ${o.token.query}`;
    return `header ${o.token.header}${o.token.scheme ? ` (${o.token.scheme})` : ""}`;
}

export { aliasName };
