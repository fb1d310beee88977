/**
 * The EventBridge API over the AWS JSON 1.1 protocol: errors, input checks, the operations, and the
 * protocol handler.
 */
export { API_ERRORS, ApiError, isAwsShaped, type ApiErrorType, type AwsShapedError } from "./errors.js";
export { eventBridgeOperations, type Caller, type Operation, type OperationContext } from "./events/index.js";
export {
  EVENTS_TARGET_PREFIX,
  serveAwsJson,
  type ProtocolDependencies,
  type RawRequest,
  type RawResponse,
} from "./protocol.js";
