/**
 * The AWS side of a stage's access rendered with AWS CDK (aws-cdk-lib v2,
 * in-process `app.synth()` with validation on: construct validation and CDK's
 * built-in CloudFormation template validation, which CDK_VALIDATION=false
 * turns off), for `partner-access bench --with-cdk`: how long CDK takes, and
 * how much memory, to render what our Pulumi synth renders on AWS. Run in a
 * fresh process:
 *
 *   NODE_PATH=<dir with aws-cdk-lib>/node_modules node -r ts-node/register/transpile-only \
 *     tools/cdk-synth.ts --stack prod --registry <file> --at <iso> --out <dir>
 *
 * Fair because both sides start from the same thing and produce the same
 * access: the access plan is loaded exactly as the program loads it, and every
 * policy document and the OpenAPI body come from our own pure functions
 * (components/aws/policy-documents.ts, rest-api-definition.ts, api-logging.ts),
 * so both render the same documents (equal as JSON; CDK sorts their keys, and
 * names the API in grants by a cross-stack reference); the resources are those of
 * components/aws/{file-exchange,partner-api,partner-roles}.ts: the bucket with
 * its guards and policy, the REST API with its resource policy, deployment,
 * stage, access log, client certificate and CloudWatch account settings, and
 * one role per partner with its trust and its inline grant.
 *
 * What differs: CDK only writes CloudFormation templates (no engine, no
 * provider inputs, no outputs or preview kits); it renders no GCP (bench
 * compares it with a Pulumi synth of an AWS-only registry); the outbound token
 * broker (Lambda) is not rendered (bench drops outbound hosts from that
 * registry too); CloudFormation folds the bucket's guards and the roles' grants
 * into one resource each, so it counts fewer resources for the same access.
 * A CloudFormation stack holds at most 500 resources (CDK refuses to synth
 * more) and a 1 MB template, so the partner roles go in stacks of
 * ROLES_PER_STACK, as a CDK app that deploys at 1,000 partners must.
 */
import * as path from "path";
import { ACCESS_LOG_FORMAT, CLOUDWATCH_ROLE_POLICY_ARN, CLOUDWATCH_ROLE_TRUST, accessLogGroupName, cloudWatchRoleName } from "../components/aws/api-logging";
import { apiResourcePolicy, bucketPolicy, rolePermissionPolicy, trustPolicy } from "../components/aws/policy-documents";
import { restApiDefinition } from "../components/aws/rest-api-definition";
import { AccessPlan } from "../components/plan/access-plan";
import { loadAccessPlan } from "../components/plan/load";
import { PROJECT_DIR, stackConfigSource } from "./stack-config";

/** Partner roles per CloudFormation stack: 1 resource each, templates of about 0.5 MB at most (limits above). */
export const ROLES_PER_STACK = 200;

class UsageError extends Error {}

const USAGE = "usage: cdk-synth.ts --stack <stack> --registry <file> --at <iso time> --out <dir>";

export function parseArgs(argv: string[]): { stack: string; registry: string; at: Date; out: string } {
    const o: Record<string, string> = {};
    for (let i = 0; i < argv.length; i += 2) {
        const [k, v] = [argv[i], argv[i + 1]];
        if (!/^--(stack|registry|at|out)$/.test(k) || v === undefined || v.startsWith("--")) throw new UsageError(`bad argument ${k ?? ""}\n${USAGE}`);
        o[k.slice(2)] = v;
    }
    const missing = ["stack", "registry", "at", "out"].filter((k) => !o[k]);
    if (missing.length > 0) throw new UsageError(`missing ${missing.map((k) => `--${k}`).join(", ")}\n${USAGE}`);
    const at = new Date(o.at);
    if (Number.isNaN(at.getTime())) throw new UsageError(`--at ${o.at}: not a time\n${USAGE}`);
    return { stack: o.stack, registry: path.resolve(o.registry), at, out: path.resolve(o.out) };
}

