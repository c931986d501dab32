/**
 * AWS side: credentials for a partner (its own, our role assumed with its
 * external id, or our role assumed with a Google ID token) and the
 * credential_process helper.
 */
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain, fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { decodeJwtClaims, diagnoseAws, errorCode, errorMessage, PartnerAccessError } from "./errors";
import { GoogleOptions, googleIdToken } from "./google";
import { Kit } from "./kit";

export type AwsVia = "auto" | "assume-role" | "web-identity" | "direct";
export const AWS_VIAS: AwsVia[] = ["auto", "assume-role", "web-identity", "direct"];

export interface AwsOptions extends GoogleOptions {
    /** How to get AWS credentials (default auto: the kit's connect, then whether AWS credentials exist here). */
    via?: AwsVia;
    /** Override the kit's region (rarely right: the region is the stage's). */
    region?: string;
    /** Override the kit's external id. */
    externalId?: string;
    /** Override the kit's web identity audience. */
    audience?: string;
    roleSessionName?: string;
    /** The partner's own credentials (default: the AWS SDK's default provider chain). */
    sourceCredentials?: AwsCredentialIdentityProvider;
}

export interface CredentialProcessOutput {
    Version: 1;
    AccessKeyId: string;
    SecretAccessKey: string;
    SessionToken: string;
    Expiration: string;
}

export interface WebIdentityInput extends GoogleOptions {
    roleArn: string;
    audience: string;
    region: string;
    kitRegion?: string;
    /** The audience the stage expects (the kit's), to explain a refusal when another was requested. */
    expectedAudience?: string;
    roleSessionName?: string;
    /** Accepted Google accounts, to explain a refusal. */
    acceptedAccounts?: { email: string; uniqueId: string }[];
}

const sessionName = (s: string) => s.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);

/** Google ID token -> STS AssumeRoleWithWebIdentity (no AWS credentials needed) -> temporary credentials. */
export type TemporaryCredentials = AwsCredentialIdentity & { sessionToken: string; expiration: Date };

export async function webIdentityCredentials(input: WebIdentityInput): Promise<TemporaryCredentials> {
    const token = await googleIdToken(input.audience, input);
    const claims = decodeJwtClaims(token);
    // The call is unsigned: give the client no credentials at all, so nothing on this machine is looked up.
    const sts = new STSClient({ region: input.region, credentials: { accessKeyId: "", secretAccessKey: "" } });
    try {
        const out = await sts.send(new AssumeRoleWithWebIdentityCommand({
            RoleArn: input.roleArn,
            RoleSessionName: sessionName(input.roleSessionName ?? `partner-access-${claims?.email?.split("@")[0] ?? "client"}`),
            WebIdentityToken: token,
        }));
        const c = out.Credentials!;
        return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!, expiration: c.Expiration! };
    } catch (e) {
        if (e instanceof PartnerAccessError) throw e;
        const d = diagnoseAws(errorCode(e), errorMessage(e), {
            action: "sts:AssumeRoleWithWebIdentity", resource: input.roleArn, region: input.region, kitRegion: input.kitRegion,
            claims, expectedAudience: input.expectedAudience ?? input.audience, acceptedAccounts: input.acceptedAccounts,
        });
        throw new PartnerAccessError(d.reason, d.fix, e);
    } finally {
        sts.destroy();
    }
}

export interface CredentialProcessInput extends GoogleOptions {
    kit?: Kit;
    roleArn?: string;
    audience?: string;
    region?: string;
    roleSessionName?: string;
}

/** What `credentials` prints: the credential_process JSON, with the Expiration SDKs refresh on. */
export async function awsCredentialProcess(input: CredentialProcessInput): Promise<CredentialProcessOutput> {
    const w = input.kit?.aws?.webIdentity;
    const roleArn = input.roleArn ?? w?.roleArn;
    const audience = input.audience ?? w?.audience;
    const region = input.region ?? input.kit?.aws?.region;
    const missing = [!roleArn && "--role-arn", !audience && "--audience", !region && "--region"].filter(Boolean);
    if (missing.length > 0) {
        throw new PartnerAccessError(
            input.kit ? `the kit has no ${missing.join(", ").replace(/--/g, "")} for web identity (aws.webIdentity): this stage does not accept your Google accounts on AWS`
                : `missing ${missing.join(", ")}`,
            input.kit ? "ask the operator to add your Google service account for AWS, or connect with your own AWS identity (check --aws-via assume-role)"
                : "pass --kit kit.json, or --role-arn, --audience and --region");
    }
    const c = await webIdentityCredentials({ ...input, roleArn: roleArn!, audience: audience!, region: region!, kitRegion: input.kit?.aws?.region, expectedAudience: w?.audience, acceptedAccounts: w?.serviceAccounts });
    return { Version: 1, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration.toISOString() };
}

