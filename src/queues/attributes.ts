/**
 * Queue attributes: which names exist, which a request may set, their defaults, and the validation of
 * each value as SQS documents it (numbers in ranges, booleans, redrive and redrive-allow policies,
 * FIFO-only attributes). Values stay SQS's strings throughout.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
 */
import { parseResourcePolicy } from "../auth/index.js";
import { QueueError, invalidValue } from "./errors/index.js";
import { allowedText } from "./text.js";

/** The largest message SQS accepts (1 MiB since 2025), and the default MaximumMessageSize. */
export const MAX_MESSAGE_BYTES = 1_048_576;

/** Integer attributes: [min, max, default]. */
const INTEGER_ATTRIBUTES: Readonly<Record<string, readonly [number, number, number | undefined]>> = {
  DelaySeconds: [0, 900, 0],
  MaximumMessageSize: [1024, MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES],
  MessageRetentionPeriod: [60, 1_209_600, 345_600],
  ReceiveMessageWaitTimeSeconds: [0, 20, 0],
  VisibilityTimeout: [0, 43_200, 30],
  KmsDataKeyReusePeriodSeconds: [60, 86_400, undefined],
};

/** Attributes only FIFO queues have. */
const FIFO_ONLY = new Set([
  "FifoQueue",
  "ContentBasedDeduplication",
  "DeduplicationScope",
  "FifoThroughputLimit",
]);

/** Every attribute a request may set. */
const SETTABLE = new Set([
  ...Object.keys(INTEGER_ATTRIBUTES),
  "Policy",
  "RedrivePolicy",
  "RedriveAllowPolicy",
  "KmsMasterKeyId",
  "SqsManagedSseEnabled",
  ...FIFO_ONLY,
]);

/** Attributes that are computed, never set. */
export const COMPUTED_ATTRIBUTES = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
  "CreatedTimestamp",
  "LastModifiedTimestamp",
  "QueueArn",
] as const;

/** Every name GetQueueAttributes knows (besides `All`). */
export const ATTRIBUTE_NAMES: ReadonlySet<string> = new Set([...SETTABLE, ...COMPUTED_ATTRIBUTES]);

/** A queue's redrive policy, parsed. */
export interface RedrivePolicy {
  readonly deadLetterTargetArn: string;
  readonly maxReceiveCount: number;
}

/** An SQS queue ARN: `arn:aws:sqs:<region>:<12-digit account>:<name>`. */
export const QUEUE_ARN = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/;

/** Account and name of a queue ARN, or undefined when it is not one. */
export function parseQueueArn(arn: string): { region: string; accountId: string; name: string } | undefined {
  const m = QUEUE_ARN.exec(arn);
  if (m === null) return undefined;
  return { region: m[1] as string, accountId: m[2] as string, name: m[3] as string };
}

/** The attributes of a new queue: defaults, overridden by what the request gives. */
export function defaultAttributes(fifo: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, [, , def]] of Object.entries(INTEGER_ATTRIBUTES)) {
    if (def !== undefined) out[name] = String(def);
  }
  out.SqsManagedSseEnabled = "false";
  if (fifo) {
    out.FifoQueue = "true";
    out.ContentBasedDeduplication = "false";
    out.DeduplicationScope = "queue";
    out.FifoThroughputLimit = "perQueue";
  }
  return out;
}

const invalidAttribute = (name: string, reason?: string): QueueError =>
  new QueueError(
    "InvalidAttributeValue",
    `Invalid value for the parameter ${name}.${reason === undefined ? "" : ` Reason: ${reason}`}`,
  );

function booleanValue(name: string, value: string): string {
  const v = value.toLowerCase();
  if (v !== "true" && v !== "false") throw invalidAttribute(name);
  return v;
}

/**
 * Validates attributes a request sets (CreateQueue, SetQueueAttributes) and returns them normalised.
 * `fifo`: the queue's type. `creating`: FifoQueue may only be given at creation.
 * Checks that need other queues (the dead-letter target exists and has the same type) are the caller's.
 */
