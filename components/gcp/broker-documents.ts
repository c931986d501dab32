/**
 * GCP documents of the outbound token broker, built from the plan by pure
 * functions: names, the secrets' IAM policy and the invoker members. The
 * component (token-broker.ts) only attaches what these return.
 */
import { createHash } from "crypto";
import { outboundOn } from "../broker-routes";
import { AccessPlan } from "../plan/access-plan";

export const SECRET_ACCESSOR = "roles/secretmanager.secretAccessor";
export const RUN_INVOKER = "roles/run.invoker";

/** Service account ids are 6-30 characters: shorten the prefix, never the stage (like espAccountId). */
export function brokerAccountId(namePrefix: string, stage: string): string {
    const room = 30 - `-${stage}-broker`.length;
    return `${namePrefix.slice(0, room).replace(/-+$/, "")}-${stage}-broker`;
}

export function brokerServiceAccountEmail(plan: AccessPlan): string {
    return `${brokerAccountId(plan.stage.namePrefix, plan.stage.stage)}@${plan.stage.gcp.project}.iam.gserviceaccount.com`;
}

/**
 * The private bucket holding the function's source zip. Bucket names are
 * global and at most 63 characters: the project appears as a hash (the
 * prefix, stage and hash fit in 20 + 1 + 10 + 15 + 10).
 */
export function brokerSourceBucket(plan: AccessPlan): string {
    const project = createHash("sha256").update(plan.stage.gcp.project).digest("hex").slice(0, 10);
    return `${plan.stage.namePrefix}-${plan.stage.stage}-broker-source-${project}`;
}

/** The source object, named by the bundle's hash: new code is a new object, which makes the function rebuild. */
export function brokerSourceObject(bundleSha256: string): string {
    return `token-broker-${bundleSha256.slice(0, 32)}.zip`;
}

/** The whole IAM policy of each token secret: the broker's service account reads it, nobody else is granted anything on it. */
export function tokenSecretPolicyData(brokerEmail: string): string {
    return JSON.stringify({ bindings: [{ role: SECRET_ACCESSOR, members: [`serviceAccount:${brokerEmail}`] }] });
}

/**
 * Who may invoke the broker's Cloud Run service: exactly the union of the
 * hosts' `callers.gcp`. Cloud Run's IAM cannot tell hosts apart; the broker
 * itself refuses a caller for a host whose list does not name it (it reads
 * the email of the token Cloud Run verified).
 */
export function invokerMembers(plan: AccessPlan): string[] {
    return [...new Set(outboundOn(plan, "gcp").flatMap((o) => o.callers.gcp))].sort().map((e) => `serviceAccount:${e}`);
}
