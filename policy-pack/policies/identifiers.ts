/**
 * Formats of the identifiers the registry and stage config carry, as regular
 * expression sources. The JSON Schema (editors, `ajv` at run time) and the
 * code that takes identifiers apart both use these, so they cannot disagree.
 */

/** Partner slug: resource names and `partners/<slug>/`. */
export const SLUG = "^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){1,19}$";
/** Partner environment and stage names (a stage is a Pulumi stack). */
export const ENVIRONMENT = "^[a-z][a-z0-9-]{0,15}$";
export const STAGE = "^[a-z][a-z0-9-]{1,9}$";
export const AWS_ACCOUNT_ID = "^\\d{12}$";
/** IAM names: [\w+=,.@-], 1-64; a path is `/` or `/segment/.../`. */
const IAM_NAME = "[\\w+=,.@-]{1,64}";
const IAM_PATH = "(?:[\\w+=,.@-]+/)*";
/**
 * A user whose ARN contains "assumed-role" is read by Google's AWS mapping as a
 * role session (`assertion.arn.contains('assumed-role')`): `user/assumed-role/x/y`
 * would map to `user/assumed-role/x`, so any user created under that path
 * would federate as the listed one. Such users are refused.
 */
const IAM_USER = `user/(?!.*assumed-role)${IAM_PATH}${IAM_NAME}`;
/** A role or user, optionally with a path (commercial partition). */
export const AWS_ROLE_OR_USER_ARN = `^arn:aws:iam::\\d{12}:(?:role/${IAM_PATH}${IAM_NAME}|${IAM_USER})$`;
export const AWS_ROLE_ARN = `^arn:aws:iam::\\d{12}:role/${IAM_PATH}${IAM_NAME}$`;
/** What a partner identity on AWS may be: a role, a user, or (with opt-in) an account root. */
export const AWS_PRINCIPAL_ARN = `^arn:aws:iam::\\d{12}:(?:root|role/${IAM_PATH}${IAM_NAME}|${IAM_USER})$`;
export const AWS_ROOT_ARN = "^arn:aws:iam::\\d{12}:root$";
export const GCP_SERVICE_ACCOUNT_EMAIL = "^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com$";
/** Google service account unique ids are decimal; Google documents 21 digits. */
export const GCP_UNIQUE_ID = "^\\d{21}$";
export const GCP_PROJECT_ID = "^[a-z][a-z0-9-]{4,28}[a-z0-9]$";
export const GCP_PROJECT_NUMBER = "^\\d{6,20}$";
/** sts:ExternalId accepts 2-1224 characters of this set. */
export const EXTERNAL_ID = "^[\\w+=,.@:/-]{2,1224}$";
export const AWS_REGION = "^[a-z]{2}(?:-gov)?-[a-z]+-\\d$";
export const GCP_REGION = "^[a-z]+-[a-z]+\\d$";
export const EMAIL = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$";
/** A calendar date, or an instant in UTC. A date means 00:00:00Z that day. */
export const DATE_OR_INSTANT = "^\\d{4}-\\d{2}-\\d{2}(?:T\\d{2}:\\d{2}(?::\\d{2})?Z)?$";
/** A public DNS name (lower case, at least one dot, no IP literal, no port). */
export const HOSTNAME = "^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$";
/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$";
export const QUERY_PARAMETER = "^[A-Za-z0-9._~-]{1,64}$";
export const HTTPS_URL = "^https://[a-z0-9.-]+(?::\\d+)?(?:/[^\\s]*[^/\\s])?$";

export const re = (source: string) => new RegExp(source, "u");
