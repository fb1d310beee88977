import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compilePattern } from "./compile.js";
import { InvalidEventPatternError, PatternErrorCode } from "./errors.js";
import { resolvePatternLimits } from "./limits.js";

const rejects = (
  pattern: string,
  fragment: RegExp,
  code: string = PatternErrorCode.PatternLimit,
  limits = resolvePatternLimits(),
): void => {
  assert.throws(
    () => compilePattern(pattern, limits),
    (e: unknown) => e instanceof InvalidEventPatternError && e.code === code && fragment.test(e.message),
  );
};

describe("pattern limits", () => {
  it("rejects a pattern longer than the limit, and the limit is configurable", () => {
    const long = JSON.stringify({ source: ["x".repeat(3000)] });
    rejects(long, /more than the limit of 2048/);
    assert.doesNotThrow(() => compilePattern(long, resolvePatternLimits({ maxPatternLength: 4096 })));
  });
  it("rejects more than 1000 $or combinations without expanding them all", () => {
    const branch = (k: string): unknown[] => Array.from({ length: 11 }, (_, i) => ({ [k]: [String(i)] }));
    const p = JSON.stringify({ $or: branch("a"), b: { $or: branch("b") }, c: { $or: branch("c") } });
    rejects(
      p,
      /more than 1000 combinations/,
      PatternErrorCode.PatternLimit,
      resolvePatternLimits({ maxPatternLength: 100000 }),
    );
  });
  it("rejects wildcards with too many stars", () => {
    rejects(
      '{"a":[{"wildcard":"a*b*c*d*e*f*g*h*i*j*k*l"}]}',
      /11 wildcard characters, more than the limit of 10/,
    );
  });
  it("rejects too many field paths", () => {
    const p = JSON.stringify(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, [1]])));
    rejects(
      p,
      /more than 100 field paths/,
      PatternErrorCode.PatternLimit,
      resolvePatternLimits({ maxPatternLength: 100000 }),
    );
  });
  it("rejects deep nesting", () => {
    const p = '{"a":'.repeat(40) + "[1]" + "}".repeat(40);
    rejects(
      p,
      /deeper than 32|Nesting deeper/,
      undefined,
      resolvePatternLimits({ maxPatternLength: 100000 }),
    );
  });
  it("rejects a field path of more than 64 segments, dots in its keys counted", () => {
    const dotted = (n: number) => JSON.stringify({ [Array.from({ length: n }, () => "a").join(".")]: ["x"] });
    rejects(dotted(1000), /a\.a\.a.*… has 1000 segments .*more than the limit of 64/);
    rejects(JSON.stringify({ b: JSON.parse(dotted(64)) as unknown }), /has 65 segments/);
    compilePattern(dotted(64));
  });
  it("rejects $or combinations whose fields come to more than 5000 conditions", () => {
    const or = (field: string) =>
      `"$or":[${Array.from({ length: 10 }, (_, i) => `{"${field}":[${i}]}`).join(",")}]`;
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `"f${i}":[1]`).join(",");
    // 1,000 combinations of 3 + 2 fields: 5,000 conditions; of 3 + 3: 6,000.
    compilePattern(`{${or("a")},${or("b")},${or("c")},${fields(2)}}`);
    rejects(
      `{${or("a")},${or("b")},${or("c")},${fields(3)}}`,
      /expands into 1000 combinations .* with 6000 field conditions in all, more than the limit of 5000/,
    );
  });
  it("rejects unknown or invalid limit settings", () => {
    assert.throws(() => resolvePatternLimits({ nope: 1 } as never), /Unknown pattern limit "nope"/);
    assert.throws(() => resolvePatternLimits({ maxCombinations: 0 }), /must be a positive integer/);
  });
});

describe("compilePattern", () => {
  it("expands $or into sorted sub-patterns", () => {
    const c = compilePattern('{"z":["1"],"$or":[{"a":["x"]},{"b":{"c":["y"]}}]}');
    assert.deepEqual(
      c.subPatterns.map((s) => s.map((f) => f.path)),
      [
        ["a", "z"],
        ["b.c", "z"],
      ],
    );
  });
  it("names the offending field in its message", () => {
    assert.throws(
      () => compilePattern('{"detail":{"n":[{"numeric":[">","x"]}]}}'),
      /field "detail.n": Value of > must be numeric/,
    );
  });
});
