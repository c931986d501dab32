import { strict as assert } from "node:assert";
import { Value } from "@sinclair/typebox/value";
import { awsConfigLines, fillPath, kitCommands, KitSchema, parseKit, readKit, routeMatches } from "../src/kit";
import { PartnerAccessError } from "../src/errors";
import { acmeKit, writeKit } from "./support/kits";

const problemsOf = (data: unknown): string => {
    try {
        parseKit(data, "kit.json");
    } catch (e) {
        assert.ok(e instanceof PartnerAccessError);
        return `${e.message}\n${e.fix}`;
    }
    assert.fail("the kit was accepted");
};

describe("kit", () => {
    it("accepts the kit the kit builder writes and reads it from a file", () => {
        const kit = acmeKit();
        assert.ok(Value.Check(KitSchema, kit));
        assert.deepEqual(readKit(writeKit(kit)), kit);
    });

    it("names every wrong field with what was expected", () => {
        const kit: any = acmeKit();
        kit.aws.accountId = "1234";
        kit.aws.api.routes.push("FETCH /orders");
        delete kit.partner.slug;
        kit.mustBeRefused.push({ cloud: "aws", kind: "bucket", bucket: "b" });
        const text = problemsOf(kit);
        assert.match(text, /\/aws\/accountId: expected a 12-digit AWS account id, got "1234"/);
        assert.match(text, /\/aws\/api\/routes\/3: expected a route such as "GET \/orders\/\{orderId\}", got "FETCH \/orders"/);
        assert.match(text, /\/partner\/slug: is required/);
        assert.match(text, /\/mustBeRefused\/6: expected \{ cloud: "aws"\|"gcp", kind: "list"/);
        assert.match(text, /use the kit file exactly as the operator sent it/);
    });

    it("refuses API URLs that are not https, in the schema and in validation alike", () => {
        for (const url of ["http://abc123.execute-api.eu-west-1.amazonaws.com/stag", "http://127.0.0.1:8443", "HTTP://api.example.com",
            "https://user:pw@api.example.com", "https://", "ftp://api.example.com"]) {
            const kit: any = acmeKit();
            kit.aws.api.invokeUrl = url;
            kit.gcp.api.url = url;
            assert.ok(!Value.Check(KitSchema, kit), `the schema accepts ${url}`);
            const text = problemsOf(kit);
            assert.match(text, /\/aws\/api\/invokeUrl: expected an https URL \(signed requests and tokens are only sent over TLS\)/, url);
            assert.match(text, /\/gcp\/api\/url: expected an https URL/, url);
        }
        const kit = acmeKit();
        kit.aws!.api!.invokeUrl = "https://abc123.execute-api.eu-west-1.amazonaws.com/stag";
        kit.gcp!.api!.url = "https://partner-api-stag.endpoints.example.cloud.goog";
        assert.ok(Value.Check(KitSchema, kit));
        assert.deepEqual(parseKit(kit), kit);
    });

    it("refuses a preview kit unless told, and says why", () => {
        const kit = { ...acmeKit(), source: "preview" };
        assert.match(problemsOf(kit), /comes from a preview.*mocked ids[\s\S]*deployed stack/);
        assert.equal(parseKit(kit, "kit.json", { allowPreview: true }).source, "preview");
    });

    it("tells a partner with a newer kit to upgrade the client", () => {
        assert.match(problemsOf({ ...acmeKit(), kitVersion: 2 }), /kit version 2; this client reads version 1[\s\S]*upgrade/);
    });

    it("explains a file that is not the kit", () => {
        assert.throws(() => readKit(writeKit("x").replace(/$/, ".missing")), /cannot read the kit/);
        const md = writeKit("ignored", "kit.md");
        require("node:fs").writeFileSync(md, "# Acme — partner-access stag\n");
        assert.throws(() => readKit(md), (e: PartnerAccessError) => /is not JSON/.test(e.message) && /not the .md one/.test(e.fix));
    });

    it("rejects times that are not times and assume-role without a role", () => {
        const kit: any = acmeKit();
        kit.expires = "2025-13-45T99:00:00Z";
        delete kit.aws.role;
        delete kit.aws.webIdentity;
        const text = problemsOf(kit);
        assert.match(text, /\/expires: not a valid time/);
        assert.match(text, /\/aws\/role: connect is assume-role but the kit names no role/);
    });

    it("gives the client command lines and the ~/.aws/config profile for a kit", () => {
        const lines = kitCommands(acmeKit(), { kitPath: "/etc/acme/kit.json" });
        assert.ok(lines.includes("npx -y @partner-access/client check --kit /etc/acme/kit.json"));
        assert.ok(lines.includes("npx -y @partner-access/client call --kit /etc/acme/kit.json --cloud aws -X GET /orders"));
        assert.ok(lines.includes("npx -y @partner-access/client call --kit /etc/acme/kit.json --cloud gcp -X GET /orders"));
        assert.ok(lines.includes("npx -y @partner-access/client credentials --kit /etc/acme/kit.json"));
        assert.deepEqual(awsConfigLines(acmeKit(), { kitPath: "/etc/acme/kit.json" }), [
            "[profile partner-access-stag]",
            "credential_process = npx -y @partner-access/client credentials --kit /etc/acme/kit.json",
            "region = eu-west-1",
        ]);
        const kit = acmeKit();
        delete kit.aws!.webIdentity;
        delete kit.gcp;
        assert.ok(!kitCommands(kit).some((l) => l.includes("credentials") || l.includes("--cloud gcp")));
        assert.deepEqual(awsConfigLines(kit), []);
    });

    it("quotes paths with parameters so a shell keeps them", () => {
        const kit = acmeKit();
        kit.aws!.api!.routes = ["GET /orders/{orderId}"];
        assert.ok(kitCommands(kit).includes("npx -y @partner-access/client call --kit kit.json --cloud aws -X GET '/orders/{orderId}'"));
    });

    it("matches concrete paths to granted routes and fills samples", () => {
        assert.ok(routeMatches("GET /orders/{orderId}", "get", "/orders/42"));
        assert.ok(!routeMatches("GET /orders/{orderId}", "GET", "/orders/42/items"));
        assert.ok(!routeMatches("GET /orders/{orderId}", "POST", "/orders/42"));
        assert.ok(routeMatches("GET /orders", "GET", "/orders?limit=1"));
        assert.equal(fillPath("/orders/{orderId}/items/{itemId}"), "/orders/partner-access-check/items/partner-access-check");
    });
});
