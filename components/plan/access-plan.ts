/**
 * The access plan: registry + stage config -> who may do what, where, in this
 * stage. Plain data, no Pulumi. Every component renders this plan and nothing
 * else decides who gets what; tests check rendered policies against it.
 */
import { isRootArn } from "./identifiers";
import { FileAccess, GcpIdentity, Partner, Registry } from "./registry";
import { Route, expand } from "./routes";
import { StageConfig } from "./stage-config";

export interface S3Grant {
    /** Object actions on `<bucket>/<prefix>*`. */
    objectActions: string[];
    /** s3:ListBucket, conditioned on `s3:prefix` under the partner's prefix. */
    list: boolean;
}

export interface AwsPartnerPlan {
    connect: "assume-role" | "direct";
    externalId?: string;
    /** AWS principals (role/user/root ARNs) accepted in this stage. */
    principals: string[];
    /** Google service accounts accepted in this stage that federate into AWS (they have a unique id). */
    googleIdentities: Required<GcpIdentity>[];
    files: S3Grant;
    routes: Route[];
    /** The partner's role in our account; absent when nobody needs one (direct only, or no grant). */
    role?: { name: string; path: string; arn: string; trustsAwsPrincipals: boolean; trustsGoogle: boolean };
}

export interface GcpPartnerPlan {
    /** Service account emails accepted in this stage. */
    serviceAccounts: string[];
    /** AWS role/user ARNs admitted through Workload Identity Federation (account roots never are). */
    federatedAwsPrincipals: string[];
    /** Predefined Cloud Storage roles on the partner's prefix. */
    storageRoles: string[];
    routes: Route[];
}

export interface PartnerPlan {
    slug: string;
    name: string;
    contact: string;
    /** Partner environments whose identities this stage accepts. */
    environments: string[];
    /** Storage prefix, the same in S3 and GCS: `partners/<slug>/`. */
    prefix: string;
    aws: AwsPartnerPlan;
    gcp: GcpPartnerPlan;
}

export interface StageNames {
    awsBucket: string;
    gcsBucket: string;
    /** IAM path of every partner role: lets policies name "our partner roles" without listing them. */
    rolePath: string;
    apiName: string;
    apiStageName: string;
    endpointsService: string;
    workloadIdentityPool: string;
}

export interface AccessPlan {
    stage: StageConfig;
    names: StageNames;
    routes: Route[];
    partners: PartnerPlan[];
    /** Registry partners with no identity accepted in this stage: they get nothing here. */
    excluded: { slug: string; reason: string }[];
}

export const READ_ACTIONS = ["s3:GetObject"];
export const WRITE_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

/** Partners read and create; nobody outside operations deletes (versioning keeps overwritten data). */
export function s3Grant(access: FileAccess): S3Grant {
    const read = access === "read" || access === "read-write";
    const write = access === "write" || access === "read-write";
    return { objectActions: [...(read ? READ_ACTIONS : []), ...(write ? WRITE_ACTIONS : [])], list: read };
}

export function gcsRoles(access: FileAccess): string[] {
    return [
        ...(access === "read" || access === "read-write" ? ["roles/storage.objectViewer"] : []),
        ...(access === "write" || access === "read-write" ? ["roles/storage.objectCreator"] : []),
    ];
}

export function partnerPrefix(slug: string): string {
    return `partners/${slug}/`;
}

export function stageNames(stage: StageConfig): StageNames {
    const base = `${stage.namePrefix}-${stage.stage}`;
    return {
        awsBucket: `${base}-${stage.aws.accountId}-${stage.aws.region}`,
        gcsBucket: `${base}-${stage.gcp.project}`,
        rolePath: `/${stage.namePrefix}/${stage.stage}/`,
        apiName: `${base}-partner-api`,
        apiStageName: stage.stage,
        endpointsService: `${base}.endpoints.${stage.gcp.project}.cloud.goog`,
        workloadIdentityPool: base,
    };
}

export function buildPlan(registry: Registry, stage: StageConfig): AccessPlan {
    const names = stageNames(stage);
    const partners: PartnerPlan[] = [];
    const excluded: AccessPlan["excluded"] = [];
    for (const p of registry.partners) {
        const environments = Object.keys(p.identities).filter((e) => stage.acceptedEnvironments.includes(e));
        if (environments.length === 0) {
            excluded.push({ slug: p.slug, reason: `no identities for ${stage.acceptedEnvironments.join(", ")}` });
            continue;
        }
        partners.push(planPartner(p, environments, registry.routes, stage, names));
    }
    return { stage, names, routes: registry.routes, partners, excluded };
}

function unique<T>(xs: T[], key: (x: T) => string = String): T[] {
    const seen = new Set<string>();
    return xs.filter((x) => !seen.has(key(x)) && (seen.add(key(x)), true));
}

function planPartner(p: Partner, environments: string[], catalogue: Route[], stage: StageConfig, names: StageNames): PartnerPlan {
    const ids = environments.map((e) => p.identities[e]);
    const awsPrincipals = unique(ids.flatMap((i) => i.aws));
    const serviceAccounts = unique(ids.flatMap((i) => i.gcp), (g) => g.email);
    const routesOf = (api: Partner["aws"]["api"]) => (api === "all" ? [...catalogue] : expand(api, catalogue));

    // A grant is only planned where this stage accepts an identity to hold it.
    const awsRequested = s3Grant(p.aws.files).objectActions.length > 0 || routesOf(p.aws.api).length > 0;
    const googleIdentities = awsRequested ? serviceAccounts.filter((g): g is Required<GcpIdentity> => !!g.uniqueId) : [];
    const principals = awsRequested ? awsPrincipals : [];
    const awsHeld = principals.length > 0 || googleIdentities.length > 0;
    const files = s3Grant(awsHeld ? p.aws.files : "none");
    const awsRoutes = awsHeld ? routesOf(p.aws.api) : [];
    const trustsAwsPrincipals = p.aws.connect === "assume-role" && principals.length > 0;
    const trustsGoogle = googleIdentities.length > 0;
    const roleName = `${stage.namePrefix}-${stage.stage}-${p.slug}`;

    const gcpEmails = serviceAccounts.map((g) => g.email);
    // Files only: the Endpoints API authenticates Google-signed JWTs, which federated AWS identities do not hold.
    const federatedAwsPrincipals = gcsRoles(p.gcp.files).length > 0 ? awsPrincipals.filter((a) => !isRootArn(a)) : [];
    const storageRoles = gcpEmails.length > 0 || federatedAwsPrincipals.length > 0 ? gcsRoles(p.gcp.files) : [];
    const gcpRoutes = gcpEmails.length > 0 ? routesOf(p.gcp.api) : [];
    return {
        slug: p.slug,
        name: p.name,
        contact: p.contact,
        environments,
        prefix: partnerPrefix(p.slug),
        aws: {
            connect: p.aws.connect,
            externalId: p.aws.externalId,
            principals,
            googleIdentities,
            files,
            routes: awsRoutes,
            role: trustsAwsPrincipals || trustsGoogle
                ? {
                    name: roleName,
                    path: names.rolePath,
                    arn: `arn:aws:iam::${stage.aws.accountId}:role${names.rolePath}${roleName}`,
                    trustsAwsPrincipals,
                    trustsGoogle,
                }
                : undefined,
        },
        gcp: {
            serviceAccounts: storageRoles.length > 0 || gcpRoutes.length > 0 ? gcpEmails : [],
            federatedAwsPrincipals,
            storageRoles,
            routes: gcpRoutes,
        },
    };
}
