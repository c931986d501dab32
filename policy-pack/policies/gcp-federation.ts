/**
 * Workload Identity Federation and service-account impersonation on GCP: the
 * ways an identity outside the registry can become one inside it. Every rule
 * here compares with what partner-access renders (components/gcp/, through the
 * forms in rendered.ts) and with the registry the stack is rendered from
 * (stack.ts stageOf), read only.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { AwsAssertion, providerAdmits } from "./cel";
import { isObject } from "./documents";
import { isUnknownError, known } from "./exceptions";
import { WIF_PROVIDER, gcpGrants, hostileCallers, isGcpIamType, mentionedNames } from "./gcp";
import { AwsIdentity, awsIdentityKey, parseAwsIdentity } from "./identities";
import { AWS_ATTRIBUTE_MAPPING, awsProviderCondition, isStagePoolId, renderedConditionParts } from "./rendered";
import { RegistryIdentities, stageNames, stageOf } from "./stack";
import { stackContext } from "./stack-context";

type Listed = RegistryIdentities["identities"][number];
const slugOf = (l: Listed) => l.owner.split("/")[0];

/**
 * Every string of the inputs, JSON texts inside them parsed first (policyData
 * is a JSON string), as one text. Reading an unknown value (preview) throws
 * the SDK's UnknownValueError: the check is then reported as not runnable.
 */
