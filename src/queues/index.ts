/**
 * SQS-compatible queues: attributes, messages and their digests, receipt handles, long polling, move
 * tasks, and the service that puts them together over the store.
 */
export {
  ATTRIBUTE_NAMES,
  MAX_MESSAGE_BYTES,
  QUEUE_ARN,
  parseQueueArn,
  parseRedrivePolicy,
} from "./attributes.js";
export {
  QueueError,
  SQS_ERRORS,
  invalidValue,
  missingParameter,
  noSuchQueue,
  storeErrorOf,
  type SqsErrorCode,
} from "./errors/index.js";
export {
  md5OfAttributes,
  md5OfBody,
  setOwn,
  type MessageAttribute,
  type MessageAttributes,
} from "./messages.js";
export { MoveTasks, type MoveTaskReport, type QueueAccess } from "./move-tasks.js";
export {
  MAX_PERMISSION_ACTIONS,
  OWNER_ONLY_ACTIONS,
  SHAREABLE_ACTIONS,
  type PermissionRequest,
} from "./permissions.js";
export { COUNT_STEP } from "./counts.js";
export { DEFAULT_MAX_IN_FLIGHT } from "./in-flight.js";
export { ReceiptCodec } from "./receipts.js";
export { ReceiveRoom } from "./receive-room.js";
export {
  DEDUPLICATION_MS,
  MAX_IN_FLIGHT_MS,
  MAX_TAGS,
  QueueService,
  type EntryOutcome,
  type QueueServiceOptions,
  type ReceiveRequest,
  type ReceivedMessage,
  type Sender,
  type SentMessage,
} from "./service.js";
