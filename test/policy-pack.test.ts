/**
 * The policy pack's rules, one by one: what each refuses and why, what it
 * lets through, and the evasions it must see through (policies as JSON
 * strings or objects, keys in any case, operators that pass on a missing
 * claim). The model is pulumi/pulumi-policy-aws's tests: hand-built
 * resources, a pass and a fail per rule. The same policy objects run over
 * both stages' real synth output and a first-preview synth at the end.
 * The pack itself, started as the CLI starts it, is tested in
 * policy-pack-cli.test.ts.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { policies } from "../policy-pack/policies";
import { RESOURCE_POLICY_PROPERTIES } from "../policy-pack/policies/aws";
import { exceptionsConfig } from "../policy-pack/policies/exceptions";
import { Violation, runPolicies, runPoliciesAsCli } from "../tools/policy-run";
import { SynthResource } from "../tools/synth";
import { stackConfigMap } from "../tools/stack-config";
import { ROOT } from "./support/fixtures";
import { synthStack } from "./support/synth-runs";
import { variant } from "./support/variants";

let n = 0;
const res = (type: string, inputs: Record<string, unknown>, name = `r${n++}`, extra: Partial<SynthResource> = {}): SynthResource =>
    ({ urn: `urn:pulumi:prod::partner-access::${type}::${name}`, type, name, inputs, ...extra });

interface Run { stack?: "prod" | "stag"; config?: Record<string, object> }
/** One policy's findings; with a stack, as the CLI runs the pack for it (its config and registry). */
function findings(policy: string, resources: SynthResource[], run: Run = {}): Violation[] {
    const all = run.stack ? runPoliciesAsCli(resources, run.stack, stackConfigMap(run.stack), run.config) : runPolicies(resources, run.config);
    return all.filter((v) => v.policy === policy);
}
const mandatory = (vs: Violation[]) => vs.filter((v) => v.enforcementLevel === "mandatory");
function refuses(policy: string, resources: SynthResource[], why?: RegExp, run: Run = {}): void {
    const v = mandatory(findings(policy, resources, run));
    assert.ok(v.length > 0, `${policy} let through ${JSON.stringify(resources.map((r) => r.inputs))}`);
    if (why) assert.ok(v.some((x) => why.test(x.message)), `${policy}: no message matching ${why} in ${JSON.stringify(v.map((x) => x.message))}`);
}
function passes(policy: string, resources: SynthResource[], run: Run = {}): void {
    assert.deepEqual(findings(policy, resources, run).map((v) => v.message), [], `${policy} refused ${JSON.stringify(resources.map((r) => r.inputs))}`);
}
/** A document in both forms the providers accept. */
const forms = (d: object) => [d, JSON.stringify(d)];

