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
}

/** Default limits. */
export const DEFAULT_PATTERN_LIMITS: PatternLimits = Object.freeze({
  maxPatternLength: 2048,
  maxCombinations: 1000,
  maxWildcardStars: 10,
  maxFieldPaths: 100,
  maxNestingDepth: 32,
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
