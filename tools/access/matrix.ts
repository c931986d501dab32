/**
 * Effective access matrix of one stage: partner x resource x action, computed
 * from what synth rendered — AWS policies through an IAM policy evaluator, GCP
 * folder bindings and the Endpoints OpenAPI security — and compared, cell by
 * cell, with the access plan. A cell whose effect differs from the plan is a
 * defect. Development tool: the evaluator is AGPL-3.0 and a devDependency.
 */
import { PartnerPlan } from "../../components/plan/access-plan";
import { Route, routeKey } from "../../components/plan/routes";
import { federatedMember } from "../../components/gcp/storage-bindings";
import { Decision, Request, decide } from "./iam-eval";
import { SynthOutput, doc, ofType, one } from "./synth-output";

export type Effect = "allowed" | "denied";

export interface Cell {
    partner: string;
    /** The identity the partner calls as: a role in our account, its own ARN, or a GCP member. */
    via: string;
    cloud: "aws" | "gcp";
    /** `files partners/<slug>/` or `api METHOD /path`. */
    resource: string;
    action: string;
    effective: Effect;
    planned: Effect;
}

export interface Matrix {
    stack: string;
    production: boolean;
    cells: Cell[];
    defects: Cell[];
}

export const S3_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"];
export const GCS_PERMISSIONS = ["storage.objects.get", "storage.objects.list", "storage.objects.create", "storage.objects.delete"];
/** Permissions of the predefined roles the program grants, for the object actions the matrix checks. */
export const GCS_ROLE_PERMISSIONS: Record<string, string[]> = {
    "roles/storage.objectViewer": ["storage.objects.get", "storage.objects.list"],
    "roles/storage.objectCreator": ["storage.objects.create"],
    "roles/storage.objectUser": ["storage.objects.get", "storage.objects.list", "storage.objects.create", "storage.objects.delete"],
    "roles/storage.objectAdmin": ["storage.objects.get", "storage.objects.list", "storage.objects.create", "storage.objects.delete"],
    "roles/storage.admin": ["storage.objects.get", "storage.objects.list", "storage.objects.create", "storage.objects.delete"],
};

export interface AwsCaller {
    via: string;
    principal: string;
    identityPolicies: unknown[];
}

/** How a partner calls us on AWS: as its role in our account, and (direct) as its own principals. */
export function awsCallers(s: SynthOutput, p: PartnerPlan): AwsCaller[] {
    const out: AwsCaller[] = [];
    if (p.aws.role) {
        const grant = ofType(s, "aws:iam/rolePolicy:RolePolicy").find((g) => g.inputs.role === p.aws.role!.name);
        out.push({ via: p.aws.role.arn, principal: p.aws.role.arn, identityPolicies: grant ? [doc(grant.inputs.policy)] : [] });
    }
    if (p.aws.connect === "direct") {
        for (const arn of p.aws.principals) {
            // An account root stands for any principal of that account.
            const principal = arn.endsWith(":root") ? arn.replace(/:root$/, ":role/any-principal") : arn;
            out.push({ via: arn, principal, identityPolicies: [s.outputs.partners[p.slug].aws.identityPolicy] });
        }
    }
    return out;
}

/** A concrete request path for a route: `{param}` becomes a value. */
export const concretePath = (route: Route) => route.path.replace(/\{[^}]+\}/g, "42");

/** What to ask for: an object key, a listing under a prefix, or a route. */
export type AwsTarget = { object: string } | { list: string } | { route: Route };

