import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import * as YAML from "yaml";
import { ROOT, sampleRegistryObject } from "./support/fixtures";
import { generateRegistry } from "../tools/generate-registry";

describe("registry JSON Schema (for editors)", () => {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, "partners.schema.json"), "utf8"));
    const validate = new Ajv({ allErrors: true }).compile(schema);

    it("is referenced from the sample registry", () => {
        assert.match(fs.readFileSync(path.join(ROOT, "partners.yaml"), "utf8"), /^# yaml-language-server: \$schema=\.\/partners\.schema\.json$/m);
    });

    it("accepts the sample and a generated registry", () => {
        assert.ok(validate(sampleRegistryObject()), JSON.stringify(validate.errors));
        assert.ok(validate(YAML.parse(YAML.stringify(generateRegistry({ count: 30 })))), JSON.stringify(validate.errors));
    });

    it("flags what an editor should underline: typos, wildcards, bad enums", () => {
        const reg = sampleRegistryObject();
        reg.partners[0].contcat = "x";
        reg.partners[0].identities.prod.aws = ["*"];
        reg.partners[1].aws.files = "admin";
        assert.equal(validate(reg), false);
        const paths = validate.errors!.map((e) => e.instancePath);
        assert.ok(paths.includes("/partners/0"), paths.join());
        assert.ok(paths.includes("/partners/0/identities/prod/aws/0"), paths.join());
        assert.ok(paths.includes("/partners/1/aws/files"), paths.join());
    });
});
