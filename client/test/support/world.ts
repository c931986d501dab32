/**
 * Local stand-ins for everything the client talks to, on 127.0.0.1 only:
 * Google's metadata server, IAM Credentials, Cloud Storage (JSON API), AWS STS
 * and S3 (path style), and the stage's two APIs over HTTPS (API Gateway with
 * SigV4, ESPv2 with service-account JWTs). One mutable `World` holds who
 * exists and who may do what; `reset()` restores the default partner.
 */
import { randomBytes, randomUUID } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";
import { AddressInfo } from "node:net";
import { createLocalJWKSet, errors as joseErrors, exportJWK, generateKeyPair, JSONWebKeySet, jwtVerify, SignJWT } from "jose";
import type { CryptoKey as JoseKey } from "jose";
import { generate } from "selfsigned";
import { AwsKey, isFailure, receivedQuery, verifySigV4 } from "./sigv4";

export const ACCOUNT = "111111111111";
export const PARTNER_ACCOUNT = "210987654322";
export const REGION = "eu-west-1";
export const STACK = "stag";
export const SLUG = "acme";
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/partner-access/${STACK}/partner-access-${STACK}-${SLUG}`;
export const PARTNER_ROLE = `arn:aws:iam::${PARTNER_ACCOUNT}:role/acme-exchange`;
export const EXTERNAL_ID = "acme-7f3c";
export const GOOGLE_AUDIENCE = `partner-access-${STACK}`;
export const SA = "acme-sync@acme-prod-4711.iam.gserviceaccount.com";
export const SA_ID = "104857600000000000002";
export const OTHER_SA = "intruder@elsewhere.iam.gserviceaccount.com";
export const OTHER_SA_ID = "104857600000000000099";
export const DEV_USER = "dev@acme.example";
export const AWS_BUCKET = `partner-access-${STACK}-exchange`;
export const GCS_BUCKET = `partner-access-${STACK}-exchange-gcs`;
export const PREFIX = `partners/${SLUG}/`;
export const ESP_AUDIENCE = `https://partner-api-${STACK}.endpoints.example.cloud.goog`;
export const API_STAGE_PATH = `/${STACK}`;
export const CATALOGUE = ["GET /orders", "GET /orders/{orderId}", "POST /orders", "GET /admin/partners"];

export interface RoleDef {
    trust: { principals: string[]; externalId?: string; google?: { audience: string; uniqueIds: string[] } };
    grants: Grants;
}
export interface Grants {
    s3: { bucket: string; prefix: string; actions: string[] }[];
    routes: string[];
}
export interface UserDef extends Grants {
    key: AwsKey;
    /** Roles its identity policy (on the partner's side) lets it assume. */
    mayAssume: string[];
}
interface SaDef { email: string; uniqueId: string; kid: string; privateKey: JoseKey; jwks: JSONWebKeySet }

export interface SeenRequest { server: string; method: string; url: string; headers: http.IncomingHttpHeaders }

const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function readBody(req: http.IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => resolve(Buffer.concat(chunks)));
        req.on("error", reject);
    });
}

function routeRegex(route: string): RegExp {
    const [method, path] = route.split(" ");
    return new RegExp(`^${method} ${path.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[^/]+")}$`);
}
const routeOf = (method: string, path: string) => CATALOGUE.find((r) => routeRegex(r).test(`${method} ${path}`));

export class World {
    // clocks: server time = real time + offset (ms)
    stsClockOffset = 0;
    apiClockOffset = 0;
    espClockOffset = 0;
    /** Seconds STS credentials live (STS's minimum is 900; the stand-in allows less to test refresh). */
    stsCredentialSeconds = 3600;
    /** Seconds the metadata server's ID tokens live. */
    idTokenSeconds = 3600;
    /** Time offset (ms) of the metadata server's token clock (iat/exp it writes). */
    metadataClockOffset = 0;

