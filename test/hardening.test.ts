/**
 * An attacker who controls one partner's cloud account, and a reviewer who
 * merges a plausible change: variants of each class injected into the
 * RENDERED documents must be reported by the review (structure and/or
 * evaluation), whichever document and spelling they use.
 */
import { strict as assert } from "assert";
import { accessMatrix } from "../tools/access/matrix";
import { SynthOutput } from "../tools/access/synth-output";
import { synthStack } from "./support/synth-runs";

type Mutation = (resources: any[], s: SynthOutput) => void;

/** A copy of a synth output with its resources changed. */
function tampered(s: SynthOutput, mutate: Mutation): SynthOutput {
    const resources = JSON.parse(JSON.stringify(s.resources));
    mutate(resources, s);
    return { ...s, resources };
}

const byType = (rs: any[], type: string) => rs.filter((r) => r.type === type);
const roleOf = (rs: any[], slug: string) => rs.find((r) => r.type === "aws:iam/role:Role" && r.inputs.name.endsWith(`-${slug}`));
const grantOf = (rs: any[], slug: string) => rs.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.inputs.role.endsWith(`-${slug}`));
const edit = (r: any, prop: string, f: (d: any) => void) => {
    const d = typeof r.inputs[prop] === "string" ? JSON.parse(r.inputs[prop]) : r.inputs[prop];
    f(d);
    r.inputs[prop] = JSON.stringify(d);
};
const trustStatement = (principal: unknown, condition?: unknown) => ({ Effect: "Allow", Principal: principal, Action: "sts:AssumeRole", ...(condition ? { Condition: condition } : {}) });

