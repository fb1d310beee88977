/**
 * Events as CloudEvents: what the spec forbids in attributes, and a structured body whose `data` is
 * the payload's own text.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HTTP } from "cloudevents";
import { CloudEventsMode, toCloudEventsMessage } from "./cloudevents.js";

const envelope = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    version: "0",
    id: "e1",
    "detail-type": "Order Placed",
    source: "shop",
    account: "000000000000",
    time: "2026-12-05T00:00:00Z",
    region: "us-east-1",
    resources: [],
    detail: {},
    ...extra,
  });

describe("toCloudEventsMessage", () => {
  it("sends an event whose only resource is empty, without a subject (which may not be empty)", () => {
    const event = envelope({ resources: [""] });
    for (const mode of [CloudEventsMode.Binary, CloudEventsMode.Structured]) {
      const message = toCloudEventsMessage(event, event, mode);
      const parsed = HTTP.toEvent({ headers: message.headers, body: message.body });
      assert.equal((Array.isArray(parsed) ? parsed[0] : parsed)?.subject, undefined, mode);
    }
  });

  it("writes a JSON payload into the structured body as it is: big numbers, their forms, repeated keys", () => {
    const payload = '{"order":12345678901234567890,"price":1.10,"v":1e2,"a":1,"a":2}';
    const message = toCloudEventsMessage(envelope(), payload, CloudEventsMode.Structured);
    assert.ok(message.body.endsWith(`,"data":${payload}}`), message.body);
    assert.equal(message.headers["content-type"], "application/cloudevents+json; charset=utf-8");
    const parsed = JSON.parse(message.body) as Record<string, unknown>;
    assert.equal(parsed["datacontenttype"], "application/json");
    assert.equal(parsed["id"], "e1");
    // Text that is not JSON stays a JSON string.
    const text = toCloudEventsMessage(envelope(), "plain text", CloudEventsMode.Structured);
    assert.equal((JSON.parse(text.body) as Record<string, unknown>)["data"], "plain text");
  });

  it("replaces what a CloudEvents String may not hold (controls, noncharacters) in the attributes", () => {
    const event = envelope({ "detail-type": "line\nbreak\u0085", resources: ["res\u0001x\uFFFE"] });
    const message = toCloudEventsMessage(event, event, CloudEventsMode.Structured);
    const parsed = JSON.parse(message.body) as Record<string, unknown>;
    assert.equal(parsed["type"], "line\uFFFDbreak\uFFFD");
    assert.equal(parsed["subject"], "res\uFFFDx\uFFFD");
    // The payload (the event as accepted) keeps them.
    assert.ok(message.body.includes(`"detail-type":"line\\nbreak\u0085"`), message.body);
  });
});
