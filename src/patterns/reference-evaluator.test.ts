import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseJson, referenceMatches } from "./reference-evaluator.js";

/** Pattern and event given as JSON text (to control number literals) or as values to stringify. */
function matches(pattern: unknown, event: unknown): boolean {
  const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));
  return referenceMatches(text(pattern), text(event));
}

describe("parseJson (R1)", () => {
  it("unescapes strings exactly as JSON.parse does, lone surrogates included", () => {
    for (const source of [
      '"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"',
      '"\\u00e9\\ud83d\\ude00\\ud800x"',
      '"é😀 plain"',
    ]) {
      assert.deepEqual(parseJson(source), { type: "string", value: JSON.parse(source) as string });
    }
  });

  it("keeps the source text of numbers and the order of duplicate keys", () => {
    assert.deepEqual(parseJson('{"n": -1.50E+3, "n": 12345678901234567890}'), {
      type: "object",
      entries: [
        ["n", { type: "number", text: "-1.50E+3" }],
        ["n", { type: "number", text: "12345678901234567890" }],
      ],
    });
  });

  it("rejects what JSON.parse rejects", () => {
    for (const bad of [
      "",
      "{",
      "[1,]",
      '{"a":1,}',
      "01",
      "1.",
      "+1",
      "'a'",
      '"\u0001"',
      '"\\x"',
      "[1] 2",
      "nul",
    ]) {
      assert.throws(() => JSON.parse(bad) as unknown, `JSON.parse accepts ${bad}`);
      assert.throws(() => parseJson(bad), Error, `parseJson accepts ${bad}`);
    }
  });
});

describe("referenceMatches: inputs (R1)", () => {
  it("throws when the event is not a JSON object", () => {
    assert.throws(() => matches({ a: ["x"] }, '["x"]'));
    assert.throws(() => matches({ a: ["x"] }, "{"));
  });
});

describe("flattening (R2–R5)", () => {
  it("joins nested keys with dots, so a dotted pattern key equals nesting", () => {
    assert.equal(matches({ "a.b": ["x"] }, { a: { b: "x" } }), true);
    assert.equal(matches({ a: { b: ["x"] } }, { "a.b": "x" }), true);
  });

  it("matches when any element of an event array matches (EventBridge array intersection)", () => {
    assert.equal(matches({ resources: ["r2", "r9"] }, { resources: ["r1", "r2"] }), true);
    assert.equal(matches({ resources: ["r3"] }, { resources: ["r1", "r2"] }), false);
    assert.equal(matches({ a: [3] }, { a: [[1, 2], [[3]]] }), true);
  });

  it("never combines fields from different elements of an array of objects", () => {
    const event = {
      d: [
        { a: "1", b: "x" },
        { a: "2", b: "y" },
      ],
    };
    assert.equal(matches({ d: { a: ["1"], b: ["x"] } }, event), true);
    assert.equal(matches({ d: { a: ["1"], b: ["y"] } }, event), false);
    assert.equal(
      matches({ u: { t: { k: ["c"], v: ["b"] } } }, { u: [{ t: [{ k: "c" }, { v: "b" }] }] }),
      false,
    );
    assert.equal(matches({ a: { b: [1], c: [2] } }, { a: [[{ b: 1 }, { c: 2 }]] }), false);
  });

  it("gives a scalar array element no membership of its own array (R4)", () => {
    assert.equal(matches({ a: [1], "a.b": [2] }, { a: [1, { b: 2 }] }), true);
  });

  it("gives objects, empty arrays and empty objects no leaf", () => {
    assert.equal(matches({ a: [{ exists: true }] }, { a: { b: 1 } }), false);
    assert.equal(matches({ a: [{ exists: true }] }, { a: [] }), false);
    assert.equal(matches({ a: [{ exists: true }] }, { a: [{}, []] }), false);
  });
});

