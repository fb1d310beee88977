/**
 * The APIs: EventBridge over the AWS JSON 1.1 protocol and SQS over AWS JSON 1.0 — errors, input
 * checks, the operations, and the protocol handlers.
 */
export { API_ERRORS, ApiError, isAwsShaped, type ApiErrorType, type AwsShapedError } from "./errors.js";
export type { Input } from "./input.js";
export { parseQueueUrl, sqsOperations } from "./sqs/operations.js";
export { localSqsOperations } from "./sqs/local.js";
export { eventBridgeOperations, type Caller, type Operation, type OperationContext } from "./events/index.js";
export {
  EVENTS_TARGET_PREFIX,
  header,
  serveAwsJson,
  type OperationTable,
  type ProtocolDependencies,
  type RawRequest,
  type RawResponse,
} from "./protocol.js";
export {
  SQS_TARGET_PREFIX,
  isSqsQueryRequest,
  serveSqs,
  sqsAuthFailure,
  sqsErrorResponse,
  sqsQueryErrorResponse,
  type BoundSqsOperation,
  type SqsCaller,
  type SqsDependencies,
} from "./sqs/index.js";
