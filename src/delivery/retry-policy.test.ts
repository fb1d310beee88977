import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { nextAttempt, retryDelayMs, retryPolicyOf } from "./retry-policy.js";

describe("retryPolicyOf", () => {
  it("defaults to 185 retries over 24 hours, as EventBridge does", () => {
    assert.deepEqual(retryPolicyOf({}), { maxRetryAttempts: 185, maxEventAgeMs: 86_400_000 });
  });
  it("reads the target's RetryPolicy", () => {
    assert.deepEqual(
      retryPolicyOf({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } }),
      { maxRetryAttempts: 0, maxEventAgeMs: 60_000 },
    );
  });
});

describe("retryDelayMs", () => {
  const backoff = { baseMs: 1000, maxMs: 600_000 };
  it("doubles per attempt with equal jitter", () => {
    assert.equal(
      retryDelayMs(1, backoff, undefined, () => 0),
      500,
    );
    assert.equal(
      retryDelayMs(1, backoff, undefined, () => 1),
      1000,
    );
    assert.equal(
      retryDelayMs(4, backoff, undefined, () => 0),
      4000,
    );
    assert.equal(
      retryDelayMs(4, backoff, undefined, () => 1),
      8000,
    );
  });
  it("is capped, even after many attempts", () => {
    assert.equal(
      retryDelayMs(185, backoff, undefined, () => 1),
      600_000,
    );
    assert.equal(
      retryDelayMs(185, backoff, undefined, () => 0),
      300_000,
    );
  });
  it("never retries sooner than Retry-After, itself capped at an hour", () => {
    assert.equal(
      retryDelayMs(1, backoff, 30_000, () => 0),
      30_000,
    );
    assert.equal(
      retryDelayMs(1, backoff, 10 * 3_600_000, () => 0),
      3_600_000,
    );
  });
});

describe("nextAttempt", () => {
  const policy = { maxRetryAttempts: 2, maxEventAgeMs: 60_000 };
  it("retries until the retry count is spent", () => {
    assert.deepEqual(nextAttempt(policy, 1, 0, 1000, 1000), { dueAt: 2000 });
    assert.deepEqual(nextAttempt(policy, 2, 0, 1000, 1000), { dueAt: 2000 });
    assert.deepEqual(nextAttempt(policy, 3, 0, 1000, 1000), { exhausted: "MaximumRetryAttempts" });
  });
  it("stops when the next attempt would come after the event's age limit", () => {
    assert.deepEqual(nextAttempt(policy, 1, 0, 59_000, 2000), { exhausted: "MaximumEventAgeInSeconds" });
  });
  it("does not retry at all with MaximumRetryAttempts 0", () => {
    assert.deepEqual(nextAttempt({ ...policy, maxRetryAttempts: 0 }, 1, 0, 0, 10), {
      exhausted: "MaximumRetryAttempts",
    });
  });
});