describe("$or and compilation (R6–R12)", () => {
  it("matches when any $or branch matches, together with sibling fields", () => {
    const pattern = { source: ["s"], $or: [{ a: ["1"] }, { b: ["2"] }] };
    assert.equal(matches(pattern, { source: "s", b: "2" }), true);
    assert.equal(matches(pattern, { source: "t", b: "2" }), false);
    assert.equal(matches(pattern, { source: "s", c: "3" }), false);
  });

  it("nests $or inside $or and inside objects", () => {
    const pattern = { d: { $or: [{ a: ["1"] }, { b: ["2"], $or: [{ c: ["3"] }, { e: ["4"] }] }] } };
    assert.equal(matches(pattern, { d: { b: "2", e: "4" } }), true);
    assert.equal(matches(pattern, { d: { b: "2" } }), false);
    assert.equal(matches(pattern, { d: { a: "1" } }), true);
  });

  it("writes keys that follow a $or into every branch (R7)", () => {
    const pattern = { $or: [{ a: ["1"] }, { b: ["2"] }], c: ["3"] };
    assert.equal(matches(pattern, { b: "2", c: "3" }), true);
    assert.equal(matches(pattern, { a: "1" }), false);
  });

  it("lets a later occurrence of a path replace an earlier one in the same sub-pattern (R10)", () => {
    const pattern = { a: ["1"], $or: [{ a: ["2"] }, { b: ["3"] }] };
    assert.equal(matches(pattern, { a: "2" }), true);
    assert.equal(matches(pattern, { a: "1", b: "3" }), true);
    assert.equal(matches(pattern, { a: "1" }), false);
    assert.equal(matches('{"a": ["1"], "a": ["2"]}', { a: "1" }), false);
  });

  it("treats $or as a plain field name when it is not an array of 2+ objects without reserved keys (R8)", () => {
    assert.equal(matches({ $or: { a: ["x"] } }, { $or: { a: "x" } }), true);
    const reserved = { $or: [{ prefix: "a" }, { suffix: "z" }] };
    assert.equal(matches(reserved, { $or: "xyz" }), true);
    assert.equal(matches(reserved, { prefix: "abc" }), false);
  });

  it("throws on a pattern it does not understand", () => {
    assert.throws(() => matches({ a: [{ regex: "a.*" }] }, { a: "a" }));
    assert.throws(() => matches({ a: [] }, { a: "a" }));
    assert.throws(() => matches({ a: "x" }, { a: "x" }));
    assert.throws(() => matches({ a: [{ wildcard: "a**" }] }, { a: "a" }));
  });
});

describe("exact values (R13–R16, R27)", () => {
  it("matches strings exactly and keeps null and the empty string apart", () => {
    assert.equal(matches({ a: ["x"] }, { a: "x" }), true);
    assert.equal(matches({ a: ["x"] }, { a: "X" }), false);
    assert.equal(matches({ a: [""] }, { a: "" }), true);
    assert.equal(matches({ a: [""] }, { a: null }), false);
    assert.equal(matches({ a: [null] }, { a: null }), true);
    assert.equal(matches({ a: [null] }, { a: "null" }), false);
  });

  it("matches true and false only as literals", () => {
    assert.equal(matches({ a: [true] }, { a: true }), true);
    assert.equal(matches({ a: [true] }, { a: "true" }), false);
    assert.equal(matches({ a: [false] }, { a: 0 }), false);
  });

  it("compares comparable numbers by value and never matches a string with a number", () => {
    assert.equal(matches('{"a": [5]}', '{"a": 5.0}'), true);
    assert.equal(matches('{"a": [5]}', '{"a": 50e-1}'), true);
    assert.equal(matches('{"a": [0]}', '{"a": -0}'), true);
    assert.equal(matches('{"a": [5]}', '{"a": "5"}'), false);
    assert.equal(matches('{"a": ["5"]}', '{"a": 5}'), false);
  });

  it("compares numbers that are not exactly a double's shortest decimal only by their text (R25)", () => {
    assert.equal(matches('{"a": [12345678901234567890]}', '{"a": 12345678901234567890}'), true);
    assert.equal(matches('{"a": [12345678901234567890]}', '{"a": 12345678901234567890.0}'), false);
    assert.equal(matches('{"a": [5]}', '{"a": 5.00000000000000000001}'), false);
  });

  it("supports the undocumented exactly operator, without IP conversion", () => {
    assert.equal(matches({ a: [{ exactly: "10.0.0.1" }] }, { a: "10.0.0.1" }), true);
    assert.equal(matches({ a: [{ exactly: "10.0.0.1" }] }, { a: "::ffff:a00:1" }), false);
  });
});

