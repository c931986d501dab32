import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kit } from "../../src/kit";
import { scratch, world } from "./hooks";
import {
    ACCOUNT, AWS_BUCKET, EXTERNAL_ID, GCS_BUCKET, GOOGLE_AUDIENCE, PARTNER_ROLE, PREFIX, REGION, ROLE_ARN, SA, SA_ID, SLUG, STACK,
} from "./world";

/** The kit the operator's kit builder would write for the default partner of the stand-ins. */
export function acmeKit(): Kit {
    const w = world();
    return {
        kitVersion: 1,
        source: "stack",
        stack: STACK,
        generatedAt: "2025-01-31T12:00:00Z",
        partner: { slug: SLUG, name: "Acme Logistics", contact: "integrations@acme-logistics.example" },
        aws: {
            accountId: ACCOUNT, region: REGION, connect: "assume-role", principals: [PARTNER_ROLE],
            role: { arn: ROLE_ARN, externalId: EXTERNAL_ID, maxSessionSeconds: 3600 },
            webIdentity: { roleArn: ROLE_ARN, audience: GOOGLE_AUDIENCE, serviceAccounts: [{ email: SA, uniqueId: SA_ID }] },
            files: { bucket: AWS_BUCKET, prefix: PREFIX, access: "read-write", actions: ["s3:GetObject", "s3:PutObject", "s3:ListBucket"] },
            api: { invokeUrl: w.urls.awsApi, routes: ["GET /orders", "GET /orders/{orderId}", "POST /orders"] },
            identityPolicy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: ROLE_ARN }] },
        },
        gcp: {
            project: "partner-access-stag",
            files: { bucket: GCS_BUCKET, prefix: PREFIX, access: "read-write", roles: ["roles/storage.objectViewer", "roles/storage.objectCreator"], serviceAccounts: [SA] },
            api: { url: w.urls.gcpApi, audience: w.espAudience, routes: ["GET /orders", "GET /orders/{orderId}", "POST /orders"], serviceAccounts: [SA] },
        },
        mustBeRefused: [
            { cloud: "aws", kind: "list", bucket: AWS_BUCKET, prefix: "partners/" },
            { cloud: "aws", kind: "list", bucket: AWS_BUCKET, prefix: "partners/globex/" },
            { cloud: "aws", kind: "route", route: "GET /admin/partners" },
            { cloud: "gcp", kind: "list", bucket: GCS_BUCKET, prefix: "partners/" },
            { cloud: "gcp", kind: "list", bucket: GCS_BUCKET, prefix: "partners/globex/" },
            { cloud: "gcp", kind: "route", route: "GET /admin/partners" },
        ],
    };
}

let n = 0;
export function writeKit(kit: unknown, name = `kit-${++n}.json`): string {
    const path = join(scratch, name);
    writeFileSync(path, JSON.stringify(kit, null, 2));
    return path;
}

export function writeCa(): string {
    const path = join(scratch, "stand-in-ca.pem");
    writeFileSync(path, world().ca);
    return path;
}

/** Runs the CLI in this process (the same code the bin runs) and collects its output. */
export async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const { main } = await import("../../src/cli");
    let stdout = "";
    let stderr = "";
    const code = await main(args, { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; } });
    return { code, stdout, stderr };
}
