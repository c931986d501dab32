/**
 * Formats of the identifiers the registry and stage config carry. Kept in one
 * place so validation, the plan and the tests agree on what is well-formed.
 */

export const SLUG = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,19}$/;
export const ENVIRONMENT = /^[a-z][a-z0-9-]{0,15}$/;
export const AWS_ACCOUNT_ID = /^\d{12}$/;
/** IAM role or user ARN (commercial partition), optional path. Names per IAM: [\w+=,.@-]. */
export const AWS_ROLE_OR_USER_ARN = /^arn:aws:iam::(\d{12}):(role|user)\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
export const AWS_ROOT_ARN = /^arn:aws:iam::(\d{12}):root$/;
export const GCP_SERVICE_ACCOUNT_EMAIL = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\.iam\.gserviceaccount\.com$/;
/** Google service account unique ids are decimal; Google documents 21 digits. */
export const GCP_UNIQUE_ID = /^\d{21}$/;
export const GCP_PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
export const GCP_PROJECT_NUMBER = /^\d{6,20}$/;
/** sts:ExternalId accepts 2-1224 characters of this set. */
export const EXTERNAL_ID = /^[\w+=,.@:\/-]{2,1224}$/;
export const AWS_REGION = /^[a-z]{2}(?:-gov)?-[a-z]+-\d$/;
export const GCP_REGION = /^[a-z]+-[a-z]+\d$/;

/** Member strings that widen a grant beyond one identity: never valid as a partner identity. */
export function wildcardReason(value: string): string | undefined {
    if (value.includes("*") || value.includes("?")) return "contains a wildcard ('*' or '?')";
    const lower = value.toLowerCase();
    if (lower === "allusers" || lower === "allauthenticatedusers") return `"${value}" grants the public`;
    if (lower.startsWith("domain:")) return "a domain member grants a whole organisation";
    if (lower.startsWith("group:")) return "a group member grants whoever the partner adds to it";
    return undefined;
}

/** The 12-digit account of an IAM ARN. */
export function accountOfArn(arn: string): string {
    const m = /^arn:aws:iam::(\d{12}):/.exec(arn);
    if (!m) throw new Error(`not an IAM ARN: ${arn}`);
    return m[1];
}

export function isRootArn(arn: string): boolean {
    return AWS_ROOT_ARN.test(arn);
}