    keys = new Map<string, AwsKey>();
    users = new Map<string, UserDef>();
    roles = new Map<string, RoleDef>();
    s3Objects = new Map<string, string>();
    gcsObjects = new Map<string, string>();
    /** Who runs on the metadata server (the workload's service account). */
    metadataAccount: string | undefined = SA;
    /** service account -> emails allowed to sign as it (roles/iam.serviceAccountTokenCreator) */
    tokenCreators = new Map<string, Set<string>>();
    accessTokens = new Map<string, { email: string; expiresAt: number }>();
    /** GCS folder IAM: email -> grants */
    gcsGrants: { email: string; bucket: string; prefix: string; read: boolean; write: boolean }[] = [];
    /** ESPv2: audience and, per route, the issuers (service accounts) it accepts */
    espAudience = ESP_AUDIENCE;
    espRoutes = new Map<string, string[]>();
    seen: SeenRequest[] = [];
    /** Answers an API request instead of the stand-in when it returns true (a slow or huge answer). */
    apiHook: ((server: "aws-api" | "gcp-api", req: http.IncomingMessage, res: http.ServerResponse) => boolean) | undefined;
    stsCalls: { action: string; roleArn?: string; externalId?: string; expiration?: string; accessKeyId?: string }[] = [];

    googleKey!: { privateKey: JoseKey; jwks: JSONWebKeySet; kid: string };
    serviceAccounts = new Map<string, SaDef>();
    ca!: string;
    urls = { metadataHost: "", sts: "", s3: "", iam: "", gcs: "", awsApi: "", gcpApi: "" };
    private servers: (http.Server | https.Server)[] = [];

    static async start(): Promise<World> {
        const w = new World();
        await w.init();
        return w;
    }