/** The evaluator request for a caller and target, against the stage's rendered resource policies. */
export function awsRequest(s: SynthOutput, c: AwsCaller, action: string, target: AwsTarget, context: Record<string, string> = {}): Request {
    const account = s.plan.stage.aws.accountId;
    const bucket = s.outputs.aws.bucketName as string;
    const base = { principal: c.principal, identityPolicies: c.identityPolicies, resourceAccount: account, context };
    if ("route" in target) {
        return {
            ...base, action: "execute-api:Invoke",
            resource: `arn:aws:execute-api:${s.plan.stage.aws.region}:${account}:${s.outputs.aws.apiId}/${s.plan.names.apiStageName}/${target.route.method}${concretePath(target.route)}`,
            resourcePolicy: doc(one(s, "aws:apigateway/restApiPolicy:RestApiPolicy").inputs.policy),
        };
    }
    const bucketPolicy = doc(one(s, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    if ("list" in target) {
        return { ...base, action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}`, resourcePolicy: bucketPolicy, context: { ...context, "s3:prefix": target.list } };
    }
    return { ...base, action, resource: `arn:aws:s3:::${bucket}/${target.object}`, resourcePolicy: bucketPolicy };
}

const effect = (d: Decision): Effect => (d === "Allowed" ? "allowed" : "denied");

async function awsCells(s: SynthOutput): Promise<Cell[]> {
    const cells: Cell[] = [];
    for (const p of s.plan.partners) {
        for (const c of awsCallers(s, p)) {
            for (const q of s.plan.partners) {
                for (const action of S3_ACTIONS) {
                    const planned = q.slug === p.slug && (p.aws.files.objectActions.includes(action) || (action === "s3:ListBucket" && p.aws.files.list));
                    const d = await decide(awsRequest(s, c, action, action === "s3:ListBucket" ? { list: q.prefix } : { object: `${q.prefix}report.csv` }));
                    cells.push({ partner: p.slug, via: c.via, cloud: "aws", resource: `files ${q.prefix}`, action, effective: effect(d), planned: planned ? "allowed" : "denied" });
                }
            }
            const granted = new Set(p.aws.routes.map(routeKey));
            for (const route of s.plan.routes) {
                const d = await decide(awsRequest(s, c, "execute-api:Invoke", { route }));
                cells.push({ partner: p.slug, via: c.via, cloud: "aws", resource: `api ${routeKey(route)}`, action: "execute-api:Invoke", effective: effect(d), planned: granted.has(routeKey(route)) ? "allowed" : "denied" });
            }
        }
    }
    return cells;
}

/** Evaluates the only condition shape the program renders on folder bindings: resource.name.startsWith("..."). */
function conditionHolds(expression: string | undefined, objectName: string): boolean {
    if (!expression) return true;
    const m = /^resource\.name\.startsWith\("([^"]*)"\)$/.exec(expression.trim());
    if (!m) throw new Error(`cannot evaluate IAM condition: ${expression}`);
    return objectName.startsWith(m[1]);
}

/** Who the partner is on GCP: its service accounts and its federated AWS principals. */
function partnerMembers(s: SynthOutput, p: PartnerPlan): string[] {
    return [...p.gcp.serviceAccounts.map((e) => `serviceAccount:${e}`), ...p.gcp.federatedAwsPrincipals.map((a) => federatedMember(s.plan, a))];
}

function gcpCells(s: SynthOutput): Cell[] {
    const cells: Cell[] = [];
    const bucket = s.plan.names.gcsBucket;
    // Folder and bucket grants, authoritative bindings and single members alike, as (member, role, folder?, condition?).
    const grants = (type: string) => ofType(s, type).flatMap((b) => (b.inputs.members ?? [b.inputs.member]).map((member: string) => ({
        member: String(member), role: String(b.inputs.role), folder: b.inputs.managedFolder as string | undefined, expression: b.inputs.condition?.expression as string | undefined,
    })));
    const folderBindings = [...grants("gcp:storage/managedFolderIamBinding:ManagedFolderIamBinding"), ...grants("gcp:storage/managedFolderIamMember:ManagedFolderIamMember")];
    const bucketBindings = [...grants("gcp:storage/bucketIAMBinding:BucketIAMBinding"), ...grants("gcp:storage/bucketIAMMember:BucketIAMMember")];
    const openapi = s.resources.some((r) => r.type === "gcp:endpoints/service:Service") ? doc(one(s, "gcp:endpoints/service:Service").inputs.openapiConfig) : { paths: {}, securityDefinitions: {} };
    for (const p of s.plan.partners) {
        const members = partnerMembers(s, p);
        const plannedPerms = new Set(p.gcp.storageRoles.flatMap((r) => GCS_ROLE_PERMISSIONS[r] ?? []));
        for (const member of [...new Set(members)]) {
            for (const q of s.plan.partners) {
                const object = `projects/_/buckets/${bucket}/objects/${q.prefix}report.csv`;
                const roles = [
                    ...folderBindings.filter((b) => b.member === member && b.folder === q.prefix && conditionHolds(b.expression, object)),
                    ...bucketBindings.filter((b) => b.member === member && conditionHolds(b.expression, object)),
                ].map((b) => b.role);
                const perms = new Set(roles.flatMap((r) => GCS_ROLE_PERMISSIONS[r] ?? [`unknown role ${r}`]));
                for (const action of GCS_PERMISSIONS) {
                    const planned = q.slug === p.slug && plannedPerms.has(action);
                    cells.push({ partner: p.slug, via: member, cloud: "gcp", resource: `files ${q.prefix}`, action, effective: perms.has(action) ? "allowed" : "denied", planned: planned ? "allowed" : "denied" });
                }
            }
            const email = member.startsWith("serviceAccount:") ? member.slice("serviceAccount:".length) : undefined;
            const mine = new Set(Object.entries<any>(openapi.securityDefinitions ?? {}).filter(([, d]) => email && d["x-google-issuer"] === email).map(([n]) => n));
            const granted = new Set(p.gcp.routes.map(routeKey));
            for (const route of s.plan.routes) {
                const op = openapi.paths?.[route.path]?.[route.method.toLowerCase()];
                const allowed = !!op && (op.security ?? []).some((req: object) => Object.keys(req).some((n) => mine.has(n)));
                const planned = !!email && granted.has(routeKey(route));
                cells.push({ partner: p.slug, via: member, cloud: "gcp", resource: `api ${routeKey(route)}`, action: "invoke (JWT)", effective: allowed ? "allowed" : "denied", planned: planned ? "allowed" : "denied" });
            }
        }
    }
    // A rendered member that belongs to no partner of the plan is a defect wherever it is bound.
    const known = new Set(s.plan.partners.flatMap((p) => partnerMembers(s, p)));
    for (const b of [...folderBindings, ...bucketBindings]) {
        if (known.has(b.member)) continue;
        for (const action of GCS_ROLE_PERMISSIONS[b.role] ?? ["(unknown role)"]) {
            cells.push({ partner: "(no partner)", via: b.member, cloud: "gcp", resource: `files ${b.folder ?? "(whole bucket)"}`, action, effective: "allowed", planned: "denied" });
        }
    }
    return cells;
}

export async function accessMatrix(s: SynthOutput): Promise<Matrix> {
    const cells = [...(await awsCells(s)), ...gcpCells(s)];
    return { stack: s.plan.stage.stage, production: s.plan.stage.production, cells, defects: cells.filter((c) => c.effective !== c.planned) };
}

/** A compact table: for each partner and identity, what is allowed; every defect flagged. */
export function formatMatrix(m: Matrix): string {
    const lines = [`stage ${m.stack}: ${m.cells.length} cells evaluated, ${m.cells.filter((c) => c.effective === "allowed").length} allowed, ${m.defects.length} defect(s)`];
    const groups = new Map<string, Cell[]>();
    for (const c of m.cells) groups.set(`${c.partner}\u0000${c.cloud}\u0000${c.via}`, [...(groups.get(`${c.partner}\u0000${c.cloud}\u0000${c.via}`) ?? []), c]);
    for (const [key, cells] of groups) {
        const [partner, cloud, via] = key.split("\u0000");
        lines.push("", `${partner} on ${cloud.toUpperCase()} as ${via}`);
        const byResource = new Map<string, Cell[]>();
        for (const c of cells) byResource.set(c.resource, [...(byResource.get(c.resource) ?? []), c]);
        let denied = 0;
        for (const [resource, rc] of byResource) {
            const allowed = rc.filter((c) => c.effective === "allowed").map((c) => c.action);
            const defects = rc.filter((c) => c.effective !== c.planned);
            if (allowed.length === 0 && defects.length === 0) {
                denied++;
                continue;
            }
            lines.push(`  ${resource.padEnd(34)} ${allowed.join(", ") || "-"}`);
            for (const d of defects) lines.push(`    DEFECT: ${d.action} is ${d.effective}, the plan says ${d.planned}`);
        }
        if (denied > 0) lines.push(`  (${denied} other resource(s): everything denied, as planned)`);
    }
    return lines.join("\n");
}
