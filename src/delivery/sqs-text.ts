/**
 * Text that SQS takes: message bodies and String attribute values may hold only #x9 | #xA | #xD |
 * #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF (XML 1.0's characters, without lone surrogates).
 * What delivery builds for a queue (a target's payload, a dead-letter message and its attributes) can
 * hold others: an event's JSON may carry U+FFFE or a lone surrogate in a string, and a target's error
 * page may carry controls (an ANSI colour escape, a NUL). Busbar's queues refuse such a message, and
 * the event would be lost; these functions make the text acceptable instead.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */

/**
 * The characters SQS refuses that are whole UTF-16 code units: controls but tab, line feed and
 * carriage return, U+FFFE and U+FFFF. Lone surrogates are the rest ({@link hasLoneSurrogate}).
 * Without the `u` flag: that search is twice as fast on text that is not ASCII.
 */
// eslint-disable-next-line no-control-regex -- finding controls is the point
const REFUSED_UNIT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** Every character SQS refuses, lone surrogates included (the `u` flag keeps pairs whole). */
const REFUSED = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * Whether `text` holds a surrogate without its pair. `String.prototype.isWellFormed` (ES2024, in
 * Node 20) answers natively, at no cost for text without surrogates; the project compiles against
 * ES2023's library, which does not declare it.
 */
function hasLoneSurrogate(text: string): boolean {
  return !(text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** Whether SQS would refuse `text` as a body or a String attribute value. A fast check: on every queue delivery. */
export function refusedBySqs(text: string): boolean {
  return REFUSED_UNIT.test(text) || hasLoneSurrogate(text);
}

/** `text` with each character SQS refuses replaced by U+FFFD (the replacement character). */
export function sqsText(text: string): string {
  return refusedBySqs(text) ? text.replace(REFUSED, "\uFFFD") : text;
}

/**
 * A message body SQS takes. A JSON body keeps its value: the characters SQS refuses can only sit
 * inside its strings (JSON allows no controls there, nor outside them but tab, line feed and
 * carriage return), so each is written as its `\uXXXX` escape, which a JSON parser reads back as the
 * same character. Any other body (a string template's output) gets U+FFFD for each. Text SQS takes
 * (almost every body) is returned as it is, after one fast check.
 */
export function sqsBody(body: string): string {
  if (!refusedBySqs(body)) return body;
  if (!isJson(body)) return body.replace(REFUSED, "\uFFFD");
  // Each refused character is one UTF-16 code unit (the refused ones are all below U+10000).
  return body.replace(REFUSED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
