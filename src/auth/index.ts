/**
 * Authentication and authorization: AWS Signature Version 4 verification, IAM-style identity policies
 * and event bus resource policies (PutPermission/RemovePermission).
 */
export {
  AUTH_ERROR_TYPES,
  AccessDeniedError,
  AuthError,
  AuthErrorCode,
  IncompleteSignatureError,
  InvalidPermissionError,
  InvalidSignatureError,
  MalformedPolicyError,
  MissingAuthenticationTokenError,
  PermissionAlreadyExistsError,
  PermissionNotFoundError,
  PolicyLengthExceededError,
  UnrecognizedClientError,
  type AuthAwsType,
  type InvalidSignatureCode,
} from "./errors.js";
export type { RequestHeaders } from "./authorization-header.js";
export { NodeSha256 } from "./canonical-request.js";
export {
  DEFAULT_MAX_SKEW_MS,
  claimedAccessKey,
  verifySignature,
  type CredentialLookup,
  type SignedRequest,
  type VerifiedSignature,
  type VerifyOptions,
} from "./sigv4.js";
export { POLICY_VERSIONS, type PolicyVersion } from "./policy-document.js";
export { PASS_ROLE_ACTION, isRoleOf } from "./roles.js";
export { evaluate, parsePolicy, type Decision, type ParsedPolicy, type ParsedStatement } from "./policy.js";
export {
  MAX_RESOURCE_POLICY_BYTES,
  ORG_CONDITION,
  PUT_EVENTS_ACTION,
  addPermission,
  evaluateResourcePolicy,
  judgeResourcePolicy,
  parseResourcePolicy,
  policyAdmits,
  policyTests,
  removePermission,
  validateResourcePolicy,
  withStatement,
  type PermissionCondition,
  type PermissionGrant,
  type ResourceJudgement,
  type ResourceRequestContext,
} from "./resource-policy.js";
