/**
 * A small JSON parser for event patterns that keeps the literal text of numbers (event-ruler matches
 * some numbers by their text, and JSON.parse would lose it), rejects duplicate keys, and bounds nesting
 * so that a hostile pattern cannot exhaust the stack.
 * @see https://www.rfc-editor.org/rfc/rfc8259
 */

/** A parsed JSON value in which numbers keep their source text. */
export type JsonValue =
  | { readonly type: "object"; readonly entries: ReadonlyArray<readonly [string, JsonValue]> }
  | { readonly type: "array"; readonly items: readonly JsonValue[] }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "number"; readonly text: string }
  | { readonly type: "true" | "false" | "null" };

/** Raised for malformed JSON; `position` is the offset of the offending character. */
export class JsonSyntaxError extends Error {
  override readonly name = "JsonSyntaxError";
  constructor(
    readonly reason: string,
    readonly position: number,
    /** "depth" when the text nests deeper than allowed, "syntax" otherwise. */
    readonly kind: "syntax" | "depth" = "syntax",
  ) {
    super(`${reason} at position ${position}`);
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/**
 * Parses JSON text into a {@link JsonValue}.
 * @param maxDepth deepest nesting of objects and arrays accepted; deeper input is rejected.
 */
export function parseJson(text: string, maxDepth: number): JsonValue {
  let i = 0;

  const ws = (): void => {
    WHITESPACE.lastIndex = i;
    WHITESPACE.test(text);
    i = WHITESPACE.lastIndex;
  };
  const fail = (reason: string): never => {
    throw new JsonSyntaxError(reason, i);
  };
  // Messages in the words of Jackson, the parser behind event-ruler's.
  const unexpected = (expecting: string): never => {
    if (i >= text.length) return fail(`Unexpected end-of-input: ${expecting}`);
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 64))?.[0];
    if (word !== undefined) return fail(`Unrecognized token '${word}': ${expecting}`);
    const c = text.codePointAt(i) as number;
    return fail(`Unexpected character ('${String.fromCodePoint(c)}' (code ${c})): ${expecting}`);
  };

  const parseString = (): string => {
    i++; // opening quote
    let out = "";
    let start = i;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c === 92) {
        out += text.slice(start, i);
        const e = text.charAt(i + 1);
        if (e === "u") {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("Invalid \\u escape in string");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else {
          const r = ESCAPES[e];
          if (r === undefined) fail("Invalid escape in string");
          out += r;
          i += 2;
        }
        start = i;
      } else if (!(c >= 32)) {
        fail(Number.isNaN(c) ? "Unterminated string" : "Control character in string");
      } else {
        i++;
      }
    }
  };

  const parseValue = (depth: number): JsonValue => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      if (depth >= maxDepth) throw new JsonSyntaxError(`Nesting deeper than ${maxDepth} levels`, i, "depth");
      i++;
      ws();
      if (c === "{") {
        // Repeated names are kept in order: as event-ruler reads a pattern, a later one replaces an earlier.
        const entries: Array<readonly [string, JsonValue]> = [];
        if (text[i] === "}") {
          i++;
          return { type: "object", entries };
        }
        for (;;) {
          ws();
          if (text[i] !== '"') unexpected("was expecting double-quote to start field name");
          const key = parseString();
          ws();
          if (text[i] !== ":") unexpected("was expecting a colon to separate field name and value");
          i++;
          entries.push([key, parseValue(depth + 1)]);
          ws();
          if (text[i] === ",") {
            i++;
            continue;
          }
          if (text[i] === "}") {
            i++;
            return { type: "object", entries };
          }
          unexpected("was expecting comma to separate Object entries");
        }
      }
      const items: JsonValue[] = [];
      if (text[i] === "]") {
        i++;
        return { type: "array", items };
      }
      for (;;) {
        items.push(parseValue(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return { type: "array", items };
        }
        unexpected("was expecting comma to separate Array entries");
      }
    }
    if (c === '"') return { type: "string", value: parseString() };
    if (c === "t" && text.startsWith("true", i)) {
      i += 4;
      return { type: "true" };
    }
    if (c === "f" && text.startsWith("false", i)) {
      i += 5;
      return { type: "false" };
    }
    if (c === "n" && text.startsWith("null", i)) {
      i += 4;
      return { type: "null" };
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) {
      return unexpected(
        "was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
      );
    }
    i += m[0].length;
    return { type: "number", text: m[0] };
  };

  const value = parseValue(0);
  ws();
  if (i !== text.length) unexpected("expected end of input after the JSON value");
  return value;
}

/** Serialises a {@link JsonValue} back to compact JSON text, numbers as written. */
export function stringifyJson(value: JsonValue): string {
  switch (value.type) {
    case "object":
      return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${stringifyJson(v)}`).join(",")}}`;
    case "array":
      return `[${value.items.map(stringifyJson).join(",")}]`;
    case "string":
      return JSON.stringify(value.value);
    case "number":
      return value.text;
    default:
      return value.type;
  }
}
