/**
 * How request members are quoted in validation messages.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clip } from "./input.js";

describe("clip", () => {
  it("keeps a value of 100 characters or fewer whole", () => {
    assert.equal(clip("x".repeat(100)), "x".repeat(100));
  });

  it("cuts a longer value at 100 characters, never inside a surrogate pair", () => {
    assert.equal(clip("a".repeat(150)), `${"a".repeat(100)}…`);
    // The emoji would be cut in half at 100 UTF-16 units: it is left out whole (a review saw a lone
    // \ud83d in a message).
    assert.equal(clip(`${"a".repeat(99)}😀bbb`), `${"a".repeat(99)}…`);
    // One that ends at the 100th unit is kept.
    assert.equal(clip(`${"a".repeat(98)}😀bbb`), `${"a".repeat(98)}😀…`);
  });
});
