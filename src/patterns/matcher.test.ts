import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidEventPatternError, MatchLimitExceededError } from "./errors.js";
import { MAX_MATCH_STEPS, Matcher } from "./matcher.js";

const event = JSON.stringify({ source: "shop", detail: { state: "paid", total: 250, tags: ["a", "b"] } });

describe("Matcher", () => {
  it("matches conditions on several arrays of objects without walking every combination of their elements", () => {
    const m = new Matcher<string>();
    m.add("three-arrays", '{"detail":{"p":{"v":[1]},"q":{"v":[1]},"r":{"v":[2]}}}');
    const event = (n: number, last: number) => {
      const array = Array.from({ length: n }, () => ({ v: 1 }));
      return JSON.stringify({ detail: { p: array, q: array, r: [...array.slice(1), { v: last }] } });
    };
    // 600 elements each: 216 million combinations for a walk that tried them all; a few thousand steps here.
    const started = performance.now();
    assert.deepEqual(m.matchJson(event(600, 1)), []);
    assert.deepEqual(m.matchJson(event(600, 2)), ["three-arrays"]);
    assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
  });

  it("matches fields that must come from the same element of a long array without trying every pair", () => {
    const m = new Matcher<string>();
    m.add("same-element", '{"detail":{"p":{"a":[1],"b":[2]}}}');
    m.add("nested", '{"detail":{"n":{"q":{"a":[1],"b":[2]}}}}');
    m.add("absent", '{"detail":{"p":{"a":[3],"c":[{"exists":false}]}}}');
    const event = (n: number, last: object) => {
      const p = [...Array.from({ length: n - 1 }, () => ({ a: 1, b: 1, c: 0 })), last];
      const q = (k: number) =>
        Array.from({ length: 40 }, (_, i) => (i === k ? { a: 1, b: 2 } : { a: 1, b: 1 }));
      return JSON.stringify({
        detail: { p, n: [{ q: q(-1) }, { q: q(-1) }, { q: q(last === HIT ? 39 : -1) }] },
      });
    };
    const HIT = { a: 1, b: 2 };
    // 20,000² pairs for a walk that tried each b-leaf for each a-leaf; one lookup per a-leaf here.
    // Counted in steps, not timed: a loaded machine took 1.2 s for what takes 0.6 s alone.
    const steps: number[] = [];
    const match = (e: string): string[] => {
      const matched = m.matchJson(e);
      steps.push(m.steps);
      return matched;
    };
    assert.deepEqual(match(event(20_000, { a: 2, b: 2 })), []);
    assert.deepEqual(match(event(20_000, { a: 1, c: 0 })), []);
    assert.deepEqual(match(event(20_000, HIT)).sort(), ["nested", "same-element"]);
    assert.deepEqual(match(event(20_000, { a: 3 })), ["absent"]);
    for (const n of steps)
      assert.ok(n < 10 * 20_000, `took ${n} steps for 20,000 elements (${steps.join(", ")})`);
  });

  it("stops an event whose array-consistent walk would exceed the step budget, and stays usable", () => {
    const m = new Matcher<string>();
    // Thirty alternatives, each with conditions on two fields of p that nearly every element meets:
    // every element walks thirty states, and the walk's steps grow with both.
    const alternatives = Array.from({ length: 30 }, (_, k) => ({
      a: [{ "anything-but": String(k) }],
      b: [{ "anything-but": String(k) }],
    }));
    m.add("many", JSON.stringify({ detail: { p: { $or: alternatives } } }));
    const event = (n: number) =>
      JSON.stringify({ detail: { p: Array.from({ length: n }, () => ({ a: "x", b: "y" })) } });
    assert.deepEqual(m.matchJson(event(100)), ["many"]);
    const started = performance.now();
    assert.throws(
      () => m.matchJson(event(9000)),
      (e: unknown) => e instanceof MatchLimitExceededError && e.budget === MAX_MATCH_STEPS,
    );
    assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);
    assert.deepEqual(m.matchJson(event(2)), ["many"]);
  });

  it("counts the characters its one-by-one conditions read against the step budget", () => {
    const m = new Matcher<string>();
    // Wildcards that start with a star are all tried on every value: each search reads it whole.
    for (let r = 0; r < 10; r++) {
      const stars = Array.from({ length: 70 }, (_, k) => ({ wildcard: `*ab*${r}_${k}*x` }));
      m.add(`wild-${r}`, JSON.stringify({ detail: { d: stars } }));
    }
    m.add("plain", '{"detail":{"e":["y"]}}');
    const long = JSON.stringify({ detail: { d: `${"a".repeat(250_000)}x`, e: "y" } });
    assert.throws(
      () => m.matchJson(long),
      (e: unknown) => e instanceof MatchLimitExceededError && e.budget === MAX_MATCH_STEPS,
    );
    // Ordinary values are matched as before, by the same rules.
    assert.deepEqual(m.matchJson(JSON.stringify({ detail: { d: "zab-3_7-x", e: "y" } })).sort(), [
      "plain",
      "wild-3",
    ]);
  });

  it("counts the characters its prefix lookups hash against the step budget, one lookup per length in use", () => {
    const m = new Matcher<string>();
    for (let r = 0; r < 300; r++)
      m.add(`p-${r}`, JSON.stringify({ detail: { p: [{ prefix: "a".repeat(1700 + r) }] } }));
    const values = (n: number, text: string) =>
      JSON.stringify({ detail: { p: Array.from({ length: n }, () => text) } });
    assert.throws(
      () => m.matchJson(values(300, "b".repeat(2000))),
      (e: unknown) => e instanceof MatchLimitExceededError && e.budget === MAX_MATCH_STEPS,
    );
    assert.deepEqual(m.matchJson(values(2, "a".repeat(1701))).sort(), ["p-0", "p-1"]);
  });

  it("refuses an event that nests arrays of objects more than 32 deep under a path some rule uses", () => {
    const m = new Matcher<string>();
    m.add("xy", '{"detail":{"a":{"x":["1"],"y":["2"]}}}');
    const nested = (depth: number) =>
      `{"detail":{"a":${"[".repeat(depth)}{"x":"1","y":"2"},{"x":"1","y":"2"}${"]".repeat(depth)}}}`;
    assert.deepEqual(m.matchJson(nested(32)), ["xy"]);
    assert.throws(
      () => m.matchJson(nested(33)),
      (e: unknown) => e instanceof MatchLimitExceededError && /more than 32 deep/.test(e.message),
    );
    // Under a path no rule uses, such nesting is only read.
    const elsewhere = `{"detail":{"b":${"[".repeat(40)}{"x":"1"}${"]".repeat(40)},"a":{"x":"1","y":"2"}}}`;
    assert.deepEqual(m.matchJson(elsewhere), ["xy"]);
  });

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
