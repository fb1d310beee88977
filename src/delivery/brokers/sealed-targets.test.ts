import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { SecretBox } from "../secrets.js";
import { SEALED_ARN_PREFIX, holdsPlainSecret, openTarget, sealTarget } from "./sealed-targets.js";

const box = new SecretBox(randomBytes(32));
const target = (arn: string) => ({ id: "t", arn, spec: { Id: "t", Arn: arn, Input: '{"a":1}' } });

describe("sealed broker targets", () => {
  it("seals a broker URI's password and token, and opens them back", () => {
    for (const [arn, shown] of [
      ["amqp://u:longpassword@h:5672/?exchange=x", "amqp://u:***@h:5672/?exchange=x"],
      ["nats://longtoken@h:4222/s", "nats://***@h:4222/s"],
      ["redis://h:6379/0?stream=s&password=longpassword", "redis://h:6379/0?stream=s&password=***"],
    ] as const) {
      const stored = sealTarget(box, target(arn));
      assert.equal(stored.arn, shown);
      assert.ok(String(stored.spec["Arn"]).startsWith(SEALED_ARN_PREFIX), arn);
      // Secrets long enough that the sealed text (random base64url) cannot hold them by chance, as it
      // could "pw" or "tok" (a flaky failure once in a few dozen runs).
      const text = JSON.stringify(stored);
      assert.ok(!text.includes("longpassword") && !text.includes("longtoken"), arn);
      assert.equal(stored.spec["Input"], '{"a":1}');
      assert.equal(holdsPlainSecret(stored), false);
      assert.deepEqual(openTarget(box, stored), target(arn));
    }
  });

  it("stores targets without a secret as given", () => {
    for (const arn of [
      "mqtt://h:1883/topic",
      "https://example.com/hook",
      "arn:aws:sqs:us-east-1:000000000000:q",
      "nats://h:4222/s",
    ]) {
      assert.deepEqual(sealTarget(box, target(arn)), target(arn));
      assert.deepEqual(openTarget(box, target(arn)), target(arn));
      assert.equal(holdsPlainSecret(target(arn)), false);
    }
  });

  it("tells a row stored in clear, and leaves it readable", () => {
    const plain = target("mqtt://u:pw@h:1883/topic");
    assert.equal(holdsPlainSecret(plain), true);
    assert.deepEqual(openTarget(box, plain), plain);
  });

  it("gives a URI it cannot open back redacted, and says so", () => {
    const stored = sealTarget(new SecretBox(randomBytes(32)), target("amqp://u:pw@h/?exchange=x"));
    const errors: unknown[] = [];
    const opened = openTarget(box, stored, (e) => errors.push(e));
    assert.equal(opened.arn, "amqp://u:***@h/?exchange=x");
    assert.equal(opened.spec["Arn"], "amqp://u:***@h/?exchange=x");
    assert.equal(errors.length, 1);
  });
});
