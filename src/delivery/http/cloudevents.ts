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
 * No `dataschema`: nothing in the envelope names a schema.
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
  let event: CloudEvent<unknown>;
  try {
    event = new CloudEvent<unknown>({
      ...attributesOf(eventJson),
      datacontenttype: json.ok ? "application/json" : "text/plain; charset=utf-8",
      data: json.ok ? json.value : payload,
    });
  } catch (error) {
    const detail = error instanceof ValidationError ? error.message.split("\n")[0] : String(error);
    throw new DeliveryError(
      HttpErrorCode.InvalidParameter,
      `the event cannot be sent as a CloudEvent: ${detail ?? "invalid attributes"}`,
      { retryable: false, cause: error },
    );
  }
  const message = mode === CloudEventsMode.Binary ? HTTP.binary(event) : HTTP.structured(event);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined)
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return { headers, body: mode === CloudEventsMode.Binary ? payload : String(message.body) };
}

function attributesOf(eventJson: string): Record<string, string> {
  const envelope = JSON.parse(eventJson) as Record<string, unknown>;
  const attributes: Record<string, string> = {};
  const copy = (from: string, to: string): void => {
    const value = envelope[from];
    if (typeof value === "string" && value !== "") attributes[to] = value;
  };
  copy("id", "id");
  copy("source", "source");
  copy("detail-type", "type");
  copy("time", "time");
  copy("account", "account");
  copy("region", "region");
  const resources = envelope["resources"];
  if (Array.isArray(resources) && resources.length === 1 && typeof resources[0] === "string") {
    attributes["subject"] = resources[0];
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
