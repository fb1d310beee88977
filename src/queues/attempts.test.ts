import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MAX_ATTEMPT_BYTES, MAX_ATTEMPTS, ReceiveAttempts, type Attempt } from "./attempts.js";

const INTERVAL = 5 * 60 * 1000;

/** An attempt received at `at` with messages `seqs`. */
function attempt(at: number, ...seqs: number[]): Attempt<string> {
  return {
    messages: seqs.map((s) => `m${s}`),
    received: seqs.map((seq) => ({ seq, receiveCount: 1 })),
    until: at + INTERVAL,
    visibilityMs: 30_000,
  };
}

describe("ReceiveAttempts", () => {
  it("forgets attempts whose interval is over as new ones are remembered", () => {
    const attempts = new ReceiveAttempts<string>();
    for (let i = 0; i < 100; i++) attempts.remember("q", `a${i}`, attempt(i * 1000, i), i * 1000, 1_000);
    assert.deepEqual(attempts.size, { attempts: 100, bytes: 100_000 });
    // 5 minutes after the 11th: the first 11 are over.
    const now = 10_000 + INTERVAL;
    attempts.remember("q", "late", attempt(now, 500), now, 1_000);
    assert.equal(attempts.get("q", "a10"), undefined);
    assert.ok(attempts.get("q", "a11") !== undefined);
    assert.deepEqual(attempts.size, { attempts: 90, bytes: 90_000 });
    // Its messages' index went with it: forgetting message 3 touches nothing left.
    attempts.forgetMessages("q", [3]);
    assert.equal(attempts.size.attempts, 90);
    // The periodic sweep forgets the rest once over, with no receive to remember.
    attempts.forgetExpired(99_000 + INTERVAL);
    assert.deepEqual(attempts.size, { attempts: 1, bytes: 1_000 });
    assert.ok(attempts.get("q", "late") !== undefined);
  });

  it("forgets the oldest, not all, past the bytes or the count they may hold", () => {
    const attempts = new ReceiveAttempts<string>();
    const big = MAX_ATTEMPT_BYTES / 4;
    for (let i = 0; i < 4; i++) attempts.remember("q", `big${i}`, attempt(0, i), 0, big);
    attempts.remember("q", "one-more", attempt(0, 9), 0, 1);
    assert.equal(attempts.get("q", "big0"), undefined, "the oldest went for the bytes");
    assert.ok(attempts.get("q", "big1") !== undefined);
    assert.deepEqual(attempts.size, { attempts: 4, bytes: 3 * big + 1 });
    const many = new ReceiveAttempts<string>();
    for (let i = 0; i <= MAX_ATTEMPTS; i++) many.remember("q", `a${i}`, attempt(0, i), 0, 10);
    assert.equal(many.size.attempts, MAX_ATTEMPTS);
    assert.equal(many.get("q", "a0"), undefined);
    assert.ok(many.get("q", "a1") !== undefined);
  });

  it("has the account holding the most give up its oldest past the bounds, not another account", () => {
    const attempts = new ReceiveAttempts<string>();
    const big = MAX_ATTEMPT_BYTES / 4;
    attempts.remember("victim\u0000q", "v", attempt(0, 1), 0, 1_000);
    for (let i = 0; i < 8; i++) attempts.remember("hostile\u0000q", `h${i}`, attempt(0, 10 + i), 0, big);
    assert.ok(attempts.get("victim\u0000q", "v") !== undefined, "the victim's attempt stays");
    assert.equal(attempts.get("hostile\u0000q", "h4"), undefined);
    assert.ok(attempts.get("hostile\u0000q", "h7") !== undefined);
    // Past the count, the account with the most attempts gives one up.
    const many = new ReceiveAttempts<string>();
    many.remember("victim\u0000q", "v", attempt(0, 1), 0, 1_000_000);
    for (let i = 0; i < MAX_ATTEMPTS + 5; i++)
      many.remember("hostile\u0000q", `h${i}`, attempt(0, 10 + i), 0, 10);
    assert.ok(many.get("victim\u0000q", "v") !== undefined, "the victim's attempt stays");
    assert.equal(many.size.attempts, MAX_ATTEMPTS);
  });
});
