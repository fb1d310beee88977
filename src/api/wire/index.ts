/**
 * The protocol layer alone: AWS JSON 1.1 (EventBridge) and SQS's JSON 1.0 and query protocols,
 * requests in and responses out, errors in each protocol's shape. This is what the front thread
 * loads; the operations, the delivery engine and the store stay on the main thread (api/index.ts
 * exports all of it).
 */
export { ApiError, isAwsShaped } from "../errors.js";
export type { Input } from "../input.js";
export * from "../protocol.js";
export * from "../sqs/index.js";
