import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { WhileOpen } from "./nats.js";

describe("WhileOpen (calls waiting on a NATS connection)", () => {
  it("holds nothing for a call once it settled, however many there were", async () => {
    const open = new WhileOpen();
    const results = await Promise.all(Array.from({ length: 1_000 }, (_, i) => open.wait(Promise.resolve(i))));
    assert.equal(results.length, 1_000);
    await assert.rejects(open.wait(Promise.reject(new Error("refused"))), /refused/);
    assert.equal(open.waiting, 0);
  });

  it("fails the calls waiting when the connection closes, and every later one at once", async () => {
    const open = new WhileOpen();
    const pending = open.wait(new Promise<never>(() => undefined));
    assert.equal(open.waiting, 1);
    const lost = new Error("the connection closed before the server acknowledged");
    open.closed(lost);
    await assert.rejects(pending, (e) => e === lost);
    assert.equal(open.waiting, 0);
    await assert.rejects(open.wait(Promise.resolve(1)), (e) => e === lost);
  });
});
