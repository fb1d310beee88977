/**
 * The protocol layer alone: AWS JSON 1.1 (EventBridge) and SQS's JSON 1.0 and query protocols,
 * requests in and responses out, errors in each protocol's shape. This is what the front thread
 * loads; the operations, the delivery engine and the store stay on the main thread (api/index.ts
 * exports all of it).
 */
export { ApiError, isAwsShaped } from "../errors.js";
export type { Input } from "../input.js";
export {
  EVENTS_TARGET_PREFIX,
  header,
  serveAwsJson,
  type OperationTable,
  type ProtocolDependencies,
  type RawRequest,
  type RawResponse,
} from "../protocol.js";
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
} from "../sqs/index.js";
