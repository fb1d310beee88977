import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MinHeap } from "./min-heap.js";

describe("MinHeap", () => {
  it("pops in ascending order whatever the push order", () => {
    const heap = new MinHeap<number>((a, b) => a - b);
    const values = Array.from({ length: 500 }, (_, i) => (i * 7919) % 503);
    for (const v of values) heap.push(v);
    assert.equal(heap.size, 500);
    const out: number[] = [];
    for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
    assert.deepEqual(
      out,
      [...values].sort((a, b) => a - b),
    );
    assert.equal(heap.peek(), undefined);
  });

  it("takes out what a predicate picks and still pops the rest in order", () => {
    const heap = new MinHeap<number>((a, b) => a - b);
    const values = Array.from({ length: 500 }, (_, i) => (i * 7919) % 503);
    for (const v of values) heap.push(v);
    const removed = heap.removeWhere((v) => v % 3 === 0 || v > 400);
    assert.deepEqual(
      [...removed].sort((a, b) => a - b),
      values.filter((v) => v % 3 === 0 || v > 400).sort((a, b) => a - b),
    );
    heap.push(1000);
    heap.push(-1);
    const out: number[] = [];
    for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
    assert.deepEqual(out, [-1, ...values.filter((v) => v % 3 !== 0 && v <= 400).sort((a, b) => a - b), 1000]);
  });
});
