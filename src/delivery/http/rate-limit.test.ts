import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeliveryError } from "../types.js";
import { RateLimiter, SlidingWindow } from "./rate-limit.js";

/** The most turns any window of 1,000 ms holds. */
function busiestSecond(times: readonly number[]): number {
  let most = 0;
  for (const start of times)
    most = Math.max(most, times.filter((t) => t >= start && t < start + 1000).length);
  return most;
}

describe("SlidingWindow", () => {
  it("gives at most the rate in any second, the first one included", () => {
    let now = 0;
    const window = new SlidingWindow(5, () => now);
    const turns: number[] = [];
    // Twenty calls at once, then one every 50 ms for three seconds, each taking the turn it is given.
    for (let i = 0; i < 20; i++) {
      const wait = window.reserve(10_000);
      assert.ok(wait >= 0);
      turns.push(now + wait);
    }
    for (; now < 3000; now += 50) {
      const wait = window.reserve(10_000);
      if (wait >= 0) turns.push(now + wait);
    }
    assert.equal(busiestSecond(turns), 5);
    assert.deepEqual(turns.slice(0, 10), [0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000]);
  });

  it("refuses a turn further than the longest wait, reserving nothing", () => {
    let now = 0;
    const window = new SlidingWindow(2, () => now);
    assert.equal(window.reserve(0), 0);
    assert.equal(window.reserve(0), 0);
    assert.equal(window.reserve(500), -1000);
    now = 600;
    assert.equal(window.reserve(500), 400);
    assert.equal(window.reserve(500), 400);
    assert.equal(window.reserve(500), -1400);
  });

  it("keeps the most recent calls when the rate changes", () => {
    let now = 0;
    const window = new SlidingWindow(3, () => now);
    for (let i = 0; i < 3; i++) assert.equal(window.reserve(0), 0);
    window.setRate(1);
    assert.equal(window.reserve(2000), 1000);
    now = 100;
    window.setRate(4);
    // The turn reserved at 1000 moves to 100 (the three calls at 0 leave room for one more); the
    // four calls of the first second still count: three more a window after them, then one a window
    // after the moved turn.
    assert.equal(window.reserve(900), 900);
    assert.equal(window.reserve(900), 900);
    assert.equal(window.reserve(900), 900);
    assert.equal(window.reserve(5000), 1000);
  });

  it("plans the turns ahead again when the rate changes: sooner when raised, never over a lowered rate", () => {
    let now = 0;
    const window = new SlidingWindow(1, () => now);
    const turns = [];
    for (let i = 0; i < 10; i++) {
      const turn = window.reserveTurn(Infinity);
      assert.ok(typeof turn !== "number");
      turns.push(turn);
    }
    assert.deepEqual(
      turns.map((t) => t.at),
      [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000],
    );
    let moved = 0;
    for (const t of turns) t.moved = () => moved++;
    now = 500;
    window.setRate(5);
    assert.deepEqual(
      turns.map((t) => t.at),
      [0, 500, 500, 500, 500, 1000, 1500, 1500, 1500, 1500],
    );
    assert.equal(moved, 9, "every turn ahead moved, and its waiter was told");
    assert.equal(busiestSecond(turns.map((t) => t.at)), 5);
    now = 600;
    window.setRate(2);
    const lowered = turns.map((t) => t.at);
    // The turns at 500 are past (their calls went); the five ahead go two a second after them.
    assert.deepEqual(lowered, [0, 500, 500, 500, 500, 1500, 1500, 2500, 2500, 3500]);
    assert.equal(busiestSecond(lowered.filter((at) => at > 600)), 2);
  });
});

