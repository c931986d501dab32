/** @partner-access/client: the partner side of partner-access, as a library. */
export { KitSchema, Kit, RefusalProbe, readKit, parseKit, kitProblems, kitCommands, awsConfigLines, parseRoute, fillPath, routeMatches } from "./kit";
export { awsCredentialProcess, webIdentityCredentials, awsAccess, AwsAccess, AwsOptions, AwsVia, CredentialProcessOutput, principalOf } from "./aws";
export { partnerFetch, PartnerFetchInit, explainResponse, Cloud } from "./fetch";
export { runCheck, CheckLine, CheckOptions, CheckResult, formatLine, formatSummary, probeKey } from "./check";
export { googleIdToken, signJwt, endpointsClaims, GoogleOptions } from "./google";
export { PartnerAccessError, Diagnosis } from "./errors";
