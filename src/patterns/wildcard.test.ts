import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileWildcard, wildcardMatches, type Wildcard } from "./wildcard.js";

const w = (s: string): Wildcard => {
  const c = compileWildcard(s);
  if (typeof c === "string") throw new Error(c);
  return c;
};

describe("wildcard", () => {
  it("matches runs of any characters, including none", () => {
    assert.ok(wildcardMatches(w("a*c"), "ac"));
    assert.ok(wildcardMatches(w("a*c"), "abbbc"));
    assert.ok(!wildcardMatches(w("a*c"), "abcd"));
    assert.ok(wildcardMatches(w("*"), ""));
    assert.ok(wildcardMatches(w("*b*"), "abc"));
    assert.ok(wildcardMatches(w("2*0*1*7"), "2301937"));
    assert.ok(!wildcardMatches(w("aa*aa"), "aaa"));
  });
  it("treats escaped stars and backslashes literally", () => {
    assert.ok(wildcardMatches(w("a\\*b"), "a*b"));
    assert.ok(!wildcardMatches(w("a\\*b"), "axb"));
    assert.ok(wildcardMatches(w("a\\\\*"), "a\\xyz"));
  });
  it("rejects consecutive stars and other escapes", () => {
    assert.match(compileWildcard("a**b") as string, /Consecutive wildcard characters at pos 2/);
    assert.match(compileWildcard("a\\b") as string, /Invalid escape character at pos 1/);
    assert.match(compileWildcard("a\\") as string, /Invalid escape character/);
  });
});