/** Each case: what is injected, and text the review must report about it. */
const cases: [string, Mutation, RegExp][] = [
    // 1. Account roots cross stages.
    ["a prod role trusting the root of acme's dev account", (rs) => edit(roleOf(rs, "acme-logistics"), "assumeRolePolicy", (d) => d.Statement.push(trustStatement({ AWS: "arn:aws:iam::210987654321:root" }))), /210987654321:root.*covers.*acme-exchange-dev/],
    ["the same, as a bare account id", (rs) => edit(roleOf(rs, "acme-logistics"), "assumeRolePolicy", (d) => d.Statement.push(trustStatement({ AWS: "210987654321" }))), /210987654321:root/],
    ["a dev role pinned by aws:PrincipalArn in a prod trust", (rs) => edit(roleOf(rs, "acme-logistics"), "assumeRolePolicy", (d) => d.Statement.push(trustStatement({ AWS: "arn:aws:iam::210987654321:root" }, { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::210987654321:role/acme-exchange-dev" } }))), /acme-exchange-dev of acme-logistics \(another stage\)/],
    // 2. One principal, many spellings.
    ["a dev role under another path and case", (rs) => edit(roleOf(rs, "acme-logistics"), "assumeRolePolicy", (d) => d.Statement.push(trustStatement({ AWS: "arn:aws:iam::210987654321:role/other/ACME-exchange-dev" }))), /ACME-exchange-dev, which is arn:aws:iam::210987654321:role\/acme-exchange-dev/],
    ["a dev role federated into a prod folder", (rs, s) => {
        const folder = byType(rs, "gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy").find((r) => r.inputs.managedFolder === "partners/acme-logistics/");
        edit(folder, "policyData", (d) => d.bindings[0].members.push(`principalSet://iam.googleapis.com/projects/${s.plan.stage.gcp.projectNumber}/locations/global/workloadIdentityPools/${byType(rs, "gcp:iam/workloadIdentityPool:WorkloadIdentityPool")[0].inputs.workloadIdentityPoolId}/attribute.aws_role/arn:aws:sts::210987654321:assumed-role/acme-exchange-dev`));
    }, /acme-exchange-dev, an identity of acme-logistics in an environment this stage does not accept/],
    // 3. Partners in our own account.
    ["our own account exempted from the API's deny", (rs) => edit(byType(rs, "aws:apigateway/restApi:RestApi")[0], "policy", (d) => {
        const deny = d.Statement.find((x: any) => x.Sid === "DenyEveryoneElse");
        deny.Condition.StringNotEquals = { "aws:PrincipalAccount": ["333333333334", "222222222222"] };
    }), /exempts our own account 222222222222/],
    ["an account no direct partner owns exempted from the API's deny", (rs) => edit(byType(rs, "aws:apigateway/restApi:RestApi")[0], "policy", (d) => {
        d.Statement.find((x: any) => x.Sid === "DenyEveryoneElse").Condition.StringNotEquals = { "aws:PrincipalAccount": ["333333333334", "555555555555"] };
    }), /exempts account 555555555555/],
    // 4. Route wildcards.
    ["a role's route grant widened to every GET", (rs) => edit(grantOf(rs, "acme-logistics"), "policy", (d) => {
        const invoke = d.Statement.find((x: any) => x.Action === "execute-api:Invoke" && x.Effect === "Allow");
        invoke.Resource = [invoke.Resource].flat().map((r: string) => r.replace(/\/prod\/GET\/orders$/, "/prod/GET/*"));
    }), /invokes .*\/prod\/GET\/\*, not one of acme-logistics's routes/],
    ["the deny that keeps a deeper route out removed", (rs) => edit(grantOf(rs, "acme-logistics"), "policy", (d) => {
        d.Statement = d.Statement.filter((x: any) => x.Effect !== "Deny");
    }), /execute-api:Invoke on api GET \/orders\/42\/items is allowed, the plan says denied/],
    // 5. Principals that belong to no partner.
    ["a foreign account in the bucket policy", (rs) => edit(byType(rs, "aws:s3/bucketPolicy:BucketPolicy")[0], "policy", (d) => d.Statement.push({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:root" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::x/partners/globex/*" })), /999999999999:root, which belongs to no partner/],
    ["a foreign principal in the API resource policy", (rs) => edit(byType(rs, "aws:apigateway/restApi:RestApi")[0], "policy", (d) => d.Statement.unshift({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:role/x" }, Action: "execute-api:Invoke", Resource: "execute-api:/*" })), /999999999999:role\/x, which belongs to no partner/],
    ["a foreign principal trusted by a partner role", (rs) => edit(roleOf(rs, "initech"), "assumeRolePolicy", (d) => d.Statement.push(trustStatement({ AWS: "arn:aws:iam::999999999999:role/intruder" }))), /trust of .*initech.*intruder, which belongs to no partner/],
    ["an unknown service account on a folder", (rs) => edit(byType(rs, "gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy")[0], "policyData", (d) => d.bindings[0].members.push("serviceAccount:intruder@evil-project.iam.gserviceaccount.com")), /intruder@evil-project.*belongs to no partner/],
    ["a group and a pool-wide principalSet on a folder", (rs) => edit(byType(rs, "gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy")[0], "policyData", (d) => d.bindings[0].members.push("group:ops@acme.example", "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*")), /group:ops@acme\.example: public, a whole domain, a group|a whole pool or attribute/],
    ["a bucket-level grant", (rs) => rs.push({ urn: "urn:x", type: "gcp:storage/bucketIAMMember:BucketIAMMember", name: "x", inputs: { bucket: "b", role: "roles/storage.objectViewer", member: "serviceAccount:acme-sync@acme-prod-4711.iam.gserviceaccount.com" } }), /no such grant is planned/],
    ["a Workload Identity provider admitting any role of its account", (rs) => { byType(rs, "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider")[0].inputs.attributeCondition = 'assertion.account == "210987654322"'; }, /intruder.*exchange an AWS token on federation provider .* is allowed, the plan says denied/],
    ["an Endpoints route accepting a service account of no partner", (rs) => edit(byType(rs, "gcp:endpoints/service:Service")[0], "openapiConfig", (d) => {
        d.securityDefinitions.evil = { type: "oauth2", flow: "implicit", authorizationUrl: "", "x-google-issuer": "evil@evil-project.iam.gserviceaccount.com" };
        d.paths["/catalog"].get.security.push({ evil: [] });
    }), /accepts tokens of evil@evil-project/],
    ["an Endpoints route without authentication", (rs) => edit(byType(rs, "gcp:endpoints/service:Service")[0], "openapiConfig", (d) => { d.paths["/catalog"].get.security = []; }), /accepts calls without a JWT/],
    // Cross-partner reach and over-broad grants.
    ["acme's role reaching its neighbour's files", (rs) => edit(grantOf(rs, "acme-logistics"), "policy", (d) => d.Statement.push({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::partner-access-prod-222222222222-eu-west-1/partners/globex/*" })), /outside acme-logistics's prefix/],
    ["an s3:* grant on the own prefix", (rs) => edit(grantOf(rs, "initech"), "policy", (d) => { d.Statement[0].Action = "s3:*"; }), /allows s3:\*, which initech's plan does not grant/],
    ["a role under the partner path that no partner explains", (rs) => rs.push({ urn: "urn:y", type: "aws:iam/role:Role", name: "y", inputs: { name: "sneaky", path: "/partner-access/prod/", assumeRolePolicy: "{}" } }), /role under \/partner-access\/prod\/ that no partner explains/],
    ["an API operation without SigV4", (rs) => edit(byType(rs, "aws:apigateway/restApi:RestApi")[0], "body", (d) => { delete d.paths["/catalog"].get.security; }), /API GET \/catalog.*does not require SigV4/],
    ["the create-only rule removed from the bucket policy", (rs) => edit(byType(rs, "aws:s3/bucketPolicy:BucketPolicy")[0], "policy", (d) => { d.Statement = d.Statement.filter((x: any) => x.Sid !== "DenyOverwritingPartnerFiles"); }), /refuse overwriting partner files|overwrite\) is allowed, the plan says denied/],
    ["acme's service account added to its neighbour's folder", (rs) => edit(byType(rs, "gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy").find((r) => r.inputs.managedFolder === "partners/globex/"), "policyData", (d) => d.bindings[0].members.push("serviceAccount:acme-sync@acme-prod-4711.iam.gserviceaccount.com")), /acme-logistics as serviceAccount:acme-sync.*on files partners\/globex\/ is allowed, the plan says denied/],
    ["acme's federated role added to its neighbour's folder", (rs) => edit(byType(rs, "gcp:storage/managedFolderIamPolicy:ManagedFolderIamPolicy").find((r) => r.inputs.managedFolder === "partners/globex/"), "policyData", (d) => d.bindings[0].members.push(d.bindings[0].members[0].replace("333333333334:assumed-role/globex-prod", "210987654322:assumed-role/acme-exchange"))), /acme-logistics as principalSet:.*acme-exchange: storage.objects.create on files partners\/globex\/ is allowed, the plan says denied/],
    ["acme's role added to its neighbour's prefix in the bucket policy", (rs) => edit(byType(rs, "aws:s3/bucketPolicy:BucketPolicy")[0], "policy", (d) => d.Statement.push({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::210987654322:role/acme-exchange" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::partner-access-prod-222222222222-eu-west-1/partners/globex/*" })), /bucket policy: allows .*role\/acme-exchange of acme-logistics/],
    ["a grant that outlives its window", (rs) => edit(grantOf(rs, "initech"), "policy", (d) => { for (const st of d.Statement) delete st.Condition?.DateLessThan; }), /does not end on 2027-12-31/],
];

describe("hardening: injected variants are reported by the review", () => {
    const s = synthStack("prod");

    it("reports nothing on the untouched output", async () => {
        const m = await accessMatrix(s);
        assert.deepEqual([...m.findings, ...m.defects], []);
    });

    for (const [what, mutate, report] of cases) {
        it(`reports ${what}`, async () => {
            const m = await accessMatrix(tampered(s, mutate));
            const lines = [
                ...m.findings.map((f) => `${f.where}: ${f.message}`),
                ...m.defects.map((d) => `${d.partner} as ${d.via}: ${d.action} on ${d.resource} is allowed, the plan says ${d.planned}`.replace("is allowed", `is ${d.effective}`)),
            ];
            assert.ok(lines.some((l) => report.test(l)), `nothing matching ${report}:\n${lines.join("\n") || "(nothing reported)"}`);
        });
    }
});
