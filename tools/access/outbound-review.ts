/**
 * Outbound token broker review: for each partner host our services call
 * through the broker, which of OUR identities can make the broker call it, and
 * who can read its token, judged on the rendered documents (never on the
 * components' own builders) and compared with the plan.
 *
 * AWS: the Lambda permissions rendered for each alias, assembled into the
 * alias's resource policy as Lambda stores it (AddPermission statements,
 * Resource = the alias ARN), evaluated with the IAM evaluator for every listed
 * caller (allowed) and for another stage's caller, another host's caller and an
 * unlisted role of our account (denied); each token secret's resource policy
 * evaluated for the broker's role (read: allowed), an administrator with
 * `secretsmanager:*` (read: denied; write: allowed) and a caller.
 * GCP: the invoker binding of the broker's Cloud Run service (Cloud Run's
 * check) combined with the host's caller list in the bundled routes.json (the
 * broker's own check on the verified email); each secret's IAM members.
 * Structural findings: a wildcard, public or unlisted invoker, a permission
 * beyond lambda:InvokeFunction on an alias, a secret anyone but the broker can
 * read, a secret version (a token value in Pulumi state), a routes table that
 * is not the plan's.
 *
 * Not modelled (a limit of AWS, documented in broker/README.md): in the
 * stage's own account, a role whose OWN identity policy allows
 * lambda:InvokeFunction on the broker can invoke any alias; Lambda permissions
 * cannot deny. The probes of our account therefore carry no identity policy.
 */
import { aliasName } from "../../broker/src";
import { AccessPlan, OutboundPlan } from "../../components/plan/access-plan";
import { Decision, Request, decideAll } from "./iam-eval";
import { Cell, Effect, Finding, Progress } from "./review-types";
import { RenderedStage } from "./rendered";
import { Resource, SynthOutput, doc, ofType } from "./synth-output";

export const INVOKE = "invoke broker";
export const READ_TOKEN = "read token";
export const WRITE_TOKEN = "write token";
export const outboundResource = (host: string) => `outbound ${host}`;

const effect = (d: Decision): Effect => (d === "Allowed" ? "allowed" : "denied");
const accountOf = (arn: string) => /^arn:aws:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];
const PUBLIC = /^(allUsers|allAuthenticatedUsers)$|^(domain|group|user|principalSet|principal):/i;
const allowAll = (action: string, resource = "*") => ({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: resource }] });

/** A bundled file's text as synth recorded it (`{ $archive: { name: { $asset: { text } } } }`). */
function archiveText(archive: any, file: string): string | undefined {
    return archive?.$archive?.[file]?.$asset?.text;
}

interface RoutesTable {
    stage: string;
    routes: { partner: string; host: string; callers: { aws?: string[]; gcp?: string[] }; secret: { aws?: string; gcp?: string } }[];
}

function routesOf(archive: any): RoutesTable | undefined {
    const text = archiveText(archive, "routes.json");
    return text ? JSON.parse(text) : undefined;
}

/** Hosts a cloud's broker must serve, and the identities this review tries against each. */
function hostsOn(plan: AccessPlan, cloud: "aws" | "gcp"): OutboundPlan[] {
    return plan.outbound.filter((o) => o.callers[cloud].length > 0);
}

export async function reviewOutbound(s: SynthOutput, r: RenderedStage, opts: { progress?: Progress } = {}): Promise<{ cells: Cell[]; findings: Finding[] }> {
    const aws = await reviewAwsBroker(s, r, opts.progress);
    const gcp = reviewGcpBroker(s);
    return { cells: [...aws.cells, ...gcp.cells], findings: [...aws.findings, ...gcp.findings] };
}

// ---------------------------------------------------------------------------
// AWS

/** The function part of a Lambda `function` argument (a name, a partial or full ARN, maybe qualified). */
function functionNameOf(f: string): { name: string; qualifier?: string } {
    const m = /(?:^|:function:)([A-Za-z0-9_-]+)(?::([A-Za-z0-9$_-]+))?$/.exec(f);
    return { name: m?.[1] ?? f, qualifier: m?.[2] };
}

