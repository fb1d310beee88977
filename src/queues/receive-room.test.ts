import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReceiveRoom } from "./receive-room.js";

describe("ReceiveRoom", () => {
  it("lets waiting receives in as room is given back, accounts in turns", async () => {
    const room = new ReceiveRoom(100);
    assert.equal(room.take(80), true);
    const order: string[] = [];
    const a1 = room.wait(50, "a").then((taken) => order.push(`a1 ${taken}`));
    const a2 = room.wait(50, "a").then((taken) => order.push(`a2 ${taken}`));
    const b1 = room.wait(50, "b").then((taken) => order.push(`b1 ${taken}`));
    room.give(80);
    await Promise.all([a1, b1]);
    // a1 and b1 fit together; a2 waits behind b's turn.
    assert.deepEqual(order, ["a1 true", "b1 true"]);
    room.give(50);
    await a2;
    assert.deepEqual(order, ["a1 true", "b1 true", "a2 true"]);
  });

  it("ends a wait whose signal aborts, without room, and lets in those behind it that now fit", async () => {
    const room = new ReceiveRoom(100);
    assert.equal(room.take(60), true);
    const abort = new AbortController();
    const big = room.wait(90, "a", abort.signal);
    const small = room.wait(30, "b");
    let smallIn = false;
    void small.then(() => (smallIn = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(smallIn, false, "behind the first in turn");
    abort.abort();
    assert.equal(await big, false);
    assert.equal(await small, true);
    assert.equal(room.wanted(), false);
    // The aborted wait took nothing: 60 + 30 are taken, 10 left.
    assert.equal(room.take(10), true);
    assert.equal(room.take(1), false);
  });

  it("takes nothing for a signal aborted before the wait", async () => {
    const room = new ReceiveRoom(10);
    assert.equal(room.take(10), true);
    assert.equal(await room.wait(5, "a", AbortSignal.abort()), false);
    assert.equal(room.wanted(), false);
  });
});
