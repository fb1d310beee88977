/**
 * Webhook deliveries as CloudEvents 1.0 over HTTP, binary or structured content mode.
 *
 * Mapping from the EventBridge envelope (the attributes always come from the event as accepted;
 * `data` is the invocation's payload, which is the envelope unless Input/InputPath/InputTransformer
 * changed it):
 *
 * | CloudEvents | EventBridge |
 * | --- | --- |
 * | `id` | `id` |
 * | `source` | `source` |
 * | `type` | `detail-type` |
 * | `time` | `time` |
 * | `subject` | the only element of `resources`, when there is exactly one |
 * | `datacontenttype` | `application/json` when the payload is JSON, else `text/plain; charset=utf-8` |
 * | `data` | the payload (a JSON value, or the text) |
 * | extension `account` | `account` |
 * | extension `region` | `region` |
 *
 * No `dataschema`: nothing in the envelope names a schema. Characters a CloudEvents String may not
 * hold (controls U+0000–U+001F and U+007F–U+009F, noncharacters, lone surrogates) are replaced in the
 * attributes by U+FFFD; an empty resource gives no `subject` (which, when present, may not be empty).
 *
 * Structured mode embeds a JSON payload's text as it is (`"data":<payload>`), not re-serialized: a
 * 20-digit number, `1e2` or a repeated key reaches the receiver as in binary mode and in the event.
 *
 * `source` must be a URI-reference; an EventBridge source that is not one (`my source`, `shöp`) is
 * sent percent-encoded as a whole (`encodeURIComponent`: `my%20source`), one that is, as it is.
 *
 * Binary mode carries the attributes in `ce-*` headers, percent-encoded as the HTTP binding says
 * (UTF-8, `%XY`) where HTTP cannot carry them as they are: characters outside printable ASCII, `%`
 * itself, `"`, and spaces at either end. A space inside a value is sent as it is (the binding asks
 * for it encoded too): HTTP carries it, every decoder the binding describes reads it back the same,
 * and the JavaScript SDK, which does not percent-decode, then reads `Order Placed` unchanged.
 *
 * @see https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
 * @see https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md
 */
import { CloudEvent, HTTP, ValidationError } from "cloudevents";
import { DeliveryError } from "../types.js";
import { HttpErrorCode } from "./classify.js";

/** The CloudEvents HTTP content modes a webhook target can choose. */
export const CloudEventsMode = { Binary: "binary", Structured: "structured" } as const;
export type CloudEventsMode = (typeof CloudEventsMode)[keyof typeof CloudEventsMode];

/** The body and the headers (names in lower case) of a CloudEvents HTTP request. */
export interface CloudEventsMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Builds the CloudEvent for an event (its envelope as JSON text) and a payload, and serializes it
 * with the `cloudevents` SDK. In binary mode the body is the payload exactly as given.
 * @throws {DeliveryError} `INVALID_PARAMETER` (not retryable) when the envelope cannot make a valid CloudEvent.
 */
export function toCloudEventsMessage(
  eventJson: string,
  payload: string,
  mode: CloudEventsMode,
): CloudEventsMessage {
  const json = parseJson(payload);
  const attributes = attributesOf(eventJson);
  const build = (source: string | undefined): CloudEvent<unknown> =>
    new CloudEvent<unknown>({
      ...attributes,
      ...(source !== undefined && { source }),
      datacontenttype: json.ok ? "application/json" : "text/plain; charset=utf-8",
      data: json.ok ? json.value : payload,
    });
  let event: CloudEvent<unknown>;
  try {
    try {
      event = build(undefined);
    } catch (error) {
      if (!(error instanceof ValidationError) || !isAbout(error, "/source")) throw error;
      event = build(encodeURIComponent(attributes["source"] ?? ""));
    }
  } catch (error) {
    throw new DeliveryError(
      HttpErrorCode.InvalidParameter,
      `the event cannot be sent as a CloudEvent: ${problemsOf(error)}`,
      { retryable: false, cause: error },
    );
  }
  const binary = mode === CloudEventsMode.Binary;
  const message = binary ? HTTP.binary(event) : HTTP.structured(event);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const text = Array.isArray(value) ? value.join(", ") : String(value);
    headers[lower] = binary && lower.startsWith("ce-") ? headerValue(text) : text;
  }
  if (binary) return { headers, body: payload };
  return { headers, body: json.ok ? withDataText(event, payload) : String(message.body) };
}

/** The structured body of `event` with its JSON `data` written as `payload`'s own text. */
function withDataText(event: CloudEvent<unknown>, payload: string): string {
  const { data: _data, ...attributes } = event.toJSON();
  const head = JSON.stringify(attributes);
  return head === "{}" ? `{"data":${payload}}` : `${head.slice(0, -1)},"data":${payload}}`;
}

/** Characters a CloudEvents String may not hold: controls, noncharacters, lone surrogates. */
const NOT_IN_STRINGS = /[\p{Cc}\p{Noncharacter_Code_Point}\p{Cs}]/gu;

/** Whether the SDK's validation error names the attribute at `path` (e.g. `/source`). */
function isAbout(error: ValidationError, path: string): boolean {
  return (error.errors ?? []).some((e) => typeof e !== "string" && e.instancePath === path);
}

/** What the SDK found wrong, every problem of it (its message alone names only the first). */
function problemsOf(error: unknown): string {
  if (!(error instanceof ValidationError)) return String(error);
  const problems = (error.errors ?? []).map((e) =>
    typeof e === "string" ? e : `${e.instancePath.slice(1) || "event"} ${e.message ?? "is not valid"}`,
  );
  return problems.length > 0 ? problems.join("; ") : error.message;
}

/**
 * A `ce-*` header value: characters outside printable ASCII, `%`, `"`, and spaces at either end
 * percent-encoded as UTF-8 bytes, upper-case hex (HTTP binding 3.1.3.2).
 */
export function headerValue(value: string): string {
  if (/^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$/.test(value) && !/["%]/.test(value)) return value;
  let out = "";
  const chars = [...value];
  chars.forEach((char, i) => {
    const code = char.codePointAt(0) as number;
    const edge = i === 0 || i === chars.length - 1;
    const plain = code >= 0x21 && code <= 0x7e && char !== '"' && char !== "%";
    if (plain || (char === " " && !edge)) out += char;
    else
      for (const byte of Buffer.from(char, "utf8"))
        out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  });
  return out;
}

function attributesOf(eventJson: string): Record<string, string> {
  const envelope = JSON.parse(eventJson) as Record<string, unknown>;
  const attributes: Record<string, string> = {};
  const copy = (from: string, to: string): void => {
    const value = envelope[from];
    if (typeof value === "string" && value !== "") attributes[to] = value.replace(NOT_IN_STRINGS, "\uFFFD");
  };
  copy("id", "id");
  copy("source", "source");
  copy("detail-type", "type");
  copy("time", "time");
  copy("account", "account");
  copy("region", "region");
  const resources = envelope["resources"];
  if (
    Array.isArray(resources) &&
    resources.length === 1 &&
    typeof resources[0] === "string" &&
    resources[0] !== ""
  ) {
    attributes["subject"] = resources[0].replace(NOT_IN_STRINGS, "\uFFFD");
  }
  return attributes;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