export function validateAttributes(
  given: Readonly<Record<string, string>>,
  fifo: boolean,
  creating: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(given)) {
    if (!SETTABLE.has(name)) throw new QueueError("InvalidAttributeName", `Unknown Attribute ${name}.`);
    // Every attribute is written back in replies, in XML too, which cannot carry other characters.
    if (!allowedText(raw))
      throw invalidAttribute(
        name,
        "Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.",
      );
    if (FIFO_ONLY.has(name) && !fifo) {
      throw new QueueError(
        "InvalidAttributeName",
        name === "FifoQueue" || name === "ContentBasedDeduplication"
          ? `Unknown Attribute ${name}.`
          : `You can specify the ${name} only when FifoQueue is set to true.`,
      );
    }
    const range = INTEGER_ATTRIBUTES[name];
    if (range !== undefined) {
      const [min, max] = range;
      if (!/^\d{1,10}$/.test(raw) || Number(raw) < min || Number(raw) > max) throw invalidAttribute(name);
      out[name] = String(Number(raw));
      continue;
    }
    switch (name) {
      case "FifoQueue":
        if (booleanValue(name, raw) !== "true") throw invalidAttribute(name);
        if (!creating) throw invalidAttribute(name, "Modifying queue type is not supported.");
        out[name] = "true";
        break;
      case "ContentBasedDeduplication":
      case "SqsManagedSseEnabled":
        out[name] = booleanValue(name, raw);
        break;
      case "DeduplicationScope":
        if (raw !== "messageGroup" && raw !== "queue") throw invalidAttribute(name);
        out[name] = raw;
        break;
      case "FifoThroughputLimit":
        if (raw !== "perQueue" && raw !== "perMessageGroupId") throw invalidAttribute(name);
        out[name] = raw;
        break;
      case "KmsMasterKeyId":
        if (raw.length > 2048) throw invalidAttribute(name);
        out[name] = raw;
        break;
      case "Policy":
        out[name] = raw === "" ? "" : validPolicy(raw);
        break;
      case "RedrivePolicy":
        out[name] = raw === "" ? "" : JSON.stringify(parseRedrivePolicy(raw));
        break;
      case "RedriveAllowPolicy":
        out[name] = raw === "" ? "" : validRedriveAllowPolicy(raw);
        break;
    }
  }
  if (out.KmsMasterKeyId !== undefined && out.KmsMasterKeyId !== "" && out.SqsManagedSseEnabled === "true") {
    throw new QueueError(
      "InvalidAttributeName",
      "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.",
    );
  }
  return out;
}

/** KmsDataKeyReusePeriodSeconds of a queue encrypted with a KMS key that does not give one (SQS's). */
export const DEFAULT_KMS_DATA_KEY_REUSE_SECONDS = 300;

/**
 * A queue's attributes with one server-side encryption in force, as SQS keeps them: what `changes`
 * turns on replaces the other (a KMS key turns SSE-SQS off; SSE-SQS removes the KMS key and its reuse
 * period), and a KMS key without a reuse period gets the default.
 */
export function withOneEncryption(
  attributes: Readonly<Record<string, string>>,
  changes: Readonly<Record<string, string>>,
): Record<string, string> {
  const out = { ...attributes };
  const kms = out.KmsMasterKeyId !== undefined && out.KmsMasterKeyId !== "";
  if (changes.SqsManagedSseEnabled === "true") {
    delete out.KmsMasterKeyId;
    delete out.KmsDataKeyReusePeriodSeconds;
  } else if (kms) {
    if (changes.KmsMasterKeyId !== undefined) out.SqsManagedSseEnabled = "false";
    out.KmsDataKeyReusePeriodSeconds ??= String(DEFAULT_KMS_DATA_KEY_REUSE_SECONDS);
  }
  return out;
}

/** Checks the combination of a queue's attributes after a change (FIFO throughput needs group scope). */
export function checkCombination(attributes: Readonly<Record<string, string>>): void {
  if (
    attributes.FifoThroughputLimit === "perMessageGroupId" &&
    attributes.DeduplicationScope !== "messageGroup"
  ) {
    throw invalidAttribute(
      "FifoThroughputLimit",
      "perMessageGroupId is allowed only when DeduplicationScope is messageGroup.",
    );
  }
}

/** The largest queue policy, in UTF-8 bytes (set as the `Policy` attribute, or by AddPermission). */
export const MAX_POLICY_BYTES = 8192;

