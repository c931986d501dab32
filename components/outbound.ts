/**
 * The outbound token broker on both clouds, and the `outbound` stack output:
 * for each partner host, how the token is applied and where our servers send
 * requests for it. The proxy config (`partner-access proxy-config`) is built
 * from this output. It never holds a token: there is no input for one.
 */
import * as pulumi from "@pulumi/pulumi";
import { AwsTokenBroker } from "./aws/token-broker";
import { outboundOn, tokenPlacement } from "./broker-routes";
import { GcpTokenBroker } from "./gcp/token-broker";
import { AccessPlan } from "./plan/access-plan";

export interface OutboundHostOutput {
    partner: string;
    /** `header X-Api-Key`, `header Authorization (Bearer)` or `query api_key`. */
    token: string;
    aws?: { functionArn: string; alias: string; secretName: string };
    gcp?: { url: string; secretName: string };
}

export interface DeployedBrokers {
    aws?: { functionArn: string; hosts: Record<string, { alias: string; secretName: string }> };
    gcp?: { url: string; project: string; hosts: Record<string, { secretId: string }> };
}

/** The `outbound` output: one entry per host of this stage, a cloud's part only where that cloud has callers. */
export function outboundOutputs(plan: AccessPlan, d: DeployedBrokers): Record<string, OutboundHostOutput> {
    const out: Record<string, OutboundHostOutput> = {};
    for (const o of plan.outbound) {
        const a = d.aws?.hosts[o.host];
        const g = d.gcp?.hosts[o.host];
        out[o.host] = {
            partner: o.partner,
            token: tokenPlacement(o),
            ...(a ? { aws: { functionArn: d.aws!.functionArn, alias: a.alias, secretName: a.secretName } } : {}),
            ...(g ? { gcp: { url: d.gcp!.url, secretName: `projects/${d.gcp!.project}/secrets/${g.secretId}` } } : {}),
        };
    }
    return out;
}

/**
 * Creates each cloud's broker when some host of this stage has callers on
 * that cloud (nothing at all without outbound hosts), and returns the
 * `outbound` stack output.
 */
export function deployOutbound(plan: AccessPlan, awsOpts: pulumi.ComponentResourceOptions, gcpOpts: pulumi.ComponentResourceOptions): pulumi.Output<Record<string, OutboundHostOutput>> {
    const awsBroker = outboundOn(plan, "aws").length > 0 ? new AwsTokenBroker("token-broker", { plan }, awsOpts) : undefined;
    const gcpBroker = outboundOn(plan, "gcp").length > 0 ? new GcpTokenBroker("token-broker", { plan }, gcpOpts) : undefined;
    const aws = awsBroker ? pulumi.all([awsBroker.functionArn, pulumi.output(awsBroker.hosts)]).apply(([functionArn, hosts]) => ({ functionArn, hosts })) : undefined;
    const gcp = gcpBroker ? pulumi.all([gcpBroker.url, pulumi.output(gcpBroker.hosts)]).apply(([url, hosts]) => ({ url, project: plan.stage.gcp.project, hosts })) : undefined;
    return pulumi.all([aws, gcp]).apply(([a, g]) => outboundOutputs(plan, { aws: a, gcp: g }));
}