describe("prefix and suffix (R13, R17–R18)", () => {
  it("matches strings only", () => {
    assert.equal(matches({ t: [{ prefix: "2017-10" }] }, { t: "2017-10-02" }), true);
    assert.equal(matches({ t: [{ prefix: "1" }] }, { t: 12 }), false);
    assert.equal(matches({ f: [{ suffix: ".png" }] }, { f: "a.png" }), true);
    assert.equal(matches({ f: [{ suffix: "2" }] }, { f: 12 }), false);
    assert.equal(matches({ f: [{ prefix: "" }] }, { f: "" }), true);
    assert.equal(matches({ f: [{ suffix: "" }] }, { f: null }), false);
  });

  it("sees the framing quotes, so a prefix ending in a quote matches the whole string", () => {
    assert.equal(matches({ a: [{ prefix: 'ab"' }] }, { a: "ab" }), true);
    assert.equal(matches({ a: [{ suffix: '"ab' }] }, { a: "ab" }), true);
  });
});

describe("equals-ignore-case (R20–R21)", () => {
  it("folds ASCII case and works inside prefix and suffix", () => {
    assert.equal(matches({ n: [{ "equals-ignore-case": "alice" }] }, { n: "ALICE" }), true);
    assert.equal(matches({ n: [{ "equals-ignore-case": "alice" }] }, { n: "alicia" }), false);
    assert.equal(
      matches({ s: [{ prefix: { "equals-ignore-case": "EventB" } }] }, { s: "eventbridge" }),
      true,
    );
    assert.equal(matches({ s: [{ suffix: { "equals-ignore-case": ".png" } }] }, { s: "A.PNG" }), true);
    assert.equal(matches({ s: [{ "equals-ignore-case": "5" }] }, { s: 5 }), false);
  });

  it("offers each pattern code unit's lower and upper case form, without folding the event", () => {
    assert.equal(matches({ n: [{ "equals-ignore-case": "ß" }] }, { n: "SS" }), true);
    assert.equal(matches({ n: [{ "equals-ignore-case": "ss" }] }, { n: "ß" }), false);
    assert.equal(matches({ n: [{ "equals-ignore-case": "ẞ" }] }, { n: "ß" }), true);
    assert.equal(matches({ n: [{ "equals-ignore-case": "ß" }] }, { n: "ẞ" }), false);
  });

  it("turns each half of a surrogate pair into '?' as Java's per-char encoding does (R14)", () => {
    assert.equal(matches({ n: [{ "equals-ignore-case": "😀" }] }, { n: "😀" }), false);
    assert.equal(matches({ n: [{ "equals-ignore-case": "😀" }] }, { n: "??" }), true);
  });
});

describe("wildcard (R22)", () => {
  it("lets * stand for any run, and \\* and \\\\ for themselves", () => {
    assert.equal(matches({ p: [{ wildcard: "a*c" }] }, { p: "abbc" }), true);
    assert.equal(matches({ p: [{ wildcard: "a*c" }] }, { p: "abcd" }), false);
    assert.equal(matches({ p: [{ wildcard: "*" }] }, { p: "" }), true);
    assert.equal(matches({ p: [{ wildcard: "a\\*c" }] }, { p: "a*c" }), true);
    assert.equal(matches({ p: [{ wildcard: "a\\*c" }] }, { p: "abc" }), false);
    assert.equal(matches({ p: [{ wildcard: "a\\\\b" }] }, { p: "a\\b" }), true);
    assert.equal(matches({ p: [{ wildcard: "*" }] }, { p: 1 }), false);
  });
});

