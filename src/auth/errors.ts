/**
 * Errors raised by authentication (SigV4) and authorization (identity and bus resource policies). Each
 * carries a stable `code`, the AWS error `__type` it maps to, an HTTP status and `retryable`, so the API
 * layer never recognises an error by its message text. No message ever contains a secret access key, a
 * signing key or a computed signature.
 *
 * HTTP statuses: the AWS JSON 1.0/1.1 services (DynamoDB, Kinesis, CloudWatch Logs, Cognito, EventBridge)
 * answer authentication failures with 400 and these `__type`s; only REST services such as Lambda and API
 * Gateway use 403. Busbar follows the JSON services.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html
 */

/** Stable codes of authentication and authorization errors. */
export const AuthErrorCode = {
  MissingAuthenticationToken: "MissingAuthenticationToken",
  IncompleteSignature: "IncompleteSignature",
  SignatureDoesNotMatch: "SignatureDoesNotMatch",
  SignatureExpired: "SignatureExpired",
  SignatureNotYetCurrent: "SignatureNotYetCurrent",
  CredentialScopeMismatch: "CredentialScopeMismatch",
  ContentSha256Mismatch: "ContentSha256Mismatch",
  UnsignedPayload: "UnsignedPayloadNotAccepted",
  UnrecognizedClient: "UnrecognizedClient",
  AccessDenied: "AccessDenied",
  MalformedPolicy: "MalformedPolicyDocument",
  InvalidPermission: "InvalidPermission",
  PermissionAlreadyExists: "PermissionAlreadyExists",
  PermissionNotFound: "PermissionNotFound",
  PolicyLengthExceeded: "PolicyLengthExceeded",
} as const;
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** Every AWS `__type` these errors map to, with the HTTP status Busbar answers it with. */
export const AUTH_ERROR_TYPES = {
  MissingAuthenticationTokenException: 400,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 400,
  UnrecognizedClientException: 400,
  AccessDeniedException: 400,
  ValidationException: 400,
  ResourceNotFoundException: 400,
  PolicyLengthExceededException: 400,
} as const;
export type AuthAwsType = keyof typeof AUTH_ERROR_TYPES;

/** Base class of every error in this folder. Never retryable: retrying the same request fails the same way. */
export abstract class AuthError extends Error {
  abstract readonly code: AuthErrorCode;
  abstract readonly awsType: AuthAwsType;
  readonly retryable = false;

  /** The HTTP status of {@link awsType}. */
  get httpStatus(): number {
    return AUTH_ERROR_TYPES[this.awsType];
  }
}

/** No `Authorization` header (query-string/presigned authentication is not supported). */
export class MissingAuthenticationTokenError extends AuthError {
  override readonly name = "MissingAuthenticationTokenError";
  readonly code = AuthErrorCode.MissingAuthenticationToken;
  readonly awsType = "MissingAuthenticationTokenException";

  constructor(detail?: string) {
    super(`Request is missing Authentication Token${detail === undefined ? "" : `: ${detail}`}`);
  }
}

/** A malformed `Authorization` header, credential scope or date header. */
export class IncompleteSignatureError extends AuthError {
  override readonly name = "IncompleteSignatureError";
  readonly code = AuthErrorCode.IncompleteSignature;
  readonly awsType = "IncompleteSignatureException";
}

/** Codes of {@link InvalidSignatureError}. */
export type InvalidSignatureCode =
  | typeof AuthErrorCode.SignatureDoesNotMatch
  | typeof AuthErrorCode.SignatureExpired
  | typeof AuthErrorCode.SignatureNotYetCurrent
  | typeof AuthErrorCode.CredentialScopeMismatch
  | typeof AuthErrorCode.ContentSha256Mismatch
  | typeof AuthErrorCode.UnsignedPayload;

/**
 * A well-formed signature that is not valid: it does not match, lies outside the allowed clock skew, is
 * scoped to another date, region or service, or signs a payload other than the body.
 */
export class InvalidSignatureError extends AuthError {
  override readonly name = "InvalidSignatureError";
  readonly awsType = "InvalidSignatureException";

  constructor(
    readonly code: InvalidSignatureCode,
    message: string,
  ) {
    super(message);
  }
}

/** The signature's access key is unknown. */
export class UnrecognizedClientError extends AuthError {
  override readonly name = "UnrecognizedClientError";
  readonly code = AuthErrorCode.UnrecognizedClient;
  readonly awsType = "UnrecognizedClientException";

  constructor() {
    super("The security token included in the request is invalid.");
  }
}

/** A policy denies the action, explicitly or because nothing allows it. */
export class AccessDeniedError extends AuthError {
  override readonly name = "AccessDeniedError";
  readonly code = AuthErrorCode.AccessDenied;
  readonly awsType = "AccessDeniedException";

  constructor(
    readonly principal: string,
    readonly action: string,
    readonly resource: string,
    readonly decision: "ExplicitDeny" | "ImplicitDeny",
  ) {
    super(
      `User: ${principal} is not authorized to perform: ${action} on resource: ${resource} ` +
        (decision === "ExplicitDeny"
          ? "with an explicit deny in a policy"
          : `because no policy allows the ${action} action`),
    );
  }
}

/** A policy document that is not valid JSON or breaks a rule; `path` names the offending part. */
export class MalformedPolicyError extends AuthError {
  override readonly name = "MalformedPolicyError";
  readonly code = AuthErrorCode.MalformedPolicy;
  readonly awsType = "ValidationException";

  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Policy document is not valid${path === "" ? "" : ` at ${path}`}: ${reason}`);
  }
}

/** A PutPermission argument that breaks a rule; `field` names the parameter. */
export class InvalidPermissionError extends AuthError {
  override readonly name = "InvalidPermissionError";
  readonly code = AuthErrorCode.InvalidPermission;
  readonly awsType = "ValidationException";

  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Parameter ${field} is not valid. Reason: ${reason}`);
  }
}

/** PutPermission with a StatementId the bus policy already holds. */
export class PermissionAlreadyExistsError extends AuthError {
  override readonly name = "PermissionAlreadyExistsError";
  readonly code = AuthErrorCode.PermissionAlreadyExists;
  readonly awsType = "ValidationException";

  constructor(readonly statementId: string) {
    super(`Statement with the provided id already exists: ${statementId}`);
  }
}

/** RemovePermission with a StatementId the bus policy does not hold. */
export class PermissionNotFoundError extends AuthError {
  override readonly name = "PermissionNotFoundError";
  readonly code = AuthErrorCode.PermissionNotFound;
  readonly awsType = "ResourceNotFoundException";

  constructor(readonly statementId: string) {
    super(`Statement with the provided id does not exist: ${statementId}`);
  }
}

/** A bus policy that would grow past its size limit. */
export class PolicyLengthExceededError extends AuthError {
  override readonly name = "PolicyLengthExceededError";
  readonly code = AuthErrorCode.PolicyLengthExceeded;
  readonly awsType = "PolicyLengthExceededException";

  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(`The event bus policy is too long: ${length} bytes, the limit is ${limit} bytes.`);
  }
}
