/**
 * Google's IAM Conditions and Workload Identity expressions are CEL. They are
 * evaluated here with a CEL implementation no one here wrote (@bufbuild/cel),
 * on the attributes Google provides: `resource.name`
 * (`projects/_/buckets/B/objects/O` for Cloud Storage) and `request.time` for
 * IAM Conditions; `assertion` (the AWS caller's GetCallerIdentity: `arn`,
 * `account`) for Workload Identity mappings and conditions.
 *
 * `extract` is Google's addition to CEL (not in the CEL standard library), so
 * it is modelled here from its documentation: `s.extract("pre{name}post")`
 * returns the text between the first `pre` and the next `post`, or "" when the
 * template does not match ("Attribute mappings": the `extract` function).
 *
 * It lives in the policy pack (which must not import from outside its folder
 * to stay publishable) and tools/access/cel-eval.ts re-exports it for the
 * access matrix: one definition for both.
 */
import { CelScalar, celEnv, celError, celMethod, isCelError, parse, plan } from "@bufbuild/cel";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

export function extract(value: string, template: string): string {
    const m = /^(.*)\{[A-Za-z_][A-Za-z0-9_]*\}(.*)$/s.exec(template);
    if (!m) return "";
    const [, pre, post] = m;
    const start = value.indexOf(pre);
    if (start < 0) return "";
    const from = start + pre.length;
    if (post === "") return value.slice(from);
    const end = value.indexOf(post, from);
    return end < 0 ? "" : value.slice(from, end);
}

const funcs = [celMethod("extract", CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, function (template) {
    return extract(this, template);
})];

const env = celEnv({ funcs });
/**
 * Planned programs by expression: parsing is most of the cost, and a review
 * asks the same few mappings and conditions thousands of times (what
 * `run()` does each call, done once). Bounded by the expressions of a stage.
 */
const programs = new Map<string, (bindings: any) => unknown>();

function program(expression: string): (bindings: any) => unknown {
    let p = programs.get(expression);
    if (!p) {
        try {
            p = plan(env, parse(expression));
        } catch (e) {
            const failed = celError(e);
            p = () => failed;
        }
        programs.set(expression, p);
    }
    return p;
}

function evaluate(expression: string, bindings: Record<string, unknown>): unknown {
    let out: unknown;
    try {
        out = program(expression)(bindings);
    } catch (e) {
        out = celError(e);
    }
    if (isCelError(out)) throw new Error(`CEL cannot evaluate ${JSON.stringify(expression)}: ${out.message}`);
    return out;
}

/** Whether an IAM Condition holds for an object at a time. No condition: it holds. */
export function conditionHolds(expression: string | undefined, bucket: string, objectName: string, at: Date): boolean {
    if (!expression) return true;
    const value = evaluate(expression, { resource: { name: `projects/_/buckets/${bucket}/objects/${objectName}`, type: "storage.googleapis.com/Object", service: "storage.googleapis.com" }, request: { time: timestampFromDate(at) } });
    if (typeof value !== "boolean") throw new Error(`condition ${expression} is not boolean`);
    return value;
}

export interface AwsAssertion {
    /** The caller's ARN as STS GetCallerIdentity reports it (`arn:aws:sts::A:assumed-role/R/session` or `arn:aws:iam::A:user/U`). */
    arn: string;
    account: string;
}

/** Attributes a Workload Identity provider maps from an AWS caller. */
export function mapAttributes(mapping: Record<string, string>, assertion: AwsAssertion): Record<string, string> {
    return Object.fromEntries(Object.entries(mapping).map(([k, expr]) => [k, String(evaluate(expr, { assertion }))]));
}

/**
 * Google's attribute mapping for an AWS provider that defines none
 * (magic-modules WorkloadIdentityPoolProvider.yaml, the same text in the
 * @pulumi/gcp 9.37 d.ts; research gcp.md §9). A provider that defines any
 * mapping must map google.subject itself.
 */
export const DEFAULT_AWS_MAPPING: Readonly<Record<string, string>> = {
    "google.subject": "assertion.arn",
    "attribute.aws_role": "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn",
};

/**
 * Whether a provider lets this AWS caller exchange its token: the caller's
 * account is the provider's, the provider is enabled, and its condition holds
 * over the mapped attributes. Returns the mapped `attribute.aws_role` too.
 */
export function providerAdmits(p: { accountId: string; attributeCondition: string; attributeMapping: Record<string, string>; disabled: boolean }, assertion: AwsAssertion): { admitted: boolean; awsRole?: string } {
    if (p.disabled || p.accountId !== assertion.account) return { admitted: false };
    const mapped = mapAttributes(p.attributeMapping, assertion);
    const attribute = Object.fromEntries(Object.entries(mapped).filter(([k]) => k.startsWith("attribute.")).map(([k, v]) => [k.slice("attribute.".length), v]));
    const google = Object.fromEntries(Object.entries(mapped).filter(([k]) => k.startsWith("google.")).map(([k, v]) => [k.slice("google.".length), v]));
    const admitted = p.attributeCondition ? evaluate(p.attributeCondition, { assertion, attribute, google }) === true : true;
    return { admitted, awsRole: attribute.aws_role };
}
