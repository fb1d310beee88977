/**
 * Ingestion: PutEvents validation, envelopes and matching, and the group commit that makes accepted
 * events durable before the reply.
 */
export { AccountRate } from "./account-rate.js";
export { GroupCommitter, MAX_COMMITS_IN_FLIGHT, MAX_GROUP_RECORDS } from "./group-commit.js";
export {
  MAX_ENTRIES_SIZE,
  PutEventsRequestError,
  busOf,
  entrySize,
  forwardedRecord,
  putEvents,
  type EntryResult,
  type EventConditions,
  type PutEventsContext,
  type PutEventsEntry,
} from "./put-events.js";