/** The statement AddPermission stores for one rendered permission. */
function permissionStatement(p: Resource, resource: string): any {
    const i = p.inputs;
    const principal = String(i.principal);
    const Principal = principal === "*" ? "*" : /^\d{12}$/.test(principal) ? { AWS: `arn:aws:iam::${principal}:root` } : /\.amazonaws\.com$/.test(principal) ? { Service: principal } : { AWS: principal };
    const Condition: Record<string, Record<string, string>> = {};
    if (i.sourceArn) Condition.ArnLike = { "AWS:SourceArn": i.sourceArn };
    if (i.sourceAccount) Condition.StringEquals = { ...(Condition.StringEquals ?? {}), "AWS:SourceAccount": i.sourceAccount };
    if (i.principalOrgId) Condition.StringEquals = { ...(Condition.StringEquals ?? {}), "aws:PrincipalOrgID": i.principalOrgId };
    if (i.functionUrlAuthType) Condition.StringEquals = { ...(Condition.StringEquals ?? {}), "lambda:FunctionUrlAuthType": i.functionUrlAuthType };
    return { Sid: i.statementId, Effect: "Allow", Principal, Action: i.action, Resource: resource, ...(Object.keys(Condition).length ? { Condition } : {}) };
}

interface Probe {
    cell: Omit<Cell, "effective">;
    request: Request;
}

