/**
 * The CEL evaluation of Google's IAM Conditions and Workload Identity
 * mappings lives in the policy pack (policy-pack/policies/cel.ts), which must
 * stay self-contained to be published: defined once there, used here by the
 * access matrix.
 */
export * from "../../policy-pack/policies/cel";
