/** Identity semantics, shared with the policy pack (see identifiers.ts for why they live there). */
export * from "../../policy-pack/policies/identities";
