import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MAX_KEYED_SCRAPES, MAX_SCRAPES_PER_KEY, ScrapeSlots } from "./scrape-slots.js";

describe("scrapes with access keys at once", () => {
  it("holds each key to its few, and all keys to their many, giving places back as scrapes end", () => {
    const slots = new ScrapeSlots();
    for (let i = 0; i < MAX_SCRAPES_PER_KEY; i++) assert.equal(slots.take("A"), true);
    assert.equal(slots.take("A"), false);
    slots.give("A");
    assert.equal(slots.take("A"), true);
    let others = 0;
    for (let k = 0; slots.take(`K${k}`); k++) others++;
    assert.equal(others, MAX_KEYED_SCRAPES - MAX_SCRAPES_PER_KEY);
    assert.equal(slots.take("B"), false);
    slots.give("K0");
    assert.equal(slots.take("B"), true);
    // Every place given back: a key takes its few again.
    for (let i = 0; i < MAX_SCRAPES_PER_KEY; i++) slots.give("A");
    assert.equal(slots.take("A"), true);
  });
});