async function reviewAwsBroker(s: SynthOutput, r: RenderedStage, progress?: Progress): Promise<{ cells: Cell[]; findings: Finding[] }> {
    const plan = s.plan;
    const { accountId: account, region } = plan.stage.aws;
    const findings: Finding[] = [];
    const find = (where: string, message: string, partner?: string) => findings.push({ cloud: "aws", where, message, ...(partner ? { partner } : {}) });
    const hosts = hostsOn(plan, "aws");
    const functions = ofType(s, "aws:lambda/function:Function");
    const permissions = ofType(s, "aws:lambda/permission:Permission");
    const aliases = ofType(s, "aws:lambda/alias:Alias");
    const secrets = ofType(s, "aws:secretsmanager/secret:Secret");
    const secretPolicies = ofType(s, "aws:secretsmanager/secretPolicy:SecretPolicy");
    for (const v of ofType(s, "aws:secretsmanager/secretVersion:SecretVersion")) find(`secret version ${v.name}`, "a secret value managed by Pulumi: the token would be in Pulumi state (operators set tokens with put-secret-value)");
    for (const u of ofType(s, "aws:lambda/functionUrl:FunctionUrl")) find(`function URL ${u.name}`, `a function URL (${u.inputs.authorizationType ?? "NONE"}) on ${u.inputs.functionName}: the broker is invoked by alias only`);
    if (hosts.length === 0 && functions.length === 0) return { cells: [], findings };

    // The broker: the function whose bundled routes.json is a routes table (there is one per stage).
    const brokers = functions.filter((f) => routesOf(f.inputs.code));
    const fn = brokers[0];
    if (!fn) {
        if (hosts.length > 0) find("token broker", `no Lambda function bundles a routes table, yet ${hosts.map((h) => h.host).join(", ")} have AWS callers`);
        return { cells: [], findings };
    }
    if (brokers.length > 1) find("token broker", `${brokers.length} Lambda functions bundle a routes table; a stage has one broker`);
    const fnName = String(fn.inputs.name);
    const fnArn = `arn:aws:lambda:${region}:${account}:function:${fnName}`;
    const routes = routesOf(fn.inputs.code)!;
    const roleArn = String(fn.inputs.role);
    const role = [...r.roles.values()].find((x) => x.arn === roleArn);
    if (!role) find(`function ${fnName}`, `runs as ${roleArn}, which this stage does not render`);

    // The bundled routes table must be exactly the plan's hosts, each routed to its own partner.
    const planned = new Map(hosts.map((h) => [h.host, h]));
    for (const rt of routes.routes) {
        const h = planned.get(rt.host);
        if (!h) find(`routes.json of ${fnName}`, `routes ${rt.host}, which no partner of this stage lists with AWS callers`, rt.partner);
        else if (h.partner !== rt.partner) find(`routes.json of ${fnName}`, `routes ${rt.host} as ${rt.partner}'s, but it is ${h.partner}'s`, h.partner);
    }
    for (const h of hosts) if (!routes.routes.some((x) => x.host === h.host)) find(`routes.json of ${fnName}`, `does not route ${h.host}: its callers would be refused`, h.partner);

    // Aliases: which host each serves is decided by the broker from aliasName(partner, host).
    const hostOfAlias = new Map(routes.routes.map((x) => [aliasName(x.partner, x.host), x.host]));
    const aliasArn = (alias: string) => `${fnArn}:${alias}`;
    const ours = (p: Resource) => functionNameOf(String(p.inputs.function)).name === fnName;
    for (const a of aliases.filter((x) => x.inputs.functionName === fnName || functionNameOf(String(x.inputs.functionName)).name === fnName)) {
        if (!hostOfAlias.has(a.inputs.name)) find(`alias ${a.inputs.name}`, "serves no host of the routes table (the broker refuses it)");
    }
    const policyOf = new Map<string, any>();
    for (const p of permissions.filter(ours)) {
        const qualifier = p.inputs.qualifier ?? functionNameOf(String(p.inputs.function)).qualifier;
        const where = `permission ${p.inputs.statementId ?? p.name}`;
        if (!qualifier) {
            find(where, `on the unqualified function ${fnName}: only an alias names a host (the broker refuses unqualified calls, but nothing should grant them)`);
            continue;
        }
        const host = hostOfAlias.get(qualifier);
        const o = host ? planned.get(host) : undefined;
        if (String(p.inputs.action).toLowerCase() !== "lambda:invokefunction") find(where, `allows ${p.inputs.action} on alias ${qualifier}; the broker's callers need lambda:InvokeFunction only`, o?.partner);
        const principal = String(p.inputs.principal);
        if (principal === "*" || /^\d{12}$/.test(principal) || principal.endsWith(":root") || principal.endsWith(".amazonaws.com")) {
            find(where, `admits ${principal} to alias ${qualifier}${principal === "*" ? " (anyone)" : principal.endsWith(".amazonaws.com") ? " (an AWS service)" : " (a whole account)"}: only the host's listed caller roles may invoke it`, o?.partner);
        } else if (!o) {
            find(where, `admits ${principal} to alias ${qualifier}, which serves no planned host`);
        } else if (!o.callers.aws.includes(principal)) {
            find(where, `admits ${principal} to ${o.host}, which the registry does not list as a caller in ${plan.stage.stage}`, o.partner);
        }
        const doc = policyOf.get(qualifier) ?? { Version: "2012-10-17", Id: "default", Statement: [] };
        doc.Statement.push(permissionStatement(p, aliasArn(qualifier)));
        policyOf.set(qualifier, doc);
    }

    // Evaluation: who can invoke each host's alias.
    const probes: Probe[] = [];
    const otherHostCallers = (o: OutboundPlan) => [...new Set(hosts.filter((x) => x.host !== o.host).flatMap((x) => x.callers.aws))].filter((c) => !o.callers.aws.includes(c));
    for (const o of hosts) {
        const alias = aliasName(o.partner, o.host);
        const base = { action: "lambda:InvokeFunction", resource: aliasArn(alias), resourceAccount: account, resourcePolicy: policyOf.get(alias) ?? { Version: "2012-10-17", Statement: [] } };
        const cell = (via: string, planned: Effect) => ({ partner: o.partner, via, cloud: "aws" as const, resource: outboundResource(o.host), action: INVOKE, planned });
        // A caller in another account also needs its own account's grant: the one its administrator attaches.
        const ownGrant = (arn: string) => (accountOf(arn) === account ? [] : [allowAll("lambda:InvokeFunction", aliasArn(alias))]);
        for (const c of o.callers.aws) probes.push({ cell: cell(c, "allowed"), request: { ...base, principal: c, identityPolicies: ownGrant(c) } });
        for (const c of otherHostCallers(o)) probes.push({ cell: cell(`${c} (caller of another host)`, "denied"), request: { ...base, principal: c, identityPolicies: accountOf(c) === account ? [] : [allowAll("lambda:*")] } });
        for (const c of o.otherStageCallers.aws) probes.push({ cell: cell(`${c} (another stage's caller)`, "denied"), request: { ...base, principal: c, identityPolicies: accountOf(c) === account ? [] : [allowAll("lambda:*")] } });
        const unlisted = `arn:aws:iam::${account}:role/unlisted-service`;
        probes.push({ cell: cell(`${unlisted} (not listed)`, "denied"), request: { ...base, principal: unlisted, identityPolicies: [] } });
    }

    // Tokens: each host's secret, read by the broker only, written by administrators.
    const secretByName = new Map<string, { arn: string; policies: any[] }>();
    for (const sp of secretPolicies) {
        const arn = String(sp.inputs.secretArn);
        const name = arn.split(":secret:")[1]?.replace(/-[A-Za-z0-9]{6}$/, "");
        if (!name) continue;
        const e = secretByName.get(name) ?? { arn, policies: [] };
        e.policies.push(doc(sp.inputs.policy));
        secretByName.set(name, e);
    }
    for (const sec of secrets) {
        if (sec.inputs.policy) {
            const e = secretByName.get(sec.inputs.name) ?? { arn: `arn:aws:secretsmanager:${region}:${account}:secret:${sec.inputs.name}-AbCdEf`, policies: [] };
            e.policies.push(doc(sec.inputs.policy));
            secretByName.set(sec.inputs.name, e);
        }
    }
    const admin = `arn:aws:iam::${account}:role/ops-admin`;
    for (const o of hosts) {
        const name = routes.routes.find((x) => x.host === o.host)?.secret.aws;
        const where = `secret ${name ?? `of ${o.host}`}`;
        if (!name || !secrets.some((x) => x.inputs.name === name)) {
            find(where, `the broker reads ${o.host}'s token from ${name ?? "nothing"}, which this stage does not create`, o.partner);
            continue;
        }
        const sec = secretByName.get(name);
        if (!sec) {
            find(where, "has no resource policy: any role of the account allowed secretsmanager:GetSecretValue by its own policy reads the token", o.partner);
            continue;
        }
        if (sec.policies.length > 1) find(where, `has ${sec.policies.length} resource policies; a secret keeps one`, o.partner);
        for (const st of sec.policies.flatMap((p) => [p.Statement ?? []].flat())) {
            if (st.Effect === "Allow") find(where, `its resource policy allows ${JSON.stringify(st.Action)} to ${JSON.stringify(st.Principal)}: only the broker's role reads the token, and by its own policy`, o.partner);
        }
        const base = { resource: sec.arn, resourceAccount: account, resourcePolicy: sec.policies[0] };
        const cell = (via: string, action: string, planned: Effect) => ({ partner: o.partner, via, cloud: "aws" as const, resource: outboundResource(o.host), action, planned });
        probes.push({ cell: cell(roleArn, READ_TOKEN, "allowed"), request: { ...base, principal: roleArn, action: "secretsmanager:GetSecretValue", identityPolicies: role?.policies ?? [] } });
        probes.push({ cell: cell(`${admin} (secretsmanager:*)`, READ_TOKEN, "denied"), request: { ...base, principal: admin, action: "secretsmanager:GetSecretValue", identityPolicies: [allowAll("secretsmanager:*")] } });
        probes.push({ cell: cell(`${admin} (secretsmanager:*)`, WRITE_TOKEN, "allowed"), request: { ...base, principal: admin, action: "secretsmanager:PutSecretValue", identityPolicies: [allowAll("secretsmanager:*")] } });
        for (const c of o.callers.aws.slice(0, 1)) {
            probes.push({ cell: cell(`${c} (a caller, secretsmanager:GetSecretValue)`, READ_TOKEN, "denied"), request: { ...base, principal: c, action: "secretsmanager:GetSecretValue", identityPolicies: [allowAll("secretsmanager:GetSecretValue")] } });
        }
    }
    // The broker's role: reads exactly the tokens of the routes table, writes its logs, nothing else.
    if (role) {
        // A route's secret by its ARN, or by the name pattern IAM documents for it (`<name>-??????`: exactly this secret).
        const names = routes.routes.map((x) => x.secret.aws).filter((n): n is string => !!n);
        const wanted = new Set([...names.map((n) => secretByName.get(n)?.arn), ...names.map((n) => `arn:aws:secretsmanager:${region}:${account}:secret:${n}-??????`)].filter(Boolean));
        for (const d of role.policies) {
            for (const st of [d.Statement ?? []].flat()) {
                if (st.Effect !== "Allow") continue;
                const actions = [st.Action ?? st.NotAction].flat().map((a: string) => a.toLowerCase());
                if (st.NotAction || st.NotResource) { find(`policy of ${role.name}`, "an Allow with NotAction or NotResource"); continue; }
                for (const a of actions) {
                    if (a === "secretsmanager:getsecretvalue") {
                        for (const res of [st.Resource].flat()) if (!wanted.has(res)) find(`policy of ${role.name}`, `reads ${res}, which is not a token secret of this stage's routes`);
                    } else if (a !== "logs:createlogstream" && a !== "logs:putlogevents") {
                        find(`policy of ${role.name}`, `allows ${a}: the broker needs its tokens and its logs only`);
                    }
                }
            }
        }
    }

    const decisions = await decideAll(probes.map((p) => p.request), progress);
    return { cells: probes.map((p, i) => ({ ...p.cell, effective: effect(decisions[i]) })), findings };
}

