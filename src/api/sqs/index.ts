/**
 * The SQS API over the AWS JSON 1.0 protocol.
 */
export type { SqsCaller, SqsContext, SqsOperation } from "./context.js";
export { parseQueueUrl, sqsOperations } from "./operations.js";
export {
  SQS_TARGET_PREFIX,
  isSqsQueryRequest,
  localSqsOperations,
  serveSqs,
  sqsAuthFailure,
  sqsErrorResponse,
  sqsQueryErrorResponse,
  type BoundSqsOperation,
  type SqsDependencies,
} from "./protocol.js";
