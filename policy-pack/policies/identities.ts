/**
 * Who an identity is, as the clouds see it. An ARN string is not enough:
 * - an account root (`arn:aws:iam::A:root`) admits every principal of account A
 *   whose own policy allows the call (IAM User Guide, "Specifying a principal":
 *   "AWS account principals");
 * - IAM role and user names are unique per account whatever their path, and
 *   Google's default AWS mapping drops the path (`attribute.aws_role` =
 *   `arn:aws:sts::A:assumed-role/NAME`), so `role/x/r` and `role/r` are one role;
 * - IAM names are unique without regard to case ("names are not distinguished
 *   by case", IAM quotas and name requirements).
 * Stage isolation, "one identity, one partner, one environment" and the review
 * tools compare identities by what they cover, with these functions.
 */
import { AWS_PRINCIPAL_ARN, re } from "./identifiers";

export interface AwsIdentity {
    arn: string;
    account: string;
    kind: "root" | "role" | "user";
    /** Role or user name, without its path (absent for a root). */
    name?: string;
}

const PRINCIPAL = re(AWS_PRINCIPAL_ARN);

export function parseAwsIdentity(arn: string): AwsIdentity | undefined {
    if (!PRINCIPAL.test(arn)) return undefined;
    const [, , , , account, resource] = arn.split(":");
    if (resource === "root") return { arn, account, kind: "root" };
    const [kind, ...rest] = resource.split("/");
    return { arn, account, kind: kind as "role" | "user", name: rest[rest.length - 1] };
}

export function awsIdentity(arn: string): AwsIdentity {
    const id = parseAwsIdentity(arn);
    if (!id) throw new Error(`not an IAM principal ARN: ${arn}`);
    return id;
}

/** The key the clouds compare a principal by: account, kind and case-folded name. */
export function awsIdentityKey(id: AwsIdentity): string {
    return id.kind === "root" ? `${id.account}:root` : `${id.account}:${id.kind}:${id.name!.toLowerCase()}`;
}

/** True when a caller that is `b` would be admitted by a policy naming `a`. */
export function covers(a: AwsIdentity, b: AwsIdentity): boolean {
    if (a.account !== b.account) return false;
    return a.kind === "root" || awsIdentityKey(a) === awsIdentityKey(b);
}

/** Two identities admit at least one common caller. */
export function overlaps(a: AwsIdentity, b: AwsIdentity): boolean {
    return covers(a, b) || covers(b, a);
}

export const accountOfArn = (arn: string): string => awsIdentity(arn).account;
export const isRootArn = (arn: string): boolean => parseAwsIdentity(arn)?.kind === "root";

/**
 * The `attribute.aws_role` value Google's default AWS mapping yields: a role's
 * session becomes `arn:aws:sts::ACCOUNT:assumed-role/NAME` (the IAM path is
 * dropped); a user stays its own ARN.
 */
export function awsRoleAttribute(arn: string): string {
    const id = awsIdentity(arn);
    return id.kind === "role" ? `arn:aws:sts::${id.account}:assumed-role/${id.name}` : arn;
}

/** Google compares service accounts by e-mail (lower case) and by numeric unique id. */
export function gcpIdentityKeys(g: { email: string; uniqueId?: string }): string[] {
    return [`email:${g.email.toLowerCase()}`, ...(g.uniqueId ? [`uid:${g.uniqueId}`] : [])];
}
