import * as awsCloudwatch from "@pulumi/aws/cloudwatch";
import * as awsIam from "@pulumi/aws/iam";
import * as awsLambda from "@pulumi/aws/lambda";
import * as awsSecretsmanager from "@pulumi/aws/secretsmanager";
import * as pulumi from "@pulumi/pulumi";
import { BROKER_FUNCTION_TIMEOUT_SECONDS, bundleBroker, LAMBDA_HANDLER, LAMBDA_RUNTIME } from "../../broker/src";
import { bundleArchive } from "../broker-archive";
import { aliasName, brokerFunctionName, brokerRoutes, outboundOn } from "../broker-routes";
import { AccessPlan } from "../plan/access-plan";
import { brokerLogGroupName, brokerRolePolicy, brokerTrustPolicy, invokePermissions, tokenSecretPolicy } from "./broker-documents";

export interface AwsTokenBrokerArgs {
    plan: AccessPlan;
}

export interface AwsBrokerHost {
    partner: string;
    /** The Lambda alias that serves this host (`aliasName(partner, host)`). */
    alias: pulumi.Output<string>;
    /** The Secrets Manager secret an operator puts the token into. */
    secretName: pulumi.Output<string>;
}

/**
 * The outbound token broker on AWS: one Lambda function per stage, one alias
 * per partner host, and one Secrets Manager secret per host, created EMPTY
 * (no SecretVersion: the token never passes through Pulumi; an operator sets
 * it with `aws secretsmanager put-secret-value`). Lambda's own IAM check
 * decides who may invoke which alias; the broker serves only the alias's host.
 */
export class AwsTokenBroker extends pulumi.ComponentResource {
    /** The unqualified function ARN (the proxy invokes `<functionArn>:<alias>`). */
    readonly functionArn: pulumi.Output<string>;
    readonly roleArn: pulumi.Output<string>;
    readonly hosts: Record<string, AwsBrokerHost> = {};
    /** sha256 of the deployed bundle (code and routes.json). */
    readonly bundleSha256: string;

    constructor(name: string, args: AwsTokenBrokerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:aws:TokenBroker", name, {}, opts);
        const { plan } = args;
        const child = { parent: this };
        const functionName = brokerFunctionName(plan);
        const tags = { "partner-access:stage": plan.stage.stage, "partner-access:component": "token-broker" };
        const routes = brokerRoutes(plan, "aws");

        const logGroup = new awsCloudwatch.LogGroup(`${name}-logs`, {
            name: brokerLogGroupName(plan),
            retentionInDays: plan.stage.aws.accessLogRetentionDays,
            tags,
        }, child);

        const role = new awsIam.Role(`${name}-role`, {
            name: functionName,
            path: "/",
            description: `partner-access ${plan.stage.stage}: the outbound token broker (Lambda ${functionName})`,
            assumeRolePolicy: JSON.stringify(brokerTrustPolicy(plan)),
            tags,
        }, child);

        const policies: awsSecretsmanager.SecretPolicy[] = [];
        const secretNames = new Map<string, pulumi.Output<string>>();
        for (const r of routes.routes) {
            const key = aliasName(r.partner, r.host);
            const secret = new awsSecretsmanager.Secret(`${name}-${key}-token`, {
                name: r.secret.aws!,
                description: `Token partner-access sends to ${r.host} (${r.partner}) in stage ${plan.stage.stage}. ` +
                    `Set or rotate it with put-secret-value; Pulumi never holds it.`,
                // Removed from the registry: the token goes at once (a scheduled deletion would also block
                // re-adding the host under the same name for the recovery window).
                recoveryWindowInDays: 0,
                tags: { ...tags, "partner-access:partner": r.partner, "partner-access:host": r.host },
            }, child);
            policies.push(new awsSecretsmanager.SecretPolicy(`${name}-${key}-token-policy`, {
                secretArn: secret.arn,
                policy: JSON.stringify(tokenSecretPolicy(plan)),
                blockPublicPolicy: true,
            }, child));
            secretNames.set(r.host, secret.name);
        }

        const rolePolicy = new awsIam.RolePolicy(`${name}-role-policy`, {
            role: role.name,
            name: "token-broker",
            policy: JSON.stringify(brokerRolePolicy(plan)),
        }, child);

        // Reproducible: same broker source, lockfile and routes -> byte-identical files, same archive.
        const bundle = bundleBroker("aws", routes);
        this.bundleSha256 = bundle.sha256;
        const fn = new awsLambda.Function(`${name}-function`, {
            name: functionName,
            description: `partner-access ${plan.stage.stage}: outbound token broker for ${routes.routes.length} partner host(s)`,
            role: role.arn,
            runtime: LAMBDA_RUNTIME,
            handler: LAMBDA_HANDLER,
            code: bundleArchive(bundle.files),
            sourceCodeHash: bundle.sha256,
            timeout: BROKER_FUNCTION_TIMEOUT_SECONDS,
            memorySize: 256,
            // Each code or configuration change is a new version; the aliases move to it.
            publish: true,
            // No VPC: the broker only needs the internet, and outside our networks an SSRF mistake reaches nothing of ours.
            tags,
        }, { ...child, dependsOn: [logGroup, rolePolicy, ...policies] });

        const aliases = new Map<string, awsLambda.Alias>();
        for (const o of outboundOn(plan, "aws")) {
            const alias = aliasName(o.partner, o.host);
            const a = new awsLambda.Alias(`${name}-${alias}`, {
                name: alias,
                description: `${o.host} (${o.partner})`,
                functionName: fn.name,
                functionVersion: fn.version,
            }, child);
            aliases.set(alias, a);
            this.hosts[o.host] = { partner: o.partner, alias: a.name, secretName: secretNames.get(o.host)! };
        }
        // Principal = the caller role's ARN. Lambda's AddPermission takes no arbitrary condition (only
        // SourceArn, SourceAccount, PrincipalOrgID and the function-URL keys), so the account +
        // aws:PrincipalArn pattern used for partner grants is not available here; the exact role is the
        // narrowest principal Lambda can name, and principal = our account would admit every role of it
        // whose own policy allows lambda:InvokeFunction. AWS resolves a role principal when it saves the
        // policy (GetPolicy shows the ARN while the role exists, the old role's unique id once it is
        // deleted): a caller role deleted and recreated under the same name loses access until the next
        // `pulumi up --refresh` puts the permission back. Acceptable here, unlike for partner grants:
        // callers are our own roles, listed in the reviewed registry, whose lifetime we control.
        for (const p of invokePermissions(plan)) {
            new awsLambda.Permission(`${name}-${p.alias}-${p.statementId.slice(-16)}`, {
                statementId: p.statementId,
                action: "lambda:InvokeFunction",
                function: fn.name,
                qualifier: aliases.get(p.alias)!.name,
                principal: p.principal,
            }, child);
        }

        this.functionArn = fn.arn;
        this.roleArn = role.arn;
        this.registerOutputs({ functionArn: this.functionArn, roleArn: this.roleArn, bundleSha256: this.bundleSha256 });
    }
}
