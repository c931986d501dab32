/**
 * AWS policy documents of the outbound token broker, built from the plan by
 * pure functions (like policy-documents.ts for partner grants). The component
 * (token-broker.ts) only attaches what these return.
 */
import { createHash } from "crypto";
import { aliasName, awsSecretName, brokerFunctionName, outboundOn } from "../broker-routes";
import { AccessPlan, OutboundPlan } from "../plan/access-plan";
import { PolicyDocument, one, policy } from "./iam-document";

/** The broker's execution role: named like the function, at the root path (never under the partner role path, which the API exempts). */
export function brokerRoleArn(plan: AccessPlan): string {
    return `arn:aws:iam::${plan.stage.aws.accountId}:role/${brokerFunctionName(plan)}`;
}

/** The function's own log group (created by the component, so its retention is ours and the role needs no logs:CreateLogGroup). */
export function brokerLogGroupName(plan: AccessPlan): string {
    return `/aws/lambda/${brokerFunctionName(plan)}`;
}

export function brokerFunctionArn(plan: AccessPlan): string {
    return `arn:aws:lambda:${plan.stage.aws.region}:${plan.stage.aws.accountId}:function:${brokerFunctionName(plan)}`;
}

/** Only Lambda, and only on behalf of this account, may assume the broker's role. */
export function brokerTrustPolicy(plan: AccessPlan): PolicyDocument {
    return policy([{
        Sid: "LambdaOfThisAccount",
        Effect: "Allow",
        Principal: { Service: "lambda.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": plan.stage.aws.accountId } },
    }]);
}

/**
 * A token secret's ARN as IAM matches it before the secret exists: Secrets
 * Manager appends "-" and six random characters to the name, and `?` matches
 * exactly one character, so the pattern names this secret and no other
 * (a secret named `<name>-abcdef` has a longer ARN).
 */
export function tokenSecretArnPattern(plan: AccessPlan, o: Pick<OutboundPlan, "partner" | "host">): string {
    return `arn:aws:secretsmanager:${plan.stage.aws.region}:${plan.stage.aws.accountId}:secret:${awsSecretName(plan, o)}-??????`;
}

/** The role's permissions: read exactly this stage's outbound secrets, write its own logs. Nothing else. Known at the first preview. */
export function brokerRolePolicy(plan: AccessPlan): PolicyDocument {
    const logGroup = `arn:aws:logs:${plan.stage.aws.region}:${plan.stage.aws.accountId}:log-group:${brokerLogGroupName(plan)}`;
    const secrets = outboundOn(plan, "aws").map((o) => tokenSecretArnPattern(plan, o)).sort();
    return policy([
        { Sid: "ReadOutboundTokens", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: one(secrets) },
        { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroup}:*` },
    ]);
}

/**
 * Resource policy of each token secret: nobody but the broker's role reads
 * the value, whatever their identity policy says (an explicit deny wins over
 * any allow, an administrator's `secretsmanager:*` included). Writing
 * (PutSecretValue) is not denied: setting and rotating a token stays with the
 * account's administrators. `aws:PrincipalArn` is compared as text on every
 * request, so the condition holds before the role exists and after it is
 * recreated (a role ARN in `Principal` would be saved as the role's unique id).
 */
export function tokenSecretPolicy(plan: AccessPlan): PolicyDocument {
    return policy([{
        Sid: "OnlyTheBrokerReadsTheToken",
        Effect: "Deny",
        Principal: "*",
        Action: "secretsmanager:GetSecretValue",
        Resource: "*",
        Condition: { ArnNotEquals: { "aws:PrincipalArn": brokerRoleArn(plan) } },
    }]);
}

/** One `lambda:InvokeFunction` permission per (alias of a host, caller role). */
export interface InvokePermission {
    partner: string;
    host: string;
    alias: string;
    principal: string;
    /** Unique within the alias's policy, stable for the same caller. */
    statementId: string;
}

export function invokePermissions(plan: AccessPlan): InvokePermission[] {
    return outboundOn(plan, "aws").flatMap((o) => [...o.callers.aws].sort().map((principal) => ({
        partner: o.partner,
        host: o.host,
        alias: aliasName(o.partner, o.host),
        principal,
        statementId: `partner-access-invoke-${createHash("sha256").update(principal).digest("hex").slice(0, 16)}`,
    })));
}
