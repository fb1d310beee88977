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
  it("makes one last attempt as the age runs out when only a Retry-After reaches past it", () => {
    // Backoff 2 s would fit; the target asked for an hour: one attempt 1 s before the limit.
    assert.deepEqual(nextAttempt(policy, 1, 0, 10_000, 3_600_000, 2000), { dueAt: 59_000 });
    // That attempt failing the same way is the end: the backoff alone no longer fits.
    assert.deepEqual(nextAttempt(policy, 2, 0, 59_000, 3_600_000, 2000), {
      exhausted: "MaximumEventAgeInSeconds",
    });
    // Nor when the backoff alone would pass the limit, or the retries are spent.
    assert.deepEqual(nextAttempt(policy, 1, 0, 57_500, 3_600_000, 2000), {
      exhausted: "MaximumEventAgeInSeconds",
    });
    assert.deepEqual(nextAttempt(policy, 3, 0, 10_000, 3_600_000, 2000), {
      exhausted: "MaximumRetryAttempts",
    });
    // A Retry-After that fits is waited out as asked.
    assert.deepEqual(nextAttempt(policy, 1, 0, 10_000, 30_000, 2000), { dueAt: 40_000 });
  });
  it("does not retry at all with MaximumRetryAttempts 0", () => {
    assert.deepEqual(nextAttempt({ ...policy, maxRetryAttempts: 0 }, 1, 0, 0, 10), {
      exhausted: "MaximumRetryAttempts",
    });
  });
});
