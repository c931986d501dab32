/**
 * Every identity a resource names, whatever the field: AWS principals in
 * policy documents (an account id is that account's root), ARNs in
 * conditions, assumed-role ARNs in Workload Identity members and conditions,
 * service account e-mails and unique ids. Read from the resource's inputs as
 * text, so a new field or resource type cannot hide one.
 */
import { AwsIdentity, parseAwsIdentity } from "./identities";

export interface NamedIdentity {
    text: string;
    aws?: AwsIdentity;
    /** `email:<lower-case e-mail>` or `uid:<unique id>` */
    gcp?: string;
}

const ARN = /arn:aws:(?:iam|sts)::(\d{12}):(root|(?:role|user)\/[\w+=,.@/-]+|assumed-role\/[\w+=,.@-]+)/g;
const EMAIL = /[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com/gi;
const UNIQUE_ID = /(?<![\d])\d{21}(?![\d])/g;
/** `"AWS": "123456789012"` (or a list of them), and a Lambda permission's `"principal": "123456789012"`, name that account's root. */
const BARE_ACCOUNT = /"(?:aws|principal)"\s*:\s*(\[[^\]]*\]|"\d{12}")/gi;

export function namedIdentities(props: unknown): NamedIdentity[] {
    // Policies are often JSON strings inside the inputs: one more parse makes their text uniform.
    const text = JSON.stringify(props, (_k, v) => {
        if (typeof v === "string" && /^\s*[{[]/.test(v)) {
            try {
                return JSON.parse(v);
            } catch {
                return v;
            }
        }
        return v;
    }) ?? "";
    const out = new Map<string, NamedIdentity>();
    for (const m of text.matchAll(ARN)) {
        const [, account, rest] = m;
        // An assumed-role session (STS, or Google's attribute.aws_role) is its role.
        const arn = rest.startsWith("assumed-role/") ? `arn:aws:iam::${account}:role/${rest.split("/")[1]}` : `arn:aws:iam::${account}:${rest}`;
        const aws = parseAwsIdentity(arn);
        if (aws) out.set(`aws:${arn}`, { text: m[0], aws });
    }
    for (const m of text.matchAll(BARE_ACCOUNT)) {
        // Only entries that are an account id alone: the account inside an ARN is that ARN's, read above.
        for (const account of (m[1].match(/"\d{12}"/g) ?? []).map((q) => q.slice(1, -1))) {
            const arn = `arn:aws:iam::${account}:root`;
            out.set(`aws:${arn}`, { text: account, aws: parseAwsIdentity(arn)! });
        }
    }
    for (const m of text.matchAll(EMAIL)) out.set(`gcp:${m[0].toLowerCase()}`, { text: m[0], gcp: `email:${m[0].toLowerCase()}` });
    for (const m of text.matchAll(UNIQUE_ID)) out.set(`uid:${m[0]}`, { text: m[0], gcp: `uid:${m[0]}` });
    return [...out.values()];
}