describe("anything-but (R23–R24)", () => {
  it("with strings, excludes those strings and matches every non-string", () => {
    const pattern = { s: [{ "anything-but": ["a", "b"] }] };
    assert.equal(matches(pattern, { s: "a" }), false);
    assert.equal(matches(pattern, { s: "c" }), true);
    for (const v of [1, true, null]) assert.equal(matches(pattern, { s: v }), true);
    assert.equal(matches(pattern, {}), false);
  });

  it("with numbers, excludes only comparable numbers of equal value", () => {
    const pattern = '{"x": [{"anything-but": [100, 200]}]}';
    assert.equal(matches(pattern, '{"x": 1e2}'), false);
    assert.equal(matches(pattern, '{"x": 101}'), true);
    assert.equal(matches(pattern, '{"x": "100"}'), true);
    assert.equal(matches(pattern, '{"x": null}'), true);
  });

  it("with prefix, suffix, equals-ignore-case and wildcard, excludes matching strings only", () => {
    assert.equal(matches({ r: [{ "anything-but": { prefix: "us-" } }] }, { r: "us-east-1" }), false);
    assert.equal(matches({ r: [{ "anything-but": { prefix: "us-" } }] }, { r: 5 }), true);
    assert.equal(matches({ f: [{ "anything-but": { suffix: [".png", ".jpg"] } }] }, { f: "a.jpg" }), false);
    assert.equal(
      matches({ s: [{ "anything-but": { "equals-ignore-case": ["init"] } }] }, { s: "INIT" }),
      false,
    );
    assert.equal(matches({ s: [{ "anything-but": { "equals-ignore-case": "init" } }] }, { s: "run" }), true);
    assert.equal(matches({ p: [{ "anything-but": { wildcard: "*/lib/*" } }] }, { p: "/usr/lib/x" }), false);
    assert.equal(matches({ p: [{ "anything-but": { wildcard: "*/lib/*" } }] }, { p: "/usr/bin/x" }), true);
  });

  it("takes a single number, and rejects mixed lists", () => {
    assert.equal(matches({ x: [{ "anything-but": 123 }] }, { x: 123.0 }), false);
    assert.equal(matches({ x: [{ "anything-but": 123 }] }, { x: 124 }), true);
    assert.throws(() => matches({ x: [{ "anything-but": ["a", 1] }] }, { x: 2 }));
  });

  it("passes when another element of an event array differs", () => {
    assert.equal(matches({ tags: [{ "anything-but": "banned" }] }, { tags: ["banned", "ok"] }), true);
  });
});

describe("numeric (R25–R26)", () => {
  it("handles one- and two-sided ranges", () => {
    const range = { c: [{ numeric: [">", 0, "<=", 5] }] };
    assert.equal(matches(range, { c: 5 }), true);
    assert.equal(matches(range, { c: 0 }), false);
    assert.equal(matches({ c: [{ numeric: ["<", 10] }] }, { c: -3.5 }), true);
    assert.equal(matches({ c: [{ numeric: [">=", 10] }] }, { c: 10 }), true);
    assert.equal(matches('{"x": [{"numeric": ["=", 3.018e2]}]}', '{"x": 301.8}'), true);
  });

  it("uses the whole double range but only comparable numbers", () => {
    assert.equal(matches({ x: [{ numeric: [">", 5e9] }] }, { x: 2e10 }), true);
    assert.equal(matches('{"x": [{"numeric": [">", 0]}]}', '{"x": 12345678901234567891}'), false);
    assert.equal(matches('{"x": [{"numeric": [">", 0]}]}', '{"x": 1e400}'), false);
    assert.equal(matches({ x: [{ numeric: [">", 0] }] }, { x: "5" }), false);
    assert.equal(matches({ x: [{ numeric: ["=", 0.1] }] }, '{"x": 0.10}'), true);
  });
});

