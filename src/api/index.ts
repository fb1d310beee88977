/**
 * The APIs: EventBridge over the AWS JSON 1.1 protocol and SQS over AWS JSON 1.0 — errors, input
 * checks, the operations, and the protocol handlers.
 */
export { API_ERRORS, type ApiErrorType, type AwsShapedError } from "./errors.js";
export { parseQueueUrl, sqsOperations } from "./sqs/operations.js";
export { localSqsOperations } from "./sqs/local.js";
export { eventBridgeOperations, type Caller, type Operation, type OperationContext } from "./events/index.js";
// The protocol layer, which the front thread loads alone (api/wire).
export * from "./wire/index.js";
