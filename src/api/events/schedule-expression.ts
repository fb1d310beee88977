/**
 * ScheduleExpression of PutRule, checked as the EventBridge user guide describes it: `rate(value unit)`
 * with a positive value and a unit that is singular for 1 and plural otherwise (`rate(1 hours)` and
 * `rate(5 hour)` are invalid), or `cron(...)` with six fields, each within its values and wildcards,
 * and exactly one of Day-of-month and Day-of-week set to `?`.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.*)\)$/;

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** One cron field: its range, the names it takes for values, and its special wildcards. */
interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Day-of-month (`?`, `L`, `W`) or Day-of-week (`?`, `L`, `#`). */
  readonly day?: "month" | "week";
}

const FIELDS: readonly Field[] = [
  { name: "Minutes", min: 0, max: 59 },
  { name: "Hours", min: 0, max: 23 },
  { name: "Day-of-month", min: 1, max: 31, day: "month" },
  { name: "Month", min: 1, max: 12, names: MONTHS },
  { name: "Day-of-week", min: 1, max: 7, names: DAYS, day: "week" },
  { name: "Year", min: 1970, max: 2199 },
];

/** Why `expression` is not a valid schedule expression, or undefined when it is. */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = RATE.exec(expression);
  if (rate !== null) {
    const value = Number(rate[1]);
    const unit = rate[2] as string;
    if (!(value >= 1)) return "a rate must be a positive number";
    if ((value === 1) !== !unit.endsWith("s")) {
      return `the unit of rate(${String(value)} ...) must be ${value === 1 ? "singular" : "plural"}`;
    }
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (cron === null) return "it must be rate(value unit) or cron(fields)";
  const fields = (cron[1] as string).trim().split(/\s+/);
  if (fields.length !== FIELDS.length) return `a cron expression has 6 fields, not ${fields.length}`;
  for (const [i, field] of FIELDS.entries()) {
    const problem = fieldProblem(fields[i] as string, field);
    if (problem !== undefined) return `${field.name} ${problem}`;
  }
  if ((fields[2] === "?") === (fields[4] === "?")) {
    return "exactly one of Day-of-month and Day-of-week must be ?";
  }
  return undefined;
}

/** Why one field's text is not valid for it, or undefined. */
function fieldProblem(text: string, field: Field): string | undefined {
  if (text === "?") return field.day === undefined ? "cannot be ?" : undefined;
  const items = text.split(",");
  if (field.day === "week" && items.length > 1 && items.some((item) => item.includes("#"))) {
    return `cannot list other values beside a # expression: ${text}`;
  }
  for (const item of items) {
    if (!itemValid(item, field)) return `is not valid: ${text}`;
  }
  return undefined;
}

/** One comma-separated item: `*`, a value, a range, a step, or a day field's `L`, `W` and `#` forms. */
function itemValid(item: string, field: Field): boolean {
  if (item === "*") return true;
  if (field.day === "month") {
    if (item === "L" || item === "LW") return true;
    const weekday = /^(\d+)W$/.exec(item);
    if (weekday !== null) return inRange(Number(weekday[1]), field);
  }
  if (field.day === "week") {
    if (item === "L") return true;
    const last = /^(.+)L$/.exec(item);
    if (last !== null) return valueOf(last[1] as string, field) !== undefined;
    const nth = /^(.+)#([1-5])$/.exec(item);
    if (nth !== null) return valueOf(nth[1] as string, field) !== undefined;
  }
  const slash = item.indexOf("/");
  if (slash !== -1) {
    const start = item.slice(0, slash);
    const step = item.slice(slash + 1);
    return /^\d+$/.test(step) && Number(step) >= 1 && (start === "*" || rangeValid(start, field));
  }
  return rangeValid(item, field);
}

/** A value, or a range `a-b` of two values. */
function rangeValid(text: string, field: Field): boolean {
  const dash = text.indexOf("-");
  if (dash === -1) return valueOf(text, field) !== undefined;
  return (
    valueOf(text.slice(0, dash), field) !== undefined && valueOf(text.slice(dash + 1), field) !== undefined
  );
}

/** A number within the field's range, or one of its names (any case). */
function valueOf(text: string, field: Field): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return inRange(n, field) ? n : undefined;
  }
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  return named === -1 ? undefined : named + 1;
}

function inRange(n: number, field: Field): boolean {
  return n >= field.min && n <= field.max;
}
