/**
 * A target's HttpParameters as PutTargets checks them (the API reference's HttpParameters): types,
 * key and value patterns and lengths, path values, and header names a call cannot carry.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { httpParametersProblem } from "./target-http-parameters.js";

describe("a target's HttpParameters", () => {
  it("accepts what the API reference allows, JSON paths included", () => {
    assert.equal(httpParametersProblem(undefined), undefined);
    assert.equal(httpParametersProblem(null), undefined);
    assert.equal(
      httpParametersProblem({
        HeaderParameters: { "X-Type": "$.detail-type", "Content-Type": "application/json" },
        QueryStringParameters: { q: "x y", ü: "ü" },
        PathParameterValues: ["a b/c", "$.detail.id"],
      }),
      undefined,
    );
    // A header name may start with "$.": only values are JSON paths.
    assert.equal(httpParametersProblem({ HeaderParameters: { "$.a..b": "v" } }), undefined);
  });

  const refused: [string, unknown, RegExp][] = [
    ["a value that is not a structure", "oops", /^HttpParameters must be a structure/],
    ["a header map that is a list", { HeaderParameters: ["X-A"] }, /HeaderParameters must be a map/],
    [
      "a header key with a space",
      { HeaderParameters: { "bad key": "v" } },
      /HeaderParameters key "bad key" must satisfy/,
    ],
    [
      "a header value with a line break",
      { HeaderParameters: { "X-A": "a\nb" } },
      /value of "X-A" must satisfy/,
    ],
    [
      "a header value that is a number",
      { HeaderParameters: { "X-A": 5 } },
      /value of "X-A" must be a string/,
    ],
    [
      "a header value over 512",
      { HeaderParameters: { "X-A": "x".repeat(513) } },
      /513 characters long; at most 512/,
    ],
    [
      "a header key over 512",
      { HeaderParameters: { ["k".repeat(513)]: "v" } },
      /513 characters long; at most 512/,
    ],
    [
      "a header a call cannot carry",
      { HeaderParameters: { Host: "evil.example" } },
      /key "Host" is a header Busbar cannot send/,
    ],
    [
      "a header key no call can send (a comma, which the API reference's pattern lets through)",
      { HeaderParameters: { "a,b": "v" } },
      /key "a,b" is not an HTTP header name/,
    ],
    [
      "a query key with a control character",
      { QueryStringParameters: { "a\u0001": "v" } },
      /QueryStringParameters key "a\\u0001" must satisfy/,
    ],
    [
      "a query value with a control character",
      { QueryStringParameters: { q: "a\u0001b" } },
      /value of "q" must satisfy/,
    ],
    ["a query value over 512", { QueryStringParameters: { q: "x".repeat(513) } }, /at most 512/],
    [
      "path values that are not a list",
      { PathParameterValues: "abc" },
      /PathParameterValues must be a list of strings/,
    ],
    ["a blank path value", { PathParameterValues: ["ok", "   "] }, /PathParameterValues\[1\] must satisfy/],
    ["an empty path value", { PathParameterValues: [""] }, /PathParameterValues\[0\] must satisfy/],
    [
      "a path value that is a number",
      { PathParameterValues: [12] },
      /PathParameterValues\[0\] must be a string/,
    ],
    [
      "a path value that is null",
      { PathParameterValues: [null] },
      /PathParameterValues\[0\] must be a string/,
    ],
    [
      "a path value that is a JSON path that does not parse",
      { PathParameterValues: ["$.detail.[["] },
      /PathParameterValues\[0\] is not a valid JSON path/,
    ],
    [
      "a header value that is a JSON path that does not parse",
      { HeaderParameters: { "X-A": "$.a..b" } },
      /value of "X-A" is not a valid JSON path/,
    ],
  ];
  for (const [what, value, message] of refused) {
    it(`refuses ${what}, naming it`, () => {
      assert.match(httpParametersProblem(value) ?? "(accepted)", message);
    });
  }
});
