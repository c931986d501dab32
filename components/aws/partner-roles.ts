import * as awsIam from "@pulumi/aws/iam";
import * as pulumi from "@pulumi/pulumi";
import { AccessPlan } from "../plan/access-plan";
import { rolePermissionPolicy, trustPolicy } from "./policy-documents";

export interface PartnerRolesArgs {
    plan: AccessPlan;
    /** The REST API whose routes the roles may invoke. */
    apiId: pulumi.Input<string>;
}

/**
 * One role per partner per stage, in our account, under the stage's role path.
 * It trusts the partner's accepted AWS principals (`assume-role`) and/or its
 * pinned Google service accounts, and carries exactly the partner's grant.
 */
export class PartnerRoles extends pulumi.ComponentResource {
    /** Role ARN by partner slug. */
    readonly roleArns: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: PartnerRolesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("partner-access:aws:PartnerRoles", name, {}, opts);
        const { plan } = args;
        for (const p of plan.partners) {
            const r = p.aws.role;
            if (!r) continue;
            const role = new awsIam.Role(`${name}-${p.slug}`, {
                name: r.name,
                path: r.path,
                description: `partner-access ${plan.stage.stage}: ${p.name} (${p.slug})`,
                assumeRolePolicy: JSON.stringify(trustPolicy(plan, p)),
                maxSessionDuration: plan.stage.aws.maxSessionDurationSeconds,
                tags: { "partner-access:partner": p.slug, "partner-access:stage": plan.stage.stage },
            }, { parent: this });
            new awsIam.RolePolicy(`${name}-${p.slug}-grant`, {
                role: role.name,
                name: "partner-grant",
                policy: pulumi.output(args.apiId).apply((apiId) => JSON.stringify(rolePermissionPolicy(plan, p, apiId))),
            }, { parent: this });
            this.roleArns[p.slug] = role.arn;
        }
        this.registerOutputs({ roleArns: this.roleArns });
    }
}
