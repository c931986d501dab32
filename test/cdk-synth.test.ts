/**
 * tools/cdk-synth.ts and the AWS-only registry `bench --with-cdk` compares on.
 * No CDK here (aws-cdk-lib is no dependency) and no timing: the comparison
 * itself lives in `npx partner-access bench --with-cdk`.
 */
import { strict as assert } from "assert";
import * as YAML from "yaml";
import { awsOnlyRegistryYaml } from "../tools/bench";
import { run } from "../tools/cdk-synth";
import { generateRegistry } from "../tools/generate-registry";
import { rawPlanFor } from "./support/fixtures";

describe("cdk-synth (bench --with-cdk)", () => {
    const quiet = <T>(f: () => T): T => {
        const error = console.error;
        console.error = () => undefined;
        try { return f(); } finally { console.error = error; }
    };

    it("refuses a bad command line, and a good one without aws-cdk-lib, as usage (exit 2), before any work", function () {
        let cdkInstalled = true;
        try { require.resolve("aws-cdk-lib"); } catch { cdkInstalled = false; }
        assert.equal(quiet(() => run(["--stack", "prod"])), 2);
        assert.equal(quiet(() => run(["--stack", "prod", "--registry", "r.yaml", "--at", "someday", "--out", "x"])), 2);
        assert.equal(quiet(() => run(["--stacks", "prod"])), 2);
        if (cdkInstalled) this.skip();
        assert.equal(quiet(() => run(["--stack", "prod", "--registry", "partners.yaml", "--at", "2026-12-01T00:00:00Z", "--out", "out"])), 2);
    });

    it("the AWS-only registry grants exactly the same AWS access, and nothing on GCP or outbound", () => {
        const full = rawPlanFor("prod", generateRegistry({ count: 100 }));
        const awsOnly = rawPlanFor("prod", YAML.parse(awsOnlyRegistryYaml(100)));
        assert.deepEqual(awsOnly.partners.map((p) => p.aws), full.partners.map((p) => p.aws));
        assert.ok(full.partners.some((p) => p.gcp.routes.length > 0 || p.gcp.storageRoles.length > 0) && full.outbound.length > 0);
        assert.ok(awsOnly.partners.every((p) => p.gcp.routes.length === 0 && p.gcp.storageRoles.length === 0));
        assert.deepEqual(awsOnly.outbound, []);
    });
});
