/**
 * The access plan: registry + stage config -> who may do what, where, when,
 * in this stage. Plain data, no Pulumi. Every component renders this plan and
 * nothing else decides who gets what; tests and review tools check rendered
 * documents against it.
 */
import { S3Grant, gcsRoles, s3Grant } from "./capabilities";
import { isRootArn } from "./identities";
import { GcpIdentity, Outbound, Partner, Registry, Retired } from "./registry";
import { Route, expand } from "./routes";
import { FileAccess } from "./schema";
import { StageConfig } from "./stage-config";
import { stageBase } from "../../policy-pack/policies/rendered";
import { Window, intersect, windowState } from "./validity";

export type { S3Grant };

export interface AwsPartnerPlan {
    connect: "assume-role" | "direct";
    /** The registry's access level, as held in this stage ("none" when no identity here can hold it). */
    access: FileAccess;
    externalId?: string;
    /** AWS principals (role/user/root ARNs) accepted in this stage. */
    principals: string[];
    /** Google service accounts accepted in this stage that federate into AWS (they have a unique id). */
    googleIdentities: Required<GcpIdentity>[];
    files: S3Grant;
    routes: Route[];
    /** When the AWS grant holds (partner and grant windows intersected); rendered as aws:CurrentTime conditions. */
    window: Window;
    /** The partner's role in our account; absent when nobody needs one (direct only, or no grant). */
    role?: { name: string; path: string; arn: string; trustsAwsPrincipals: boolean; trustsGoogle: boolean };
}

export interface GcpPartnerPlan {
    access: FileAccess;
    /** Service account emails accepted in this stage. */
    serviceAccounts: string[];
    /** AWS role/user ARNs admitted through Workload Identity Federation (account roots never are). */
    federatedAwsPrincipals: string[];
    /** Predefined Cloud Storage roles on the partner's prefix. */
    storageRoles: string[];
    /** Routes granted (whatever the time). */
    routes: Route[];
    /**
     * Routes the Endpoints document serves at the evaluation time: OpenAPI
     * cannot express time, so a grant outside its window is left out and the
     * daily deploy adds or removes it.
     */
    activeRoutes: Route[];
    window: Window;
}

export interface OutboundPlan {
    partner: string;
    host: string;
    token: Outbound["token"];
    /** Our identities allowed to call this host through the broker, in this stage. */
    callers: { aws: string[]; gcp: string[] };
    /** For review only: the identities other stages list for this host. None may call it here. */
    otherStageCallers: { aws: string[]; gcp: string[] };
}

export interface PartnerPlan {
    slug: string;
    name: string;
    contact: string;
    /** Partner environments whose identities this stage accepts. */
    environments: string[];
    /** Storage prefix, the same in S3 and GCS: `partners/<slug>/`. */
    prefix: string;
    /** The partner's own window (contract dates); each cloud's grant window lies within it. */
    window: Window;
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
    /** Base of ids Google keeps for 30 days after deletion; the components add a random suffix per incarnation. */
    endpointsServiceBase: string;
    workloadIdentityPoolBase: string;
}

export interface AccessPlan {
    stage: StageConfig;
    names: StageNames;
    /** The instant the plan was evaluated at (ISO): decides what the Endpoints document serves. */
    evaluatedAt: string;
    /** Partner environments (from the registry) and which are production. */
    environments: Record<string, { production: boolean }>;
    routes: Route[];
    partners: PartnerPlan[];
    /** Registry partners with no identity accepted in this stage: they get nothing here. */
    excluded: { slug: string; reason: string }[];
    retired: Retired[];
    /**
     * Partner APIs our own services call through the token broker, with the
     * identities of ours this stage lets call each (independent of whether the
     * partner itself has identities in this stage).
     */
    outbound: OutboundPlan[];
    /**
     * For review only: each partner's identities in environments this stage
     * does NOT accept. Nothing here may reach anything in this stage.
     */
    otherStageIdentities: Record<string, { aws: string[]; gcp: string[] }>;
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
        endpointsServiceBase: base,
        // The pack recognises the stage's pool by this base (policy-pack/policies/rendered.ts).
        workloadIdentityPoolBase: stageBase(stage.namePrefix, stage.stage),
    };
}