function validPolicy(raw: string): string {
  if (Buffer.byteLength(raw) > MAX_POLICY_BYTES) {
    throw invalidAttribute("Policy", `Policy is longer than ${MAX_POLICY_BYTES} bytes.`);
  }
  try {
    parseResourcePolicy(raw);
  } catch (e) {
    throw invalidAttribute("Policy", (e as Error).message);
  }
  return raw;
}

/**
 * Parses a RedrivePolicy (`{"deadLetterTargetArn": …, "maxReceiveCount": 1–1000}`; the count may be a
 * number or a string of digits).
 */
export function parseRedrivePolicy(raw: string): RedrivePolicy {
  const fail = (reason: string): QueueError => invalidValue("RedrivePolicy", raw, reason);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalidAttribute("RedrivePolicy", "Redrive policy is not a valid JSON map.");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidAttribute("RedrivePolicy", "Redrive policy is not a valid JSON map.");
  }
  const map = value as Record<string, unknown>;
  for (const key of Object.keys(map)) {
    if (key !== "deadLetterTargetArn" && key !== "maxReceiveCount") {
      throw fail("Only following attributes are supported: [maxReceiveCount, deadLetterTargetArn].");
    }
  }
  if (map.deadLetterTargetArn === undefined) {
    throw fail("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.");
  }
  if (map.maxReceiveCount === undefined) {
    throw fail("Redrive policy does not contain mandatory attribute: maxReceiveCount.");
  }
  const arn = map.deadLetterTargetArn;
  if (typeof arn !== "string" || parseQueueArn(arn) === undefined) {
    throw fail("Invalid value for deadLetterTargetArn.");
  }
  const count = map.maxReceiveCount;
  const n =
    typeof count === "number"
      ? count
      : typeof count === "string" && /^\d{1,5}$/.test(count)
        ? Number(count)
        : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw fail(
      `Invalid value for maxReceiveCount: ${JSON.stringify(count)}, valid values are from 1 to 1000 both inclusive.`,
    );
  }
  return { deadLetterTargetArn: arn, maxReceiveCount: n };
}

/** The redrive-allow policy, parsed: who may use this queue as a dead-letter queue. */
export interface RedriveAllowPolicy {
  readonly redrivePermission: "allowAll" | "denyAll" | "byQueue";
  readonly sourceQueueArns: readonly string[];
}

/** Parses a stored (or given) RedriveAllowPolicy. */
export function parseRedriveAllowPolicy(raw: string): RedriveAllowPolicy {
  const unsupported = (): QueueError =>
    invalidAttribute(
      "RedriveAllowPolicy",
      "Amazon SQS can't create the redrive allow policy, as it's in an unsupported format.",
    );
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw unsupported();
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw unsupported();
  const map = value as Record<string, unknown>;
  const permission = map.redrivePermission;
  if (permission !== "allowAll" && permission !== "denyAll" && permission !== "byQueue") throw unsupported();
  const arns = map.sourceQueueArns ?? [];
  if (!Array.isArray(arns) || !arns.every((a) => typeof a === "string" && parseQueueArn(a) !== undefined)) {
    throw unsupported();
  }
  const fail = (reason: string): QueueError => invalidValue("RedriveAllowPolicy", raw, reason);
  if (permission !== "byQueue" && arns.length > 0) {
    throw fail(
      "Amazon SQS can't create the redrive allow policy. To specify one or more source queue ARNs, you must set redrivePermission to byQueue.",
    );
  }
  if (permission === "byQueue" && arns.length === 0) {
    throw fail(
      "Amazon SQS can't create the redrive allow policy. When you specify the byQueue permission type, you must also specify one or more sourceQueueArns values.",
    );
  }
  if (arns.length > 10) {
    throw fail(
      "Amazon SQS can't create the redrive allow policy. The maximum number of source queue ARNs you can specify is 10.",
    );
  }
  return { redrivePermission: permission, sourceQueueArns: arns as string[] };
}

function validRedriveAllowPolicy(raw: string): string {
  parseRedriveAllowPolicy(raw);
  return raw;
}

/** An integer attribute of a queue (its default when unset). */
export function integerAttribute(attributes: Readonly<Record<string, string>>, name: string): number {
  const v = attributes[name];
  if (v !== undefined) return Number(v);
  return INTEGER_ATTRIBUTES[name]?.[2] ?? 0;
}
