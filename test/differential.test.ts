/**
 * Randomized differential test: seeded random patterns and events; the compiled matcher (all patterns
 * in one matcher, then with half of them removed) must agree with the reference evaluator on every
 * (pattern, event) pair. Reproduce a failure with BUSBAR_DIFF_SEED=<seed>.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  InvalidEventPatternError,
  Matcher,
  referenceMatches,
  validatePattern,
} from "../src/patterns/index.js";
import { randomArrayHeavyEventJson, randomEventJson, randomPattern, Rng } from "./support/random-patterns.js";

const seeds = process.env.BUSBAR_DIFF_SEED ? [Number(process.env.BUSBAR_DIFF_SEED)] : [1, 2, 3, 4, 5];
const PATTERNS = 150;
const EVENTS = 40;

describe("compiled matcher versus reference evaluator", () => {
  for (const seed of seeds) {
    it(`agrees on ${PATTERNS} random patterns × ${EVENTS} random events (seed ${seed})`, () => {
      agree(seed, PATTERNS, EVENTS, randomEventJson);
    });
    it(`agrees on events with long arrays of objects (seed ${seed})`, () => {
      agree(seed, 80, 12, randomArrayHeavyEventJson);
    });
  }
});

function agree(seed: number, PATTERNS: number, EVENTS: number, randomEvent: (rng: Rng) => string): void {
  const rng = new Rng(seed);
  const patterns: string[] = [];
  while (patterns.length < PATTERNS) {
    const p = JSON.stringify(randomPattern(rng));
    try {
      validatePattern(p);
      patterns.push(p);
    } catch (e) {
      if (!(e instanceof InvalidEventPatternError)) throw e;
    }
  }
  const events = Array.from({ length: EVENTS }, () => randomEvent(rng));
  const matcher = new Matcher<number>();
  patterns.forEach((p, i) => matcher.add(i, p));
  const check = (live: (i: number) => boolean): number => {
    let positives = 0;
    for (const e of events) {
      const got = new Set(matcher.matchJson(e));
      assert.deepEqual(new Set(matcher.matchJson(e, true)), got, `seed ${seed}: valid-JSON scan\n${e}`);
      patterns.forEach((p, i) => {
        const want = live(i) && referenceMatches(p, e);
        if (want) positives++;
        assert.equal(got.has(i), want, `seed ${seed}\npattern ${p}\nevent   ${e}`);
      });
    }
    return positives;
  };
  const positives = check(() => true);
  assert.ok(positives > EVENTS, `the generator should produce matches too (got ${positives})`);
  for (let i = 0; i < PATTERNS; i += 2) matcher.remove(i);
  check((i) => i % 2 === 1);
}