/** Refreshes 5 minutes before expiry, like the SDK's own providers. */
export function memoizeCredentials(provider: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
    let current: Promise<AwsCredentialIdentity> | undefined;
    return async () => {
        const c = current && await current.catch(() => undefined);
        if (c && (!c.expiration || c.expiration.getTime() - Date.now() > 300_000)) return c;
        current = provider();
        return current;
    };
}

export interface AwsAccess {
    via: Exclude<AwsVia, "auto">;
    /** The region requests are signed for. */
    region: string;
    /** The stage's region (the kit's). */
    kitRegion: string;
    /** Credentials to sign with (the partner's own for direct, the role session otherwise). */
    credentials: AwsCredentialIdentityProvider;
    /** The partner's own credentials (assume-role, direct). */
    source?: AwsCredentialIdentityProvider;
    roleArn?: string;
    externalId?: string;
}

/** Whether the AWS SDK finds credentials here, without failing. */
async function hasAwsCredentials(provider: AwsCredentialIdentityProvider): Promise<boolean> {
    try {
        await provider();
        return true;
    } catch {
        return false;
    }
}

/** Chooses how the partner reaches AWS and returns credential providers for it. */
export async function awsAccess(kit: Kit, options: AwsOptions = {}): Promise<AwsAccess> {
    const aws = kit.aws;
    if (!aws) throw new PartnerAccessError("the kit grants nothing on AWS", "use --cloud gcp, or ask the operator for AWS access");
    const region = options.region ?? aws.region;
    const source = options.sourceCredentials ?? memoizeCredentials(fromNodeProviderChain());
    let via = options.via ?? "auto";
    if (via === "auto") {
        if (aws.connect === "direct") via = "direct";
        else if (aws.role && !aws.webIdentity) via = "assume-role";
        else if (aws.webIdentity && (!aws.role || aws.principals.length === 0)) via = "web-identity";
        else via = (await hasAwsCredentials(source)) ? "assume-role" : "web-identity";
    }
    if (via === "direct") {
        if (aws.connect !== "direct") {
            throw new PartnerAccessError("the kit says you assume our role (connect: assume-role), not call directly", "drop --aws-via direct");
        }
        return { via, region, kitRegion: aws.region, credentials: source, source };
    }
    if (via === "assume-role") {
        if (!aws.role) throw new PartnerAccessError("the kit names no role to assume with your AWS identity", "use --aws-via web-identity (from Google Cloud) or ask the operator");
        const externalId = options.externalId ?? aws.role.externalId;
        const credentials = memoizeCredentials(fromTemporaryCredentials({
            masterCredentials: source,
            params: {
                RoleArn: aws.role.arn,
                RoleSessionName: sessionName(options.roleSessionName ?? `partner-access-${kit.partner.slug}`),
                ...(externalId ? { ExternalId: externalId } : {}),
            },
            clientConfig: { region },
        }));
        return { via, region, kitRegion: aws.region, credentials, source, roleArn: aws.role.arn, externalId };
    }
    const w = aws.webIdentity;
    if (!w) throw new PartnerAccessError("the kit accepts no Google service account on AWS (no aws.webIdentity)", "connect with your own AWS identity (--aws-via assume-role), or ask the operator");
    const audience = options.audience ?? w.audience;
    const credentials = memoizeCredentials(() => webIdentityCredentials({
        ...options, roleArn: w.roleArn, audience, region, kitRegion: aws.region, expectedAudience: w.audience, acceptedAccounts: w.serviceAccounts,
    }));
    return { via: "web-identity", region, kitRegion: aws.region, credentials, roleArn: w.roleArn };
}

/** The ARN AWS sees for credentials (sts:GetCallerIdentity needs no permission). */
export async function callerArn(credentials: AwsCredentialIdentityProvider, region: string): Promise<string> {
    const sts = new STSClient({ region, credentials });
    try {
        const out = await sts.send(new GetCallerIdentityCommand({}));
        return out.Arn!;
    } finally {
        sts.destroy();
    }
}

/** arn:aws:sts::123:assumed-role/Name/session -> arn:aws:iam::123:role/Name (how the kit lists principals). */
export function principalOf(arn: string): string {
    const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
    return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : arn;
}

/** Roles with a path: the kit lists arn:aws:iam::1:role/path/Name, an assumed-role ARN drops the path. */
export function principalAccepted(arn: string, principals: string[]): boolean {
    const p = principalOf(arn);
    return principals.some((q) => q === p || q === arn ||
        (p.includes(":role/") && q.includes(":role/") && q.split(":role/")[0] === p.split(":role/")[0] && q.split("/").pop() === p.split("/").pop()));
}
