import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { scheduleExpressionProblem } from "./schedule-expression.js";

describe("scheduleExpressionProblem", () => {
  it("accepts the user guide's rate and cron examples", () => {
    for (const valid of [
      "rate(1 minute)",
      "rate(5 minutes)",
      "rate(1 hour)",
      "rate(12 hours)",
      "rate(1 day)",
      "rate(7 days)",
      "cron(0 10 * * ? *)",
      "cron(15 12 * * ? *)",
      "cron(0 18 ? * MON-FRI *)",
      "cron(0 8 1 * ? *)",
      "cron(0/15 * * * ? *)",
      "cron(0/10 * ? * MON-FRI *)",
      "cron(0/5 8-17 ? * MON-FRI *)",
      "cron(0 9 ? * 2#1 *)",
      "cron(1/10 * * * ? *)",
      "cron(0 0 L * ? *)",
      "cron(0 0 3W * ? *)",
      "cron(0 0 ? * 6L *)",
      "cron(0 0 1 JAN,FEB,mar ? 2026-2030)",
      "cron(0 12 ? * * *)",
    ]) {
      assert.equal(scheduleExpressionProblem(valid), undefined, valid);
    }
  });

  it("names what is wrong with invalid ones", () => {
    for (const [invalid, reason] of [
      ["rate(0 minutes)", /positive/],
      ["rate(1 minutes)", /singular/],
      ["rate(5 minute)", /plural/],
      ["rate(5 seconds)", /rate\(value unit\) or cron/],
      ["rate(-1 minutes)", /rate\(value unit\) or cron/],
      ["every day", /rate\(value unit\) or cron/],
      ["cron(0 12 * * *)", /6 fields, not 5/],
      ["cron(0 12 * * * *)", /exactly one of Day-of-month and Day-of-week must be \?/],
      ["cron(0 12 ? * ? *)", /exactly one of/],
      ["cron(a b c d e f)", /Minutes is not valid: a/],
      ["cron(60 12 * * ? *)", /Minutes is not valid: 60/],
      ["cron(0 24 * * ? *)", /Hours is not valid/],
      ["cron(0 0 32 * ? *)", /Day-of-month is not valid/],
      ["cron(0 0 1 13 ? *)", /Month is not valid/],
      ["cron(0 0 ? * 8 *)", /Day-of-week is not valid/],
      ["cron(0 0 1 * ? 1969)", /Year is not valid/],
      ["cron(? 0 1 * ? *)", /Minutes cannot be \?/],
      ["cron(0/0 * * * ? *)", /Minutes is not valid/],
      ["cron(0 9 ? * 3#1,6#3 *)", /# expression/],
      ["cron(0 9 ? * 3#6 *)", /Day-of-week is not valid/],
    ] as const) {
      assert.match(scheduleExpressionProblem(invalid) ?? "valid", reason, invalid);
    }
  });
});
