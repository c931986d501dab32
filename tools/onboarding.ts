/**
 * Onboarding kits: per partner per stage, what it needs to connect and short
 * snippets that use it. Built from the plan and the stack outputs only, so a
 * kit says exactly what was deployed. Synth writes them to
 * `<out>/<stack>/onboarding/<slug>.{md,json}`.
 */
import { AccessPlan, PartnerPlan } from "../components/plan/access-plan";

export interface Kit {
    slug: string;
    json: Record<string, any>;
    markdown: string;
}

const fence = (lang: string, body: string) => ["```" + lang, body.trim(), "```"].join("\n");
const firstRoute = (p: PartnerPlan, cloud: "aws" | "gcp") => p[cloud].routes[0];
const samplePath = (path: string) => path.replace(/\{[^}]+\}/g, "42");

export function onboardingKit(plan: AccessPlan, outputs: any, p: PartnerPlan): Kit {
    const o = outputs.partners[p.slug];
    const stage = plan.stage.stage;
    const region = plan.stage.aws.region;
    const json = {
        partner: { slug: p.slug, name: p.name, contact: p.contact },
        stage,
        environments: p.environments,
        aws: {
            accountId: plan.stage.aws.accountId,
            region,
            connect: p.aws.connect,
            principals: p.aws.principals,
            roleArn: o.aws.roleArn,
            externalId: o.aws.externalId,
            identityPolicy: o.aws.identityPolicy,
            files: { bucket: outputs.aws.bucketName, prefix: p.prefix, actions: o.aws.fileActions },
            api: { invokeUrl: outputs.aws.invokeUrl, routes: o.aws.routes, auth: "SigV4 (service execute-api)" },
            googleFederation: p.aws.googleIdentities.length > 0
                ? { roleArn: o.aws.roleArn, audience: o.aws.googleAudience, issuer: "accounts.google.com", serviceAccounts: p.aws.googleIdentities }
                : undefined,
        },
        gcp: {
            project: plan.stage.gcp.project,
            files: { bucket: outputs.gcp.bucketName, prefix: p.prefix, roles: o.gcp.storageRoles, serviceAccounts: p.gcp.serviceAccounts },
            api: o.gcp.routes.length > 0 ? { url: outputs.gcp.endpointsUrl, audience: outputs.gcp.audience, routes: o.gcp.routes, jwtClaims: o.gcp.jwtClaims } : undefined,
            workloadIdentity: o.gcp.workloadIdentity,
        },
    };

    const md: string[] = [
        `# ${p.name} — partner-access ${stage}`,
        "",
        `Identities accepted in this stage come from your **${p.environments.join(", ")}** environment(s). ` +
            `Files live under \`${p.prefix}\` in both clouds; you cannot reach other partners' prefixes, and nobody can delete through this access.`,
        "",
        "## AWS",
        "",
    ];
    const bucketUri = `s3://${outputs.aws.bucketName}/${p.prefix}`;
    const sessionName = `${p.slug}-${stage}`;
    if (p.aws.role?.trustsAwsPrincipals) {
        md.push(
            `Your principals (${p.aws.principals.map((a) => `\`${a}\``).join(", ")}) assume our role \`${o.aws.roleArn}\`` +
                (o.aws.externalId ? ` with external id \`${o.aws.externalId}\`` : "") + ". Attach this policy to them in your account:",
            "", fence("json", JSON.stringify(o.aws.identityPolicy, null, 2)), "",
            "AWS CLI profile (`~/.aws/config`):", "",
            fence("ini", [`[profile partner-access-${stage}]`, `role_arn = ${o.aws.roleArn}`, "source_profile = default", ...(o.aws.externalId ? [`external_id = ${o.aws.externalId}`] : []), `region = ${region}`].join("\n")), "",
        );
    } else if (p.aws.connect === "direct" && p.aws.principals.length > 0) {
        md.push(
            `Your principals (${p.aws.principals.map((a) => `\`${a}\``).join(", ")}) call us directly. Attach this policy to them in your account ` +
                "(our bucket and API policies name them too; both are needed):",
            "", fence("json", JSON.stringify(o.aws.identityPolicy, null, 2)), "",
        );
    } else if (!p.aws.role?.trustsGoogle) {
        md.push("No AWS access in this stage.", "");
    }
    const profile = p.aws.role?.trustsAwsPrincipals ? ` --profile partner-access-${stage}` : "";
    if (p.aws.files.objectActions.length > 0 && p.aws.principals.length > 0) {
        md.push(`Files: \`${bucketUri}\` (${o.aws.fileActions.join(", ")}).`, "", fence("sh", [
            ...(p.aws.files.list ? [`aws s3 ls ${bucketUri}${profile}`] : []),
            ...(p.aws.files.objectActions.includes("s3:PutObject") ? [`aws s3 cp ./report.csv ${bucketUri}report.csv${profile}`] : []),
            ...(p.aws.files.objectActions.includes("s3:GetObject") ? [`aws s3 cp ${bucketUri}report.csv ./report.csv${profile}`] : []),
        ].join("\n")), "");
    }
    const awsRoute = firstRoute(p, "aws");
    if (awsRoute && p.aws.principals.length > 0) {
        const url = `${outputs.aws.invokeUrl}${samplePath(awsRoute.path)}`;
        md.push(`API: \`${outputs.aws.invokeUrl}\`, signed with SigV4 for \`execute-api\`. Routes: ${o.aws.routes.map((r: string) => `\`${r}\``).join(", ")}.`, "",
            "With curl (7.75+), using the credentials of the identity above:", "",
            fence("sh", [
                `curl --fail-with-body --aws-sigv4 "aws:amz:${region}:execute-api" \\`,
                `  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-security-token: $AWS_SESSION_TOKEN" \\`,
                `  -X ${awsRoute.method} "${url}"`,
            ].join("\n")), "",
            "With the AWS SDK for JavaScript v3 (`@smithy/signature-v4`, `@aws-crypto/sha256-js`, `@aws-sdk/credential-providers`):", "",
            fence("js", [
                'import { SignatureV4 } from "@smithy/signature-v4";',
                'import { Sha256 } from "@aws-crypto/sha256-js";',
                p.aws.role?.trustsAwsPrincipals
                    ? 'import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";'
                    : 'import { fromNodeProviderChain } from "@aws-sdk/credential-providers";',
                "",
                p.aws.role?.trustsAwsPrincipals
                    ? `const credentials = fromTemporaryCredentials({ params: { RoleArn: ${JSON.stringify(o.aws.roleArn)}, RoleSessionName: ${JSON.stringify(sessionName)}${o.aws.externalId ? `, ExternalId: ${JSON.stringify(o.aws.externalId)}` : ""} } });`
                    : "const credentials = fromNodeProviderChain();",
                `const url = new URL(${JSON.stringify(url)});`,
                `const signer = new SignatureV4({ service: "execute-api", region: ${JSON.stringify(region)}, credentials, sha256: Sha256 });`,
                `const request = await signer.sign({ method: ${JSON.stringify(awsRoute.method)}, protocol: url.protocol, hostname: url.hostname, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { host: url.hostname } });`,
                "const response = await fetch(url, { method: request.method, headers: request.headers });",
                "console.log(response.status, await response.text());",
            ].join("\n")), "");
    }
    if (p.aws.role?.trustsGoogle) {
        const g = p.aws.googleIdentities[0];
        md.push("### From Google Cloud, without keys",
            "", `Your service account(s) ${p.aws.googleIdentities.map((x) => `\`${x.email}\` (unique id \`${x.uniqueId}\`)`).join(", ")} assume \`${o.aws.roleArn}\` with a Google ID token for audience \`${o.aws.googleAudience}\`:`,
            "", fence("sh", [
                "# On a Google Cloud workload running as the service account:",
                `TOKEN=$(curl -s -H "Metadata-Flavor: Google" "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/identity?audience=${o.aws.googleAudience}&format=full")`,
                "# Elsewhere, impersonating it:",
                `# TOKEN=$(gcloud auth print-identity-token --impersonate-service-account=${g.email} --audiences=${o.aws.googleAudience} --include-email)`,
                `aws sts assume-role-with-web-identity --role-arn ${o.aws.roleArn} --role-session-name ${sessionName} --web-identity-token "$TOKEN"`,
            ].join("\n")), "");
    }

    md.push("## GCP", "");
    const gsUri = `gs://${outputs.gcp.bucketName}/${p.prefix}`;
    if (p.gcp.storageRoles.length > 0) {
        const holders = [...p.gcp.serviceAccounts.map((e) => `\`${e}\``), ...(p.gcp.federatedAwsPrincipals.length > 0 ? ["your AWS roles (below)"] : [])];
        md.push(`Files: \`${gsUri}\` (${p.gcp.storageRoles.join(", ")}) for ${holders.join(", ")}.`, "",
            fence("sh", [
                ...(p.gcp.storageRoles.includes("roles/storage.objectViewer") ? [`gcloud storage ls ${gsUri}`, `gcloud storage cp ${gsUri}report.csv ./report.csv`] : []),
                ...(p.gcp.storageRoles.includes("roles/storage.objectCreator") ? [`gcloud storage cp ./report.csv ${gsUri}report.csv`] : []),
            ].join("\n")), "");
    }
    const gcpRoute = firstRoute(p, "gcp");
    if (gcpRoute && o.gcp.jwtClaims.length > 0) {
        const c = o.gcp.jwtClaims[0];
        md.push(`API: \`${outputs.gcp.endpointsUrl}\` accepts a JWT signed by your service account, with \`iss\` = \`sub\` = the account and \`aud\` = \`${c.aud}\`. Routes: ${o.gcp.routes.map((r: string) => `\`${r}\``).join(", ")}.`, "",
            fence("sh", [
                "NOW=$(date +%s)",
                `printf '{"iss":"%s","sub":"%s","aud":"%s","iat":%d,"exp":%d}' ${c.iss} ${c.sub} ${c.aud} "$NOW" "$((NOW + 3600))" > claims.json`,
                `gcloud iam service-accounts sign-jwt claims.json signed.jwt --iam-account=${c.iss}`,
                `curl --fail-with-body -X ${gcpRoute.method} -H "Authorization: Bearer $(cat signed.jwt)" "${outputs.gcp.endpointsUrl}${samplePath(gcpRoute.path)}"`,
            ].join("\n")), "");
    }
    for (const w of o.gcp.workloadIdentity) {
        md.push(`### From AWS account ${w.accountId}, without keys`, "",
            `Your AWS roles reach the bucket through Workload Identity Federation (\`${w.audience}\`). Save this as \`partner-access-${stage}-gcp.json\`:`,
            "", fence("json", JSON.stringify(w.credentialConfig, null, 2)), "",
            fence("sh", [
                `export GOOGLE_APPLICATION_CREDENTIALS="$PWD/partner-access-${stage}-gcp.json"`,
                `gcloud auth login --cred-file="$GOOGLE_APPLICATION_CREDENTIALS"`,
                `gcloud storage ls ${gsUri}`,
            ].join("\n")), "");
    }
    if (p.gcp.storageRoles.length === 0 && !gcpRoute) md.push("No GCP access in this stage.", "");
    md.push(`Questions: ${plan.stage.namePrefix} operators. Your contact on file: ${p.contact}.`, "");
    return { slug: p.slug, json, markdown: md.join("\n") };
}

export function onboardingKits(plan: AccessPlan, outputs: any): Kit[] {
    return plan.partners.map((p) => onboardingKit(plan, outputs, p));
}

