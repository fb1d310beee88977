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
  it("spaces the turns evenly: at most the rate in any second, the first one included", () => {
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
    assert.deepEqual(turns.slice(0, 10), [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
  });

  it("refuses a turn further than the longest wait, reserving nothing", () => {
    let now = 0;
    const window = new SlidingWindow(2, () => now);
    assert.equal(window.reserve(0), 0);
    assert.equal(window.reserve(0), -500);
    assert.equal(window.reserve(500), 500);
    assert.equal(window.reserve(500), -1000);
    now = 600;
    assert.equal(window.reserve(500), 400);
    assert.equal(window.reserve(500), -900);
  });

  it("counts the past calls when the rate changes", () => {
    let now = 0;
    const window = new SlidingWindow(10, () => now);
    for (let i = 0; i < 10; i++) assert.equal(window.reserve(1000), i * 100);
    now = 950;
    window.setRate(2);
    // Lowered to 2 a second: the calls at 800 and 900 still count, so the next turn is a window after
    // the one at 800, not half a second after the last; then they are spaced at the new rate.
    assert.equal(window.reserve(5000), 850);
    assert.equal(window.reserve(5000), 1350);
    now = 2400;
    window.setRate(4);
    // Raised to 4: a quarter of a second after the last turn (2300), and within a window of the
    // turns at 900, 1800 and 2300.
    assert.equal(window.reserve(5000), 150);
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
      [0, 500, 700, 900, 1100, 1300, 1500, 1700, 1900, 2100],
    );
    assert.equal(moved, 9, "every turn ahead moved, and its waiter was told");
    assert.equal(busiestSecond(turns.map((t) => t.at)), 5);
    now = 600;
    window.setRate(2);
    const lowered = turns.map((t) => t.at);
    // The turns at 0 and 500 are past (their calls went); the eight ahead go two a second after them.
    assert.deepEqual(lowered, [0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500]);
    assert.equal(busiestSecond(lowered), 2);
  });
});

