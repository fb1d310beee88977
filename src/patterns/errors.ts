/**
 * Errors raised by the pattern engine. Each carries a stable `code` and the AWS error type it maps to,
 * so protocol layers never recognise an error by its message text.
 */

/** Stable codes of pattern-engine errors. */
export const PatternErrorCode = {
  InvalidPattern: "InvalidEventPattern",
  PatternLimit: "EventPatternLimitExceeded",
  InvalidEvent: "InvalidEventJson",
  MatchLimit: "EventMatchLimitExceeded",
} as const;
export type PatternErrorCode = (typeof PatternErrorCode)[keyof typeof PatternErrorCode];

/**
 * A pattern that cannot be compiled. `field` names the offending field path ("" for the whole pattern)
 * and `reason` the rule it breaks, in event-ruler's wording where event-ruler has one.
 * Maps to `InvalidEventPatternException` (HTTP 400).
 */
export class InvalidEventPatternError extends Error {
  override readonly name = "InvalidEventPatternError";
  readonly code: PatternErrorCode;
  readonly awsType = "InvalidEventPatternException";
  readonly httpStatus = 400;
  readonly retryable = false;

  constructor(
    readonly field: string,
    readonly reason: string,
    code: PatternErrorCode = PatternErrorCode.InvalidPattern,
  ) {
    super(`Event pattern is not valid. Reason: ${field === "" ? "" : `field "${field}": `}${reason}`);
    this.code = code;
  }
}

/** An event given as JSON text that is not valid JSON. Maps to `ValidationException` (HTTP 400). */
export class InvalidEventJsonError extends Error {
  override readonly name = "InvalidEventJsonError";
  readonly code = PatternErrorCode.InvalidEvent;
  readonly awsType = "ValidationException";
  readonly httpStatus = 400;
  readonly retryable = false;

  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`Event is not valid JSON: ${reason} at position ${position}`);
  }
}

/**
 * An event whose arrays would make matching it try too many combinations of their elements (conditions
 * on fields of several arrays of objects multiply: three arrays of 200 objects are 8 million). The
 * match stops at the budget instead of holding the thread. Maps to `ValidationException` (HTTP 400).
 */
export class MatchLimitExceededError extends Error {
  override readonly name = "MatchLimitExceededError";
  readonly code = PatternErrorCode.MatchLimit;
  readonly awsType = "ValidationException";
  readonly httpStatus = 400;
  readonly retryable = false;

  /**
   * `budget`: the steps a match may take, which this one would exceed; undefined when the event is
   * refused before matching (`message` then says why).
   */
  constructor(
    readonly budget: number | undefined,
    message = `Matching the event would take more than ${budget} steps: the rules have many conditions on ` +
      "fields of its arrays, and the arrays many elements. Send smaller arrays.",
  ) {
    super(message);
  }
}
