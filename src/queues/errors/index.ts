/**
 * The errors of the queue service, in SQS's own vocabulary: each has the model's shape name (the
 * `__type` of the JSON protocol), the query-compatible code clients read (`x-amzn-query-error`) and an
 * HTTP status. `SQS_ERRORS` is the catalog; docs/errors.md lists it and test/error-catalog.test.ts keeps
 * the two in step.
 *
 * A folder of its own, imported by nothing heavier than itself, so that the protocol layer on the
 * front thread can name these errors without loading the queue service (and the store under it).
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html
 */

/** Every error the SQS API of Busbar answers: query-compatible code → model shape and HTTP status. */
export const SQS_ERRORS = {
  "AWS.SimpleQueueService.NonExistentQueue": { shape: "QueueDoesNotExist", status: 400 },
  QueueAlreadyExists: { shape: "QueueNameExists", status: 400 },
  InvalidAttributeName: { shape: "InvalidAttributeName", status: 400 },
  InvalidAttributeValue: { shape: "InvalidAttributeValue", status: 400 },
  InvalidParameterValue: { shape: "InvalidParameterValue", status: 400 },
  MissingParameter: { shape: "MissingParameter", status: 400 },
  MalformedInput: { shape: "MalformedInput", status: 400 },
  InvalidMessageContents: { shape: "InvalidMessageContents", status: 400 },
  ReceiptHandleIsInvalid: { shape: "ReceiptHandleIsInvalid", status: 404 },
  "AWS.SimpleQueueService.MessageNotInflight": { shape: "MessageNotInflight", status: 400 },
  "AWS.SimpleQueueService.EmptyBatchRequest": { shape: "EmptyBatchRequest", status: 400 },
  "AWS.SimpleQueueService.TooManyEntriesInBatchRequest": {
    shape: "TooManyEntriesInBatchRequest",
    status: 400,
  },
  "AWS.SimpleQueueService.BatchEntryIdsNotDistinct": { shape: "BatchEntryIdsNotDistinct", status: 400 },
  "AWS.SimpleQueueService.InvalidBatchEntryId": { shape: "InvalidBatchEntryId", status: 400 },
  "AWS.SimpleQueueService.BatchRequestTooLong": { shape: "BatchRequestTooLong", status: 400 },
  "AWS.SimpleQueueService.PurgeQueueInProgress": { shape: "PurgeQueueInProgress", status: 403 },
  "AWS.SimpleQueueService.UnsupportedOperation": { shape: "UnsupportedOperation", status: 400 },
  OverLimit: { shape: "OverLimit", status: 403 },
  ResourceNotFoundException: { shape: "ResourceNotFoundException", status: 404 },
  InvalidAddress: { shape: "InvalidAddress", status: 404 },
  AccessDenied: { shape: "AccessDeniedException", status: 403 },
  MissingAuthenticationToken: { shape: "MissingAuthenticationToken", status: 403 },
  IncompleteSignature: { shape: "IncompleteSignature", status: 400 },
  SignatureDoesNotMatch: { shape: "SignatureDoesNotMatch", status: 403 },
  RequestExpired: { shape: "RequestExpired", status: 400 },
  InvalidClientTokenId: { shape: "InvalidClientTokenId", status: 403 },
  InvalidAction: { shape: "InvalidAction", status: 400 },
  UnsupportedMediaType: { shape: "UnsupportedMediaType", status: 415 },
  NotImplemented: { shape: "NotImplemented", status: 501 },
  RequestEntityTooLarge: { shape: "RequestEntityTooLarge", status: 413 },
  RequestTimeout: { shape: "RequestTimeout", status: 408 },
  ServiceUnavailable: { shape: "ServiceUnavailable", status: 503 },
  InternalError: { shape: "InternalError", status: 500 },
} as const;

/** A query-compatible SQS error code. */
export type SqsErrorCode = keyof typeof SQS_ERRORS;

/** An error answered to an SQS client. */
export class QueueError extends Error {
  override readonly name = "QueueError";
  /** The model's shape name (`__type` is `com.amazonaws.sqs#<shape>`). */
  readonly shape: string;
  readonly httpStatus: number;

  constructor(
    readonly code: SqsErrorCode,
    message: string,
  ) {
    super(message);
    this.shape = SQS_ERRORS[code].shape;
    this.httpStatus = SQS_ERRORS[code].status;
  }
}

/**
 * The SQS error of a store's failure or refusal that reached the protocol layer (matched by name, so
 * that the protocol layer loads no store): a failure says what failed (InternalError, `The store
 * failed: SQLITE_IOERR`), as EventBridge's do; a node low on disk refuses (ServiceUnavailable, which
 * the SDKs retry), and a disk full to its last byte (the store's 503, `SQLITE_FULL`) is answered the
 * same way. Undefined for anything else.
 */
export function storeErrorOf(e: unknown): QueueError | undefined {
  if (!(e instanceof Error)) return undefined;
  if (e.name === "StoreFailureError")
    return new QueueError(
      (e as { httpStatus?: unknown }).httpStatus === 503 ? "ServiceUnavailable" : "InternalError",
      e.message,
    );
  if (e.name === "DiskLowError") return new QueueError("ServiceUnavailable", e.message);
  return undefined;
}

/** `Value <v> for parameter <name> is invalid. Reason: <reason>` (InvalidParameterValue), as SQS words it. */
export function invalidValue(name: string, value: unknown, reason: string): QueueError {
  const shown =
    value === undefined ? "" : ` ${clip(typeof value === "string" ? value : JSON.stringify(value))}`;
  return new QueueError(
    "InvalidParameterValue",
    `Value${shown} for parameter ${name} is invalid. Reason: ${reason}`,
  );
}

/** `The request must contain the parameter <name>.` (MissingParameter). */
export function missingParameter(name: string): QueueError {
  return new QueueError("MissingParameter", `The request must contain the parameter ${name}.`);
}

/** The queue does not exist. */
export function noSuchQueue(): QueueError {
  return new QueueError("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.");
}

/** Shortens a value echoed in a message. */
export function clip(v: string): string {
  return v.length > 128 ? `${v.slice(0, 128)}…` : v;
}
