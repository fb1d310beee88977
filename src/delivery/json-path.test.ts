import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventTextError, JsonDocument, JsonPathSyntaxError, minifyJson, parseJsonPath } from "./json-path.js";

describe("parseJsonPath", () => {
  const valid: Array<[path: string, steps: unknown[], definite: boolean]> = [
    ["$", [], true],
    ["$.detail", [{ kind: "key", name: "detail" }], true],
    [
      "$.detail.instance-id",
      [
        { kind: "key", name: "detail" },
        { kind: "key", name: "instance-id" },
      ],
      true,
    ],
    ["$.a_b/c", [{ kind: "key", name: "a_b/c" }], true],
    [
      "$.resources[0]",
      [
        { kind: "key", name: "resources" },
        { kind: "index", index: 0 },
      ],
      true,
    ],
    ["$[-1]", [{ kind: "index", index: -1 }], true],
    ["$.*", [{ kind: "wildcard" }], false],
    [
      "$.items[*].id",
      [{ kind: "key", name: "items" }, { kind: "wildcard" }, { kind: "key", name: "id" }],
      false,
    ],
    ["$['a.b']", [{ kind: "key", name: "a.b" }], true],
    ['$["a \\" b"]', [{ kind: "key", name: 'a " b' }], true],
  ];
  for (const [path, steps, definite] of valid) {
    it(`reads ${path}`, () => {
      const parsed = parseJsonPath(path);
      assert.deepEqual(parsed.steps, steps);
      assert.equal(parsed.definite, definite);
      assert.equal(parsed.prefixes.length, steps.length);
    });
  }

  const invalid = [
    "",
    "detail",
    "$detail",
    "$.",
    "$..a",
    "$.a.",
    "$[",
    "$[x]",
    "$[1",
    "$['a'",
    "$[1:2]",
    "$.a b",
    "$.*x",
  ];
  for (const path of invalid) {
    it(`rejects ${JSON.stringify(path)}`, () => {
      assert.throws(() => parseJsonPath(path), JsonPathSyntaxError);
    });
  }

  it("gives distinct prefixes to distinct paths", () => {
    assert.notEqual(parseJsonPath("$['a.b']").prefixes[0], parseJsonPath("$.a.b").prefixes[1]);
    assert.equal(parseJsonPath("$.a.b").prefixes[0], parseJsonPath("$['a'].c").prefixes[0]);
  });
});

describe("JsonDocument", () => {
  const text = ' { "a" : { "b" : [ 1 , { "c" : "x y" } , 3.10 ] } , "s" : "q\\"}" , "e" : [ ] , "o" : { } } ';
  const select = (path: string, t = text): string | undefined =>
    new JsonDocument(t).select(parseJsonPath(path));

  it("selects values as minified text", () => {
    assert.equal(select("$"), '{"a":{"b":[1,{"c":"x y"},3.10]},"s":"q\\"}","e":[],"o":{}}');
    assert.equal(select("$.a.b[1]"), '{"c":"x y"}');
    assert.equal(select("$.a.b[2]"), "3.10");
    assert.equal(select("$.s"), '"q\\"}"');
    assert.equal(select("$.e"), "[]");
    assert.equal(select("$.o"), "{}");
  });

  it("returns undefined for nothing, and an array for wildcards", () => {
    assert.equal(select("$.x"), undefined);
    assert.equal(select("$.a.b[3]"), undefined);
    assert.equal(select("$.a.b[-4]"), undefined);
    assert.equal(select("$.a.b.c"), undefined);
    assert.equal(select("$.e[*]"), "[]");
    assert.equal(select("$.a.b[*]"), '[1,{"c":"x y"},3.10]');
    assert.equal(select("$.*.b[0]"), "[1]");
    assert.equal(select("$.o.*"), "[]");
  });

  it("selects every element of an array too large to spread (200,000 elements of an event)", () => {
    const text = `{"detail":[${Array.from({ length: 200_000 }, () => "1").join(",")}]}`;
    const selected = new JsonDocument(text).select(parseJsonPath("$.detail[*]"));
    assert.equal(selected?.split(",").length, 200_000);
  });
  it("answers several paths from one document", () => {
    const doc = new JsonDocument(text);
    assert.equal(doc.select(parseJsonPath("$.a.b[0]")), "1");
    assert.equal(doc.select(parseJsonPath("$.a.b[2]")), "3.10");
    assert.equal(doc.select(parseJsonPath("$['a']['b'][1].c")), '"x y"');
  });

  it("lists top-level members", () => {
    assert.deepEqual(new JsonDocument('{"k": 1, "l" : [ 2 ]}').members(), [
      ["k", "1"],
      ["l", "[2]"],
    ]);
  });

  it("reports malformed text", () => {
    assert.throws(() => select("$.a.z", '{"a": {"b": nope}}'), EventTextError);
    assert.throws(() => select("$.b", '{"a": [1, 2}'), EventTextError);
    assert.throws(() => select("$.a", "   "), EventTextError);
  });
});

describe("minifyJson", () => {
  it("drops whitespace between tokens only", () => {
    assert.equal(minifyJson(' { "a b" : [ 1 ,\n\t"c\\" d" ] }\r\n'), '{"a b":[1,"c\\" d"]}');
    assert.equal(minifyJson('{"a":1}'), '{"a":1}');
    assert.equal(minifyJson('"\\\\" , "x"'), '"\\\\","x"');
  });
});
