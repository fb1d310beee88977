/**
 * The HttpParameters of a target, checked against the API reference's constraints when PutTargets
 * gets them, so that a bad value is refused at once rather than failing every delivery.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_HttpParameters.html
 */
import { httpParameterValueProblem } from "../../delivery/index.js";
import type { StringRule } from "../input.js";
import { HTTP_PARAMETER_RULES, headerNameProblem } from "./connection-auth.js";

/** PathParameterValues: anything but blank, on one line. */
const PATH_PARAMETER_VALUE: StringRule = { pattern: /^(?!\s*$).+$/ };

/** What is wrong with a target's `HttpParameters` (absent or null: nothing), naming the member; none when valid. */
export function httpParametersProblem(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) return "HttpParameters must be a structure.";
  const header = HTTP_PARAMETER_RULES.HeaderParameters;
  const query = HTTP_PARAMETER_RULES.QueryStringParameters;
  return (
    mapProblem(value["HeaderParameters"], "HttpParameters.HeaderParameters", header.key, header.value) ??
    unsendableHeaderProblem(value["HeaderParameters"]) ??
    mapProblem(
      value["QueryStringParameters"],
      "HttpParameters.QueryStringParameters",
      query.key,
      query.value,
    ) ??
    pathValuesProblem(value["PathParameterValues"])
  );
}

/** A string-to-string map whose keys and values follow their rules. */
function mapProblem(map: unknown, at: string, key: StringRule, value: StringRule): string | undefined {
  if (map === undefined || map === null) return undefined;
  if (!isRecord(map)) return `${at} must be a map of strings to strings.`;
  for (const [k, v] of Object.entries(map)) {
    const keyProblem = stringProblem(k, `${at} key ${quote(k)}`, key);
    if (keyProblem !== undefined) return keyProblem;
    if (typeof v !== "string") return `${at} value of ${quote(k)} must be a string.`;
    const problem = valueProblem(v, `${at} value of ${quote(k)}`, value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Header names a call cannot carry (docs/connections.md): every delivery would fail (a comma, which
 * the API reference's pattern lets through), or leave the header out (one the HTTP client sets).
 */
function unsendableHeaderProblem(map: unknown): string | undefined {
  if (!isRecord(map)) return undefined;
  for (const name of Object.keys(map)) {
    const problem = headerNameProblem(name);
    if (problem !== undefined) return `HttpParameters.HeaderParameters key ${quote(name)} ${problem}`;
  }
  return undefined;
}

function pathValuesProblem(values: unknown): string | undefined {
  const at = "HttpParameters.PathParameterValues";
  if (values === undefined || values === null) return undefined;
  if (!Array.isArray(values)) return `${at} must be a list of strings.`;
  for (const [i, v] of (values as unknown[]).entries()) {
    if (typeof v !== "string") return `${at}[${i}] must be a string.`;
    const problem = valueProblem(v, `${at}[${i}]`, PATH_PARAMETER_VALUE);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function stringProblem(v: string, what: string, rule: StringRule): string | undefined {
  const { max = Infinity, pattern } = rule;
  if (v.length > max) return `${what} is ${v.length} characters long; at most ${max} are allowed.`;
  if (pattern !== undefined && !pattern.test(v))
    return `${what} must satisfy the regular expression pattern ${pattern.source}.`;
  return undefined;
}

/** A value's rule, and: a value that is a JSON path is resolved in the event at delivery, so it must parse. */
function valueProblem(v: string, what: string, rule: StringRule): string | undefined {
  const path = httpParameterValueProblem(v);
  return (
    stringProblem(v, what, rule) ??
    (path === undefined ? undefined : `${what} is not a valid JSON path: ${path}`)
  );
}

/** A key as messages show it: JSON-quoted (control characters visible), long ones cut. */
function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