function inputText(props: unknown): string {
    const parse = (v: string): unknown => {
        try {
            const parsed = JSON.parse(v);
            return typeof parsed === "string" ? parse(parsed) : parsed;
        } catch {
            return v;
        }
    };
    return JSON.stringify(props, (_k, v) => (typeof v === "string" && /^\s*[{["]/.test(v) ? parse(v) : v)) ?? "";
}

/**
 * The one form of a Workload Identity member partner-access renders: a pool
 * named by its project's number, in location global. The identifier names the
 * pool by ITS project's number, whatever the project of the resource that
 * grants ("principalSet://iam.googleapis.com/projects/PROJECT_NUMBER/locations/
 * global/workloadIdentityPools/POOL_ID/...", IAM principal identifiers:
 * https://cloud.google.com/iam/docs/principal-identifiers), so a grant in our
 * project may name a pool of any project; that pool's providers, not ours,
 * then decide who maps to the attribute.
 */
const WIF_MEMBER = /^(principal|principalSet):\/\/iam\.googleapis\.com\/projects\/([^/]+)\/locations\/([^/]+)\/workloadIdentityPools\/([^/]+)\/(.+)$/;
/** Anything that names a federated identity or a pool: members (any case), and pool paths inside other text (audiences, conditions). */
const FEDERATED_REFERENCE = /principal(?:set)?:\/\/[^\s"'`\\,\]})]*/gi;
const POOL_PATH = /iam\.googleapis\.com\/projects\/([^/\s"'`\\]+)\/locations\/([^/\s"'`\\]+)\/workloadIdentityPools\/([^/\s"'`\\,\]})]+)/gi;

export const workloadIdentityMembersOurs: ResourceValidationPolicy = {
    name: "workload-identity-members-ours",
    description: "Every principal:// and principalSet:// member, and every Workload Identity pool a GCP IAM or iam/ resource names, is a pool of this stage: " +
        "iam.googleapis.com/projects/<partner-access:gcpProjectNumber>/locations/global/workloadIdentityPools/<the stage's pool id>. A member names a pool " +
        "by its own project's number, so a grant may name a pool in another project, whose providers (not ours) decide who maps to the listed role; workforce " +
        "pools, managed and built-in identities are not what partner-access renders either. Remediation: grant the stage's pool principalSet for the partner's " +
        "AWS role, as partner-access renders (components/gcp/folder-policy.ts).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (!isGcpIamType(args.type) && !args.type.startsWith("gcp:iam/")) return;
        const ctx = stackContext();
        const names = stageNames(ctx);
        if (!names) return; // not under the CLI: no project number to compare with
        const number = ctx.config["partner-access:gcpProjectNumber"];
        const text = inputText(args.props);
        const found = [...text.matchAll(FEDERATED_REFERENCE)].map((m) => m[0]);
        const pools = [...text.matchAll(POOL_PATH)];
        if (found.length === 0 && pools.length === 0) return;
        if (!number) return report("cannot check Workload Identity members: the stack's config has no partner-access:gcpProjectNumber.");
        const ours = (project: string, location: string, pool: string) => project === number && location === "global" && isStagePoolId(pool, names.namePrefix, names.stack);
        const why = (project: string, location: string, pool: string) =>
            project !== number ? `project ${project}, not this stage's project number ${number}` :
            location !== "global" ? `location ${location}, not global` : `pool ${pool}, not this stage's pool (${names.namePrefix}-${names.stack}-<suffix>)`;
        for (const member of new Set(found)) {
            const m = WIF_MEMBER.exec(member);
            if (!m) {
                report(`${args.type} ${args.name} names ${member}, which is not a member of a Workload Identity pool of this stage (only principal:// and principalSet:// of iam.googleapis.com/projects/${number}/locations/global/workloadIdentityPools/<the stage's pool> are rendered).`);
                continue;
            }
            const [, , project, location, pool] = m;
            if (!ours(project, location, pool)) report(`${args.type} ${args.name} names ${member}, in ${why(project, location, pool)}: that pool's providers, not ours, decide who it admits.`);
        }
        for (const [text, project, location, pool] of pools) {
            if (found.some((f) => f.includes(text))) continue; // judged as a member above
            if (!ours(project, location, pool)) report(`${args.type} ${args.name} refers to pool ${text}, in ${why(project, location, pool)}.`);
        }
    },
};

/** Non-root identities the registry lists for an account in the accepted environments: those partner-access federates (roots never are). */
const federatedFor = (registry: RegistryIdentities, accepted: string[], account: string): Listed[] =>
    registry.identities.filter((i) => i.aws && i.aws.account === account && i.aws.kind !== "root" && accepted.includes(i.environment));

export const workloadIdentityProvidersListed: ResourceValidationPolicy = {
    name: "workload-identity-providers-listed",
    description: "Every Workload Identity pool provider is an AWS provider (no OIDC, SAML or X.509: partner-access federates only AWS partners) for an AWS account " +
        "of which the registry lists a role or user for an environment this stage accepts. A provider for any other account or issuer lets identities the " +
        "registry never reviewed into the pool, where a mapping can give them a listed identity's attributes. Remediation: list the partner's role under an " +
        "environment this stage accepts in partners.yaml (reviewed), or remove the provider.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== WIF_PROVIDER) return;
        for (const kind of ["oidc", "saml", "x509"]) {
            if (args.props[kind] !== undefined && args.props[kind] !== null) report(`the provider is ${kind.toUpperCase()}: partner-access renders only AWS providers, and its claims come from an issuer the registry does not review.`);
        }
        const aws = args.props.aws;
        if (!isObject(aws)) return report("the provider has no aws block: partner-access renders only AWS providers.");
        const account = String(aws.accountId ?? "");
        if (!/^\d{12}$/.test(account)) return report(`aws.accountId ${JSON.stringify(aws.accountId ?? null)} is not an AWS account id.`);
        const stage = stageOf();
        if (!stage) return; // not under the CLI: no registry to compare with
        if ("error" in stage) return report(`cannot check the provider's account against the registry: ${stage.error}.`);
        if (stage.accepted.length === 0) return report("cannot check the provider's account: the stack's config names no accepted environment (partner-access:acceptedEnvironments).");
        if (federatedFor(stage.registry, stage.accepted, account).length === 0) {
            const elsewhere = [...new Set(stage.registry.identities.filter((i) => i.aws?.account === account).map((i) => i.owner))];
            report(`AWS account ${account} has no role or user the registry lists for ${stage.accepted.join(", ")}` +
                `${elsewhere.length ? ` (it lists ${elsewhere.join(", ")}, which this stage does not accept, or only an account root, which is never federated)` : ""}: every identity of that account could federate.`);
        }
    },
};

/** A name and its near misses: one character more or less, a word more, each dash-separated prefix and suffix. */
function nearMisses(n: string): string[] {
    const parts = n.split("-");
    const prefixes = parts.slice(1).map((_, k) => parts.slice(0, k + 1).join("-"));
    const suffixes = parts.slice(1).map((_, k) => parts.slice(k + 1).join("-"));
    return [n, n.slice(0, -1), n.slice(1), `${n}x`, `x${n}`, `${n}-intruder`, `intruder-${n}`, ...prefixes, ...suffixes].filter((v) => v);
}

/**
 * Role and user names to probe a condition of `account`'s provider with: every
 * name the registry lists for that account (any environment, any partner) and
 * every name the condition mentions, with near misses of each. Names listed
 * for other accounts cannot be callers of this provider. The registry's are
 * indexed once per registry: a stage has a provider per account.
 */
const probeNameIndex = new WeakMap<RegistryIdentities, Map<string, string[]>>();
function probeNames(registry: RegistryIdentities, account: string, condition: string): string[] {
    let index = probeNameIndex.get(registry);
    if (!index) {
        const byAccount = new Map<string, Set<string>>();
        for (const i of registry.identities) {
            if (!i.aws?.name) continue;
            const names = byAccount.get(i.aws.account) ?? new Set<string>();
            byAccount.set(i.aws.account, names);
            for (const v of nearMisses(i.aws.name)) names.add(v);
        }
        index = new Map([...byAccount].map(([a, names]) => [a, [...names]]));
        probeNameIndex.set(registry, index);
    }
    return [...new Set([...(index.get(account) ?? []), ...mentionedNames(condition).flatMap(nearMisses)])];
}

/**
 * Callers of the provider's own account (an AWS provider admits no other:
 * Google verifies the signed GetCallerIdentity of `aws.accountId`): an
 * unrelated role and user, every name the registry lists for the account in
 * any environment (another partner's role in a shared account) or the
 * condition mentions (a role the registry does not list there), and
 * near misses of them (prefixes, suffixes, one character more or less), each
 * as a role and as a user, and roles whose session name is a listed name.
 */
function hostileProbes(account: string, condition: string, registry: RegistryIdentities): AwsAssertion[] {
    const out = new Map<string, AwsAssertion>();
    const add = (arn: string) => out.set(arn, { arn, account });
    for (const c of hostileCallers(account, condition)) out.set(c.arn, c);
    for (const n of probeNames(registry, account, condition)) {
        add(`arn:aws:sts::${account}:assumed-role/${n}/policy-probe`);
        add(`arn:aws:iam::${account}:user/${n}`);
        add(`arn:aws:sts::${account}:assumed-role/intruder/${n}`);
    }
    return [...out.values()];
}

/** The IAM identity a caller is: its role (the session dropped) or user. */
function callerIdentity(c: AwsAssertion): AwsIdentity | undefined {
    return roleAttributeIdentity(c.arn.replace(/^(arn:aws:sts::\d{12}:assumed-role\/[^/]+)\/.*$/, "$1"));
}

/** The IAM identity an `attribute.aws_role` value stands for: `...:assumed-role/NAME` is role NAME; a user ARN is that user. */
function roleAttributeIdentity(value: string): AwsIdentity | undefined {
    const m = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)$/.exec(value);
    return parseAwsIdentity(m ? `arn:aws:iam::${m[1]}:role/${m[2]}` : value);
}

function sameMapping(mapping: unknown): boolean {
    if (!isObject(mapping)) return false;
    const keys = Object.keys(mapping);
    return keys.length === Object.keys(AWS_ATTRIBUTE_MAPPING).length && keys.every((k) => AWS_ATTRIBUTE_MAPPING[k] === mapping[k]);
}

export const workloadIdentityMappingRendered: ResourceValidationPolicy = {
    name: "workload-identity-mapping-rendered",
    description: "Every AWS Workload Identity provider maps attributes exactly as partner-access renders them (rendered.ts AWS_ATTRIBUTE_MAPPING: aws_role is " +
        "the caller's own role or user, never a constant or a concatenation), its attribute condition is in the rendered form (rendered.ts awsProviderCondition: " +
        "the account and a list of aws_role values, each a role or user the registry lists for that account in the environments this stage accepts), and, evaluated with a CEL engine, it admits no caller of " +
        "its account other than the roles and users the registry lists for that account in the environments this stage accepts: probed with an unrelated " +
        "role and user, every identity the registry lists for that account elsewhere (another partner's role, a partner's dev role in a prod stack), names one character or " +
        "one word off a listed one (prefixes, suffixes), users named like listed roles, and listed names as session names. A mapping such as aws_role := " +
        "'arn:aws:sts::<prod account>:assumed-role/<prod role>' would give a dev caller the prod role's grants. A condition that cannot be evaluated is refused. " +
        "Remediation: the rendered mapping, and a condition listing the exact role ARNs (attribute.aws_role in [...]), as components/gcp/workload-identity-providers.ts renders.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type !== WIF_PROVIDER) return;
        const aws = args.props.aws;
        if (!isObject(aws)) return; // not AWS: workload-identity-providers-listed
        const account = String(aws.accountId ?? "");
        const mapping = args.props.attributeMapping;
        if (!sameMapping(mapping)) {
            report(`the attribute mapping ${JSON.stringify(mapping ?? null)} is not the one partner-access renders (${JSON.stringify(AWS_ATTRIBUTE_MAPPING)}): ` +
                "an attribute that is not derived from the caller's own ARN can give one caller another identity's grants.");
        }
        const condition = String(args.props.attributeCondition ?? "");
        if (!condition.trim()) return report("the provider has no attribute condition: every identity of the AWS account may federate.");
        const stage = stageOf();
        if (!stage) return; // not under the CLI: no registry to compare with
        if ("error" in stage) return report(`cannot check the provider's condition against the registry: ${stage.error}.`);
        const allowed = new Set(federatedFor(stage.registry, stage.accepted, account).map((i) => awsIdentityKey(i.aws!)));
        // Exactly the rendered form, naming only listed identities: probing (below) samples callers, this reads them all.
        const parts = renderedConditionParts(condition);
        if (!parts) {
            report(`the attribute condition is not in the form partner-access renders (${awsProviderCondition(account, ["<aws_role of a listed identity>"])}): ` +
                "a condition of another form cannot be judged for every caller, so it is refused.");
        } else {
            if (parts.accountId !== account) report(`the attribute condition names account ${parts.accountId}, not the provider's ${account}.`);
            const unlisted = parts.roles.filter((r) => {
                const id = roleAttributeIdentity(r);
                return !id || id.account !== account || !allowed.has(awsIdentityKey(id));
            });
            if (unlisted.length > 0) report(`the attribute condition admits ${unlisted.join(", ")}, which the registry does not list for account ${account} in ${stage.accepted.join(", ")}.`);
        }
        const admitted: string[] = [];
        for (const caller of hostileProbes(account, condition, stage.registry)) {
            const id = callerIdentity(caller);
            if (id && allowed.has(awsIdentityKey(id))) continue;
            try {
                // Judged with the rendered mapping: a provider whose mapping differs is refused above whatever its condition.
                if (providerAdmits({ accountId: account, attributeCondition: condition, attributeMapping: { ...AWS_ATTRIBUTE_MAPPING }, disabled: false }, caller).admitted) admitted.push(caller.arn);
            } catch (e) {
                if (isUnknownError(e)) throw e;
                return report(`the attribute condition cannot be evaluated (${(e as Error).message}); it cannot be checked, so it is refused.`);
            }
        }
        if (admitted.length > 0) {
            report(`the attribute condition admits ${admitted.slice(0, 3).join(", ")}${admitted.length > 3 ? ` and ${admitted.length - 3} more` : ""}, ` +
                `none of them an identity the registry lists for account ${account} in ${stage.accepted.join(", ")}: ${condition}`);
        }
    },
};

/**
 * Roles that let their holder act as a service account: get its tokens
 * (workloadIdentityUser, serviceAccountTokenCreator, serviceAccountOpenIdTokenCreator),
 * attach it to workloads (serviceAccountUser), create its keys
 * (serviceAccountKeyAdmin), or grant any of these (serviceAccountAdmin's
 * setIamPolicy; owner). editor includes iam.serviceAccounts.actAs.
 * Peers refuse the same at project and organisation level: Checkov
 * CKV_GCP_49 ("roles that enable to impersonate and manage all service
 * accounts"), tfsec google-iam-no-project-level-service-account-impersonation
 * ("can impersonate any service account"); basic roles:
 * https://cloud.google.com/iam/docs/roles-overview#basic.
 */
const IMPERSONATION_ROLES = new Set([
    "roles/iam.workloadIdentityUser", "roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountUser", "roles/iam.serviceAccountOpenIdTokenCreator",
    "roles/iam.serviceAccountKeyAdmin", "roles/iam.serviceAccountAdmin",
]);
/** Basic roles that include iam.serviceAccounts.actAs, and roles that can grant any role (so any of the above): on a service account or anything above it. */
const ACTS_OR_GRANTS = new Set(["roles/owner", "roles/editor", "roles/iam.securityAdmin", "roles/resourcemanager.projectIamAdmin",
    "roles/resourcemanager.folderIamAdmin", "roles/resourcemanager.organizationAdmin"]);
const CUSTOM_ROLE = /^(projects|organizations)\/[^/]+\/roles\//;
const SERVICE_ACCOUNT_IAM = /^gcp:serviceaccount\/iAM(Member|Binding|Policy):IAM(Member|Binding|Policy)$/;
/** Grants on a project, folder or organisation reach every service account in it. */
const CONTAINER_IAM = /^gcp:(projects|folder|organizations)\/iAM(Member|Binding|Policy):IAM(Member|Binding|Policy)$/;

/** The e-mail of the service account a serviceAccountId names (`projects/P/serviceAccounts/E`, or E), or undefined (a unique id). */
const accountEmail = (id: string) => /([^/]+@[^/]+\.gserviceaccount\.com)$/i.exec(id)?.[1]?.toLowerCase();

export const serviceAccountImpersonationRendered: ResourceValidationPolicy = {
    name: "service-account-impersonation-rendered",
    description: "Nobody is granted a role that acts as a service account (roles/iam.workloadIdentityUser, serviceAccountTokenCreator, serviceAccountUser, " +
        "serviceAccountOpenIdTokenCreator, serviceAccountKeyAdmin, serviceAccountAdmin; owner and editor, which include actAs; securityAdmin and the IAM admin roles, " +
        "which can grant any of them) on a service account, nor on " +
        "a project, folder or organisation (which reaches all its service accounts). partner-access renders no such grant: a partner's federated AWS role is " +
        "granted the folder directly, without impersonation (components/gcp/workload-identity-providers.ts credentialConfig), and nobody may act as the " +
        "broker's or the gateway's account. A grant would let its member hold that account's grants: another partner's, or ours. A custom role on any of " +
        "these cannot be judged and is refused. Remediation: grant the partner's identity the resource directly, as partner-access renders.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        const onAccount = SERVICE_ACCOUNT_IAM.test(args.type);
        if (!onAccount && !CONTAINER_IAM.test(args.type)) return;
        const read = gcpGrants(args.type, args.props);
        if ("error" in read) return report(`${read.error}; it cannot be checked, so it is refused.`);
        // A custom role may hold any of these permissions: it cannot be judged here, wherever it is granted.
        const judged = read.grants.filter((g) => IMPERSONATION_ROLES.has(String(g.role)) || ACTS_OR_GRANTS.has(String(g.role)) || g.role === undefined || CUSTOM_ROLE.test(String(g.role)));
        if (judged.length === 0) return;
        // Whose account and whose member: for the message (every such grant is refused; a cross-partner one says so).
        const ctx = stackContext();
        const stage = stageOf(ctx);
        const registry = stage && !("error" in stage) ? stage.registry : undefined;
        const ourProject = ctx.config["partner-access:gcpProject"]?.toLowerCase();
        // Every such grant is refused whatever account it is on: an account not known yet (preview) does not make it checkable later.
        const target = String((onAccount ? known(() => args.props.serviceAccountId) : known(() => args.props.project ?? args.props.folder ?? args.props.orgId)) ?? "(not known yet)");
        const email = onAccount ? accountEmail(target) : undefined;
        const partnerOfEmail = (e: string) => registry?.identities.find((i) => i.gcp === `email:${e}`);
        const partnerOfMember = (member: string): Listed | undefined => {
            if (!registry) return undefined;
            if (/^serviceAccount:/i.test(member)) return partnerOfEmail(member.slice(member.indexOf(":") + 1).toLowerCase());
            const arn = /attribute\.aws_role\/(arn:aws:(?:sts|iam)::\d{12}:[^\s]+)$/.exec(member)?.[1];
            const id = arn ? roleAttributeIdentity(arn) : undefined;
            return id ? registry.identities.find((i) => i.aws && i.aws.kind !== "root" && awsIdentityKey(i.aws) === awsIdentityKey(id)) : undefined;
        };
        const accountOwner = email === undefined ? undefined : ourProject && email.endsWith(`@${ourProject}.iam.gserviceaccount.com`) ? "ours" : partnerOfEmail(email);
        const whose = onAccount
            ? `service account ${email ?? target}${accountOwner === "ours" ? " (one of ours)" : accountOwner ? ` (of partner ${slugOf(accountOwner)})` : ""}`
            : `every service account of ${target}`;
        for (const g of judged) {
            const memberOwner = partnerOfMember(g.member);
            const cross = memberOwner && accountOwner && accountOwner !== "ours" && slugOf(memberOwner) !== slugOf(accountOwner);
            const who = memberOwner ? `${g.member} (of partner ${slugOf(memberOwner)}${cross ? ", another partner" : ""})` : g.member;
            if (g.role === undefined || CUSTOM_ROLE.test(String(g.role))) {
                report(`${who} holds ${g.role ?? "a role that cannot be read"} on ${whose}: what a custom role permits cannot be judged here, so it is refused.`);
            } else {
                report(`${who} holds ${g.role} on ${whose}, so it can act as ${onAccount ? "that account" : "any of them"}; partner-access renders no such grant.`);
            }
        }
    },
};
