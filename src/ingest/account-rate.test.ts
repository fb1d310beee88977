import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AccountRate } from "./account-rate.js";

describe("an account's quota of events a second", () => {
  it("lets a second's worth through at once, then what refills, account by account", () => {
    let now = 0;
    const rate = new AccountRate(100, () => now);
    for (let i = 0; i < 10; i++) assert.equal(rate.take("a", 10), true);
    assert.equal(rate.take("a", 1), false);
    // Another account has its own bucket.
    assert.equal(rate.take("b", 10), true);
    now += 50; // 5 events' worth
    assert.equal(rate.take("a", 10), false);
    assert.equal(rate.take("a", 5), true);
    assert.equal(rate.take("a", 1), false);
    now += 10_000; // full again, never past full
    for (let i = 0; i < 10; i++) assert.equal(rate.take("a", 10), true);
    assert.equal(rate.take("a", 1), false);
  });

  it("takes nothing from a refused request, so that its retry is not charged twice", () => {
    let now = 0;
    const rate = new AccountRate(20, () => now);
    assert.equal(rate.take("a", 10), true);
    assert.equal(rate.take("a", 7), true); // 3 left
    assert.equal(rate.take("a", 10), false);
    assert.equal(rate.take("a", 3), true);
    now += 500; // 10 more
    assert.equal(rate.take("a", 10), true);
  });

  it("holds a whole request at least, under 10 a second", () => {
    let now = 0;
    const rate = new AccountRate(1, () => now);
    assert.equal(rate.take("a", 10), true);
    assert.equal(rate.take("a", 1), false);
    now += 1000;
    assert.equal(rate.take("a", 1), true);
  });

  it("is off at 0", () => {
    const rate = new AccountRate(0, () => 0);
    for (let i = 0; i < 1000; i++) assert.equal(rate.take("a", 10), true);
  });

  it("lets go of idle accounts' buckets as they pile up, which start full again", () => {
    let now = 0;
    const rate = new AccountRate(10, () => now);
    for (let i = 0; i < 10_050; i++) assert.equal(rate.take(`acct-${i}`, 10), true);
    assert.equal(rate.take("acct-10049", 1), false); // just emptied, kept
    now += 1000;
    assert.equal(rate.take("acct-0", 10), true);
  });
});
