/**
 * The characters SQS allows in message bodies and attribute values: XML 1.0's (its query protocol
 * writes them in XML replies), tab, line feed and carriage return the only controls.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
 */

// eslint-disable-next-line no-control-regex -- tab, line feed and carriage return are the allowed controls
const ALLOWED_TEXT = /^[\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/** Anything but printable ASCII, tab, CR and LF. */
const NOT_PLAIN = /[^\x20-\x7E\t\n\r]/;

/** Whether text holds only allowed characters; plain ASCII (the common case) skips the full check. */
export function allowedText(text: string): boolean {
  return !NOT_PLAIN.test(text) || ALLOWED_TEXT.test(text);
}
