/**
 * A model of what `pulumi up` does between two versions of a stack, with the
 * facts the deploy-true tests depend on, each from its source:
 * - creates, updates and replacements (create-before-delete by default) run
 *   as the program registers resources, dependencies first; resources removed
 *   from the program are deleted only after all of that (pulumi/pulumi
 *   pkg/resource/deploy/deployment_executor.go performPostSteps, issue #16589:
 *   "Pulumi deletes resources last after running the program");
 * - an API Gateway Deployment is a snapshot of the REST API at the moment it
 *   is created (API Gateway: "a deployment is a snapshot of your API's
 *   resources and methods");
 * - Google soft-deletes Workload Identity pools and providers and Endpoints
 *   services and refuses their ids for 30 days ("You cannot reuse the ID of a
 *   soft-deleted provider until it is permanently deleted": magic-modules
 *   WorkloadIdentityPoolProvider.yaml; Endpoints "Restoring a managed
 *   service").
 */
import { SynthResource } from "../../tools/synth";

export type Op = { op: "create" | "update" | "replace" | "delete" | "same"; urn: string; before?: SynthResource; after?: SynthResource };

/** Properties whose change makes the provider replace the resource (the ones these tests meet). */
const REPLACE_ON: Record<string, string[]> = {
    "aws:apigateway/deployment:Deployment": ["triggers", "restApi"],
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": ["workloadIdentityPoolId"],
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": ["workloadIdentityPoolId", "workloadIdentityPoolProviderId"],
    "gcp:endpoints/service:Service": ["serviceName"],
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The update's steps in the order the engine runs them. */
export function steps(before: SynthResource[], after: SynthResource[]): Op[] {
    const old = new Map(before.map((r) => [r.urn, r]));
    const ops: Op[] = [];
    for (const r of after) {
        const prev = old.get(r.urn);
        if (!prev) ops.push({ op: "create", urn: r.urn, after: r });
        else if (same(prev.inputs, r.inputs)) ops.push({ op: "same", urn: r.urn, before: prev, after: r });
        else if ((REPLACE_ON[r.type] ?? []).some((k) => !same(prev.inputs[k], r.inputs[k]))) ops.push({ op: "replace", urn: r.urn, before: prev, after: r });
        else ops.push({ op: "update", urn: r.urn, before: prev, after: r });
    }
    const kept = new Set(after.map((r) => r.urn));
    // Removed resources last, dependents before what they depend on (reverse registration order).
    for (const r of [...before].reverse()) if (!kept.has(r.urn)) ops.push({ op: "delete", urn: r.urn, before: r });
    return ops;
}

/** Routes a REST API serves according to one resource's view of it: an OpenAPI body, or a per-route Method. */
function routesOf(r: SynthResource): string[] {
    if (r.type === "aws:apigateway/restApi:RestApi" && typeof r.inputs.body === "string") {
        const body = JSON.parse(r.inputs.body);
        return Object.entries<any>(body.paths ?? {}).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    }
    if (r.type === "aws:apigateway/method:Method") return [`${r.inputs.httpMethod} ${r.inputs.resourcePath ?? r.name}`];
    return [];
}

/** The routes each Deployment created by the update snapshots: the API as it is at that step. */
export function deploymentSnapshots(before: SynthResource[], after: SynthResource[]): string[][] {
    const live = new Map(before.map((r) => [r.urn, r]));
    const snapshots: string[][] = [];
    for (const s of steps(before, after)) {
        if (s.op === "delete") {
            live.delete(s.urn);
            continue;
        }
        if (s.after) live.set(s.urn, s.after);
        if (s.after?.type === "aws:apigateway/deployment:Deployment" && (s.op === "create" || s.op === "replace")) {
            snapshots.push([...live.values()].flatMap(routesOf).sort());
        }
    }
    return snapshots;
}

/** Google ids that a resource holds while it lives. */
function googleId(r: SynthResource): string | undefined {
    switch (r.type) {
        case "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": return `pool ${r.inputs.workloadIdentityPoolId}`;
        case "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": return `provider ${r.inputs.workloadIdentityPoolId}/${r.inputs.workloadIdentityPoolProviderId}`;
        case "gcp:endpoints/service:Service": return `endpoints ${r.inputs.serviceName}`;
        default: return undefined;
    }
}

/**
 * Runs a sequence of stack versions (each within 30 days of the first) and
 * returns the creates Google would refuse because their id is soft-deleted.
 */
export function softDeleteConflicts(versions: SynthResource[][]): string[] {
    const reserved = new Set<string>();
    const conflicts: string[] = [];
    for (let i = 1; i < versions.length; i++) {
        for (const s of steps(versions[i - 1], versions[i])) {
            if ((s.op === "delete" || s.op === "replace") && s.before && googleId(s.before)) reserved.add(googleId(s.before)!);
            if ((s.op === "create" || s.op === "replace") && s.after) {
                const id = googleId(s.after);
                if (id && reserved.has(id)) conflicts.push(`version ${i + 1}: creating ${id} fails: it was deleted earlier and is soft-deleted for 30 days`);
            }
        }
    }
    return conflicts;
}
