/**
 * What TestEventPattern requires of its event, as EventBridge's does: a JSON object with the
 * envelope's string fields and its `resources` list. Shared by the API and `busbar test-pattern`, so
 * that both refuse the same events.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
 */

import { JsonSyntaxError, parseJson } from "./json.js";

/** The envelope's fields an event for TestEventPattern must have as strings. */
const ENVELOPE_FIELDS = ["id", "account", "source", "time", "region", "detail-type"] as const;

/** Why `text` is not an event TestEventPattern takes (a sentence); undefined when it is one. */
export function testEventProblem(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Where and why, as a pattern's malformed JSON is told (a byte-order mark at position 0, say).
    try {
      parseJson(text, Number.MAX_SAFE_INTEGER);
    } catch (e) {
      if (e instanceof JsonSyntaxError) return `Event is not valid JSON: ${e.message}.`;
    }
    return "Event is not valid JSON.";
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    return "Event must be a JSON object.";
  const fields = parsed as Record<string, unknown>;
  for (const f of ENVELOPE_FIELDS) {
    if (typeof fields[f] !== "string") return `Event must have the string field "${f}".`;
  }
  if (!Array.isArray(fields.resources)) return `Event must have the list field "resources".`;
  return undefined;
}
