/**
 * Route coverage is decided on languages, not sample values: IAM's `*` also
 * matches `/`, a `{param}` matches one segment. Every probe path (plain values,
 * parameters equal to literal segments, extra segments, encoded slashes) must
 * be allowed exactly when the route serving it is granted, judged by the IAM
 * evaluator on the rendered documents; a grant IAM cannot express exactly is
 * refused before anything registers.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { apiArn, apiResourcePolicy, rolePermissionPolicy } from "../components/aws/policy-documents";
import { routeGrant } from "../components/aws/route-coverage";
import { AccessPlan } from "../components/plan/access-plan";
import { InputError } from "../components/plan/problems";
import { routeKey } from "../components/plan/routes";
import { routeProbes } from "../tools/access/aws-review";
import { decideAll } from "../tools/access/iam-eval";
import { expandApiShorthand } from "../tools/access/rendered";
import { planFor } from "./support/fixtures";

const API_ID = "a1b2c3d4e5";

function registryWith(routes: string[], grants: Record<string, string[]>): any {
    return {
        version: 2,
        environments: { prod: { production: true } },
        api: { routes },
        partners: Object.entries(grants).map(([slug, api], i) => ({
            slug, name: slug, contact: `ops@${slug}.example`,
            identities: { prod: { aws: [`arn:aws:iam::${400000000000 + i}:role/${slug}`] } },
            aws: { api },
        })),
    };
}

/** For every partner and probe path: the evaluator's decision against the routing model's planned one. */
async function mismatches(plan: AccessPlan): Promise<string[]> {
    const probes = routeProbes(plan.routes);
    const resourcePolicy = expandApiShorthand(apiResourcePolicy(plan), plan.stage.aws.region, plan.stage.aws.accountId, API_ID);
    const asks: { what: string; planned: boolean; request: any }[] = [];
    for (const p of plan.partners) {
        const granted = new Set(p.aws.routes.map(routeKey));
        const identity = rolePermissionPolicy(plan, p, API_ID);
        for (const probe of probes) {
            asks.push({
                what: `${p.slug} ${probe.method} ${probe.path} (serves ${routeKey(probe.route)})`,
                planned: granted.has(routeKey(probe.route)),
                request: {
                    principal: p.aws.role!.arn, action: "execute-api:Invoke", resourceAccount: plan.stage.aws.accountId,
                    resource: `${apiArn(plan, API_ID)}/${plan.names.apiStageName}/${probe.method}${probe.path}`,
                    identityPolicies: [identity], resourcePolicy, context: { "aws:CurrentTime": plan.evaluatedAt },
                },
            });
        }
    }
    const decisions = await decideAll(asks.map((a) => a.request));
    return asks.filter((a, i) => (decisions[i] === "Allowed") !== a.planned).map((a, i) => `${a.what}: ${decisions[i]}`);
}

describe("route coverage: exact, on the languages", () => {
    const catalogue = ["GET /reports/{id}", "GET /reports/latest", "GET /reports/{id}/download", "GET /reports/internal/{team}/{file}", "POST /reports"];

    it("keeps a grant of GET /reports/{id}/download away from GET /reports/internal/{team}/download", async () => {
        const plan = planFor("prod", registryWith(catalogue, { downloader: ["GET /reports/{id}/download"], reader: ["GET /reports/{id}"], poster: ["POST /reports"] }));
        const { grant } = routeGrant(plan.routes, plan.partners[0].aws.routes);
        assert.ok(grant.deny.includes("GET/reports/internal/*/*"), JSON.stringify(grant));
        assert.deepEqual(await mismatches(plan), []);
    });

    it("lets a {param} grant reach a value equal to a literal sibling only where that path is the param route's", async () => {
        const plan = planFor("prod", registryWith(catalogue, { reader: ["GET /reports/{id}"] }));
        assert.deepEqual(await mismatches(plan), []);
        const probes = routeProbes(plan.routes).map((p) => `${p.method} ${p.path} -> ${routeKey(p.route)}`);
        assert.ok(probes.includes("GET /reports/latest -> GET /reports/latest"), "a literal route wins its own path");
        assert.ok(probes.includes("GET /reports/a%2Fb -> GET /reports/{id}"), "an encoded slash stays inside one segment");
        assert.ok(probes.includes("GET /reports/internal/download -> GET /reports/{id}/download"), "a parameter equal to a literal segment");
    });

    it("refuses a grant IAM cannot express exactly, naming both routes", () => {
        assert.throws(() => planFor("prod", registryWith(catalogue, { latest: ["GET /reports/latest"] })), (e: InputError) =>
            e.problems.some((p) => p.partner === "latest" && p.field === "aws.api" && /GET \/reports\/latest without GET \/reports\/\{id\}/.test(p.message)));
    });

    it("holds for random catalogues and grants (property, evaluated by the IAM evaluator)", async function () {
        this.timeout(60_000);
        const segment = fc.constantFrom("a", "b", "{p}");
        const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => "/" + s.join("/"));
        const route = fc.tuple(fc.constantFrom("GET", "PUT"), path).map(([m, p]) => `${m} ${p}`);
        const samples = fc.sample(fc.uniqueArray(route, { minLength: 2, maxLength: 6 }).chain((routes) =>
            fc.tuple(fc.constant(routes), fc.subarray(routes, { minLength: 1 }))), { numRuns: 25, seed: 4711 });
        let checked = 0;
        for (const [routes, granted] of samples) {
            let plan: AccessPlan;
            try {
                plan = planFor("prod", registryWith(routes, { p1: granted }));
            } catch (e) {
                // Refused: then the exact rendering really is impossible, i.e. some deny would hit a granted request.
                assert.ok(e instanceof InputError && e.problems.every((p) => /cannot be expressed exactly|one parameter name per position|names a path parameter twice/.test(p.message)), String(e));
                continue;
            }
            assert.deepEqual(await mismatches(plan), [], `routes ${routes.join(", ")}; granted ${granted.join(", ")}`);
            checked++;
        }
        assert.ok(checked >= 10, `only ${checked} samples were renderable`);
    });
});
