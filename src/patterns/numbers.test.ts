import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { comparableKey, comparableProblem } from "./numbers.js";

describe("comparableKey", () => {
  it("scales decimals to integers exactly", () => {
    assert.equal(comparableKey("0"), 0);
    assert.equal(comparableKey("-0"), 0);
    assert.equal(comparableKey("1.5"), 1_500_000);
    assert.equal(comparableKey("-122.476238"), -122_476_238);
    assert.equal(comparableKey("0.000001"), 1);
  });
  it("gives equal keys to equal values written differently", () => {
    for (const t of ["300", "300.0", "3e2", "3E+2", "30000e-2", "300.000000000"])
      assert.equal(comparableKey(t), 300_000_000, t);
  });
  it("accepts the ends of the range and rejects beyond them", () => {
    assert.equal(comparableKey("5000000000"), 5e15);
    assert.equal(comparableKey("-5e9"), -5e15);
    assert.equal(comparableKey("5000000000.000001"), undefined);
    assert.equal(comparableKey("123456789012"), undefined);
    assert.equal(comparableKey("1e300"), undefined);
  });
  it("rejects more than six decimals", () => {
    assert.equal(comparableKey("0.0000001"), undefined);
    assert.equal(comparableKey("1.1234567"), undefined);
  });
  it("explains why a number is not comparable", () => {
    assert.match(comparableProblem("0.0000001") ?? "", /6 decimals/);
    assert.match(comparableProblem("6e9") ?? "", /between -5.0E9 and 5.0E9/);
    assert.equal(comparableProblem("42"), undefined);
  });
});