/**
 * aws-cdk-lib is no dependency of this project (about 190 MB; bench installs a
 * pinned copy into a cache and points NODE_PATH at it), so it has no types
 * here: the CDK API is used untyped (`any`), and this file type-checks without it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Cdk = any;

function loadCdk(): Cdk {
    try {
        return require("aws-cdk-lib");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw e;
        throw new UsageError("aws-cdk-lib is not installed: `partner-access bench --with-cdk` installs it into node_modules/.cache/partner-access-cdk and sets NODE_PATH to its node_modules");
    }
}

/** The AWS access of `plan` as a CDK app; returns it unsynthesised. */
export function renderApp(cdk: Cdk, plan: AccessPlan, outdir: string): Cdk {
    const { aws_iam: iam, aws_s3: s3, aws_apigateway: apigw, aws_logs: logs } = cdk;
    const { stage, names } = plan;
    const app = new cdk.App({
        outdir,
        // What a new `cdk init` app sets in cdk.json, except statement merging: our documents stay ours.
        // As `cdk synth` runs an app: resource path metadata, no construct stack traces (`--debug` turns
        // them on); version reporting (one AWS::CDK::Metadata per stack) is off: it is no access.
        context: { ...require("aws-cdk-lib/recommended-feature-flags.json"), "@aws-cdk/aws-iam:minimizePolicies": false, "aws:cdk:enable-path-metadata": true },
        stackTraces: false,
        analyticsReporting: false,
    });
    const env = { account: stage.aws.accountId, region: stage.aws.region };
    const main = new cdk.Stack(app, `partner-access-${stage.stage}`, { env });
    // The Pulumi AWS provider's default tags.
    cdk.Tags.of(app).add("managed-by", "partner-access");
    cdk.Tags.of(app).add("partner-access:stage", stage.stage);
    const doc = (d: unknown) => iam.PolicyDocument.fromJson(d);

    // --- file exchange (components/aws/file-exchange.ts) ---
    // enforceSSL is not set: our bucket policy carries that deny (DenyInsecureTransport) itself.
    const bucket = new s3.Bucket(main, "FileExchange", {
        bucketName: names.awsBucket,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        encryption: s3.BucketEncryption.S3_MANAGED,
        versioned: true,
        lifecycleRules: [{
            id: "noncurrent-versions-and-incomplete-uploads",
            noncurrentVersionExpiration: cdk.Duration.days(stage.aws.noncurrentVersionRetentionDays),
            abortIncompleteMultipartUploadAfter: cdk.Duration.days(7),
        }],
        removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    for (const s of bucketPolicy(plan).Statement) bucket.addToResourcePolicy(iam.PolicyStatement.fromJson(s));
    bucket.policy.applyRemovalPolicy(cdk.RemovalPolicy.RETAIN);

    // --- REST API (components/aws/partner-api.ts) ---
    const logGroup = new logs.LogGroup(main, "AccessLog", {
        logGroupName: accessLogGroupName(plan),
        retention: stage.aws.accessLogRetentionDays, // logs.RetentionDays's values are the days
        removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    const certificate = new apigw.CfnClientCertificate(main, "BackendCertificate", {
        description: `partner-access ${stage.stage}: presented to the backend on every proxied call`,
    });
    const api = new apigw.SpecRestApi(main, "PartnerApi", {
        restApiName: names.apiName,
        apiDefinition: apigw.ApiDefinition.fromInline(restApiDefinition(plan)),
        endpointTypes: [apigw.EndpointType.REGIONAL],
        mode: apigw.RestApiMode.OVERWRITE,
        failOnWarnings: true,
        policy: doc(apiResourcePolicy(plan)),
        cloudWatchRole: false, // our own role and account settings below, as the program makes them
        deployOptions: {
            stageName: names.apiStageName,
            clientCertificateId: certificate.ref,
            accessLogDestination: new apigw.LogGroupLogDestination(logGroup),
            accessLogFormat: apigw.AccessLogFormat.custom(ACCESS_LOG_FORMAT),
            metricsEnabled: true,
            loggingLevel: apigw.MethodLoggingLevel.ERROR,
            dataTraceEnabled: false,
        },
    });
    api.node.defaultChild.description = `Partner API (${stage.stage}); SigV4 only`; // SpecRestApi passes no description on
    if (stage.aws.manageApiGatewayAccount) {
        const role = new iam.CfnRole(main, "ApiGatewayCloudWatchRole", {
            roleName: cloudWatchRoleName(plan),
            assumeRolePolicyDocument: doc(JSON.parse(CLOUDWATCH_ROLE_TRUST)),
            managedPolicyArns: [CLOUDWATCH_ROLE_POLICY_ARN],
        });
        const account = new apigw.CfnAccount(main, "ApiGatewayAccount", { cloudWatchRoleArn: role.attrArn });
        api.deploymentStage.node.addDependency(account);
    }

    // --- partner roles (components/aws/partner-roles.ts) ---
    // The grants name the API by CDK's token for its id (restApi.restApiId: a Ref, imported across
    // stacks), as the program names it by the RestApi's id output: neither side knows it at synth.
    // L1 roles, so the trust document is exactly trustPolicy's (the L2 Role builds its own from
    // `assumedBy`); validated as the L2 Role validates its documents.
    const withRole = plan.partners.filter((p) => p.aws.role);
    for (let i = 0; i < withRole.length; i += ROLES_PER_STACK) {
        const shard = new cdk.Stack(app, `partner-access-${stage.stage}-roles-${i / ROLES_PER_STACK}`, { env });
        for (const p of withRole.slice(i, i + ROLES_PER_STACK)) {
            const trust = doc(trustPolicy(plan, p));
            const grant = doc(rolePermissionPolicy(plan, p, api.restApiId));
            const role = new iam.CfnRole(shard, p.slug, {
                roleName: p.aws.role!.name,
                path: p.aws.role!.path,
                description: `partner-access ${stage.stage}: ${p.name} (${p.slug})`,
                assumeRolePolicyDocument: trust,
                maxSessionDuration: stage.aws.maxSessionDurationSeconds,
                policies: [{ policyName: "partner-grant", policyDocument: grant }],
                tags: [{ key: "partner-access:partner", value: p.slug }, { key: "partner-access:stage", value: stage.stage }],
            });
            role.node.addValidation({ validate: () => [...trust.validateForTrustPolicy(), ...grant.validateForIdentityPolicy()] });
        }
    }
    return app;
}

/** The tool: exit code 0, 1 (the inputs or CDK's validation refused) or 2 (usage, or no aws-cdk-lib). */
export function run(argv: string[]): number {
    try {
        synthAndReport(parseArgs(argv));
        return 0;
    } catch (e) {
        console.error(`cdk-synth: ${e instanceof Error ? e.message : String(e)}`);
        return e instanceof UsageError ? 2 : 1;
    }
}

function synthAndReport(o: ReturnType<typeof parseArgs>): void {
    const cdk = loadCdk();
    const plan = loadAccessPlan(stackConfigSource(o.stack), { projectDir: PROJECT_DIR, registryOverride: o.registry, at: o.at });
    const assembly = renderApp(cdk, plan, path.join(o.out, "cdk.out")).synth(); // validation on: the default
    const byType = new Map<string, number>();
    let bytes = 0;
    for (const s of assembly.stacks) {
        bytes += JSON.stringify(s.template).length;
        for (const r of Object.values<{ Type: string }>(s.template.Resources ?? {})) byType.set(r.Type, (byType.get(r.Type) ?? 0) + 1);
        for (const m of s.messages) if (m.level !== "info") console.log(`${m.level} ${m.id}: ${m.entry.data}`);
    }
    const total = [...byType.values()].reduce((a, b) => a + b, 0);
    console.log(`stage ${plan.stage.stage}, ${plan.partners.length} partners: ${assembly.stacks.length} stacks, ${Math.round(bytes / 1024)} KiB of templates`);
    console.log(`resources ${total}`);
    for (const [t, n] of [...byType].sort(([a], [b]) => a.localeCompare(b))) console.log(`  ${String(n).padStart(5)}  ${t}`);
    console.log(`written to ${path.relative(process.cwd(), assembly.directory) || "."}`);
    console.log(`peak memory ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
}

if (require.main === module) process.exitCode = run(process.argv.slice(2));
