/**
 * `busbar test-pattern --pattern FILE --event FILE`: tells whether an event matches a pattern.
 * Exit 0: it matches; 1: it does not; 2: the pattern (or the event) is invalid, with the reason.
 */
import { readFileSync } from "node:fs";
import { InvalidEventJsonError, InvalidEventPatternError, testPattern } from "../patterns/index.js";

/** Exit codes of `test-pattern`. */
export const TestPatternExit = { Match: 0, NoMatch: 1, Invalid: 2 } as const;
export type TestPatternExit = (typeof TestPatternExit)[keyof typeof TestPatternExit];

/** Where the command writes. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

function read(file: string): string {
  return file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
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
  // An event is a JSON object; anything else (an array, a number) could only ever not match.
  if (!/^\s*\{/.test(event)) {
    io.err("invalid: the event must be a JSON object");
    return TestPatternExit.Invalid;
  }
  try {
    if (testPattern(pattern.trim(), event)) {
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
    throw e;
  }
}
