/**
 * Limits on patterns, each rejected with a clear error rather than risking a hang or a blow-up.
 * Parsed once into a frozen, fully defaulted object; unknown keys are rejected.
 */

/** Limits applied when a pattern is compiled. */
export interface PatternLimits {
  /**
   * Longest pattern text, in characters.
   * @default 2048
   */
  readonly maxPatternLength: number;
  /**
   * Most sub-patterns a pattern may expand into through `$or` (the product of the alternatives).
   * @default 1000
   */
  readonly maxCombinations: number;
  /**
   * Most `*` in one `wildcard` value (each star multiplies the work a hostile value can cause).
   * @default 10
   */
  readonly maxWildcardStars: number;
  /**
   * Most distinct field paths one pattern may name.
   * @default 100
   */
  readonly maxFieldPaths: number;
  /**
   * Deepest nesting of objects in a pattern (the top-level object is depth 1).
   * @default 32
   */
  readonly maxNestingDepth: number;
  /**
   * Most segments of one field path, counting its nesting and the dots in its keys (`{"a.b": {"c":
   * …}}` is `a.b.c`, three): the path trie gives a dotted key of s segments about s²/2 entries, so a
   * key of a thousand dots took 400 MB and 8 s to add.
   * @default 64
   */
  readonly maxPathSegments: number;
  /**
   * Most field conditions over all the sub-patterns a pattern expands into (each `$or` combination
   * counts its fields): the matcher holds a state per condition where sub-patterns do not share one,
   * about 0.9 KB each, so 1,000 combinations of 100 fields took 84 MB.
   * @default 5000
   */
  readonly maxExpandedConditions: number;
}

/** Default limits. */
export const DEFAULT_PATTERN_LIMITS: PatternLimits = Object.freeze({
  maxPatternLength: 2048,
  maxCombinations: 1000,
  maxWildcardStars: 10,
  maxFieldPaths: 100,
  maxNestingDepth: 32,
  maxPathSegments: 64,
  maxExpandedConditions: 5000,
});

/** Validates overrides and returns a frozen, complete set of limits. */
export function resolvePatternLimits(overrides: Partial<PatternLimits> = {}): PatternLimits {
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in DEFAULT_PATTERN_LIMITS)) throw new TypeError(`Unknown pattern limit "${key}"`);
    if (!Number.isInteger(value) || value < 1) {
      throw new TypeError(`Pattern limit "${key}" must be a positive integer, got ${String(value)}`);
    }
  }
  return Object.freeze({ ...DEFAULT_PATTERN_LIMITS, ...overrides });
}
