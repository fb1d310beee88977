import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InFlightLimit, RECOUNT_MS } from "./in-flight.js";

const queue = { accountId: "111111111111", name: "q" };

/** A limit whose counts come from `inFlight` (what the store would count) and whose clock is `clock.now`. */
function limitOf(max: number, inFlight: { value: number; counts: number }, clock = { now: 0 }) {
  return new InFlightLimit(
    max,
    () => {
      inFlight.counts += 1;
      return new Promise((resolve) => setImmediate(() => resolve(inFlight.value)));
    },
    () => clock.now,
  );
}

describe("InFlightLimit", () => {
  it("counts at a queue's first receive, once for receives at the same time, and reserves the room", async () => {
    const inFlight = { value: 12, counts: 0 };
    const limit = limitOf(25, inFlight);
    const [a, b] = await Promise.all([limit.reserve(queue, "q", 10), limit.reserve(queue, "q", 10)]);
    assert.equal(inFlight.counts, 1);
    assert.deepEqual([a.room, b.room], [10, 3], "the second takes only what the first left");
    assert.equal((await limit.reserve(queue, "q", 10)).room, 0);
  });

  it("gives back what a receive did not take, and counts what it took", async () => {
    const inFlight = { value: 0, counts: 0 };
    const limit = limitOf(25, inFlight);
    const a = await limit.reserve(queue, "q", 10);
    limit.taken(a, 4);
    const b = await limit.reserve(queue, "q", 10);
    limit.taken(b, 10);
    assert.equal((await limit.reserve(queue, "q", 10)).room, 10);
    assert.equal((await limit.reserve(queue, "q", 10)).room, 1);
    assert.equal(inFlight.counts, 1, "no count again within the room");
  });

  it("lowers the count by the messages released, saying when that made room where there was none", async () => {
    const inFlight = { value: 20, counts: 0 };
    const limit = limitOf(25, inFlight);
    const first = await limit.reserve(queue, "q", 10);
    assert.equal(first.room, 5);
    limit.taken(first, 5);
    assert.equal(limit.released("q", 3), true, "room made in a full queue");
    assert.equal(limit.released("q", 1), false, "room was left already");
    const second = await limit.reserve(queue, "q", 10);
    assert.equal(second.room, 4);
    limit.taken(second, 4);
    assert.equal(limit.released("other", 5), false, "a queue never counted");
    limit.released("q", 1000);
    assert.equal((await limit.reserve(queue, "q", 10)).room, 10, "never below none");
    assert.equal(inFlight.counts, 1);
  });

  it("counts again only when a receive finds too little room and the last count is a second old", async () => {
    const inFlight = { value: 25, counts: 0 };
    const clock = { now: 0 };
    const limit = limitOf(25, inFlight, clock);
    assert.equal((await limit.reserve(queue, "q", 10)).room, 0);
    inFlight.value = 5; // deleted meanwhile
    clock.now = RECOUNT_MS - 1;
    assert.equal((await limit.reserve(queue, "q", 10)).room, 0, "not counted again yet");
    assert.equal(inFlight.counts, 1);
    clock.now = RECOUNT_MS;
    assert.equal((await limit.reserve(queue, "q", 10)).room, 10);
    assert.equal(inFlight.counts, 2);
  });

  it("counts a queue forgotten (purged, deleted) again at its next receive, and keeps queues apart", async () => {
    const inFlight = { value: 20, counts: 0 };
    const limit = limitOf(25, inFlight);
    const held = await limit.reserve(queue, "q", 10);
    assert.equal(held.room, 5);
    inFlight.value = 0;
    limit.forget("q");
    assert.equal((await limit.reserve(queue, "q", 10)).room, 10);
    limit.taken(held, 5); // a receive from before the purge ends: the new bound is untouched
    assert.equal((await limit.reserve(queue, "q", 10)).room, 10);
    assert.equal((await limit.reserve(queue, "q", 10)).room, 5);
    assert.equal((await limit.reserve({ ...queue, name: "other" }, "other", 10)).room, 10);
  });

  it("passes a failed count on, and counts again at the next receive", async () => {
    let fail = true;
    const limit = new InFlightLimit(25, () =>
      fail ? Promise.reject(new Error("store down")) : Promise.resolve(0),
    );
    await assert.rejects(limit.reserve(queue, "q", 10), /store down/);
    fail = false;
    assert.equal((await limit.reserve(queue, "q", 10)).room, 10);
  });
});