describe("SlidingWindow's send gate", () => {
  it("spaces calls as they leave: on time they keep the rate, late ones do not bunch", async () => {
    let now = 0;
    const window = new SlidingWindow(10, () => now);
    const signal = new AbortController().signal;
    await window.whenSendable(signal);
    // Half a millisecond late (within a timer's slack): the next may go 100 ms after the time it could
    // leave, not after when it left (no drift at rates whose spacing timers cannot hit exactly).
    now = 100.5;
    await window.whenSendable(signal);
    now = 199.9;
    let left = false;
    const waiting = window.whenSendable(signal).then(() => (left = true));
    assert.equal(window.waitingToSend, 1);
    now = 200;
    await waiting;
    assert.ok(left);
    // 150 ms late (a busy event loop): the next waits a full spacing after it, not catching up.
    now = 450;
    await window.whenSendable(signal);
    now = 500;
    const order: number[] = [];
    const queued = [1, 2, 3].map((i) => window.whenSendable(signal).then(() => order.push(i)));
    assert.equal(window.waitingToSend, 3);
    now = 549.9;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(order, [], "not before 100 ms after the late call");
    now = 1000; // far later: they go in order, not all at once (that would bunch): one per spacing
    await queued[0];
    assert.deepEqual(order, [1]);
    assert.equal(window.waitingToSend, 2);
    now = 1100;
    await queued[1];
    now = 1200;
    await queued[2];
    assert.deepEqual(order, [1, 2, 3]);
  });

  it("takes a call that gave up out of the queue", async () => {
    let now = 0;
    const window = new SlidingWindow(1, () => now);
    await window.whenSendable(new AbortController().signal);
    const controller = new AbortController();
    const waiting = window.whenSendable(controller.signal).then(
      () => "left",
      (e: unknown) => (e as DeliveryError).message,
    );
    assert.equal(window.waitingToSend, 1);
    controller.abort(new Error("timed out"));
    assert.match(await waiting, /aborted while waiting for the rate limit/);
    assert.equal(window.waitingToSend, 0);
    now = 1000;
    await window.whenSendable(new AbortController().signal);
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
    // Half a second apart, those beyond two seconds coming back after two to look again.
    assert.deepEqual(deferredFor, [0, 500, 1000, 1500, 2000, 2000]);
    // Each comes back at its turn and goes without taking another one.
    for (let i = 1; i < 6; i++) {
      now = i * 500;
      await limiter.acquire("d", 2, signal, `delivery-${i}`);
    }
    // A new call queues behind them all.
    const late = await limiter.acquire("d", 2, signal, "delivery-6").then(
      () => 0,
      (e: unknown) => (e as DeliveryError).retryAfterMs,
    );
    assert.equal(late, 500);
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
    // One goes now, 55 are deferred over the next 27.5 seconds.
    for (let i = 0; i < 56; i++) await wait(`dropped-${i}`);
    // A live call behind them waits for them all (rechecking every few seconds).
    assert.ok((await wait("live-before")) > 1000);
    limiter.release("live-before");
    // Their deliveries were dropped with their target: the turns go.
    for (let i = 1; i < 56; i++) limiter.release(`dropped-${i}`);
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
    // Raised to 200 a second: every waiting delivery goes at its next look (within 90 ms).
    for (let i = 1; i < 20; i++) assert.equal(await retryAfter(`delivery-${i}`, 200), 0, `delivery-${i}`);
    // Lowered to 1 a second: the next ones wait their turns at the new rate, a second after the last
    // call at 200 a second (1090) and apart (2090, 3090, 4090), those further than two seconds coming
    // back after two to look again.
    now = 1500;
    const waits = [];
    for (let i = 20; i < 23; i++) waits.push(await retryAfter(`delivery-${i}`, 1));
    assert.deepEqual(waits, [590, 1590, 2000]);
    now = 2090;
    assert.equal(await retryAfter("delivery-20", 1), 0);
    assert.equal(await retryAfter("delivery-21", 1), 1000);
    assert.equal(await retryAfter("delivery-22", 1), 2000);
  });

  it("says the rate a call's turn was planned at in the end: the lowered one, when it moved while it waited", async () => {
    const now = 0;
    const limiter = new RateLimiter(600, () => now);
    const signal = new AbortController().signal;
    assert.equal(await limiter.acquire("d", 10.5, signal), 10);
    assert.equal(await limiter.acquire("free", 0, signal), Number.POSITIVE_INFINITY);
    // Ten calls a second: the next waits for its turn (100 ms).
    const waiting = limiter.acquire("d", 10, signal);
    // Another call brings the lowered rate meanwhile (and is deferred): the waiting turn moves to
    // 500 ms, at the new rate.
    const lowered = limiter.acquire("d", 2, signal, "later").catch(() => undefined);
    assert.equal(await waiting, 2, "planned at the lowered rate: no second turn needed");
    await lowered;
  });

  it("takes a rate it is told of (UpdateApiDestination) for the calls waiting and leaving, without a call bringing it", async () => {
    let now = 0;
    const limiter = new RateLimiter(1000, () => now);
    const signal = new AbortController().signal;
    assert.equal(await limiter.acquire("d", 10, signal), 10);
    await limiter.sendable("d", signal);
    // The next call's turn is 100 ms away; told of 2 a second, it moves to 500 ms.
    const waiting = limiter.acquire("d", 10, signal);
    limiter.setRate("d", 2);
    limiter.setRate("unknown", 2); // a destination without calls: nothing to plan
    assert.equal(await waiting, 2);
    // And the send gate spaces at the new rate: 500 ms after the call that left at 0.
    now = 499;
    let left = false;
    const leaving = limiter.sendable("d", signal).then(() => (left = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(left, false);
    now = 500;
    await leaving;
    assert.equal(limiter.windowCount, 1);
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
