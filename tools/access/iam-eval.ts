/**
 * Evaluates rendered AWS policies with a real IAM policy evaluator
 * (@cloud-copilot/iam-simulate, AGPL-3.0, a development dependency only).
 */
import { anonymousPrincipal, runSimulation } from "@cloud-copilot/iam-simulate";

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface Request {
    /** An IAM ARN, `accounts.google.com` for a web identity, or "anonymous". */
    principal: string;
    action: string;
    resource: string;
    resourceAccount: string;
    identityPolicies?: unknown[];
    resourcePolicy?: unknown;
    context?: Record<string, string | string[]>;
}

const accountOf = (arn: string) => /^arn:aws:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];

export async function decide(r: Request): Promise<Decision> {
    const anonymous = r.principal === "anonymous";
    const federated = !anonymous && !r.principal.startsWith("arn:");
    const context: Record<string, string | string[]> = { "aws:SecureTransport": "true", ...(r.context ?? {}) };
    if (!anonymous && !federated) {
        context["aws:PrincipalArn"] ??= r.principal;
        context["aws:PrincipalAccount"] ??= accountOf(r.principal)!;
    }
    const result: any = await runSimulation({
        request: {
            principal: anonymous ? anonymousPrincipal : r.principal,
            action: r.action,
            resource: { resource: r.resource, accountId: r.resourceAccount },
            contextVariables: context,
        },
        identityPolicies: (r.identityPolicies ?? []).map((policy, i) => ({ name: `identity${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: r.resourcePolicy,
    } as any, {});
    if (result.resultType === "error") throw new Error(`simulation refused its input: ${JSON.stringify(result.errors)}`);
    if (federated) {
        // A web identity has no identity policy: AWS decides on the trust policy alone, which the
        // evaluator reports as its resource analysis (it would otherwise demand an identity grant).
        return result.result.analysis.resourceAnalysis.result as Decision;
    }
    return result.overallResult as Decision;
}