    private async init() {
        const g = await generateKeyPair("RS256", { extractable: true });
        const gjwk = { ...(await exportJWK(g.publicKey)), kid: "google-1", alg: "RS256", use: "sig" };
        this.googleKey = { privateKey: g.privateKey, jwks: { keys: [gjwk] }, kid: "google-1" };
        for (const [email, uniqueId] of [[SA, SA_ID], [OTHER_SA, OTHER_SA_ID]]) {
            const k = await generateKeyPair("RS256", { extractable: true });
            const kid = randomBytes(8).toString("hex");
            const jwk = { ...(await exportJWK(k.publicKey)), kid, alg: "RS256", use: "sig" };
            this.serviceAccounts.set(email, { email, uniqueId, kid, privateKey: k.privateKey, jwks: { keys: [jwk] } });
        }
        const pems = await generate([{ name: "commonName", value: "127.0.0.1" }], {
            keySize: 2048, algorithm: "sha256",
            extensions: [
                { name: "basicConstraints", cA: true },
                { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
                { name: "subjectAltName", altNames: [{ type: 7, ip: "127.0.0.1" }] },
            ],
        });
        this.ca = pems.cert;
        const listen = async (server: http.Server | https.Server) => {
            this.servers.push(server);
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            return (server.address() as AddressInfo).port;
        };
        const mk = (name: string, handler: (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => unknown) =>
            async (req: http.IncomingMessage, res: http.ServerResponse) => {
                const body = await readBody(req);
                this.seen.push({ server: name, method: req.method!, url: req.url!, headers: req.headers });
                try {
                    await handler(req, body, res);
                } catch (e) {
                    res.writeHead(500, { "content-type": "text/plain" }).end(`stand-in ${name} failed: ${(e as Error).stack}`);
                }
            };
        const mp = await listen(http.createServer(mk("metadata", (q, b, r) => this.metadata(q, r))));
        this.urls.metadataHost = `127.0.0.1:${mp}`;
        this.urls.sts = `http://127.0.0.1:${await listen(http.createServer(mk("sts", (q, b, r) => this.sts(q, b, r))))}`;
        this.urls.s3 = `http://127.0.0.1:${await listen(http.createServer(mk("s3", (q, b, r) => this.s3(q, b, r))))}`;
        this.urls.iam = `http://127.0.0.1:${await listen(http.createServer(mk("iam", (q, b, r) => this.iam(q, b, r))))}`;
        this.urls.gcs = `http://127.0.0.1:${await listen(http.createServer(mk("gcs", (q, b, r) => this.gcs(q, b, r))))}`;
        const tls = { key: pems.private, cert: pems.cert };
        this.urls.awsApi = `https://127.0.0.1:${await listen(https.createServer(tls, mk("aws-api", (q, b, r) => this.awsApi(q, b, r))))}${API_STAGE_PATH}`;
        this.urls.gcpApi = `https://127.0.0.1:${await listen(https.createServer(tls, mk("gcp-api", (q, b, r) => this.gcpApi(q, b, r))))}`;
        this.reset();
    }

    async stop() {
        await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => {
            (s as any).closeAllConnections?.();
            s.close(() => resolve());
        })));
    }

    /** The default partner: acme, assume-role and Google web identity, read-write files, GET routes on both clouds. */
    reset() {
        this.stsClockOffset = this.apiClockOffset = this.espClockOffset = this.metadataClockOffset = 0;
        this.stsCredentialSeconds = 3600;
        this.idTokenSeconds = 3600;
        this.keys.clear();
        this.users.clear();
        this.roles.clear();
        this.s3Objects.clear();
        this.gcsObjects.clear();
        this.accessTokens.clear();
        this.seen = [];
        this.apiHook = undefined;
        this.stsCalls = [];
        this.metadataAccount = SA;
        this.tokenCreators = new Map([[SA, new Set([SA, DEV_USER])]]);
        const acmeGrants: Grants = {
            s3: [{ bucket: AWS_BUCKET, prefix: PREFIX, actions: ["s3:ListBucket", "s3:GetObject", "s3:PutObject"] }],
            routes: ["GET /orders", "GET /orders/{orderId}", "POST /orders"],
        };
        this.roles.set(ROLE_ARN, {
            trust: { principals: [PARTNER_ROLE], externalId: EXTERNAL_ID, google: { audience: GOOGLE_AUDIENCE, uniqueIds: [SA_ID] } },
            grants: acmeGrants,
        });
        // The partner's own role session on its side (what its workload runs as).
        this.addUser({
            key: { accessKeyId: "ASIAPARTNERSESSION01", secretAccessKey: "partner-secret-1", sessionToken: "partner-session-token-1", arn: `arn:aws:sts::${PARTNER_ACCOUNT}:assumed-role/acme-exchange/worker`, expiresAt: Date.now() + 3600_000 },
            mayAssume: [ROLE_ARN], s3: [], routes: [],
        });
        this.gcsGrants = [{ email: SA, bucket: GCS_BUCKET, prefix: PREFIX, read: true, write: true }];
        this.espAudience = ESP_AUDIENCE;
        this.espRoutes = new Map([["GET /orders", [SA]], ["GET /orders/{orderId}", [SA]], ["POST /orders", [SA]], ["GET /admin/partners", []]]);
        this.s3Objects.set(`${AWS_BUCKET}/partners/globex/secret.csv`, "neighbour's data");
        this.gcsObjects.set(`${GCS_BUCKET}/partners/globex/secret.csv`, "neighbour's data");
    }

    addUser(u: UserDef) {
        this.users.set(u.key.accessKeyId, u);
        this.keys.set(u.key.accessKeyId, u.key);
    }

    /** Environment variables that make a process use these stand-ins and nothing else. */
    env(): Record<string, string> {
        return {
            GCE_METADATA_HOST: this.urls.metadataHost,
            AWS_ENDPOINT_URL_STS: this.urls.sts,
            AWS_ENDPOINT_URL_S3: this.urls.s3,
            PARTNER_ACCESS_IAMCREDENTIALS_URL: this.urls.iam,
            STORAGE_EMULATOR_HOST: this.urls.gcs,
            AWS_EC2_METADATA_DISABLED: "true",
        };
    }

    // ------------------------------------------------------------ Google metadata server

    private async metadata(req: http.IncomingMessage, res: http.ServerResponse) {
        const send = (status: number, body: string, type = "application/text") =>
            res.writeHead(status, { "metadata-flavor": "Google", "content-type": type }).end(body);
        if (req.headers["metadata-flavor"] !== "Google") return send(403, "Missing Metadata-Flavor: Google header");
        const url = new URL(req.url!, "http://metadata");
        const p = url.pathname.replace(/^\/computeMetadata\/v1\//, "");
        // metadataAccount may be a person (a developer machine's ADC, played by the metadata server here).
        const email = this.metadataAccount;
        const sa = email ? this.serviceAccounts.get(email) : undefined;
        if (p === "instance" || p === "instance/") return send(200, "{}", "application/json");
        if (p === "project/project-id") return send(200, "acme-prod-4711");
        if (p === "universe/universe-domain") return send(200, "googleapis.com");
        if (!email) return send(404, "no service account");
        if (p === "instance/service-accounts/default/email") return send(200, email);
        if (p === "instance/service-accounts/default/token") {
            const token = `ya29.metadata-${randomUUID()}`;
            this.accessTokens.set(token, { email, expiresAt: Date.now() + 3600_000 });
            return send(200, JSON.stringify({ access_token: token, expires_in: 3599, token_type: "Bearer" }), "application/json");
        }
        if (p === "instance/service-accounts/default/identity") {
            if (!sa) return send(404, "no service account");
            const audience = url.searchParams.get("audience");
            if (!audience) return send(400, "non-empty audience parameter required");
            return send(200, await this.idToken(sa, audience, url.searchParams.get("format") === "full", this.idTokenSeconds, this.metadataClockOffset));
        }
        return send(404, `no such metadata ${p}`);
    }

    /** A Google ID token as accounts.google.com issues it: aud = the requested audience, azp = sub = the account's unique id. */
    async idToken(sa: SaDef, audience: string, full: boolean, seconds: number, clockOffset = 0): Promise<string> {
        const iat = Math.floor((Date.now() + clockOffset) / 1000);
        return new SignJWT({ azp: sa.uniqueId, ...(full ? { email: sa.email, email_verified: true } : {}) })
            .setProtectedHeader({ alg: "RS256", kid: this.googleKey.kid, typ: "JWT" })
            .setIssuer("https://accounts.google.com").setAudience(audience).setSubject(sa.uniqueId)
            .setIssuedAt(iat).setExpirationTime(iat + seconds).sign(this.googleKey.privateKey);
    }

    private caller(req: http.IncomingMessage): string | undefined {
        const m = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ""));
        const t = m && this.accessTokens.get(m[1]);
        return t && t.expiresAt > Date.now() ? t.email : undefined;
    }

    // ------------------------------------------------------------ IAM Credentials

    private async iam(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
        const json = (status: number, data: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(data));
        const error = (code: number, status: string, message: string) => json(code, { error: { code, message, status } });
        const m = /^\/v1\/projects\/-\/serviceAccounts\/([^:]+):(signJwt|generateIdToken|generateAccessToken)$/.exec(req.url!);
        if (!m || req.method !== "POST") return error(404, "NOT_FOUND", "no such method");
        const caller = this.caller(req);
        if (!caller) return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.");
        const target = decodeURIComponent(m[1]);
        const sa = this.serviceAccounts.get(target);
        if (!this.tokenCreators.get(target)?.has(caller)) {
            return error(403, "PERMISSION_DENIED", `Permission 'iam.serviceAccounts.${m[2]}' denied on resource (or it may not exist).`);
        }
        if (!sa) return error(404, "NOT_FOUND", `Not found; Gaia id not found for email ${target}`);
        const input = JSON.parse(body.toString() || "{}");
        if (m[2] === "signJwt") {
            const claims = JSON.parse(input.payload);
            const now = Math.floor(Date.now() / 1000);
            if (typeof claims.exp === "number" && (claims.exp < now || claims.exp > now + 12 * 3600)) {
                return error(400, "INVALID_ARGUMENT", "JWT exp claim must be an integer timestamp that is not in the past and no more than 12 hours in the future.");
            }
            const signedJwt = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: sa.kid, typ: "JWT" }).sign(sa.privateKey);
            return json(200, { keyId: sa.kid, signedJwt });
        }
        if (m[2] === "generateIdToken") {
            return json(200, { token: await this.idToken(sa, input.audience, Boolean(input.includeEmail), 3600) });
        }
        const token = `ya29.impersonated-${randomUUID()}`;
        this.accessTokens.set(token, { email: sa.email, expiresAt: Date.now() + 3600_000 });
        return json(200, { accessToken: token, expireTime: new Date(Date.now() + 3600_000).toISOString() });
    }

    // ------------------------------------------------------------ Cloud Storage (JSON API)

    private gcs(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
        const json = (status: number, data: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(data));
        const denied = (who: string, perm: string, bucket: string) => json(403, {
            error: { code: 403, message: `${who} does not have ${perm} access to the Google Cloud Storage ${perm === "storage.objects.list" ? "bucket" : "object"}. Permission '${perm}' denied on resource (or it may not exist).`, errors: [{ reason: "forbidden" }] },
        });
        const caller = this.caller(req);
        if (!caller) return json(401, { error: { code: 401, message: "Anonymous caller does not have storage.objects.list access." } });
        const url = new URL(req.url!, "http://gcs");
        const may = (bucket: string, name: string, what: "read" | "write") =>
            this.gcsGrants.some((g) => g.email === caller && g.bucket === bucket && name.startsWith(g.prefix) && g[what]);
        let m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
        if (m && req.method === "GET") {
            const bucket = decodeURIComponent(m[1]);
            const prefix = url.searchParams.get("prefix") ?? "";
            if (!may(bucket, prefix, "read")) return denied(caller, "storage.objects.list", bucket);
            const items = [...this.gcsObjects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => ({ name: k.slice(bucket.length + 1), bucket }));
            return json(200, { kind: "storage#objects", items });
        }
        m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
        if (m && req.method === "POST") {
            const bucket = decodeURIComponent(m[1]);
            const name = url.searchParams.get("name") ?? "";
            if (!may(bucket, name, "write")) return denied(caller, "storage.objects.create", bucket);
            // roles/storage.objectCreator: creating a name that exists needs storage.objects.delete, which no partner has.
            if (this.gcsObjects.has(`${bucket}/${name}`)) {
                if (url.searchParams.get("ifGenerationMatch") === "0") return json(412, { error: { code: 412, message: "At least one of the pre-conditions you specified did not hold." } });
                return denied(caller, "storage.objects.delete", bucket);
            }
            this.gcsObjects.set(`${bucket}/${name}`, body.toString());
            return json(200, { kind: "storage#object", bucket, name, size: String(body.length) });
        }
        m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
        if (m && req.method === "GET") {
            const bucket = decodeURIComponent(m[1]);
            const name = decodeURIComponent(m[2]);
            if (!may(bucket, name, "read")) return denied(caller, "storage.objects.get", bucket);
            const data = this.gcsObjects.get(`${bucket}/${name}`);
            if (data === undefined) return json(404, { error: { code: 404, message: "No such object" } });
            return res.writeHead(200, { "content-type": "text/plain" }).end(data);
        }
        return json(404, { error: { code: 404, message: "Not Found" } });
    }

    // ------------------------------------------------------------ STS

    private async sts(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
        const params = new URLSearchParams(body.toString());
        const action = params.get("Action") ?? "";
        const now = Date.now() + this.stsClockOffset;
        const fail = (status: number, code: string, message: string) => res.writeHead(status, { "content-type": "text/xml" }).end(
            `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
        const ok = (inner: string) => res.writeHead(200, { "content-type": "text/xml" }).end(
            `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`);
        const session = (roleArn: string, sessionName: string) => {
            const [, , , , acct, rest] = roleArn.split(":");
            const roleName = rest.split("/").pop();
            const key: AwsKey = {
                accessKeyId: `ASIA${randomBytes(8).toString("hex").toUpperCase()}`, secretAccessKey: randomBytes(20).toString("base64"),
                sessionToken: `FwoGZX${randomBytes(24).toString("base64")}`, expiresAt: now + this.stsCredentialSeconds * 1000,
                arn: `arn:aws:sts::${acct}:assumed-role/${roleName}/${sessionName}`, roleArn,
            };
            this.keys.set(key.accessKeyId, key);
            const expiration = new Date(key.expiresAt!).toISOString();
            this.stsCalls.push({ action, roleArn, externalId: params.get("ExternalId") ?? undefined, expiration, accessKeyId: key.accessKeyId });
            return `<Credentials><AccessKeyId>${key.accessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(key.secretAccessKey)}</SecretAccessKey><SessionToken>${xmlEscape(key.sessionToken!)}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
                `<AssumedRoleUser><AssumedRoleId>AROA${randomBytes(8).toString("hex").toUpperCase()}:${sessionName}</AssumedRoleId><Arn>${key.arn}</Arn></AssumedRoleUser>`;
        };
        if (action === "AssumeRoleWithWebIdentity") {
            if (req.headers.authorization) return fail(400, "InvalidRequest", "AssumeRoleWithWebIdentity is not signed");
            const roleArn = params.get("RoleArn")!;
            const token = params.get("WebIdentityToken") ?? "";
            let claims: Record<string, any>;
            try {
                ({ payload: claims } = await jwtVerify(token, createLocalJWKSet(this.googleKey.jwks), { issuer: "https://accounts.google.com", currentDate: new Date(now), clockTolerance: 0 }));
            } catch (e) {
                if (e instanceof joseErrors.JWTExpired) {
                    return fail(400, "ExpiredTokenException", `Token expired: current date/time ${new Date(now).toISOString()} must be before the expiration date/time ${new Date((e.payload.exp ?? 0) * 1000).toISOString()}`);
                }
                return fail(400, "InvalidIdentityToken", "Couldn't verify the token's signature");
            }
            const role = this.roles.get(roleArn);
            const g = role?.trust.google;
            // AWS: accounts.google.com:oaud = aud, accounts.google.com:aud = azp, :sub = sub.
            if (g && claims.aud !== g.audience) return fail(400, "InvalidIdentityToken", "Incorrect token audience");
            if (!role || !g || !g.uniqueIds.includes(claims.sub) || !g.uniqueIds.includes(claims.azp)) {
                return fail(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
            }
            return ok(session(roleArn, params.get("RoleSessionName")!) + `<SubjectFromWebIdentityToken>${claims.sub}</SubjectFromWebIdentityToken><Audience>${claims.azp}</Audience><Provider>accounts.google.com</Provider>`);
        }
        const key = await verifySigV4(req, body, { service: "sts", region: REGION, serverNow: now, keys: this.keys });
        if (isFailure(key)) return fail(key.status, key.code, key.message);
        if (action === "GetCallerIdentity") {
            return ok(`<Arn>${key.arn}</Arn><UserId>AIDA${key.accessKeyId.slice(4)}</UserId><Account>${key.arn.split(":")[4]}</Account>`);
        }
        if (action === "AssumeRole") {
            const roleArn = params.get("RoleArn")!;
            const user = this.users.get(key.accessKeyId);
            const notAuthorized = `User: ${key.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`;
            if (!user?.mayAssume.includes(roleArn)) return fail(403, "AccessDenied", `${notAuthorized} because no identity-based policy allows the sts:AssumeRole action`);
            const role = this.roles.get(roleArn);
            const principal = key.arn.replace(/^arn:aws:sts::(\d+):assumed-role\/([^/]+)\/.*$/, "arn:aws:iam::$1:role/$2");
            if (!role || !role.trust.principals.includes(principal) || (role.trust.externalId ?? null) !== params.get("ExternalId")) {
                return fail(403, "AccessDenied", notAuthorized);
            }
            return ok(session(roleArn, params.get("RoleSessionName")!));
        }
        return fail(400, "InvalidAction", `Could not find operation ${action}`);
    }

    private grantsOf(key: AwsKey): Grants {
        if (key.roleArn) return this.roles.get(key.roleArn)?.grants ?? { s3: [], routes: [] };
        return this.users.get(key.accessKeyId) ?? { s3: [], routes: [] };
    }

    // ------------------------------------------------------------ S3 (path style)

    private async s3(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
        const fail = (status: number, code: string, message: string) => res.writeHead(status, { "content-type": "application/xml" }).end(
            `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>${randomUUID()}</RequestId></Error>`);
        const key = await verifySigV4(req, body, { service: "s3", region: REGION, serverNow: Date.now() + this.stsClockOffset, keys: this.keys });
        if (isFailure(key)) return fail(key.status, key.code, key.message);
        const url = new URL(req.url!, "http://s3");
        const [, bucket, ...rest] = url.pathname.split("/");
        const objectKey = rest.map(decodeURIComponent).join("/");
        const grants = this.grantsOf(key).s3;
        const may = (action: string, name: string) => grants.some((g) => g.bucket === bucket && g.actions.includes(action) && name.startsWith(g.prefix));
        if (req.method === "GET" && !objectKey && url.searchParams.get("list-type") === "2") {
            const prefix = url.searchParams.get("prefix") ?? "";
            if (!may("s3:ListBucket", prefix)) return fail(403, "AccessDenied", "Access Denied");
            const keys = [...this.s3Objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => k.slice(bucket.length + 1));
            return res.writeHead(200, { "content-type": "application/xml" }).end(
                `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
                keys.map((k) => `<Contents><Key>${xmlEscape(k)}</Key><Size>1</Size></Contents>`).join("") + "</ListBucketResult>");
        }
        if (req.method === "PUT" && objectKey) {
            if (!may("s3:PutObject", objectKey)) return fail(403, "AccessDenied", "Access Denied");
            // As partner-access's bucket policy renders it: writes under partners/ must be create-only (If-None-Match: *).
            if (objectKey.startsWith("partners/") && req.headers["if-none-match"] !== "*") return fail(403, "AccessDenied", "Access Denied");
            if (this.s3Objects.has(`${bucket}/${objectKey}`)) return fail(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
            this.s3Objects.set(`${bucket}/${objectKey}`, decodeChunked(req, body).toString());
            return res.writeHead(200, { etag: `"${randomBytes(16).toString("hex")}"` }).end();
        }
        if (req.method === "GET" && objectKey) {
            if (!may("s3:GetObject", objectKey)) return fail(403, "AccessDenied", "Access Denied");
            const data = this.s3Objects.get(`${bucket}/${objectKey}`);
            if (data === undefined) return fail(404, "NoSuchKey", "The specified key does not exist.");
            return res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(data) }).end(data);
        }
        return fail(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
    }

    // ------------------------------------------------------------ API Gateway (SigV4, AWS_IAM)

    private async awsApi(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
        if (this.apiHook?.("aws-api", req, res)) return;
        const now = Date.now() + this.apiClockOffset;
        const json = (status: number, data: unknown) => res.writeHead(status, { "content-type": "application/json", date: new Date(now).toUTCString() }).end(JSON.stringify(data));
        const url = new URL(req.url!, "https://api");
        if (!url.pathname.startsWith(API_STAGE_PATH + "/")) return json(403, { message: "Forbidden" });
        const path = url.pathname.slice(API_STAGE_PATH.length);
        const route = routeOf(req.method!, path);
        if (!route) return json(403, { message: "Missing Authentication Token" });
        const key = await verifySigV4(req, body, { service: "execute-api", region: REGION, serverNow: now, keys: this.keys });
        if (isFailure(key)) return json(key.status, { message: key.message });
        const grants = this.grantsOf(key).routes;
        if (!grants.some((g) => routeRegex(g).test(`${req.method} ${path}`))) {
            return json(403, { Message: `User: ${key.arn} is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:${REGION}:${ACCOUNT}:abc123${API_STAGE_PATH}/${req.method}${path}` });
        }
        // The query as the stand-in read it from the raw URL (sigv4.ts: receivedQuery), for tests to compare.
        return json(200, { ok: true, route, caller: key.arn, query: receivedQuery(req.url!) });
    }

    // ------------------------------------------------------------ ESPv2 (JWTs signed by service accounts)

    private async gcpApi(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
        if (this.apiHook?.("gcp-api", req, res)) return;
        const now = Date.now() + this.espClockOffset;
        const json = (status: number, data: unknown) => res.writeHead(status, { "content-type": "application/json", date: new Date(now).toUTCString() }).end(JSON.stringify(data));
        const url = new URL(req.url!, "https://esp");
        const route = routeOf(req.method!, url.pathname);
        if (!route || !this.espRoutes.has(route) || this.espRoutes.get(route)!.length === 0) {
            // ESPv2 leaves out routes granted to nobody: they are not defined.
            return json(404, { code: 404, message: "The current request is not defined by this API." });
        }
        const m = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ""));
        if (!m) return json(401, { code: 401, message: "Jwt is missing" });
        let iss: string | undefined;
        try {
            iss = JSON.parse(Buffer.from(m[1].split(".")[1], "base64url").toString()).iss;
        } catch {
            return json(401, { code: 401, message: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections" });
        }
        const sa = iss ? this.serviceAccounts.get(iss) : undefined;
        if (!sa || !this.espRoutes.get(route)!.includes(sa.email)) return json(401, { code: 401, message: "Jwt issuer is not configured" });
        try {
            // ESPv2 checks exp and nbf with 60 s of leeway; the stand-in also refuses an iat in the future, as stricter verifiers do.
            await jwtVerify(m[1], createLocalJWKSet(sa.jwks), { issuer: sa.email, subject: sa.email, audience: this.espAudience, currentDate: new Date(now), clockTolerance: 60, maxTokenAge: "12h" });
        } catch (e) {
            if (e instanceof joseErrors.JWTExpired) return json(401, { code: 401, message: "Jwt is expired" });
            if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === "aud") return json(401, { code: 401, message: "Audiences in Jwt are not allowed" });
            if (e instanceof joseErrors.JWTClaimValidationFailed && (e.claim === "nbf" || e.claim === "iat")) return json(401, { code: 401, message: "Jwt not yet valid" });
            return json(401, { code: 401, message: "Jwt verification fails" });
        }
        return json(200, { ok: true, route, caller: sa.email });
    }
}

/** S3 PutObject bodies may come aws-chunked (with a trailing checksum): return the payload. */
function decodeChunked(req: http.IncomingMessage, body: Buffer): Buffer {
    if (!String(req.headers["content-encoding"] ?? "").includes("aws-chunked")) return body;
    const out: Buffer[] = [];
    let i = 0;
    while (i < body.length) {
        const eol = body.indexOf("\r\n", i);
        const size = parseInt(body.subarray(i, eol).toString().split(";")[0], 16);
        if (!size) break;
        out.push(body.subarray(eol + 2, eol + 2 + size));
        i = eol + 2 + size + 2;
    }
    return Buffer.concat(out);
}
