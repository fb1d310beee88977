import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidEventJsonError } from "./errors.js";
import { isJsonObject, notJsonObject } from "./index.js";
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
    // Under a path a rule uses, arrays of arrays are refused far sooner, past 32 (MAX_ARRAY_NESTING).
    assert.throws(
      () => matcher.matchJson(`{"a":${deep}}`),
      /nests arrays of objects or arrays more than 32 deep/,
    );
  });

  it("reads a flat list of millions of elements, which overflows the regular expression's stack", () => {
    const long = `[${Array.from({ length: 2_000_000 }, (_, i) => i % 10).join(",")}]`;
    assert.deepEqual(matcher.matchJson(`{"a":"x","b":${long}}`), ["r"]);
    assert.throws(() => matcher.matchJson(`{"a":"x","b":${long.slice(0, -1)},]}`), /Unexpected character/);
  });
});

describe("isJsonObject", () => {
  /** What JSON.parse says: one object, nothing else. */
  const parsesToObject = (text: string): boolean => {
    try {
      const v: unknown = JSON.parse(text);
      return v !== null && typeof v === "object" && !Array.isArray(v);
    } catch {
      return false;
    }
  };

  it("accepts exactly what JSON.parse reads as one object", () => {
    const cases = [
      "{}",
      " \t\n{ } \r\n",
      '{"a":1}',
      '{"a":[1,2,{"b":null}],"c":{"d":"e\\u00e9\\n"},"f":-1.5e+3,"g":true}',
      '{"a":"\u00e9\ud83d\ude00"}',
      '{"a":1}{"b":2}',
      '{"a":1},"id":"x"',
      '{"a":1} x',
      "[]",
      "[{}]",
      '"text"',
      "1",
      "null",
      "",
      " ",
      "{",
      '{"a":01}',
      '{"a":1.}',
      '{"a":"\\q"}',
      '{"a":"tab\there"}',
      '{"a":1,}',
      "\ufeff{}",
      '{"a":"x","b":[1 2]}',
    ];
    for (const text of cases) assert.equal(isJsonObject(text), parsesToObject(text), JSON.stringify(text));
  });

  it("agrees with JSON.parse on randomly damaged objects (seeded)", () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = '{}[]":,.-+eE0123456789 \\ntrufalsx\u00e9';
    const seeds = [
      '{"a":[1,2,{"b":null}],"c":{"d":"e\\u00e9"},"f":-1.5e+3,"g":true,"h":false}',
      '{"order":17,"customer":"c-7","note":"xxxxxxxx","tags":["a","b"],"n":{"m":[[],{}]}}',
    ];
    let disagreements = 0;
    for (let k = 0; k < 20_000; k++) {
      let text = seeds[k % seeds.length] as string;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(text.length + 1);
        const c = alphabet[random(alphabet.length)] as string;
        const op = random(3);
        text =
          op === 0
            ? text.slice(0, at) + c + text.slice(at)
            : op === 1
              ? text.slice(0, at) + text.slice(at + 1)
              : text.slice(0, at) + c + text.slice(at + 1);
      }
      if (isJsonObject(text) !== parsesToObject(text)) disagreements++;
    }
    assert.equal(disagreements, 0);
  });

  it("refuses nesting far deeper than events may have, which JSON.parse reads", () => {
    const deep = (n: number): string => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
    assert.equal(isJsonObject(deep(1000)), true);
    // One more, the innermost a flat object (read by a shortcut), is refused all the same.
    assert.equal(isJsonObject(deep(1001)), false);
    assert.equal(isJsonObject(deep(1002)), false);
    assert.equal(isJsonObject(`{"x":[${deep(999)}]}`), false);
    assert.equal(notJsonObject(deep(999), 1), undefined);
    assert.match(notJsonObject(deep(1000), 1) ?? "", /Nesting deeper than 1000 levels/);
    assert.equal(parsesToObject(deep(1002)), true);
  });
});
