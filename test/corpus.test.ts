/**
 * The golden corpus (test/corpus/*.json): every case runs against the compiled matcher and against
 * the independent reference evaluator, which must both give the expected verdict; every invalid
 * pattern must be rejected with a message containing the expected fragment.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  InvalidEventPatternError,
  Matcher,
  referenceMatches,
  validatePattern,
} from "../src/patterns/index.js";

interface Case {
  name: string;
  doc: string;
  pattern?: unknown;
  patternJson?: string;
  event?: unknown;
  eventJson?: string;
  matches?: boolean;
  error?: string;
}

const dir = join(import.meta.dirname, "corpus");
const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
const cases: Array<Case & { file: string }> = files.flatMap((file) =>
  (JSON.parse(readFileSync(join(dir, file), "utf8")) as Case[]).map((c) => ({ ...c, file })),
);
const patternText = (c: Case): string => c.patternJson ?? JSON.stringify(c.pattern);
const eventText = (c: Case): string => c.eventJson ?? JSON.stringify(c.event);

describe("golden pattern corpus", () => {
  it("has at least 300 uniquely named cases, 40 of them invalid patterns", () => {
    assert.ok(cases.length >= 300, `only ${cases.length} cases`);
    assert.ok(cases.filter((c) => c.error !== undefined).length >= 40);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, "case names repeat");
  });

  for (const c of cases) {
    if (c.error !== undefined) {
      const fragment = c.error;
      it(`${c.file}: ${c.name}`, () => {
        assert.throws(
          () => validatePattern(patternText(c)),
          (e: unknown) =>
            e instanceof InvalidEventPatternError && e.message.toLowerCase().includes(fragment.toLowerCase()),
          `expected a rejection containing "${fragment}"`,
        );
      });
    } else {
      it(`${c.file}: ${c.name}`, () => {
        const matcher = new Matcher<string>();
        matcher.add("rule", patternText(c));
        assert.equal(matcher.matchJson(eventText(c)).length > 0, c.matches, "compiled matcher");
        assert.equal(matcher.matchJson(eventText(c), true).length > 0, c.matches, "valid-JSON scan");
        assert.equal(referenceMatches(patternText(c), eventText(c)), c.matches, "reference evaluator");
      });
    }
  }

  it("gives every case's verdict from one matcher holding all valid patterns at once", () => {
    const matcher = new Matcher<number>();
    const valid = cases.filter((c) => c.error === undefined);
    valid.forEach((c, i) => matcher.add(i, patternText(c)));
    valid.forEach((c, i) => {
      assert.equal(matcher.matchJson(eventText(c)).includes(i), c.matches, `${c.file}: ${c.name}`);
    });
  });
});
