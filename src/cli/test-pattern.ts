/**
 * `busbar test-pattern --pattern FILE --event FILE`: tells whether an event matches a pattern.
 * Exit 0: it matches; 1: it does not; 2: the pattern (or the event) is invalid, with the reason;
 * 3: it could not be evaluated (the event is too large to match, or an unexpected failure), with the
 * reason in one line.
 */
import {
  InvalidEventJsonError,
  InvalidEventPatternError,
  MatchLimitExceededError,
  testEventProblem,
  testPattern,
} from "../patterns/index.js";
import type { Output } from "./output.js";
import { readInput } from "./read-input.js";

export type { Output } from "./output.js";

/** Exit codes of `test-pattern`. */
export const TestPatternExit = { Match: 0, NoMatch: 1, Invalid: 2, NotEvaluated: 3 } as const;
export type TestPatternExit = (typeof TestPatternExit)[keyof typeof TestPatternExit];

function read(file: string): string {
  return readInput(file, file === "-" ? "standard input" : file);
}

/** Runs the command and returns its exit code. */
export function runTestPattern(patternFile: string, eventFile: string, io: Output): TestPatternExit {
  let pattern: string;
  let event: string;
  if (patternFile === "-" && eventFile === "-") {
    io.err("error: only one of --pattern and --event can be read from standard input (-)");
    return TestPatternExit.Invalid;
  }
  try {
    pattern = read(patternFile);
    event = read(eventFile);
  } catch (e) {
    io.err(`error: ${(e as Error).message}`);
    return TestPatternExit.Invalid;
  }
  // The event TestEventPattern would take: an object with the envelope's fields.
  const problem = testEventProblem(event);
  if (problem !== undefined) {
    io.err(`invalid: ${problem}`);
    return TestPatternExit.Invalid;
  }
  try {
    // The pattern as the file has it, as PutRule and TestEventPattern would take it (`aws events
    // put-rule --event-pattern file://…` sends the file as it is): its length counted whole, a
    // byte-order mark refused.
    if (testPattern(pattern, event)) {
      io.out("match");
      return TestPatternExit.Match;
    }
    io.out("no match");
    return TestPatternExit.NoMatch;
  } catch (e) {
    if (e instanceof InvalidEventPatternError || e instanceof InvalidEventJsonError) {
      io.err(`invalid: ${e.message}`);
      return TestPatternExit.Invalid;
    }
    // Neither a match nor a no-match: 0 or 1 would be an answer, and 2 blames the input.
    const reason = e instanceof MatchLimitExceededError ? e.message : String(e);
    io.err(
      `error: the pattern could not be evaluated against the event: ${reason.replace(/\s*\n\s*/g, " ")}`,
    );
    return TestPatternExit.NotEvaluated;
  }
}
