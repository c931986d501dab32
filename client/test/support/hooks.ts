/**
 * Mocha root hooks: one set of stand-ins for the whole run, an environment
 * that points every SDK at them (and at nothing on this machine: no
 * ~/.aws, no gcloud ADC, no instance metadata), restored afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { World } from "./world";

let current: World | undefined;
export const world = (): World => {
    if (!current) throw new Error("the stand-ins are not started");
    return current;
};

export let scratch = "";
const saved = { ...process.env };

/** The partner's own AWS credentials, as its environment would give them. */
export function partnerAwsEnv(key = { id: "ASIAPARTNERSESSION01", secret: "partner-secret-1", token: "partner-session-token-1" as string | undefined }) {
    process.env.AWS_ACCESS_KEY_ID = key.id;
    process.env.AWS_SECRET_ACCESS_KEY = key.secret;
    if (key.token === undefined) delete process.env.AWS_SESSION_TOKEN;
    else process.env.AWS_SESSION_TOKEN = key.token;
}

export function noAwsEnv() {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    delete process.env.AWS_SESSION_TOKEN;
}

export const mochaHooks = {
    async beforeAll(this: Mocha.Context) {
        this.timeout(30_000);
        scratch = mkdtempSync(join(tmpdir(), "partner-access-client-"));
        for (const k of Object.keys(process.env)) {
            if (/^(AWS_|GOOGLE_|GCE_|CLOUDSDK_|STORAGE_EMULATOR|PARTNER_ACCESS_|NODE_EXTRA_CA)/.test(k)) delete process.env[k];
        }
        process.env.HOME = scratch;
        process.env.AWS_CONFIG_FILE = join(scratch, "no-aws-config");
        process.env.AWS_SHARED_CREDENTIALS_FILE = join(scratch, "no-aws-credentials");
        process.env.CLOUDSDK_CONFIG = join(scratch, "no-gcloud");
        // As on a partner's workload: saves google-auth-library from asking gcloud for a project (a second each time).
        process.env.GOOGLE_CLOUD_PROJECT = "acme-prod-4711";
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
        current = await World.start();
        Object.assign(process.env, current.env());
    },
    beforeEach() {
        world().reset();
        noAwsEnv();
    },
    async afterAll() {
        await current?.stop();
        current = undefined;
        rmSync(scratch, { recursive: true, force: true });
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
        Object.assign(process.env, saved);
    },
};