const doc = (...statements: object[]) => ({ Version: "2012-10-17", Statement: statements });
const allow = (principal: unknown, extra: object = {}) => ({ Effect: "Allow", Principal: principal, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*", ...extra });
const role = (trust: unknown, extra: Record<string, unknown> = {}) => res("aws:iam/role:Role", { assumeRolePolicy: trust, ...extra });

describe("policy pack rules", () => {
    it("is self-contained (`pulumi policy publish` uploads only its folder): no import leaves policy-pack/, every package is its own dependency", () => {
        const packDir = path.join(ROOT, "policy-pack");
        const deps = Object.keys(JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8")).dependencies);
        const files = ["index.ts", ...fs.readdirSync(path.join(packDir, "policies")).map((f) => path.join("policies", f))].filter((f) => f.endsWith(".ts"));
        for (const f of files) {
            for (const [, spec] of fs.readFileSync(path.join(packDir, f), "utf8").matchAll(/(?:from|require\()\s*"([^"]+)"/g)) {
                if (spec.startsWith(".")) assert.ok(path.resolve(packDir, path.dirname(f), spec).startsWith(packDir + path.sep), `${f} imports ${spec}, outside the pack`);
                else if (!/^(fs|path|crypto)$/.test(spec)) assert.ok(deps.some((d) => spec === d || spec.startsWith(`${d}/`)), `${f} imports ${spec}, not a dependency of the pack`);
            }
        }
    });

    it("every rule is mandatory, says why and how to fix it, and accepts reasoned exceptions in its config", () => {
        assert.ok(policies.length >= 16);
        for (const p of policies) {
            assert.equal(p.enforcementLevel, "mandatory", p.name);
            assert.match(p.description ?? "", /Remediation:/, p.name);
            assert.ok(p.configSchema?.properties.exceptions, `${p.name} has no exceptions property`);
        }
    });

    describe("no-wildcard-principals", () => {
        const bucketPolicy = (policy: unknown) => [res("aws:s3/bucketPolicy:BucketPolicy", { bucket: "b", policy })];
        const refused: [string, object][] = [
            ['"*"', doc(allow("*"))],
            ['{"AWS": "*"}', doc(allow({ AWS: "*" }))],
            ['{"AWS": ["*"]}', doc(allow({ AWS: ["*"] }))],
            ["a list mixing a valid ARN and *", doc(allow({ AWS: ["arn:aws:iam::210987654321:role/ok", "*"] }))],
            ["a wildcard account", doc(allow({ AWS: "arn:aws:iam::*:role/x" }))],
            ["a wildcard role name", doc(allow({ AWS: "arn:aws:iam::210987654321:role/partner-*" }))],
            ["a ? in an ARN", doc(allow({ AWS: "arn:aws:iam::21098765432?:root" }))],
            ["NotPrincipal with Allow", doc({ Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::210987654321:root" }, Action: "s3:*", Resource: "*" })],
            ["lower-case keys and effect", { version: "2012-10-17", statement: [{ effect: "allow", principal: { aws: "*" }, action: "s3:*", resource: "*" }] }],
            ["a single statement object", { Version: "2012-10-17", Statement: allow("*") }],
            ["an exact Principal beside a lower-case principal \"*\"", doc({ ...allow({ AWS: "arn:aws:iam::210987654321:root" }), principal: "*" })],
        ];
        for (const [what, policy] of refused) {
            it(`refuses ${what}, as an object and as a JSON string`, () => {
                for (const form of forms(policy)) refuses("no-wildcard-principals", bucketPolicy(form));
            });
        }
        it("accepts exact principals, and Deny statements naming everyone", () => {
            const ok = doc(allow({ AWS: "arn:aws:iam::210987654321:root" }, { Condition: { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::210987654321:role/x" } } }),
                { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
            for (const form of forms(ok)) passes("no-wildcard-principals", bucketPolicy(form));
        });
        it("checks every resource type that carries a policy document (Secrets Manager, ECR, Glacier, OpenSearch, EFS, SQS, SNS, KMS, ...)", () => {
            for (const [type, prop] of Object.entries(RESOURCE_POLICY_PROPERTIES)) {
                refuses("no-wildcard-principals", [res(type, { [prop]: JSON.stringify(doc(allow({ AWS: "*" }))) })], /allows principal "\*"/);
                passes("no-wildcard-principals", [res(type, { [prop]: doc(allow({ AWS: "arn:aws:iam::210987654321:role/x" })) })]);
            }
        });
        it("refuses a Lambda permission or a layer shared with \"*\", not one for an exact account", () => {
            refuses("no-wildcard-principals", [res("aws:lambda/permission:Permission", { principal: "*", action: "lambda:InvokeFunction" })], /Permission grants principal "\*"/);
            refuses("no-wildcard-principals", [res("aws:lambda/layerVersionPermission:LayerVersionPermission", { principal: "*", action: "lambda:GetLayerVersion", organizationId: "o-abcdefghij" })]);
            passes("no-wildcard-principals", [res("aws:lambda/layerVersionPermission:LayerVersionPermission", { principal: "210987654321", action: "lambda:GetLayerVersion" })]);
        });
        it("refuses a policy it cannot parse rather than passing it", () => {
            refuses("no-wildcard-principals", bucketPolicy("{not json"), /not valid JSON.*refused/);
        });
    });

    describe("pinned-federation", () => {
        const google = (condition?: object) => role(JSON.stringify(doc({ Effect: "Allow", Principal: { Federated: "accounts.google.com" }, Action: "sts:AssumeRoleWithWebIdentity", ...(condition ? { Condition: condition } : {}) })));
        const UID = "104857600000000000002";
        it("accepts a Google trust pinning aud and sub to the service account's unique id (as the program renders it)", () => {
            passes("pinned-federation", [google({ StringEquals: { "accounts.google.com:aud": UID, "accounts.google.com:sub": UID, "accounts.google.com:oaud": "partner-access-prod" } })]);
            // Condition keys are case-insensitive in IAM: mixed case still pins.
            passes("pinned-federation", [google({ stringEquals: { "Accounts.Google.com:AUD": UID, "accounts.google.com:Sub": UID } })]);
        });
        const weak: [string, object | undefined][] = [
            ["no condition", undefined],
            ["aud only", { StringEquals: { "accounts.google.com:aud": UID } }],
            ["sub only", { StringEquals: { "accounts.google.com:sub": UID } }],
            ["oaud only (the requested audience)", { StringEquals: { "accounts.google.com:oaud": "x" } }],
            ["aud an OAuth client id", { StringEquals: { "accounts.google.com:aud": "1234-abc.apps.googleusercontent.com", "accounts.google.com:sub": UID } }],
            ["sub an e-mail", { StringEquals: { "accounts.google.com:aud": UID, "accounts.google.com:sub": "sa@p.iam.gserviceaccount.com" } }],
            ["a 20-digit id", { StringEquals: { "accounts.google.com:aud": UID.slice(1), "accounts.google.com:sub": UID } }],
            ["a wildcard sub", { StringEquals: { "accounts.google.com:aud": UID }, StringLike: { "accounts.google.com:sub": "*" } }],
            ["StringEqualsIfExists (passes when the claim is absent)", { StringEqualsIfExists: { "accounts.google.com:aud": UID, "accounts.google.com:sub": UID } }],
            ["ForAllValues:StringEquals (passes when the claim is absent)", { "ForAllValues:StringEquals": { "accounts.google.com:aud": UID, "accounts.google.com:sub": UID } }],
            ["StringNotEquals", { StringNotEquals: { "accounts.google.com:aud": UID, "accounts.google.com:sub": UID } }],
        ];
        for (const [what, condition] of weak) {
            it(`refuses a Google trust with ${what}`, () => refuses("pinned-federation", [google(condition)], /numeric unique id/));
        }
        const oidc = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";
        const github = (condition: object) => role({ Statement: [{ Effect: "Allow", Principal: { federated: oidc }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition }] });
        it("refuses an OIDC trust pinned on aud only, or on a wildcard sub", () => {
            refuses("pinned-federation", [github({ StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" } })], /pinned on aud only/);
            refuses("pinned-federation", [github({ StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/*" } })], /wildcard/);
        });
        it("accepts an OIDC trust pinning sub exactly (StringEquals, or StringLike without wildcards)", () => {
            passes("pinned-federation", [github({ StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": "repo:acme/x:ref:refs/heads/main" } })]);
            passes("pinned-federation", [github({ StringLike: { "token.actions.githubusercontent.com:sub": "repo:acme/x:ref:refs/heads/main" } })]);
        });
    });

    describe("service-principals-conditioned", () => {
        const trust = (condition?: object, service = "lambda.amazonaws.com") => doc({ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) });
        it("refuses a service trusted without a source condition, or with one that pins nothing", () => {
            for (const condition of [undefined, { StringEqualsIfExists: { "aws:SourceAccount": "222222222222" } }, { StringLike: { "aws:SourceAccount": "*" } },
                { ArnLike: { "aws:SourceArn": "arn:aws:lambda:*:*:function:*" } }, { StringNotEquals: { "aws:SourceAccount": "111111111111" } }]) {
                for (const form of forms(trust(condition))) refuses("service-principals-conditioned", [role(form)], /lambda.amazonaws.com without an aws:SourceAccount/);
            }
        });
        it("accepts aws:SourceAccount, aws:SourceArn of one account, or aws:SourceOrgID", () => {
            for (const condition of [{ StringEquals: { "aws:SourceAccount": "222222222222" } }, { ArnLike: { "aws:SourceArn": "arn:aws:lambda:eu-west-1:222222222222:function:*" } },
                { StringEquals: { "aws:SourceOrgID": "o-a1b2c3d4e5" } }, { stringequals: { "AWS:SOURCEACCOUNT": "222222222222" } }]) {
                passes("service-principals-conditioned", [role(trust(condition))]);
            }
        });
        it("checks resource policies and Lambda permissions too (an S3 bucket ARN has no account: it must be exact)", () => {
            const topic = (condition?: object) => res("aws:sns/topicPolicy:TopicPolicy", { arn: "t", policy: doc({ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sns:Publish", Resource: "*", ...(condition ? { Condition: condition } : {}) }) });
            refuses("service-principals-conditioned", [topic()]);
            refuses("service-principals-conditioned", [topic({ ArnLike: { "aws:SourceArn": "arn:aws:s3:::*" } })]);
            passes("service-principals-conditioned", [topic({ ArnEquals: { "aws:SourceArn": "arn:aws:s3:::partner-bucket" } })]);
            refuses("service-principals-conditioned", [res("aws:lambda/permission:Permission", { action: "lambda:InvokeFunction", principal: "events.amazonaws.com", function: "f" })], /no sourceArn/);
            passes("service-principals-conditioned", [res("aws:lambda/permission:Permission", { action: "lambda:InvokeFunction", principal: "events.amazonaws.com", function: "f", sourceArn: "arn:aws:events:eu-west-1:222222222222:rule/r" })]);
        });
        it("in a stack, refuses a source pinned to another account: that account's service would act through the grant", () => {
            const prod: Run = { stack: "prod" }; // our account: 222222222222
            for (const condition of [{ StringEquals: { "aws:SourceAccount": "999999999999" } }, { ArnLike: { "aws:SourceArn": "arn:aws:cloudtrail:eu-west-1:999999999999:trail/t" } }]) {
                refuses("service-principals-conditioned", [res("aws:s3/bucketPolicy:BucketPolicy", { bucket: "b", policy: doc({ Effect: "Allow", Principal: { Service: "logging.s3.amazonaws.com" }, Action: "s3:PutObject", Resource: "arn:aws:s3:::b/*", Condition: condition }) })], /our account is 222222222222/, prod);
            }
            // A bucket ARN or an organisation names no account: anyone's bucket could have that name, anyone may run an organisation.
            for (const condition of [{ ArnLike: { "aws:SourceArn": "arn:aws:s3:::attacker-bucket" } }, { StringEquals: { "aws:SourceOrgID": "o-attacker1234" } }]) {
                refuses("service-principals-conditioned", [res("aws:sqs/queuePolicy:QueuePolicy", { queueUrl: "q", policy: doc({ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sqs:SendMessage", Resource: "*", Condition: condition }) })], /our account is 222222222222/, prod);
            }
            passes("service-principals-conditioned", [res("aws:sqs/queuePolicy:QueuePolicy", { queueUrl: "q", policy: doc({ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sqs:SendMessage", Resource: "*", Condition: { ArnLike: { "aws:SourceArn": "arn:aws:s3:::our-bucket" }, StringEquals: { "aws:SourceAccount": "222222222222" } } }) })], prod);
            for (const extra of [{ sourceAccount: "999999999999" }, { sourceArn: "arn:aws:s3:::attacker-bucket" }, { principalOrgId: "o-attacker1234" }]) {
                refuses("service-principals-conditioned", [res("aws:lambda/permission:Permission", { action: "lambda:InvokeFunction", principal: "s3.amazonaws.com", function: "f", ...extra })], /not limited to our account/, prod);
            }
            passes("service-principals-conditioned", [res("aws:lambda/permission:Permission", { action: "lambda:InvokeFunction", principal: "events.amazonaws.com", function: "f", sourceAccount: "222222222222" })], prod);
            passes("service-principals-conditioned", [role(trust({ StringEquals: { "aws:SourceAccount": "222222222222" } }))], prod);
        });
        it("lets through API Gateway's CloudWatch logging role, recognised by what it is, and nothing that merely resembles it", () => {
            const documented = trust(undefined, "apigateway.amazonaws.com");
            for (const form of forms(documented)) passes("service-principals-conditioned", [role(form)]);
            passes("service-principals-conditioned", [role(documented, { managedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"] })]);
            refuses("service-principals-conditioned", [role(documented, { managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"] })]);
            refuses("service-principals-conditioned", [role(documented, { inlinePolicies: [{ name: "x", policy: "{}" }] })]);
            refuses("service-principals-conditioned", [role(doc(documented.Statement[0], { ...documented.Statement[0], Action: "sts:TagSession" }))]);
            refuses("service-principals-conditioned", [role(doc({ ...documented.Statement[0], Principal: { Service: ["apigateway.amazonaws.com", "lambda.amazonaws.com"] } }))]);
        });
    });

    describe("S3 guards", () => {
        const full = { bucket: "b", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
        it("s3-public-access-block refuses a block missing any setting", () => {
            passes("s3-public-access-block", [res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", full)]);
            for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) {
                refuses("s3-public-access-block", [res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", { ...full, [k]: false })], new RegExp(k));
            }
        });
        const tls = (resource: unknown, extra: object = {}) => ({ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: resource, Condition: { Bool: { "aws:SecureTransport": "false" } }, ...extra });
        const bucketPolicy = (...statements: object[]) => res("aws:s3/bucketPolicy:BucketPolicy", { bucket: "b", policy: JSON.stringify(doc(...statements)) });
        it("s3-deny-insecure-transport accepts a TLS deny covering the bucket and all its objects", () => {
            passes("s3-deny-insecure-transport", [bucketPolicy(tls(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]))]);
            passes("s3-deny-insecure-transport", [bucketPolicy(tls("arn:aws:s3:::b"), tls("arn:aws:s3:::b/*"))]);
            passes("s3-deny-insecure-transport", [bucketPolicy(tls("arn:aws:s3:::*"))]);
            passes("s3-deny-insecure-transport", [bucketPolicy({ ...tls(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]), Principal: { AWS: "*" }, Action: "*" })]);
        });
        it("s3-deny-insecure-transport refuses a deny that leaves the bucket or some objects reachable over plain HTTP", () => {
            const cases: object[][] = [
                [tls("arn:aws:s3:::b")],
                [tls("arn:aws:s3:::b/*")],
                [tls(["arn:aws:s3:::b", "arn:aws:s3:::b/partners/*"])],
                [tls(["arn:aws:s3:::b", "arn:aws:s3:::b/*"], { Action: "s3:GetObject" })],
                [tls(["arn:aws:s3:::b", "arn:aws:s3:::b/*"], { Condition: { Bool: { "aws:SecureTransport": "false" }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } })],
                [tls(["arn:aws:s3:::b", "arn:aws:s3:::b/*"], { Principal: { AWS: "arn:aws:iam::210987654321:root" } })],
                [tls(["arn:aws:s3:::other", "arn:aws:s3:::other/*"])],
                [allow({ AWS: "arn:aws:iam::210987654321:root" })],
            ];
            for (const statements of cases) refuses("s3-deny-insecure-transport", [bucketPolicy(...statements)], /without TLS/);
        });
        it("s3-buckets-guarded refuses a bucket without a public access block, or whose TLS deny covers only the bucket", () => {
            const bucket = res("aws:s3/bucket:Bucket", { bucket: "b" });
            assert.equal(mandatory(findings("s3-buckets-guarded", [bucket])).length, 2);
            const block = res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", full);
            passes("s3-buckets-guarded", [bucket, block, bucketPolicy(tls(["arn:aws:s3:::b", "arn:aws:s3:::b/*"]))]);
            refuses("s3-buckets-guarded", [bucket, block, bucketPolicy(tls("arn:aws:s3:::b"))], /denying requests without TLS/);
        });
    });

    describe("api-methods-authenticated", () => {
        it("refuses REST methods and HTTP API routes without authorization (NONE is the route's default), function URLs with NONE", () => {
            refuses("api-methods-authenticated", [res("aws:apigateway/method:Method", { httpMethod: "GET", authorization: "none" })]);
            passes("api-methods-authenticated", [res("aws:apigateway/method:Method", { httpMethod: "GET", authorization: "AWS_IAM" })]);
            refuses("api-methods-authenticated", [res("aws:apigatewayv2/route:Route", { apiId: "a", routeKey: "GET /x" })], /NONE by default/);
            refuses("api-methods-authenticated", [res("aws:apigatewayv2/route:Route", { apiId: "a", routeKey: "GET /x", authorizationType: "NONE" })]);
            passes("api-methods-authenticated", [res("aws:apigatewayv2/route:Route", { apiId: "a", routeKey: "GET /x", authorizationType: "AWS_IAM" })]);
            // YAML a 1.1 importer would merge, where YAML 1.2 sees a literal "<<" key: a policy or an operation could hide there.
            const merged = `swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths: {}\nx-p: &p\n  Statement:\n    - {Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "*"}\nx-amazon-apigateway-policy:\n  <<: *p\n`;
            refuses("api-methods-authenticated", [res("aws:apigateway/restApi:RestApi", { name: "api", body: merged })], /cannot be read as API Gateway would \(it uses an? (alias|anchor|merge key)/);
            // Merging asked for by the document itself: an operation's security only through a merge key.
            for (const merge of ["!!merge <<", "<<"]) {
                const body = `${merge === "<<" ? "%YAML 1.1\n---\n" : ""}swagger: "2.0"\ninfo: {title: t, version: "1"}\nsecurityDefinitions: {sigv4: {type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}}\npaths:\n  /x:\n    get:\n      ${merge}: {security: [{sigv4: []}]}\n      responses: {}\n`;
                refuses("api-methods-authenticated", [res("aws:apigateway/restApi:RestApi", { name: "api", body })], /merge key/);
            }
            // An authorizer of our own choosing is not SigV4: a JWT authorizer trusting accounts.google.com admits every Google account.
            refuses("api-methods-authenticated", [res("aws:apigateway/method:Method", { httpMethod: "GET", authorization: "CUSTOM", authorizerId: "a" })], /not SigV4-signed/);
            refuses("api-methods-authenticated", [res("aws:apigateway/method:Method", { httpMethod: "GET", authorization: "COGNITO_USER_POOLS" })], /not SigV4-signed/);
            refuses("api-methods-authenticated", [res("aws:apigatewayv2/route:Route", { apiId: "a", routeKey: "GET /x", authorizationType: "JWT", authorizerId: "google" })], /not SigV4-signed/);
            refuses("api-methods-authenticated", [res("aws:lambda/functionUrl:FunctionUrl", { functionName: "f", authorizationType: "NONE" })]);
            passes("api-methods-authenticated", [res("aws:lambda/functionUrl:FunctionUrl", { functionName: "f", authorizationType: "AWS_IAM" })]);
            refuses("api-methods-authenticated", [res("aws:lambda/permission:Permission", { function: "f", action: "lambda:InvokeFunctionUrl", principal: "210987654321", functionUrlAuthType: "NONE" })]);
            refuses("api-methods-authenticated", [res("aws:apigatewayv2/api:Api", { protocolType: "HTTP", target: "arn:aws:lambda:eu-west-1:222222222222:function:f" })], /quick-create/);
            passes("api-methods-authenticated", [res("aws:apigatewayv2/api:Api", { protocolType: "HTTP" })]);
        });

        const sigv4 = { type: "apiKey", name: "Authorization", in: "header", "x-amazon-apigateway-authtype": "awsSigv4" };
        const openapi = (op: object, top: object = {}) => ({ swagger: "2.0", securityDefinitions: { sigv4 }, paths: { "/orders": op }, ...top });
        const api = (body: unknown) => [res("aws:apigateway/restApi:RestApi", { name: "a", body })];
        it("accepts the program's OpenAPI body (JSON string, object, YAML) and operations requiring SigV4", () => {
            const body = synthStack("prod").resources.find((r) => r.type === "aws:apigateway/restApi:RestApi")!.inputs.body as string;
            for (const form of [body, JSON.parse(body), YAML.stringify(JSON.parse(body))]) passes("api-methods-authenticated", api(form));
            passes("api-methods-authenticated", api(openapi({ get: { responses: {} } }, { security: [{ sigv4: [] }] })));
            passes("api-methods-authenticated", api({ openapi: "3.0.1", components: { securitySchemes: { iam: { ...sigv4 } } }, paths: { "/x": { post: { security: [{ iam: [] }] } } } }));
        });
        const unauthenticated: [string, object][] = [
            ["an operation without security", openapi({ get: { responses: {} } })],
            ["an empty security list", openapi({ get: { security: [] } }, { security: [{ sigv4: [] }] })],
            ["an anonymous alternative {}", openapi({ get: { security: [{ sigv4: [] }, {}] } })],
            ["a scheme that is not SigV4", { ...openapi({ get: { security: [{ pool: [] }] } }), securityDefinitions: { pool: { type: "apiKey", name: "Authorization", in: "header", "x-amazon-apigateway-authtype": "cognito_user_pools" } } }],
            ["a method key in upper case", openapi({ GET: { responses: {} }, post: { security: [{ sigv4: [] }] } })],
            ["x-amazon-apigateway-any-method", openapi({ "x-amazon-apigateway-any-method": {} })],
            ["a security key in the wrong case", openapi({ get: { Security: [{ sigv4: [] }] } })],
            ["an authtype extension key in the wrong case", { ...openapi({ get: { security: [{ s: [] }] } }), securityDefinitions: { s: { type: "apiKey", name: "Authorization", in: "header", "X-Amazon-Apigateway-Authtype": "awsSigv4" } } }],
        ];
        for (const [what, body] of unauthenticated) {
            it(`refuses an OpenAPI body with ${what}`, () => {
                for (const form of [body, JSON.stringify(body), YAML.stringify(body)]) refuses("api-methods-authenticated", api(form), /without a SigV4 security requirement/);
            });
        }
        it("refuses an OpenAPI body it cannot read, and checks HTTP API bodies too", () => {
            refuses("api-methods-authenticated", api("{ not: [json"), /cannot be checked/);
            refuses("api-methods-authenticated", api('{"paths": {"/a": {"get": {}}}, "paths": {}}'), /cannot be read as API Gateway would \(Map keys must be unique/);
            refuses("api-methods-authenticated", [res("aws:apigatewayv2/api:Api", { protocolType: "HTTP", body: JSON.stringify(openapi({ get: {} })) })]);
        });
    });

    describe("GCP members", () => {
        const grants: [string, Record<string, unknown>][] = [
            ["gcp:storage/bucketIAMMember:BucketIAMMember", { role: "roles/storage.objectViewer", member: "allUsers" }],
            ["gcp:storage/managedFolderIamMember:ManagedFolderIamMember", { role: "roles/storage.objectViewer", member: "allAuthenticatedUsers" }],
            ["gcp:projects/iAMMember:IAMMember", { role: "roles/viewer", member: "domain:example.com" }],
            ["gcp:projects/iAMBinding:IAMBinding", { role: "roles/viewer", members: ["serviceAccount:a@b.iam.gserviceaccount.com", "allUsers"] }],
            ["gcp:serviceaccount/iAMMember:IAMMember", { role: "roles/iam.serviceAccountTokenCreator", member: "allAuthenticatedUsers" }],
            ["gcp:storage/bucketIAMPolicy:BucketIAMPolicy", { policyData: JSON.stringify({ bindings: [{ role: "roles/storage.admin", members: ["allUsers"] }] }) }],
            ["gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy", { policyData: JSON.stringify({ Bindings: [{ Role: "roles/storage.objectViewer", MEMBERS: ["allUsers"] }] }) }],
            ["gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy", { policyData: { bindings: [{ role: "roles/storage.objectViewer", members: ["allUsers"] }] } }],
            ["gcp:endpoints/serviceIamMember:ServiceIamMember", { role: "roles/servicemanagement.serviceConsumer", member: "allUsers" }],
            ["gcp:cloudrunv2/serviceIamMember:ServiceIamMember", { role: "roles/run.admin", member: "allUsers", name: "x-gateway" }],
            ["gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember", { role: "roles/cloudfunctions.invoker", member: "allUsers", cloudFunction: "f" }],
        ];
        it("no-public-gcp-members refuses allUsers, allAuthenticatedUsers and domains on any IAM resource, policyData in any key case", () => {
            for (const [type, props] of grants) refuses("no-public-gcp-members", [res(type, props)], /grants (the public|a whole domain)/);
            passes("no-public-gcp-members", [res("gcp:storage/bucketIAMMember:BucketIAMMember", { role: "roles/storage.objectViewer", member: "serviceAccount:a@b.iam.gserviceaccount.com" })]);
            refuses("no-public-gcp-members", [res("gcp:storage/bucketIAMPolicy:BucketIAMPolicy", { policyData: "{nope" })], /cannot be checked/);
        });

        const pool = "principalSet://iam.googleapis.com/projects/100000000002/locations/global/workloadIdentityPools/partner-access-prod-b7605b";
        it("gcp-members-exact refuses groups, basic-role sets and pool- or attribute-wide principalSets", () => {
            for (const member of ["group:partners@example.com", "projectEditor:example-partner-prod", `${pool}/*`, `${pool}/attribute.aws_account/210987654322`,
                `${pool}/attribute.aws_role/arn:aws:sts::210987654322:assumed-role/*`, `${pool}/group/admins`, `PRINCIPALSET://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*`]) {
                refuses("gcp-members-exact", [res("gcp:storage/managedFolderIamMember:ManagedFolderIamMember", { role: "roles/storage.objectViewer", member })], /group|basic role|principalSet/);
            }
            refuses("gcp-members-exact", [res("gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy", { policyData: JSON.stringify({ bindings: [{ role: "r", members: ["Group:x@example.com"] }] }) })]);
        });
        it("gcp-members-exact accepts one AWS role's principalSet, service accounts, users and single principals", () => {
            for (const member of [`${pool}/attribute.aws_role/arn:aws:sts::210987654322:assumed-role/acme-exchange`, "serviceAccount:acme-sync@acme-prod-4711.iam.gserviceaccount.com",
                "user:ops@example.com", "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/s"]) {
                passes("gcp-members-exact", [res("gcp:storage/managedFolderIamMember:ManagedFolderIamMember", { role: "roles/storage.objectViewer", member })]);
            }
        });
        it("gcs-bucket-private refuses a bucket without enforced public access prevention or uniform access", () => {
            assert.equal(mandatory(findings("gcs-bucket-private", [res("gcp:storage/bucket:Bucket", { publicAccessPrevention: "inherited", uniformBucketLevelAccess: false })])).length, 2);
            passes("gcs-bucket-private", [res("gcp:storage/bucket:Bucket", { publicAccessPrevention: "enforced", uniformBucketLevelAccess: true })]);
        });
    });

    describe("workload-identity-conditioned (CEL evaluation against hostile callers)", () => {
        const A = "210987654322";
        const provider = (attributeCondition?: string, attributeMapping?: Record<string, string>) =>
            [res("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", { aws: { accountId: A }, ...(attributeCondition !== undefined ? { attributeCondition } : {}), ...(attributeMapping ? { attributeMapping } : {}) })];
        it("accepts the program's provider and an exact role condition with Google's default mapping", () => {
            const real = synthStack("prod").resources.filter((r) => r.type === "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider");
            assert.ok(real.length > 0);
            passes("workload-identity-conditioned", real as SynthResource[]);
            passes("workload-identity-conditioned", provider(`attribute.aws_role == "arn:aws:sts::${A}:assumed-role/acme-exchange"`));
            passes("workload-identity-conditioned", provider(`attribute.aws_role in ["arn:aws:sts::${A}:assumed-role/acme-exchange", "arn:aws:sts::${A}:assumed-role/acme-sync"]`));
            passes("workload-identity-conditioned", provider(`attribute.aws_role == "arn:aws:iam::${A}:user/acme-ci"`));
        });
        it("refuses a provider without a condition", () => {
            refuses("workload-identity-conditioned", provider(), /no attribute condition/);
            refuses("workload-identity-conditioned", provider("  "), /no attribute condition/);
        });
        const trivial: [string, string, Record<string, string>?][] = [
            ["true", "true"],
            ["the account only", `assertion.account == "${A}"`],
            ["a role prefix", `attribute.aws_role.startsWith("arn:aws:sts::${A}:assumed-role/acme")`],
            ["a role suffix (an IAM user of the same name matches)", `attribute.aws_role.endsWith("/acme-exchange")`],
            ["a substring of the subject", `google.subject.contains("assumed-role/acme-exchange")`],
            ["an exact test on a mapping that is constant", `attribute.aws_role == "arn:aws:sts::${A}:assumed-role/acme-exchange"`,
                { "google.subject": "assertion.arn", "attribute.aws_role": `"arn:aws:sts::${A}:assumed-role/acme-exchange"` }],
        ];
        for (const [what, condition, mapping] of trivial) {
            it(`refuses a condition on ${what}: a hostile caller of the account gets in`, () => refuses("workload-identity-conditioned", provider(condition, mapping), /admits arn:aws:/));
        }
        it("refuses a condition it cannot evaluate", () => refuses("workload-identity-conditioned", provider("attribute.aws_role ==="), /cannot be evaluated/));
    });

    describe("Cloud Run made public", () => {
        const gateway = () => synthStack("prod").resources.find((r) => r.type === "gcp:cloudrunv2/service:Service")! as SynthResource;
        const service = (patch: (inputs: any) => void, name = `svc${n++}`) => {
            const inputs = JSON.parse(JSON.stringify(gateway().inputs));
            patch(inputs);
            return res("gcp:cloudrunv2/service:Service", inputs, name);
        };
        it("cloud-run-not-public lets the ESPv2 gateway, recognised by image and ENDPOINTS_SERVICE_NAME, disable the invoker check", () => {
            passes("cloud-run-not-public", [gateway()]);
            passes("cloud-run-not-public", [service((i) => { i.invokerIamDisabled = false; i.template.containers[0].image = "nginx"; })]);
        });
        it("cloud-run-not-public refuses any other service disabling the invoker check, whatever its name", () => {
            refuses("cloud-run-not-public", [service((i) => { i.template.containers[0].image = "nginx:latest"; })], /not a recognised ESPv2 gateway/);
            refuses("cloud-run-not-public", [service((i) => { i.template.containers[0].envs = i.template.containers[0].envs.filter((e: any) => e.name !== "ENDPOINTS_SERVICE_NAME"); })]);
            refuses("cloud-run-not-public", [service((i) => { i.template.containers.push({ image: "nginx" }); })]);
            refuses("cloud-run-not-public", [service((i) => { i.invokerIamDisabled = false; i.annotations = { "run.googleapis.com/invoker-iam-disabled": "true" }; i.template.containers[0].image = "nginx"; })]);
            refuses("cloud-run-not-public", [res("gcp:cloudrun/service:Service", { name: "x-gateway", metadata: { annotations: { "run.googleapis.com/invoker-iam-disabled": "true" } }, template: { spec: { containers: [{ image: "nginx" }] } } })]);
        });
        it("cloud-run-not-public honours configured ESPv2 images and reasoned exceptions, nothing else", () => {
            const mirrored = service((i) => { i.template.containers[0].image = "europe-docker.pkg.dev/p/mirror/endpoints-runtime-serverless:2.51"; }, "mirrored");
            refuses("cloud-run-not-public", [mirrored]);
            passes("cloud-run-not-public", [mirrored], { config: { "cloud-run-not-public": { espImages: ["europe-docker.pkg.dev/p/mirror/endpoints-runtime-serverless:"] } } });
            const exception = { policy: "cloud-run-not-public", urn: mirrored.urn, reason: "mirror of the ESPv2 image, reviewed in #123" };
            passes("cloud-run-not-public", [mirrored], { config: exceptionsConfig([exception]) });
            refuses("cloud-run-not-public", [mirrored], undefined, { config: exceptionsConfig([{ ...exception, reason: "ok" }]) });
            refuses("cloud-run-not-public", [mirrored], undefined, { config: { "cloud-run-not-public": { exceptions: [{ ...exception, policy: "no-public-gcp-members" }] } } });
        });
        it("cloud-run-invoker-not-public refuses a public run.invoker unless the service in the stack is the ESPv2 gateway", () => {
            const gw = gateway();
            const invoker = (name: string, extra: Partial<SynthResource> = {}, member = "allUsers") =>
                res("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", { name, location: "europe-west1", role: "roles/run.invoker", member }, `inv${n++}`, extra);
            passes("cloud-run-invoker-not-public", [gw, invoker(gw.inputs.name as string)]);
            passes("cloud-run-invoker-not-public", [gw, invoker("04da6b54-80e4-46f7-96ec-b56ff0331ba9", { propertyDependencies: { name: [gw.urn] } })]);
            const backend = service((i) => { i.invokerIamDisabled = false; i.name = "orders-backend-gateway"; i.template.containers[0].image = "nginx"; }, "backend");
            refuses("cloud-run-invoker-not-public", [backend, invoker("orders-backend-gateway", {}, "allAuthenticatedUsers")], /not a recognised ESPv2 gateway/);
            refuses("cloud-run-invoker-not-public", [invoker("elsewhere")], /not found in this stack/);
            refuses("cloud-run-invoker-not-public", [backend, res("gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy", { name: "orders-backend-gateway", policyData: JSON.stringify({ bindings: [{ role: "roles/run.invoker", members: ["allUsers"] }] }) })]);
            // Judged there, with the service in view: no-public-gcp-members does not refuse it blindly.
            passes("no-public-gcp-members", [gw, invoker(gw.inputs.name as string)]);
        });
    });

    describe("outbound-broker (prod stack: registry callers under partners[].outbound[].callers.prod)", () => {
        const prod: Run = { stack: "prod" };
        const caller = "arn:aws:iam::222222222222:role/orders-sync";
        const invoke = (principal: string, extra: Record<string, unknown> = {}) =>
            res("aws:lambda/permission:Permission", { action: "lambda:InvokeFunction", function: "partner-access-prod-token-broker", qualifier: "acme-logistics-0a1b2c3d4e", principal, ...extra });
        it("lets the registry's callers for this stage invoke the broker's alias of their partner", () => {
            passes("outbound-broker", [invoke(caller)], prod);
            passes("outbound-broker", [invoke(caller, { function: "arn:aws:lambda:eu-west-1:222222222222:function:partner-access-prod-token-broker", qualifier: undefined })], prod);
        });
        it("refuses a wildcard, an account, another stage's caller, an unlisted role, or a caller of another partner's alias", () => {
            refuses("outbound-broker", [invoke("*")], /wildcard/, prod);
            refuses("outbound-broker", [invoke("222222222222")], /whole account/, prod);
            refuses("outbound-broker", [invoke("arn:aws:iam::111111111111:role/orders-sync")], /not listed as a caller/, prod);
            refuses("outbound-broker", [invoke("arn:aws:iam::222222222222:role/intruder")], /not listed as a caller/, prod);
            refuses("outbound-broker", [invoke(caller, { qualifier: "globex-0a1b2c3d4e" })], /not listed as a caller of alias globex/, prod);
            refuses("outbound-broker", [invoke("lambda.amazonaws.com", { qualifier: undefined })], /not an IAM role/, prod);
            refuses("outbound-broker", [res("aws:lambda/functionUrl:FunctionUrl", { functionName: "partner-access-prod-token-broker", authorizationType: "AWS_IAM" })], /function URL/, prod);
            // Another function is not the broker's business; stag's broker is judged in stag.
            passes("outbound-broker", [invoke("arn:aws:iam::222222222222:role/intruder", { function: "other-function" })], prod);
            passes("outbound-broker", [invoke("arn:aws:iam::111111111111:role/orders-sync", { function: "partner-access-stag-token-broker" })], { stack: "stag" });
        });

        const secretArn = "arn:aws:secretsmanager:eu-west-1:222222222222:secret:partner-access/prod/outbound/acme-logistics/api.acme-logistics.example-AbCdEf";
        const brokerRole = "arn:aws:iam::222222222222:role/partner-access-prod-token-broker";
        const guard = (extra: object = {}) => ({ Effect: "Deny", Principal: "*", Action: "secretsmanager:GetSecretValue", Resource: "*", Condition: { ArnNotEquals: { "aws:PrincipalArn": brokerRole } }, ...extra });
        const secretPolicy = (policy: unknown) => res("aws:secretsmanager/secretPolicy:SecretPolicy", { secretArn, policy });
        it("accepts a broker secret policy denying GetSecretValue to all but one role of the stage", () => {
            for (const form of forms(doc(guard()))) passes("outbound-broker", [secretPolicy(form)], prod);
            passes("outbound-broker", [secretPolicy(doc(guard({ Action: "secretsmanager:*" })))], prod);
            passes("outbound-broker", [secretPolicy({ statement: [{ effect: "Deny", principal: { aws: "*" }, action: "secretsmanager:getsecretvalue", resource: "*", condition: { arnnotequals: { "AWS:PrincipalArn": brokerRole } } }] })], prod);
        });
        it("refuses a broker secret policy that lets anyone else read the token", () => {
            for (const d of [
                doc(allow({ AWS: "arn:aws:iam::222222222222:root" }, { Action: "secretsmanager:GetSecretValue", Resource: "*" })),
                doc(guard({ Condition: { ArnNotLike: { "aws:PrincipalArn": "arn:aws:iam::222222222222:role/*" } } })),
                doc(guard({ Condition: { ArnNotEquals: { "aws:PrincipalArn": [brokerRole, "arn:aws:iam::222222222222:role/ops"] } } })),
                doc(guard({ Condition: { ArnNotEquals: { "aws:PrincipalArn": brokerRole }, IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } })),
                doc(guard({ Condition: { ArnNotEqualsIfExists: { "aws:PrincipalArn": brokerRole } } })),
                doc(guard({ Action: "secretsmanager:DescribeSecret" })),
                doc(guard({ Resource: "arn:aws:secretsmanager:eu-west-1:222222222222:secret:other" })),
            ]) refuses("outbound-broker", [secretPolicy(d)], /broker secret policy/, prod);
            refuses("outbound-broker", [secretPolicy(doc(guard({ Condition: { ArnNotEquals: { "aws:PrincipalArn": "arn:aws:iam::111111111111:role/partner-access-prod-token-broker" } } })))], /outside the stage's account/, prod);
        });

        const gcpCaller = "serviceAccount:orders-sync@example-partner-prod.iam.gserviceaccount.com";
        it("GCP: only listed callers may invoke the broker's Cloud Run service", () => {
            const binding = (members: string[], type = "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding") => res(type, { name: "partner-access-prod-token-broker", location: "europe-west1", role: "roles/run.invoker", members });
            passes("outbound-broker", [binding([gcpCaller])], prod);
            refuses("outbound-broker", [binding([gcpCaller, "serviceAccount:orders-sync@example-partner-stag.iam.gserviceaccount.com"])], /not listed as a caller/, prod);
            refuses("outbound-broker", [binding(["allUsers"])], /not listed as a caller/, prod);
            refuses("outbound-broker", [res("gcp:cloudfunctionsv2/functionIamMember:FunctionIamMember", { cloudFunction: "projects/p/locations/l/functions/partner-access-prod-token-broker", role: "roles/cloudfunctions.invoker", member: "group:all@example.com" })], /not listed/, prod);
        });
        it("GCP: a broker secret is readable by one service account of the stage's project, through an authoritative policy; nobody reads every secret", () => {
            const secretIam = (members: string[], role = "roles/secretmanager.secretAccessor", type = "gcp:secretmanager/secretIamPolicy:SecretIamPolicy") =>
                res(type, { secretId: "projects/example-partner-prod/secrets/partner-access-prod-outbound-acme-logistics-1a2b3c4d", policyData: JSON.stringify({ bindings: [{ role, members }] }) });
            const broker = "serviceAccount:partner-access-prod-broker@example-partner-prod.iam.gserviceaccount.com";
            passes("outbound-broker", [secretIam([broker])], prod);
            refuses("outbound-broker", [secretIam([broker, gcpCaller])], /2 members may read it/, prod);
            refuses("outbound-broker", [secretIam(["serviceAccount:broker@other-project-1.iam.gserviceaccount.com"])], /not a service account of the stage's project/, prod);
            refuses("outbound-broker", [secretIam([broker], "roles/secretmanager.admin"), secretIam(["user:ops@example.com"], "roles/secretmanager.admin")], /not a service account/, prod);
            refuses("outbound-broker", [res("gcp:secretmanager/secretIamMember:SecretIamMember", { secretId: "partner-access-prod-outbound-acme-logistics-1a2b3c4d", role: "roles/secretmanager.secretAccessor", member: broker })], /authoritative/, prod);
            refuses("outbound-broker", [res("gcp:projects/iAMMember:IAMMember", { project: "example-partner-prod", role: "roles/secretmanager.secretAccessor", member: gcpCaller })], /every secret/, prod);
        });
        it("is silent outside a stack (nothing to compare with); wildcards are still refused by no-wildcard-principals", () => {
            passes("outbound-broker", [invoke("*")]);
            refuses("no-wildcard-principals", [invoke("*")]);
        });

        it("outbound-broker-secrets-guarded: every broker secret has its guard, naming the broker function's own identity", () => {
            const secret = res("aws:secretsmanager/secret:Secret", { name: "partner-access/prod/outbound/acme-logistics/api.acme-logistics.example" }, "s");
            const fn = res("aws:lambda/function:Function", { name: "partner-access-prod-token-broker", role: brokerRole });
            const linked = (policy: object) => res("aws:secretsmanager/secretPolicy:SecretPolicy", { secretArn: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", policy: JSON.stringify(policy) }, `sp${n++}`, { propertyDependencies: { secretArn: [secret.urn] } });
            refuses("outbound-broker-secrets-guarded", [fn, secret], /no policy limiting GetSecretValue/, prod);
            passes("outbound-broker-secrets-guarded", [fn, secret, linked(doc(guard()))], prod);
            refuses("outbound-broker-secrets-guarded", [fn, secret, linked(doc(guard({ Condition: { ArnNotEquals: { "aws:PrincipalArn": "arn:aws:iam::222222222222:role/ops" } } })))], /not the broker's role/, prod);

            const gsecret = res("gcp:secretmanager/secret:Secret", { secretId: "partner-access-prod-outbound-acme-logistics-1a2b3c4d", replication: { auto: {} } }, "gs");
            const gfn = res("gcp:cloudfunctionsv2/function:Function", { name: "partner-access-prod-token-broker", serviceConfig: { serviceAccountEmail: "partner-access-prod-broker@example-partner-prod.iam.gserviceaccount.com" } });
            const gpolicy = (member: string) => res("gcp:secretmanager/secretIamPolicy:SecretIamPolicy", { secretId: "partner-access-prod-outbound-acme-logistics-1a2b3c4d", policyData: JSON.stringify({ bindings: [{ role: "roles/secretmanager.secretAccessor", members: [member] }] }) });
            refuses("outbound-broker-secrets-guarded", [gfn, gsecret], /no SecretIamPolicy/, prod);
            passes("outbound-broker-secrets-guarded", [gfn, gsecret, gpolicy("serviceAccount:partner-access-prod-broker@example-partner-prod.iam.gserviceaccount.com")], prod);
            refuses("outbound-broker-secrets-guarded", [gfn, gsecret, gpolicy("serviceAccount:ops@example-partner-prod.iam.gserviceaccount.com")], /not the broker's service account/, prod);
        });
    });

    describe("stage-isolation (identities compared by coverage: a root covers its account; a role is itself whatever its path)", () => {
        const prod: Run = { stack: "prod" };
        const trust = (principal: unknown, condition?: object) => role(JSON.stringify(doc({ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) })));
        it("refuses a prod resource naming a dev or stag identity", () => {
            refuses("stage-isolation", [trust({ AWS: "arn:aws:iam::210987654321:root" }, { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::210987654321:role/acme-exchange-dev" } })], /acme-logistics\/dev/, prod);
            refuses("stage-isolation", [res("gcp:storage/managedFolderIamMember:ManagedFolderIamMember", { member: "serviceAccount:globex-files@globex-stag.iam.gserviceaccount.com" })], /globex\/stag/, prod);
            refuses("stage-isolation", [res("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", { attributeCondition: 'attribute.aws_role == "arn:aws:sts::210987654321:assumed-role/acme-exchange-dev"' })], /acme-logistics\/dev/, prod);
        });
        it("refuses an account root in prod when a non-production environment lists a role of that account", () => {
            refuses("stage-isolation", [trust({ AWS: "arn:aws:iam::210987654321:root" })], /covers arn:aws:iam::210987654321:role\/acme-exchange-dev, an identity of acme-logistics\/dev/, prod);
            refuses("stage-isolation", [trust({ AWS: "210987654321" })], /covers .*acme-logistics\/dev/, prod);
        });
        it("refuses a role named without its path (or with another) when a non-production environment lists it with one", () => {
            // stag lists arn:aws:iam::210987654321:role/integration/acme-exchange-stag: the role's name is what IAM compares.
            refuses("stage-isolation", [trust({ AWS: "arn:aws:iam::210987654321:role/acme-exchange-stag" })], /acme-logistics\/stag/, prod);
            refuses("stage-isolation", [trust({ AWS: "arn:aws:iam::210987654321:role/other/path/acme-exchange-stag" })], /acme-logistics\/stag/, prod);
        });
        it("accepts prod identities in prod, and does not judge non-production stacks or runs outside a stack", () => {
            passes("stage-isolation", [trust({ AWS: "arn:aws:iam::210987654322:root" }, { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::210987654322:role/acme-exchange" } })], prod);
            passes("stage-isolation", [trust({ AWS: "arn:aws:iam::210987654321:role/acme-exchange-dev" })], { stack: "stag" });
            passes("stage-isolation", [trust({ AWS: "arn:aws:iam::210987654321:role/acme-exchange-dev" })]);
        });
    });

    describe("principals-from-registry (every trusted or granted identity is one the registry lists for the stage)", () => {
        const prod: Run = { stack: "prod" };
        const trust = (principal: unknown, condition?: object) => role(JSON.stringify(doc({ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) })));
        const member = (m: string) => res("gcp:storage/managedFolderIamMember:ManagedFolderIamMember", { member: m });
        it("refuses a role, an account root or a service account that no registry entry explains", () => {
            refuses("principals-from-registry", [trust({ AWS: "arn:aws:iam::999988887777:role/stranger" })], /999988887777:role\/stranger, which no identity the registry lists/, prod);
            refuses("principals-from-registry", [trust({ AWS: "arn:aws:iam::999988887777:root" })], /999988887777/, prod);
            refuses("principals-from-registry", [member("serviceAccount:intruder@elsewhere.iam.gserviceaccount.com")], /intruder@elsewhere/, prod);
        });
        it("refuses a listed partner's other role, and a prod partner's identity in a stage that does not accept prod", () => {
            refuses("principals-from-registry", [trust({ AWS: "arn:aws:iam::210987654322:role/acme-admin" })], /acme-admin/, prod);
            refuses("principals-from-registry", [member("serviceAccount:globex-files@globex-prod.iam.gserviceaccount.com")], /globex-prod/, { stack: "stag" });
        });
        it("refuses an account root that neither the registry lists nor its statement pins to listed roles", () => {
            // acme-logistics lists arn:aws:iam::210987654322:role/acme-exchange for prod, not the root.
            refuses("principals-from-registry", [trust({ AWS: "arn:aws:iam::210987654322:root" })], /210987654322.*neither listed itself nor pinned/, prod);
            refuses("principals-from-registry", [trust({ AWS: "210987654322" }, { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::210987654322:role/acme-admin" } })], /neither listed itself nor pinned/, prod);
            refuses("principals-from-registry", [trust({ AWS: "arn:aws:iam::210987654322:root" }, { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::210987654322:role/*" } })], /neither listed itself nor pinned/, prod);
            refuses("principals-from-registry", [res("aws:lambda/permission:Permission", { action: "lambda:InvokeFunction", function: "f", principal: "210987654322" })], /neither listed itself nor pinned/, prod);
        });
        it("reads every resource type that carries a policy, not a list of its own", () => {
            const foreign = (extra: object = {}) => JSON.stringify(doc({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::999988887777:role/stranger" }, Action: "*", Resource: "*", ...extra }));
            for (const [type, prop] of [["aws:kms/key:Key", "policy"], ["aws:secretsmanager/secret:Secret", "policy"], ["aws:sqs/queuePolicy:QueuePolicy", "policy"], ["aws:glacier/vault:Vault", "accessPolicy"]]) {
                refuses("principals-from-registry", [res(type, { [prop]: foreign() })], /stranger/, prod);
            }
        });
        it("refuses GCP members the registry cannot list: users, groups, single federated subjects, other kinds of service accounts", () => {
            for (const m of ["user:attacker@gmail.com", "group:ops@example.com", "serviceAccount:x@appspot.gserviceaccount.com", "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/s"]) {
                refuses("principals-from-registry", [member(m)], /does not list/, prod);
            }
        });
        it("refuses principals it cannot read as listed identities: other kinds and partitions, canonical users, numbers, other identity providers", () => {
            for (const principal of [{ AWS: "arn:aws:sts::210987654321:federated-user/ci" }, { AWS: "arn:aws-cn:iam::999988887777:role/x" }, { AWS: "arn:aws-us-gov:iam::999988887777:root" },
                { CanonicalUser: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be" }, { AWS: 999988887777 }]) {
                refuses("principals-from-registry", [res("aws:s3/bucketPolicy:BucketPolicy", { bucket: "b", policy: JSON.stringify(doc(allow(principal))) })], undefined, prod);
            }
            for (const provider of ["arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com", "cognito-identity.amazonaws.com", "arn:aws:iam::222222222222:saml-provider/okta"]) {
                refuses("principals-from-registry", [trust({ Federated: provider }, { StringEquals: { "token.actions.githubusercontent.com:sub": "repo:attacker/x:ref:refs/heads/main" } })], /federates only Google/, prod);
            }
        });
        it("reads a REST API's policy from its OpenAPI body too (x-amazon-apigateway-policy applies when policy is unset)", () => {
            const body = (principal: unknown) => JSON.stringify({ swagger: "2.0", info: { title: "t", version: "1" }, paths: {}, "x-amazon-apigateway-policy": doc({ Effect: "Allow", Principal: principal, Action: "execute-api:Invoke", Resource: "*" }) });
            refuses("no-wildcard-principals", [res("aws:apigateway/restApi:RestApi", { name: "api", body: body("*") })], /body x-amazon-apigateway-policy/);
            refuses("principals-from-registry", [res("aws:apigateway/restApi:RestApi", { name: "api", body: body({ AWS: "999988887777" }) })], /999988887777/, prod);
            assert.equal(mandatory(findings("principals-from-registry", [res("aws:apigateway/restApi:RestApi", { name: "api", body: body({ AWS: "arn:aws:iam::999988887777:root" }) })], prod)).length, 1, "reported once");
            refuses("principals-from-registry", [res("aws:apigateway/restApi:RestApi", { name: "api", body: `swagger: "2.0"\npaths: {}\nx-amazon-apigateway-policy:\n  Statement:\n    - Effect: Allow\n      Principal: {AWS: "999988887777"}\n      Action: execute-api:Invoke\n      Resource: "*"\n` })], /999988887777/, prod);
        });
        it("compares the IAM grantee of an S3 Access Grant with the registry", () => {
            refuses("principals-from-registry", [res("aws:s3control/accessGrant:AccessGrant", { accessGrantsLocationId: "l", permission: "READ", grantee: { granteeType: "IAM", granteeIdentifier: "arn:aws:iam::999988887777:role/x" } })], /999988887777/, prod);
            passes("principals-from-registry", [res("aws:s3control/accessGrant:AccessGrant", { accessGrantsLocationId: "l", permission: "READ", grantee: { granteeType: "IAM", granteeIdentifier: "arn:aws:iam::210987654322:role/acme-exchange" } })], prod);
        });
        it("accepts a root pinned to listed roles (as rendered for direct partners), and our own callers whatever the role path", () => {
            passes("principals-from-registry", [trust({ AWS: ["arn:aws:iam::333333333334:root", "arn:aws:iam::210987654322:root"] }, { ArnEquals: { "aws:PrincipalArn": ["arn:aws:iam::333333333334:role/exchange/globex-prod", "arn:aws:iam::210987654322:role/acme-exchange"] } })], prod);
            passes("principals-from-registry", [member("serviceAccount:partner-access-prod-esp@example-partner-prod.iam.gserviceaccount.com")], prod);
        });
        it("accepts the registry's identities for the stage, our own account and project, and is silent outside a stack", () => {
            passes("principals-from-registry", [trust({ AWS: "arn:aws:iam::210987654322:root" }, { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::210987654322:role/acme-exchange" } })], prod);
            passes("principals-from-registry", [trust({ AWS: "arn:aws:iam::333333333334:role/exchange/globex-prod" })], prod);
            passes("principals-from-registry", [member("serviceAccount:globex-files@globex-prod.iam.gserviceaccount.com")], prod);
            passes("principals-from-registry", [trust({ AWS: "arn:aws:iam::222222222222:role/orders-sync" }), member("serviceAccount:broker@example-partner-prod.iam.gserviceaccount.com")], prod);
            passes("principals-from-registry", [trust({ AWS: "arn:aws:iam::999988887777:role/stranger" })]);
        });
    });

    describe("ways into the bucket's data beside its policy", () => {
        it("s3-acls-disabled: refuses ownership that keeps ACLs, and any ACL other than private", () => {
            refuses("s3-acls-disabled", [res("aws:s3/bucketOwnershipControls:BucketOwnershipControls", { bucket: "b", rule: { objectOwnership: "ObjectWriter" } })], /ACLs stay in effect/);
            refuses("s3-acls-disabled", [res("aws:s3/bucketAcl:BucketAcl", { bucket: "b", accessControlPolicy: { owner: { id: "o" }, grants: [{ grantee: { type: "CanonicalUser", id: "79a59df9" }, permission: "READ" }] } })], /ACL grant/);
            refuses("s3-acls-disabled", [res("aws:s3/bucketAcl:BucketAcl", { bucket: "b", acl: "authenticated-read" })], /authenticated-read/);
            passes("s3-acls-disabled", [res("aws:s3/bucketOwnershipControls:BucketOwnershipControls", { bucket: "b", rule: { objectOwnership: "BucketOwnerEnforced" } }), res("aws:s3/bucketAcl:BucketAcl", { bucket: "b", acl: "private" })]);
        });
        it("s3-replication-stays-ours: refuses replicating to another account's bucket, or to one whose owner is not stated", () => {
            const replication = (destination: object) => res("aws:s3/bucketReplicationConfig:BucketReplicationConfig", { bucket: "b", role: "r", rules: [{ status: "Enabled", filter: { prefix: "partners/" }, destination }] });
            refuses("s3-replication-stays-ours", [replication({ bucket: "arn:aws:s3:::attacker", account: "999999999999" })], /not ours/, { stack: "prod" });
            refuses("s3-replication-stays-ours", [replication({ bucket: "arn:aws:s3:::attacker" })], /without destination.account/, { stack: "prod" });
            passes("s3-replication-stays-ours", [replication({ bucket: "arn:aws:s3:::our-copy", account: "222222222222" })], { stack: "prod" });
        });
        it("s3-access-grants-iam-only: refuses directory users and groups", () => {
            refuses("s3-access-grants-iam-only", [res("aws:s3control/accessGrant:AccessGrant", { permission: "READ", grantee: { granteeType: "DIRECTORY_GROUP", granteeIdentifier: "g" } })], /DIRECTORY_GROUP/);
            passes("s3-access-grants-iam-only", [res("aws:s3control/accessGrant:AccessGrant", { permission: "READ", grantee: { granteeType: "IAM", granteeIdentifier: "arn:aws:iam::222222222222:role/r" } })]);
        });
    });

    describe("exceptions (cdk-nag style: policy, URN, reason), honoured by every rule", () => {
        const bad = res("aws:s3/bucketPolicy:BucketPolicy", { bucket: "b", policy: doc(allow("*")) }, "excepted");
        it("an exception with a reason lifts exactly that policy on exactly that resource", () => {
            const config = exceptionsConfig([{ policy: "no-wildcard-principals", urn: bad.urn, reason: "public dataset, approved by security in #42" }]);
            passes("no-wildcard-principals", [bad], { config });
            refuses("s3-deny-insecure-transport", [bad], undefined, { config });
            refuses("no-wildcard-principals", [{ ...bad, urn: `${bad.urn}2` }], undefined, { config });
        });
        it("an exception without a real reason lifts nothing", () => {
            for (const reason of ["", "ok", "   "]) {
                refuses("no-wildcard-principals", [bad], undefined, { config: { "no-wildcard-principals": { exceptions: [{ policy: "no-wildcard-principals", urn: bad.urn, reason }] } } });
            }
        });
        it("stack policies drop only the excepted resource's findings", () => {
            const bucket = res("aws:s3/bucket:Bucket", { bucket: "b" }, "lonely");
            const config = exceptionsConfig([{ policy: "s3-buckets-guarded", urn: bucket.urn, reason: "log bucket guarded by an SCP, see runbook" }]);
            passes("s3-buckets-guarded", [bucket], { config });
            refuses("s3-buckets-guarded", [bucket, res("aws:s3/bucket:Bucket", { bucket: "c" })], /bucket c/, { config });
        });
    });

    describe("over the real program", () => {
        for (const stack of ["stag", "prod"] as const) {
            it(`${stack}: no finding at all, run as the CLI runs the pack (stack config, no policy config)`, () => {
                const v = runPoliciesAsCli(synthStack(stack).resources as SynthResource[], stack, stackConfigMap(stack));
                assert.deepEqual(v, []);
            });
        }

        it("prod: a rendered resource broken on purpose is refused, naming rule and resource", () => {
            const resources = (synthStack("prod").resources as SynthResource[]).map((r) =>
                r.type === "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock" ? { ...r, inputs: { ...r.inputs, restrictPublicBuckets: false } } : r);
            const v = mandatory(runPoliciesAsCli(resources, "prod", stackConfigMap("prod")));
            assert.deepEqual([...new Set(v.map((x) => x.policy))].sort(), ["s3-buckets-guarded", "s3-public-access-block"]);
            assert.ok(v.some((x) => x.urn?.endsWith("::file-exchange-public-access")));
        });

        it("a first preview (every id unknown): no crash, no mandatory finding, unknowns reported as not checkable", async () => {
            const resources = (await variant("preview")).resources as SynthResource[];
            const v = runPoliciesAsCli(resources, "prod", stackConfigMap("prod"));
            assert.deepEqual(mandatory(v), []);
            // The folder policies carry the pool id, unknown before the pool exists: not checkable yet, never passed silently.
            assert.ok(v.some((x) => x.policy === "gcp-members-exact" && x.urn!.endsWith("::gcs-file-exchange-acme-logistics") && /can't run during preview/.test(x.message)));
            // Buckets are matched to their guards through dependencies, known even before the bucket exists.
            assert.ok(!v.some((x) => x.policy === "s3-buckets-guarded"), JSON.stringify(v.filter((x) => x.policy === "s3-buckets-guarded")));
        });
    });
});

describe("policy pack during preview (unknown values)", () => {
    // The analyzer hands policies unknown values as these sentinels; reading one throws UnknownValueError,
    // which the SDK (and our runner) reports as an advisory "can't run during preview".
    const unknown = require("@pulumi/policy/proxy").unknownStringValue;
    const cases: [string, SynthResource][] = [
        ["no-wildcard-principals", res("aws:s3/bucketPolicy:BucketPolicy", { bucket: "b", policy: unknown })],
        ["pinned-federation", res("aws:iam/role:Role", { assumeRolePolicy: unknown })],
        ["service-principals-conditioned", res("aws:lambda/permission:Permission", { principal: "events.amazonaws.com", sourceArn: unknown })],
        ["api-methods-authenticated", res("aws:apigateway/method:Method", { httpMethod: "GET", authorization: unknown })],
        ["api-methods-authenticated", res("aws:apigateway/restApi:RestApi", { name: "a", body: unknown })],
        ["s3-public-access-block", res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", { bucket: "b", blockPublicAcls: unknown, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true })],
        ["s3-deny-insecure-transport", res("aws:s3/bucketPolicy:BucketPolicy", { bucket: "b", policy: unknown })],
        ["no-public-gcp-members", res("gcp:storage/managedFolderIamMember:ManagedFolderIamMember", { role: "roles/storage.objectViewer", member: unknown })],
        ["no-public-gcp-members", res("gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy", { policyData: unknown })],
        ["gcp-members-exact", res("gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy", { policyData: unknown })],
        ["gcs-bucket-private", res("gcp:storage/bucket:Bucket", { publicAccessPrevention: unknown, uniformBucketLevelAccess: true })],
        ["workload-identity-conditioned", res("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider", { attributeCondition: unknown })],
        ["cloud-run-not-public", res("gcp:cloudrunv2/service:Service", { name: "s", invokerIamDisabled: true, template: { containers: [{ image: "gcr.io/endpoints-release/endpoints-runtime-serverless:2", envs: [{ name: "ENDPOINTS_SERVICE_NAME", value: unknown }] }] } })],
        ["outbound-broker", res("aws:lambda/permission:Permission", { action: "lambda:InvokeFunction", function: unknown, principal: "*" })],
        ["stage-isolation", res("aws:iam/role:Role", { assumeRolePolicy: unknown })],
    ];
    for (const [policy, resource] of cases) {
        it(`${policy}: an unknown ${Object.keys(resource.inputs).find((k) => JSON.stringify(resource.inputs[k]).includes(unknown))} is reported as not checkable, neither a crash nor a pass`, () => {
            const v = findings(policy, [resource], { stack: "prod" });
            assert.equal(v.length, 1, JSON.stringify(v));
            assert.equal(v[0].enforcementLevel, "advisory");
            assert.match(v[0].message, /can't run during preview/);
        });
    }
});
