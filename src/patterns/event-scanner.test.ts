import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidEventJsonError } from "./errors.js";
import { Matcher } from "./matcher.js";

/** A matcher that looks only at `a`, so that everything else in the event is skipped. */
const matcher = new Matcher<string>();
matcher.add("r", '{"a":["x"]}');

describe("event scanner", () => {
  it("validates the parts it skips as strictly as the parts it reads", () => {
    const bad = [
      '{"a":"x","b":[1,2,}',
      '{"a":"x","b":{"c" 1}}',
      '{"a":"x","b":01}',
      '{"a":"x","b":1.}',
      '{"a":"x","b":-}',
      '{"a":"x","b":"\\q"}',
      '{"a":"x","b":"\\u12G4"}',
      '{"a":"x","b":tru}',
      '{"a":"x","b":[1 2]}',
      '{"a":"x","b":{"c":1]}',
      '{"a":"x"} extra',
      '{"a":"x","b":"unterminated}',
      '{"a":"x",}',
      "",
      '{"a":"x","b":"tab\there"}',
    ];
    for (const text of bad) assert.throws(() => matcher.matchJson(text), InvalidEventJsonError, text);
  });
  it("accepts valid JSON with whitespace, escapes and exponents in skipped parts", () => {
    const ok = '{ "b" : [ 1 , -0.5e-3 , {"c": "q\\"\\\\\\u00e9"} , [] , {} , true , null ] ,\n "a" : "x" }';
    assert.deepEqual(matcher.matchJson(ok), ["r"]);
  });
  it("skips strings of text already known to be valid by searching for the closing quote", () => {
    // Quotes preceded by runs of backslashes: odd runs escape the quote, even runs do not.
    const skipped = ['"plain"', '"q\\"x"', '"\\\\"', '"\\\\\\"\\\\"', '"a\\\\\\\\"'];
    for (const b of skipped) {
      const text = `{"b":${b},"c":{"d":[${b},{"e":${b}}]},"a":"x","z":${b}}`;
      assert.equal((JSON.parse(text) as { a: unknown }).a, "x", text);
      assert.deepEqual(matcher.matchJson(text, true), ["r"], text);
      assert.deepEqual(matcher.matchJson(text.replace('"a":"x"', '"a":"y"'), true), [], text);
    }
    const deep = "[".repeat(1200) + "]".repeat(1200);
    assert.throws(() => matcher.matchJson(`{"a":"x","b":${deep}}`, true), /Nesting deeper than 1000/);
  });
  it("unescapes the strings it reads", () => {
    const m = new Matcher<string>();
    m.add("r", '{"a":["é\\"x"]}');
    assert.deepEqual(m.matchJson('{"a":"\\u00e9\\"x"}'), ["r"]);
  });
  it("rejects nesting beyond the limit instead of overflowing the stack", () => {
    const deep = "[".repeat(5000) + "]".repeat(5000);
    assert.throws(() => matcher.matchJson(`{"a":"x","b":${deep}}`), /Nesting deeper than 1000/);
    assert.throws(() => matcher.matchJson(`{"a":${deep}}`), /Nesting deeper than 1000/);
  });
});