describe("IP addresses (R29–R33)", () => {
  it("matches cidr ranges on string IPv4 and IPv6 values only", () => {
    assert.equal(matches({ ip: [{ cidr: "10.0.0.0/24" }] }, { ip: "10.0.0.255" }), true);
    assert.equal(matches({ ip: [{ cidr: "10.0.0.0/24" }] }, { ip: "10.0.1.0" }), false);
    assert.equal(matches({ ip: [{ cidr: "10.0.0.5/24" }] }, { ip: "10.0.0.1" }), true);
    assert.equal(matches({ ip: [{ cidr: "2001:db8::/32" }] }, { ip: "2001:DB8:0:0::1" }), true);
    assert.equal(matches({ ip: [{ cidr: "2001:db8::/32" }] }, { ip: "2001:db9::1" }), false);
    assert.equal(matches({ ip: [{ cidr: "10.0.0.0/8" }] }, { ip: "not-an-ip" }), false);
    assert.equal(matches({ ip: [{ cidr: "10.0.0.0/8" }] }, { ip: "999.0.0.1" }), false);
  });

  it("compares a string pattern that is an IP literal by address", () => {
    assert.equal(matches({ ip: ["::1"] }, { ip: "0:0:0:0:0:0:0:1" }), true);
    assert.equal(matches({ ip: ["10.0.0.1"] }, { ip: "::ffff:a00:1" }), true);
    assert.equal(matches({ ip: ["10.0.0.1"] }, { ip: "10.0.0.2" }), false);
    assert.equal(matches({ ip: ["10.0.0.1"] }, { ip: "10.0.0.01" }), true);
  });

  it("compares an IPv6 value with an IPv4 range by its first 32 bits, as event-ruler's range automaton does", () => {
    assert.equal(matches({ ip: [{ cidr: "10.0.0.0/8" }] }, { ip: "a00::1" }), true);
    assert.equal(matches({ ip: ["10.0.0.1"] }, { ip: "a00:1::" }), true);
    assert.equal(matches({ ip: [{ cidr: "::/1" }] }, { ip: "16.0.0.1" }), true);
    assert.equal(matches({ ip: [{ cidr: "::/1" }] }, { ip: "128.0.0.1" }), false);
    assert.equal(matches({ ip: [{ cidr: "::/1" }] }, { ip: "0.0.0.0" }), false);
  });
});

describe("invalid IP literals (R29)", () => {
  it("does not read malformed IPv6 or IPv4-with-zone strings as addresses", () => {
    for (const notIp of [
      "1:2",
      ":1::",
      "1:::2",
      "1::2::3",
      "::1:2:3:4:5:6:7:8",
      "10000::",
      "::ffff:1.2.3.4",
      "fe80::1%1",
    ]) {
      assert.equal(matches({ ip: [{ cidr: "::/0" }] }, { ip: notIp }), false, notIp);
    }
    assert.equal(matches({ ip: [{ cidr: "::/0" }] }, { ip: "0000000001::" }), true);
  });
});

describe("exists (R36–R38)", () => {
  it("exists: true matches any leaf including null", () => {
    assert.equal(matches({ a: [{ exists: true }] }, { a: null }), true);
    assert.equal(matches({ a: [{ exists: true }] }, { b: 1 }), false);
  });

  it("exists: false holds when the path has no leaf, including when its value is an object", () => {
    assert.equal(matches({ a: [{ exists: false }] }, { b: 1 }), true);
    assert.equal(matches({ a: [{ exists: false }] }, { a: { c: 1 } }), true);
    assert.equal(matches({ a: [{ exists: false }] }, { a: null }), false);
  });

  it("ORs exists: false with the other values of the same field", () => {
    const pattern = { a: [{ exists: false }, "x"] };
    assert.equal(matches(pattern, {}), true);
    assert.equal(matches(pattern, { a: "x" }), true);
    assert.equal(matches(pattern, { a: "y" }), false);
  });

  it("checks exists: false only against leaves chosen for earlier paths in sorted order (R37)", () => {
    const event = { arr: [{ a: 1, z: 1, b: "y" }, { b: "x" }] };
    assert.equal(matches({ arr: { a: [{ exists: false }], b: ["x"] } }, event), false);
    assert.equal(matches({ arr: { z: [{ exists: false }], b: ["x"] } }, event), true);
  });

  it("sorts paths by UTF-16 code units, as Java's String.compareTo (R35)", () => {
    // U+1F600 is stored as \uD83D\uDE00, which sorts before U+FF5E; in code point order it would come after.
    const event = { arr: [{ "😀": 1, "～": "y" }, { "～": "x" }] };
    assert.equal(matches({ arr: { "😀": [{ exists: false }], "～": ["x"] } }, event), false);
  });
});
