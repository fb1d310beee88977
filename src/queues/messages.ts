/**
 * Messages: the checks SQS makes on a body and its attributes, the size they count toward
 * MaximumMessageSize, and the MD5 digests clients verify (of the body, and of the attributes in SQS's
 * length-prefixed encoding).
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */
import { createHash, hash } from "node:crypto";
import { QueueError, clip, invalidValue } from "./errors/index.js";
import { allowedText } from "./text.js";

/** A message attribute as the JSON protocol carries it (binary values in base64). */
export interface MessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

/** Message attributes by name. */
export type MessageAttributes = Readonly<Record<string, MessageAttribute>>;

/**
 * Sets `name` on a map parsed from a request as an own, enumerable property: plain assignment would
 * drop a name such as `__proto__` (a valid attribute or tag name) by setting the prototype instead.
 */
export function setOwn<T>(map: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(map, name, { value, enumerable: true, writable: true, configurable: true });
}

/** Most attributes on one message. */
export const MAX_ATTRIBUTES = 10;

const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\..+)?$/;
/** A number attribute: up to 38 significant digits, with an optional sign, fraction and exponent. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Checks a message body (present, a string, allowed characters) and returns it. */
export function checkBody(body: unknown, parameter = "MessageBody"): string {
  if (body === undefined || body === null || body === "") {
    throw new QueueError("MissingParameter", `The request must contain the parameter ${parameter}.`);
  }
  if (typeof body !== "string") throw new QueueError("MalformedInput", `${parameter} must be a string.`);
  if (!allowedText(body)) {
    throw new QueueError(
      "InvalidMessageContents",
      "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
    );
  }
  return body;
}

/**
 * Checks message attributes and returns them normalised (binary values re-encoded canonically) with
 * the bytes they count toward the message size (name, data type and value of each).
 */
export function checkAttributes(value: unknown): { attributes: MessageAttributes | undefined; size: number } {
  if (value === undefined || value === null) return { attributes: undefined, size: 0 };
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new QueueError("MalformedInput", "MessageAttributes must be a map.");
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return { attributes: undefined, size: 0 };
  if (entries.length > MAX_ATTRIBUTES) {
    throw new QueueError(
      "InvalidParameterValue",
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`,
    );
  }
  const out: Record<string, MessageAttribute> = {};
  let size = 0;
  for (const [name, raw] of entries) {
    checkAttributeName(name);
    const attribute = checkAttribute(name, raw);
    setOwn(out, name, attribute);
    size += Buffer.byteLength(name) + Buffer.byteLength(attribute.DataType) + valueBytes(attribute).length;
  }
  return { attributes: out, size };
}

function checkAttributeName(name: string): void {
  if (name === "") {
    throw new QueueError(
      "InvalidParameterValue",
      "The request must contain non-empty message (user) attribute names.",
    );
  }
  if (Buffer.byteLength(name) > 256) {
    throw new QueueError(
      "InvalidParameterValue",
      "Message (user) attribute name must be shorter than 256 bytes.",
    );
  }
  const lower = name.toLowerCase();
  if (lower.startsWith("aws.") || lower.startsWith("amazon.")) {
    throw new QueueError(
      "InvalidParameterValue",
      "You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These strings are reserved for internal use.",
    );
  }
  if (!ATTRIBUTE_NAME.test(name) || name.startsWith(".") || name.endsWith(".") || name.includes("..")) {
    throw new QueueError(
      "InvalidParameterValue",
      `Message (user) attribute name '${clip(name)}' is invalid: use 1 to 256 of A-Z, a-z, 0-9, '_', '-' and '.', not at the start or end, and no '..'.`,
    );
  }
}

function checkAttribute(name: string, raw: unknown): MessageAttribute {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new QueueError("MalformedInput", `Message attribute '${clip(name)}' must be a structure.`);
  }
  const a = raw as Record<string, unknown>;
  const type = a.DataType;
  if (type === undefined || type === null || type === "") {
    throw new QueueError(
      "InvalidParameterValue",
      `The message (user) attribute '${clip(name)}' must contain a non-empty attribute type.`,
    );
  }
  if (typeof type !== "string" || !DATA_TYPE.test(type)) {
    throw new QueueError(
      "InvalidParameterValue",
      `The type of message (user) attribute '${clip(name)}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
    );
  }
  if (Buffer.byteLength(type) > 256) {
    throw new QueueError(
      "InvalidParameterValue",
      "Message (user) attribute type must be shorter than 256 bytes.",
    );
  }
  // As a value's (a custom type is written back in every receive, in XML too).
  if (!allowedText(type)) {
    throw new QueueError(
      "InvalidParameterValue",
      `The type of message (user) attribute '${clip(name)}' holds characters that are not allowed. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF`,
    );
  }
  if (a.StringListValues !== undefined || a.BinaryListValues !== undefined) {
    const lists = [a.StringListValues, a.BinaryListValues].filter((l) => Array.isArray(l) && l.length > 0);
    if (lists.length > 0) {
      throw new QueueError(
        "InvalidParameterValue",
        "Message attribute list values in SendMessage operation are not supported.",
      );
    }
  }
  const base = type.split(".")[0];
  const member = base === "Binary" ? "BinaryValue" : "StringValue";
  const given = a[member];
  if (given !== undefined && given !== null && typeof given !== "string") {
    throw new QueueError(
      "MalformedInput",
      `The ${member} of message attribute '${clip(name)}' must be a string.`,
    );
  }
  if (base === "Binary") {
    const v = a.BinaryValue;
    if (typeof v !== "string" || v === "") {
      throw new QueueError(
        "InvalidParameterValue",
        `The message (user) attribute '${clip(name)}' must contain a non-empty message attribute value for message attribute type 'Binary'.`,
      );
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1) {
      throw new QueueError(
        "MalformedInput",
        `The BinaryValue of message attribute '${clip(name)}' is not base64.`,
      );
    }
    return { DataType: type, BinaryValue: Buffer.from(v, "base64").toString("base64") };
  }
  const v = a.StringValue;
  if (typeof v !== "string" || v === "") {
    throw new QueueError(
      "InvalidParameterValue",
      `The message (user) attribute '${clip(name)}' must contain a non-empty message attribute value for message attribute type '${base}'.`,
    );
  }
  if (!allowedText(v)) {
    throw new QueueError(
      "InvalidParameterValue",
      `Message (user) attribute '${clip(name)}' must contain valid unicode characters (#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF).`,
    );
  }
  if (base === "Number" && !isSqsNumber(v)) {
    throw new QueueError(
      "InvalidParameterValue",
      `Can't cast the value of message (user) attribute '${clip(name)}' to a number.`,
    );
  }
  return { DataType: type, StringValue: v };
}

