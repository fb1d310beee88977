/**
 * Errors the API returns, in the AWS JSON protocol's shape: `{"__type": <awsType>, "message": …}` with
 * an HTTP status. Authentication failures are 400, as the AWS JSON services answer them (see
 * src/auth/errors.ts). One catalog lists every type; test/error-catalog.test.ts keeps the catalog, the docs
 * (docs/errors.md) and the code in step.
 * @see https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization
 */

/** Every error type the EventBridge API of Busbar can return, with its HTTP status. */
export const API_ERRORS = {
  ValidationException: 400,
  ResourceNotFoundException: 400,
  ResourceAlreadyExistsException: 400,
  InvalidEventPatternException: 400,
  LimitExceededException: 400,
  ThrottlingException: 400,
  ConcurrentModificationException: 400,
  ManagedRuleException: 400,
  PolicyLengthExceededException: 400,
  OperationDisabledException: 400,
  AccessDeniedException: 400,
  UnknownOperationException: 400,
  SerializationException: 400,
  MissingAuthenticationTokenException: 400,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 400,
  UnrecognizedClientException: 400,
  RequestEntityTooLargeException: 413,
  RequestTimeoutException: 408,
  UnsupportedMediaTypeException: 415,
  NotImplementedException: 501,
  ServiceUnavailableException: 503,
  InternalException: 500,
} as const;

/** The AWS `__type` of an API error. */
export type ApiErrorType = keyof typeof API_ERRORS;

/** An error answered to a client in the AWS JSON protocol's shape. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly httpStatus: number;
  readonly retryable: boolean;

  constructor(
    readonly awsType: ApiErrorType,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.httpStatus = API_ERRORS[awsType];
    this.retryable = awsType === "ServiceUnavailableException" || awsType === "InternalException";
  }

  /** The JSON body of the error response. */
  toJSON(): { __type: string; message: string } {
    return { __type: this.awsType, message: this.message };
  }
}

/** A ValidationException naming a parameter and what is wrong with it. */
export function invalidParameter(name: string, reason: string): ApiError {
  return new ApiError("ValidationException", `Parameter ${name} is not valid. Reason: ${reason}`);
}

/** Something that names an AWS error type and an HTTP status (errors of other modules). */
export interface AwsShapedError {
  readonly awsType: string;
  readonly httpStatus: number;
  readonly message: string;
}

/**
 * Whether an error in shape is a refusal the server chose (503 ServiceUnavailableException: low on disk,
 * say), not a failure of its own: it is answered and retried, not logged as an internal error. The
 * store's failure on a full disk is answered with the same 503, but it is a failure (logged, and the
 * node unready while it lasts); it is matched by name, so that this layer loads no store.
 */
export function isRefusal(e: AwsShapedError & { readonly name?: string }): boolean {
  return e.awsType === "ServiceUnavailableException" && e.name !== "StoreFailureError";
}

/** Whether a value looks like an error that already carries its AWS shape. */
export function isAwsShaped(e: unknown): e is AwsShapedError & Error {
  return (
    e instanceof Error &&
    typeof (e as Partial<AwsShapedError>).awsType === "string" &&
    typeof (e as Partial<AwsShapedError>).httpStatus === "number"
  );
}
