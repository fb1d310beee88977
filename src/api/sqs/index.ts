/**
 * The SQS API over the AWS JSON 1.0 protocol: the protocol layer, which is all a front thread loads.
 * The operations (operations.ts, local.ts) are exported by the api folder's own index.
 */
export type { SqsCaller, SqsContext, SqsOperation } from "./context.js";
export {
  SQS_TARGET_PREFIX,
  isQueryGet,
  isSqsQueryRequest,
  serveSqs,
  sqsAuthFailure,
  sqsErrorResponse,
  sqsQueryErrorResponse,
  type BoundSqsOperation,
  type SqsDependencies,
} from "./protocol.js";
