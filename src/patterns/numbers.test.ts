import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { comparableKey, comparableProblem, sameDecimal } from "./numbers.js";

describe("comparableKey", () => {
  it("gives the double value of ordinary numbers, -0 as 0", () => {
    assert.equal(comparableKey("1.5"), 1.5);
    assert.equal(comparableKey("-122.476238"), -122.476238);
    assert.equal(Object.is(comparableKey("-0"), 0), true);
    assert.equal(Object.is(comparableKey("-0.0e5"), 0), true);
  });
  it("gives equal keys to equal values written differently", () => {
    for (const t of ["300", "300.0", "3e2", "3E+2", "30000e-2", "300.000000000000000000"]) {
      assert.equal(comparableKey(t), 300, t);
    }
  });
  it("accepts the whole double range, beyond the old ±5e9 and six decimals", () => {
    assert.equal(comparableKey("6000000000"), 6e9);
    assert.equal(comparableKey("0.0000001"), 1e-7);
    assert.equal(comparableKey("1.7976931348623157e308"), Number.MAX_VALUE);
  });
  it("rejects numbers that no double represents exactly in shortest form", () => {
    for (const t of [
      "1e400",
      "-1e400",
      "1e-400",
      "12345678901234567891",
      "9007199254740993",
      "37.807807921694092",
    ]) {
      assert.equal(comparableKey(t), undefined, t);
    }
    assert.equal(comparableKey("9007199254740992"), 9007199254740992);
    assert.equal(comparableKey("37.80780792169409"), 37.80780792169409);
  });
  it("explains why a number is not comparable", () => {
    assert.match(comparableProblem("1e400") ?? "", /Cannot compare number 1e400/);
    assert.equal(comparableProblem("42"), undefined);
  });
  it("compares decimal literals exactly", () => {
    assert.ok(sameDecimal("1.50", "15e-1"));
    assert.ok(!sameDecimal("9007199254740993", "9007199254740992"));
    assert.ok(sameDecimal("-0", "0"));
  });
});
