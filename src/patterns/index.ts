/**
 * The event pattern engine: validation, one-off tests (TestEventPattern) and the compiled matcher
 * that holds all rules of a bus.
 */
import { compilePattern, type CompiledPattern } from "./compile.js";
import { EventScanner } from "./event-scanner.js";
import { DEFAULT_PATTERN_LIMITS, type PatternLimits } from "./limits.js";
import { Matcher } from "./matcher.js";

export { compilePattern, type CompiledPattern, type FieldCondition, type SubPattern } from "./compile.js";
export { Matcher } from "./matcher.js";
export {
  InvalidEventPatternError,
  InvalidEventJsonError,
  MatchLimitExceededError,
  PatternErrorCode,
} from "./errors.js";
export { DEFAULT_PATTERN_LIMITS, resolvePatternLimits, type PatternLimits } from "./limits.js";
export { referenceMatches } from "./reference-evaluator.js";

const objectChecker = new EventScanner();

/**
 * Whether `text` is exactly one JSON object (whitespace around it allowed), checked without building
 * it: the grammar of RFC 8259, as `JSON.parse` reads it, except that nesting much deeper than an
 * event may have is refused (MAX_EVENT_DEPTH, counted as the event scanner counts it).
 */
export function isJsonObject(text: string): boolean {
  return objectChecker.isObject(text);
}

/**
 * Why `text` is not one JSON object within the nesting limit (undefined when it is one).
 * @param at the depth it will lie at in an event: 1 for an event's `detail`, whose envelope is one
 *   level more, so that an event accepted is never too deep to be matched.
 */
export function notJsonObject(text: string, at = 0): string | undefined {
  return objectChecker.notObject(text, at);
}

/** The field conditions a compiled pattern holds over all its `$or` combinations (what it costs a matcher). */
export function conditionsOf(compiled: CompiledPattern): number {
  return compiled.subPatterns.reduce((n, sub) => n + sub.length, 0);
}

/**
 * Validates a pattern; throws `InvalidEventPatternError` naming the field and the rule it breaks.
 */
export function validatePattern(patternJson: string, limits: PatternLimits = DEFAULT_PATTERN_LIMITS): void {
  compilePattern(patternJson, limits);
}

/**
 * Tests one pattern against one event, both as JSON text (backs `TestEventPattern`).
 * Throws `InvalidEventPatternError` or `InvalidEventJsonError`.
 */
export function testPattern(
  patternJson: string,
  eventJson: string,
  limits: PatternLimits = DEFAULT_PATTERN_LIMITS,
): boolean {
  const matcher = new Matcher<number>(limits);
  matcher.add(0, patternJson);
  return matcher.matchJson(eventJson).length > 0;
}

export { testEventProblem } from "./test-event.js";
