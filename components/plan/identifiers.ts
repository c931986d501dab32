/**
 * Identifier formats live with the policy pack, which must stay publishable on
 * its own (`pulumi policy publish` uploads its folder only); the program uses
 * the same definitions from there.
 */
export * from "../../policy-pack/policies/identifiers";
