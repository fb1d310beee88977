/**
 * Reading SQS operation input: members checked for presence and JSON type, each failure in SQS's
 * words (MissingParameter, MalformedInput, InvalidParameterValue).
 */
import { QueueError, invalidValue, missingParameter, setOwn } from "../../queues/index.js";
import type { Input } from "../input.js";

/** A required string member (non-empty). */
export function requiredText(input: Input, name: string): string {
  const v = input[name];
  if (v === undefined || v === null || v === "") throw missingParameter(name);
  if (typeof v !== "string") throw new QueueError("MalformedInput", `${name} must be a string.`);
  return v;
}

/** An optional string member. */
export function optionalText(input: Input, name: string): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new QueueError("MalformedInput", `${name} must be a string.`);
  return v;
}

/** An optional integer member within bounds; `reason` words the range as SQS does. */
export function optionalInt(
  input: Input,
  name: string,
  min: number,
  max: number,
  reason: string,
): number | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new QueueError("MalformedInput", `${name} must be an integer.`);
  }
  if (v < min || v > max) throw invalidValue(name, v, reason);
  return v;
}

/** An optional list of strings. */
export function stringList(input: Input, name: string): string[] {
  const v = input[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new QueueError("MalformedInput", `${name} must be a list of strings.`);
  }
  return v;
}

/** An optional map of strings (numbers and booleans are taken as their text, as SQS does). */
export function stringMap(input: Input, name: string): Record<string, string> {
  const v = input[name];
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new QueueError("MalformedInput", `${name} must be a map of strings.`);
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x === "string") setOwn(out, k, x);
    else if (typeof x === "number" || typeof x === "boolean") setOwn(out, k, String(x));
    else throw new QueueError("MalformedInput", `${name}.${k} must be a string.`);
  }
  return out;
}

/** Batch entry ids: 1–80 of A-Z, a-z, 0-9, `-` and `_`. */
const ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * The entries of a batch request: 1 to 10 objects with distinct, well-formed ids.
 * `entryName` is SQS's name of the entry type (`SendMessageBatchRequestEntry`).
 */
export function batchEntries(input: Input, entryName: string): Array<Readonly<Record<string, unknown>>> {
  const v = input.Entries;
  // The query protocol writes an empty list as `Entries=` (what AWS CLI 2 sends for --entries '[]').
  if (v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0)) {
    throw new QueueError(
      "AWS.SimpleQueueService.EmptyBatchRequest",
      `There should be at least one ${entryName} in the request.`,
    );
  }
  if (!Array.isArray(v)) throw new QueueError("MalformedInput", "Entries must be a list.");
  if (v.length > 10) {
    throw new QueueError(
      "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
      `Maximum number of entries per request are 10. You have sent ${v.length}.`,
    );
  }
  const seen = new Set<string>();
  v.forEach((e: unknown, i) => {
    if (e === null || typeof e !== "object" || Array.isArray(e)) {
      throw new QueueError("MalformedInput", `${entryName}.${i + 1} must be a structure.`);
    }
    const id = (e as Record<string, unknown>).Id;
    // An absent Id is a missing parameter; an empty one is an invalid id, as SQS answers it.
    if (id === undefined || id === null) throw missingParameter(`${entryName}.${i + 1}.Id`);
    if (typeof id !== "string" || !ENTRY_ID.test(id)) {
      throw new QueueError(
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
      );
    }
    if (seen.has(id)) {
      throw new QueueError("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", `Id ${id} repeated.`);
    }
    seen.add(id);
  });
  return v as Array<Readonly<Record<string, unknown>>>;
}
