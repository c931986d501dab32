/**
 * partner-access guard: `pulumi preview --policy-pack policy-pack`.
 * The policies live in ./policies so the offline runner and tests can use them
 * without starting a policy server (which constructing a PolicyPack does).
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("partner-access-guard", { enforcementLevel: "mandatory", policies });