export function buildPlan(registry: Registry, stage: StageConfig, at: Date): AccessPlan {
    const names = stageNames(stage);
    const partners: PartnerPlan[] = [];
    const excluded: AccessPlan["excluded"] = [];
    for (const p of registry.partners) {
        const environments = Object.keys(p.identities).filter((e) => stage.acceptedEnvironments.includes(e));
        if (environments.length === 0) {
            excluded.push({ slug: p.slug, reason: `no identities for ${stage.acceptedEnvironments.join(", ")}` });
            continue;
        }
        partners.push(planPartner(p, environments, registry.routes, stage, names, at));
    }
    const outbound = registry.partners.flatMap((p) => p.outbound.map((o) => {
        const callers = { aws: o.callers[stage.stage]?.aws ?? [], gcp: o.callers[stage.stage]?.gcp ?? [] };
        const elsewhere = (cloud: "aws" | "gcp") => unique(Object.entries(o.callers).filter(([s]) => s !== stage.stage).flatMap(([, c]) => c[cloud] ?? []))
            .filter((id) => !callers[cloud].includes(id));
        return { partner: p.slug, host: o.host, token: o.token, callers, otherStageCallers: { aws: elsewhere("aws"), gcp: elsewhere("gcp") } };
    })).filter((o) => o.callers.aws.length + o.callers.gcp.length > 0);
    const otherStageIdentities = Object.fromEntries(registry.partners.map((p) => {
        const envs = Object.keys(p.identities).filter((e) => !stage.acceptedEnvironments.includes(e));
        return [p.slug, { aws: envs.flatMap((e) => p.identities[e].aws), gcp: envs.flatMap((e) => p.identities[e].gcp.map((g) => g.email)) }];
    }));
    return {
        stage, names, evaluatedAt: at.toISOString(), environments: registry.environments, routes: registry.routes, partners, excluded,
        retired: registry.retired, outbound, otherStageIdentities,
    };
}

function unique<T>(xs: T[], key: (x: T) => string = String): T[] {
    const seen = new Set<string>();
    return xs.filter((x) => !seen.has(key(x)) && (seen.add(key(x)), true));
}

function planPartner(p: Partner, environments: string[], catalogue: Route[], stage: StageConfig, names: StageNames, at: Date): PartnerPlan {
    const ids = environments.map((e) => p.identities[e]);
    const awsPrincipals = unique(ids.flatMap((i) => i.aws));
    const serviceAccounts = unique(ids.flatMap((i) => i.gcp), (g) => g.email);
    const routesOf = (api: Partner["aws"]["api"]) => (api === "all" ? [...catalogue] : expand(api, catalogue));

    // A grant is only planned where this stage accepts an identity to hold it.
    const awsRequested = s3Grant(p.aws.files).objectActions.length > 0 || routesOf(p.aws.api).length > 0;
    const googleIdentities = awsRequested ? serviceAccounts.filter((g): g is Required<GcpIdentity> => !!g.uniqueId) : [];
    const principals = awsRequested ? awsPrincipals : [];
    const awsHeld = principals.length > 0 || googleIdentities.length > 0;
    const trustsAwsPrincipals = p.aws.connect === "assume-role" && principals.length > 0;
    const trustsGoogle = googleIdentities.length > 0;
    const roleName = `${stage.namePrefix}-${stage.stage}-${p.slug}`;

    const gcpEmails = serviceAccounts.map((g) => g.email);
    // Files only: the Endpoints API authenticates Google-signed JWTs, which federated AWS identities do not hold.
    const federatedAwsPrincipals = gcsRoles(p.gcp.files).length > 0 ? awsPrincipals.filter((a) => !isRootArn(a)) : [];
    const storageRoles = gcpEmails.length > 0 || federatedAwsPrincipals.length > 0 ? gcsRoles(p.gcp.files) : [];
    const gcpRoutes = gcpEmails.length > 0 ? routesOf(p.gcp.api) : [];
    const gcpWindow = intersect(p, p.gcp);
    return {
        slug: p.slug,
        name: p.name,
        contact: p.contact,
        environments,
        prefix: partnerPrefix(p.slug),
        window: { notBefore: p.notBefore, expires: p.expires },
        aws: {
            connect: p.aws.connect,
            access: awsHeld ? p.aws.files : "none",
            externalId: p.aws.externalId,
            principals,
            googleIdentities,
            files: s3Grant(awsHeld ? p.aws.files : "none"),
            routes: awsHeld ? routesOf(p.aws.api) : [],
            window: intersect(p, p.aws),
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
            access: storageRoles.length > 0 ? p.gcp.files : "none",
            serviceAccounts: storageRoles.length > 0 || gcpRoutes.length > 0 ? gcpEmails : [],
            federatedAwsPrincipals,
            storageRoles,
            routes: gcpRoutes,
            activeRoutes: windowState(gcpWindow, at) === "active" ? gcpRoutes : [],
            window: gcpWindow,
        },
    };
}