// ---------------------------------------------------------------------------
// GCP

const bindingsOf = (r: Resource): { role: string; members: string[] }[] =>
    r.inputs.policyData ? (doc(r.inputs.policyData).bindings ?? []) : [{ role: r.inputs.role, members: r.inputs.members ?? [r.inputs.member] }];

function reviewGcpBroker(s: SynthOutput): { cells: Cell[]; findings: Finding[] } {
    const plan = s.plan;
    const findings: Finding[] = [];
    const cells: Cell[] = [];
    const find = (where: string, message: string, partner?: string) => findings.push({ cloud: "gcp", where, message, ...(partner ? { partner } : {}) });
    const hosts = hostsOn(plan, "gcp");
    for (const v of ofType(s, "gcp:secretmanager/secretVersion:SecretVersion")) find(`secret version ${v.name}`, "a secret value managed by Pulumi: the token would be in Pulumi state (operators add versions with gcloud)");
    const functions = ofType(s, "gcp:cloudfunctionsv2/function:Function");
    if (hosts.length === 0 && functions.length === 0) return { cells, findings };

    // The broker: the function whose source zip bundles a routes table.
    const objects = ofType(s, "gcp:storage/bucketObject:BucketObject");
    const sourceOf = (f: Resource) => {
        const src = f.inputs.buildConfig?.source?.storageSource;
        return objects.find((o) => o.inputs.bucket === src?.bucket && o.inputs.name === src?.object);
    };
    const brokers = functions.filter((f) => routesOf(sourceOf(f)?.inputs.source));
    const fn = brokers[0];
    if (!fn) {
        if (hosts.length > 0) find("token broker", `no Cloud Run function bundles a routes table, yet ${hosts.map((h) => h.host).join(", ")} have GCP callers`);
        return { cells, findings };
    }
    if (brokers.length > 1) find("token broker", `${brokers.length} Cloud Run functions bundle a routes table; a stage has one broker`);
    const fnName = String(fn.inputs.name);
    const routes = routesOf(sourceOf(fn)!.inputs.source)!;
    const brokerSa = String(fn.inputs.serviceConfig?.serviceAccountEmail ?? "");
    const planned = new Map(hosts.map((h) => [h.host, h]));
    for (const rt of routes.routes) {
        const h = planned.get(rt.host);
        if (!h) find(`routes.json of ${fnName}`, `routes ${rt.host}, which no partner of this stage lists with GCP callers`, rt.partner);
        else {
            const extra = (rt.callers.gcp ?? []).filter((c) => !h.callers.gcp.includes(c));
            if (extra.length) find(`routes.json of ${fnName}`, `lets ${extra.join(", ")} call ${rt.host}, which the registry does not list in ${plan.stage.stage}`, h.partner);
        }
    }

    // Cloud Run's check: run.invoker on the function's service (same name), from any IAM resource on it.
    const serviceIam = ["gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding", "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy",
        "gcp:cloudfunctionsv2/functionIamBinding:FunctionIamBinding", "gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember", "gcp:cloudfunctionsv2/functionIamPolicy:FunctionIamPolicy"]
        .flatMap((t) => ofType(s, t)).filter((x) => String(x.inputs.name ?? x.inputs.cloudFunction ?? "").split("/").pop() === fnName);
    const invokers = new Set<string>();
    const listed = new Set(hosts.flatMap((h) => h.callers.gcp.map((e) => `serviceAccount:${e}`)));
    for (const b of serviceIam) for (const binding of bindingsOf(b)) {
        if (!["roles/run.invoker", "roles/cloudfunctions.invoker"].includes(binding.role)) {
            find(`${b.type.split(":").pop()} ${b.name}`, `grants ${binding.role} on the broker to ${binding.members.join(", ")}: only roles/run.invoker for listed callers is planned`);
            continue;
        }
        for (const m of binding.members) {
            invokers.add(m);
            if (PUBLIC.test(m)) find(`invokers of ${fnName}`, `${m} may invoke the broker: anyone it covers would reach every host (the broker trusts the email Cloud Run verified)`);
            else if (!listed.has(m)) find(`invokers of ${fnName}`, `${m} may invoke the broker, but no host of ${plan.stage.stage} lists it as a caller`);
        }
    }

    // Who can make the broker call each host: Cloud Run lets the member in, the broker finds it in the host's list.
    const project = plan.stage.gcp.project;
    const otherHostCallers = (o: OutboundPlan) => [...new Set(hosts.filter((x) => x.host !== o.host).flatMap((x) => x.callers.gcp))].filter((c) => !o.callers.gcp.includes(c));
    for (const o of hosts) {
        const table = routes.routes.find((x) => x.host === o.host);
        const reaches = (email: string) => invokers.has(`serviceAccount:${email}`) && (table?.callers.gcp ?? []).includes(email);
        const cell = (via: string, email: string, planned: Effect): Cell => ({ partner: o.partner, via, cloud: "gcp", resource: outboundResource(o.host), action: INVOKE, planned, effective: reaches(email) ? "allowed" : "denied" });
        for (const c of o.callers.gcp) cells.push(cell(`serviceAccount:${c}`, c, "allowed"));
        for (const c of otherHostCallers(o)) cells.push(cell(`serviceAccount:${c} (caller of another host)`, c, "denied"));
        for (const c of o.otherStageCallers.gcp) cells.push(cell(`serviceAccount:${c} (another stage's caller)`, c, "denied"));
        const unlisted = `unlisted-service@${project}.iam.gserviceaccount.com`;
        cells.push(cell(`serviceAccount:${unlisted} (not listed)`, unlisted, "denied"));
    }

    // Tokens: every grant on each host's secret; the broker's service account is the only reader.
    const secretIam = ["gcp:secretmanager/secretIamPolicy:SecretIamPolicy", "gcp:secretmanager/secretIamBinding:SecretIamBinding", "gcp:secretmanager/secretIamMember:SecretIamMember"].flatMap((t) => ofType(s, t));
    const secretIds = ofType(s, "gcp:secretmanager/secret:Secret").map((x) => String(x.inputs.secretId));
    const readers = (secretId: string) => new Set(secretIam.filter((x) => String(x.inputs.secretId).split("/").pop() === secretId)
        .flatMap(bindingsOf).filter((b) => ["roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner", "roles/editor"].includes(b.role)).flatMap((b) => b.members));
    for (const x of secretIam) {
        const secretId = String(x.inputs.secretId).split("/").pop()!;
        for (const b of bindingsOf(x)) for (const m of b.members) {
            if (m !== `serviceAccount:${brokerSa}` || b.role !== "roles/secretmanager.secretAccessor") {
                find(`secret ${secretId}`, `grants ${b.role} to ${m}: only the broker's service account reads a token`);
            }
        }
    }
    for (const o of hosts) {
        const ref = routes.routes.find((x) => x.host === o.host)?.secret.gcp;
        const secretId = ref?.split("/").pop();
        if (!secretId || !secretIds.includes(secretId)) {
            find(`secret of ${o.host}`, `the broker reads ${o.host}'s token from ${ref ?? "nothing"}, which this stage does not create`, o.partner);
            continue;
        }
        const who = readers(secretId);
        const cell = (via: string, planned: Effect): Cell => ({ partner: o.partner, via, cloud: "gcp", resource: outboundResource(o.host), action: READ_TOKEN, planned, effective: who.has(via) ? "allowed" : "denied" });
        cells.push(cell(`serviceAccount:${brokerSa}`, "allowed"));
        for (const c of o.callers.gcp.slice(0, 1)) cells.push(cell(`serviceAccount:${c}`, "denied"));
    }
    return { cells, findings };
}
