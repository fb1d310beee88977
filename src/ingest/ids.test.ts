import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { uuidv7 } from "./ids.js";

describe("uuidv7", () => {
  it("makes version-7, variant-1 UUIDs that sort by time", () => {
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(a < b);
    assert.equal(a.slice(0, 8) + a.slice(9, 13), (1_700_000_000_000).toString(16).padStart(12, "0"));
  });
  it("does not repeat", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => uuidv7(0)));
    assert.equal(ids.size, 10_000);
  });
});