describe("RateLimiter", () => {
  it("keeps a deferred call's turn for its ticket, spreading a backlog over the turns ahead", async () => {
    let now = 0;
    const limiter = new RateLimiter(100, () => now);
    const signal = new AbortController().signal;
    const deferredFor: number[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        await limiter.acquire("d", 2, signal, `delivery-${i}`);
        deferredFor.push(0);
      } catch (e) {
        assert.ok(e instanceof DeliveryError && e.deferred);
        deferredFor.push(e.retryAfterMs ?? -1);
      }
    }
    assert.deepEqual(deferredFor, [0, 0, 1000, 1000, 2000, 2000]);
    // Each comes back at its turn and goes without taking another one.
    now = 1000;
    await limiter.acquire("d", 2, signal, "delivery-2");
    await limiter.acquire("d", 2, signal, "delivery-3");
    now = 2000;
    await limiter.acquire("d", 2, signal, "delivery-4");
    await limiter.acquire("d", 2, signal, "delivery-5");
    // A new call queues behind them all.
    const late = await limiter.acquire("d", 2, signal, "delivery-6").then(
      () => 0,
      (e: unknown) => (e as DeliveryError).retryAfterMs,
    );
    assert.equal(late, 1000);
  });

  it("gives the turns of deliveries that ended back to the calls after them", async () => {
    let now = 0;
    const limiter = new RateLimiter(100, () => now);
    const signal = new AbortController().signal;
    const wait = (ticket: string) =>
      limiter.acquire("d", 2, signal, ticket).then(
        () => 0,
        (e: unknown) => (e as DeliveryError).retryAfterMs ?? -1,
      );
    // Two go now, 54 are deferred over the next 27 seconds.
    for (let i = 0; i < 56; i++) await wait(`dropped-${i}`);
    // A live call behind them waits for them all (rechecking every few seconds).
    assert.ok((await wait("live-before")) > 1000);
    limiter.release("live-before");
    // Their deliveries were dropped with their target: the turns go.
    for (let i = 2; i < 56; i++) limiter.release(`dropped-${i}`);
    await new Promise((resolve) => setImmediate(resolve));
    now = 1000;
    assert.equal(await wait("live"), 0, "the next call goes at the next free turn");
  });

  it("forgets the windows of destinations idle for a second, keeping those with calls ahead", async () => {
    let now = 0;
    const limiter = new RateLimiter(100, () => now);
    const signal = new AbortController().signal;
    // 1,000 destinations called once each (created and deleted, say), and one with a backlog.
    for (let i = 0; i < 1_000; i++) await limiter.acquire(`arn:dest/${i}`, 10, signal);
    // One a second: 15 deferred calls hold turns until 14 s.
    for (let i = 0; i < 15; i++) await limiter.acquire("arn:busy", 1, signal, `t${i}`).catch(() => undefined);
    assert.equal(limiter.windowCount, 1_001);
    now = 11_000; // the others idle for more than a second, the last forgetting long enough ago
    await limiter.acquire("arn:new", 10, signal);
    assert.equal(limiter.windowCount, 2, "the busy destination's window (turns ahead) and the new one");
    // A destination called again after being forgotten starts a fresh window: its call goes at once.
    await limiter.acquire("arn:dest/7", 10, signal);
    assert.equal(limiter.windowCount, 3);
    // The busy one's calls still come back at their turns, its window kept.
    now = 14_000;
    await limiter.acquire("arn:busy", 1, signal, "t14");
  });

  it("brings a deferred backlog forward when the rate is raised, and holds it back when lowered", async () => {
    let now = 0;
    const limiter = new RateLimiter(100, () => now);
    const signal = new AbortController().signal;
    const retryAfter = (ticket: string, rate: number): Promise<number> =>
      limiter.acquire("d", rate, signal, ticket).then(
        () => 0,
        (e: unknown) => (e as DeliveryError).retryAfterMs ?? -1,
      );
    // Twenty deliveries at 1 a second: the last one's turn is 19 s away.
    for (let i = 0; i < 20; i++) await retryAfter(`delivery-${i}`, 1);
    now = 1000;
    // Raised to 100 a second: every waiting delivery goes at its next look.
    for (let i = 1; i < 20; i++) assert.equal(await retryAfter(`delivery-${i}`, 100), 0, `delivery-${i}`);
    // Lowered to 1 a second: the next ones wait their turns at the new rate (2000, 3000, 4000), those
    // further than two seconds coming back after two to look again.
    now = 1500;
    const waits = [];
    for (let i = 20; i < 23; i++) waits.push(await retryAfter(`delivery-${i}`, 1));
    assert.deepEqual(waits, [500, 1500, 2000]);
    now = 2000;
    assert.equal(await retryAfter("delivery-20", 1), 0);
    assert.equal(await retryAfter("delivery-21", 1), 1000);
    assert.equal(await retryAfter("delivery-22", 1), 2000);
  });

  it("says the rate a call's turn was planned at in the end: the lowered one, when it moved while it waited", async () => {
    let now = 0;
    const limiter = new RateLimiter(1000, () => now);
    const signal = new AbortController().signal;
    assert.equal(await limiter.acquire("d", 10.5, signal), 10);
    assert.equal(await limiter.acquire("free", 0, signal), Number.POSITIVE_INFINITY);
    // Ten calls a second: nine more go now, the eleventh waits for its turn (1000 ms).
    for (let i = 0; i < 9; i++) await limiter.acquire("d", 10, signal);
    const waiting = limiter.acquire("d", 10, signal);
    // Another call brings the lowered rate meanwhile: the waiting turn moves, at the new rate.
    const lowered = limiter.acquire("d", 2, signal, "later").catch(() => undefined);
    now = 2000;
    assert.equal(await waiting, 2, "planned at the lowered rate: no second turn needed");
    await lowered;
  });

  it("fails a call whose turn is too far as THROTTLING, deferred, with the wait", async () => {
    const limiter = new RateLimiter(100);
    const signal = new AbortController().signal;
    await limiter.acquire("d", 1, signal);
    const error = await limiter.acquire("d", 1, signal).then(
      () => assert.fail("should be throttled"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof DeliveryError);
    assert.equal(error.code, "THROTTLING");
    assert.equal(error.deferred, true);
    assert.equal(error.retryable, true);
    assert.ok((error.retryAfterMs ?? 0) > 800, String(error.retryAfterMs));
    await limiter.acquire("other", 1, signal);
    await limiter.acquire("unlimited", 0, signal);
    await limiter.acquire("unlimited", 0, signal);
  });
});