/** A number as SQS accepts it: up to 38 significant digits, magnitude between 10^-128 and 10^126. */
function isSqsNumber(v: string): boolean {
  if (!NUMBER.test(v)) return false;
  const [mantissa = "", exponent = "0"] = v.replace(/^[+-]/, "").toLowerCase().split("e");
  const digits = mantissa.replace(".", "").replace(/^0+/, "");
  const significant = digits.replace(/0+$/, "");
  if (significant.length > 38) return false;
  if (significant === "") return true; // zero
  const point = mantissa.includes(".") ? mantissa.indexOf(".") : mantissa.length;
  const leadingZeros = mantissa.replace(".", "").length - mantissa.replace(".", "").replace(/^0+/, "").length;
  const magnitude = point - leadingZeros - 1 + Number(exponent);
  // From 10^-128 to 10^+126, both included: at the top, only 10^126 itself (9.9e126 is past it).
  return magnitude >= -128 && (magnitude < 126 || (magnitude === 126 && significant === "1"));
}

/** Checks MessageSystemAttributes: only `AWSTraceHeader`, of type String. */
export function checkSystemAttributes(value: unknown): MessageAttributes | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new QueueError("MalformedInput", "MessageSystemAttributes must be a map.");
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return undefined;
  const out: Record<string, MessageAttribute> = {};
  for (const [name, raw] of entries) {
    if (name !== "AWSTraceHeader") {
      throw new QueueError(
        "InvalidParameterValue",
        `Message system attribute name '${clip(name)}' is invalid.`,
      );
    }
    const a = checkAttribute(name, raw);
    if (a.DataType !== "String") {
      throw new QueueError(
        "InvalidParameterValue",
        `Message system attribute '${name}' must be of type 'String'.`,
      );
    }
    out[name] = a;
  }
  return out;
}

function valueBytes(a: MessageAttribute): Buffer {
  return a.BinaryValue !== undefined
    ? Buffer.from(a.BinaryValue, "base64")
    : Buffer.from(a.StringValue ?? "", "utf8");
}

/** Lower-case hex MD5 of a body's UTF-8 bytes (MD5OfMessageBody, MD5OfBody). */
export function md5OfBody(body: string): string {
  return hash("md5", body, "hex");
}

/**
 * MD5 of attributes in SQS's encoding: for each name in sorted order, the length-prefixed name, the
 * length-prefixed data type, a transport byte (1 string, 2 binary) and the length-prefixed value.
 * Undefined when there are none (the response then omits the digest).
 */
export function md5OfAttributes(attributes: MessageAttributes | undefined): string | undefined {
  if (attributes === undefined) return undefined;
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const md5 = createHash("md5");
  const length = Buffer.alloc(4);
  const put = (bytes: Buffer): void => {
    length.writeUInt32BE(bytes.length);
    md5.update(length);
    md5.update(bytes);
  };
  for (const name of names) {
    const a = attributes[name] as MessageAttribute;
    put(Buffer.from(name, "utf8"));
    put(Buffer.from(a.DataType, "utf8"));
    md5.update(Buffer.of(a.BinaryValue !== undefined ? 2 : 1));
    put(valueBytes(a));
  }
  return md5.digest("hex");
}

/**
 * The attributes ReceiveMessage returns for `MessageAttributeNames`: `All`, `*` or `.*` for every
 * one; `prefix.*` for the names that start with `prefix` (as SQS answers: `Hel.*` gives `Hello` and
 * `Help.Me`); other entries by exact name.
 */
export function filterAttributes(
  attributes: MessageAttributes | undefined,
  wanted: readonly string[],
): MessageAttributes | undefined {
  if (attributes === undefined || wanted.length === 0) return undefined;
  if (wanted.some((w) => w === "All" || w === "*" || w === ".*")) return attributes;
  const out: Record<string, MessageAttribute> = {};
  for (const [name, a] of Object.entries(attributes)) {
    if (wanted.some((w) => (w.endsWith(".*") ? name.startsWith(w.slice(0, -2)) : name === w))) {
      setOwn(out, name, a);
    }
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Checks a MessageGroupId or MessageDeduplicationId: 1–128 alphanumeric and punctuation characters. */
export function checkFifoId(parameter: string, value: unknown): string {
  if (typeof value !== "string" || !/^[\x21-\x7E]{1,128}$/.test(value)) {
    throw invalidValue(
      parameter,
      typeof value === "string" ? value : undefined,
      `${parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length.`,
    );
  }
  return value;
}
