import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidEventPatternError } from "./errors.js";
import { Matcher } from "./matcher.js";

const event = JSON.stringify({ source: "shop", detail: { state: "paid", total: 250, tags: ["a", "b"] } });

describe("Matcher", () => {
  it("returns the ids of every matching rule", () => {
    const m = new Matcher<string>();
    m.add("by-source", '{"source":["shop"]}');
    m.add("by-state", '{"detail":{"state":["paid"]}}');
    m.add("by-total", '{"detail":{"total":[{"numeric":[">",100]}]}}');
    m.add("miss", '{"detail":{"state":["refunded"]}}');
    assert.deepEqual(m.matchJson(event).sort(), ["by-source", "by-state", "by-total"]);
  });
  it("replaces a rule added again under the same id", () => {
    const m = new Matcher<string>();
    m.add("r", '{"source":["shop"]}');
    m.add("r", '{"source":["other"]}');
    assert.deepEqual(m.matchJson(event), []);
    assert.equal(m.size, 1);
  });
  it("removes rules, including states they shared with others", () => {
    const m = new Matcher<string>();
    m.add("one", '{"source":["shop"],"detail":{"state":["paid"]}}');
    m.add("two", '{"source":["shop"],"detail":{"total":[250]}}');
    assert.equal(m.remove("one"), true);
    assert.deepEqual(m.matchJson(event), ["two"]);
    assert.equal(m.remove("one"), false);
    m.remove("two");
    assert.deepEqual(m.matchJson(event), []);
    m.add("three", '{"detail":{"tags":["b"]}}');
    assert.deepEqual(m.matchJson(event), ["three"]);
  });
  it("leaves the matcher unchanged when a pattern is invalid", () => {
    const m = new Matcher<string>();
    m.add("r", '{"source":["shop"]}');
    assert.throws(() => m.add("r", '{"source":"shop"}'), InvalidEventPatternError);
    assert.deepEqual(m.matchJson(event), ["r"]);
  });
  it("reports a rule once even when several sub-patterns match", () => {
    const m = new Matcher<string>();
    m.add("r", '{"$or":[{"source":["shop"]},{"detail":{"state":["paid"]}}]}');
    assert.deepEqual(m.matchJson(event), ["r"]);
  });
  it("matches parsed events like their JSON text", () => {
    const m = new Matcher<string>();
    m.add("r", '{"detail":{"tags":["a"]}}');
    assert.deepEqual(m.matchEvent(JSON.parse(event)), ["r"]);
  });
});
