/**
 * The JSONPath subset EventBridge evaluates for `InputPath` and `InputPathsMap`, applied to an event's
 * JSON text without parsing it into objects: a selection is the literal text of the value (minified),
 * so numbers keep their exact digits (`10.50`, 64-bit ids) and nothing outside the path is decoded.
 *
 * Supported, as the user guide lists them: `$`, dot notation (`$.detail.instance-id`, names with
 * dashes, underscores, alphanumerics and forward slashes), array indices (`[0]`, and `[-1]` for the
 * last element), wildcards (`.*`, `[*]`), and bracket notation for any name (`['a.b']`, `["a b"]`).
 * Recursive descent (`..`), slices, unions and filters are not.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 */

/** One step of a path. */
export type PathStep =
  | { readonly kind: "key"; readonly name: string }
  | { readonly kind: "index"; readonly index: number }
  | { readonly kind: "wildcard" };

/** A parsed path. */
export interface JsonPath {
  /** The path as written. */
  readonly text: string;
  readonly steps: readonly PathStep[];
  /** False when a wildcard can select several values: the selection is then always an array. */
  readonly definite: boolean;
  /** A canonical key for each prefix of `steps` (`prefixes[i]` names steps 0..i), for caching. */
  readonly prefixes: readonly string[];
}

/** A path that is not in the supported syntax; `message` says where and why. */
export class JsonPathSyntaxError extends Error {
  override readonly name = "JsonPathSyntaxError";
}

/** The event text is not the JSON it should be (the position is in `message`). */
export class EventTextError extends Error {
  override readonly name = "EventTextError";
}

const NAME = /[^.[\]'"*\s]+/y;
const INDEX = /-?[0-9]+/y;

/** Parses a JSONPath; throws {@link JsonPathSyntaxError}. */
export function parseJsonPath(text: string): JsonPath {
  const fail: (reason: string, at: number) => never = (reason, at) => {
    throw new JsonPathSyntaxError(`${reason} at position ${at} of JSON path ${JSON.stringify(text)}`);
  };
  if (!text.startsWith("$")) fail("a JSON path must start with $", 0);
  const steps: PathStep[] = [];
  let i = 1;
  while (i < text.length) {
    const c = text[i];
    if (c === ".") {
      i++;
      if (text[i] === ".") fail("recursive descent (..) is not supported", i);
      if (text[i] === "*") {
        steps.push({ kind: "wildcard" });
        i++;
        continue;
      }
      NAME.lastIndex = i;
      const m = NAME.exec(text);
      if (m === null) fail("expected a name after the dot", i);
      steps.push({ kind: "key", name: m[0] });
      i = NAME.lastIndex;
    } else if (c === "[") {
      i++;
      const d = text[i];
      if (d === "*") {
        if (text[i + 1] !== "]") fail("expected ] after *", i + 1);
        steps.push({ kind: "wildcard" });
        i += 2;
      } else if (d === "'" || d === '"') {
        let name = "";
        let j = i + 1;
        for (; j < text.length && text[j] !== d; j++) {
          if (text[j] === "\\" && j + 1 < text.length) j++;
          name += text[j];
        }
        if (j >= text.length) fail("unterminated quoted name", i);
        if (text[j + 1] !== "]") fail("expected ] after the quoted name", j + 1);
        steps.push({ kind: "key", name });
        i = j + 2;
      } else {
        INDEX.lastIndex = i;
        const m = INDEX.exec(text);
        if (m === null) fail("expected an array index, *, or a quoted name in brackets", i);
        i = INDEX.lastIndex;
        if (text[i] !== "]") fail("expected ] after the array index", i);
        const index = Number(m[0]);
        if (!Number.isSafeInteger(index)) fail("array index out of range", i);
        steps.push({ kind: "index", index });
        i++;
      }
    } else {
      fail(`unexpected character ${JSON.stringify(c)}`, i);
    }
  }
  let prefix = "$";
  const prefixes = steps.map((s) => {
    prefix += s.kind === "key" ? `[${JSON.stringify(s.name)}]` : s.kind === "index" ? `[${s.index}]` : "[*]";
    return prefix;
  });
  return { text, steps, definite: steps.every((s) => s.kind !== "wildcard"), prefixes };
}

const QUOTE = 34;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;
const COMMA = 44;
const COLON = 58;

// An "unrolled" string: runs of plain characters between escapes, which the regex engine matches fast.
const STRING_SOURCE = '"[^"\\\\\\x00-\\x1f]*(?:\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\\\\x00-\\x1f]*)*"';
const STRING = new RegExp(STRING_SOURCE, "y");
// A container holding only scalars (or, for arrays, scalars and such objects), skipped by one native
// regex match instead of a character loop (as the pattern engine's event scanner does).
const SCALAR_SOURCE = `(?:${STRING_SOURCE}|true|false|null|-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)`;
const MEMBER_SOURCE = `[ \\t\\n\\r]*${STRING_SOURCE}[ \\t\\n\\r]*:[ \\t\\n\\r]*${SCALAR_SOURCE}[ \\t\\n\\r]*`;
const FLAT_OBJECT_SOURCE = `\\{(?:${MEMBER_SOURCE}(?:,${MEMBER_SOURCE})*|[ \\t\\n\\r]*)\\}`;
const ELEMENT_SOURCE = `[ \\t\\n\\r]*(?:${SCALAR_SOURCE}|${FLAT_OBJECT_SOURCE})[ \\t\\n\\r]*`;
const FLAT_CONTAINER = new RegExp(
  `${FLAT_OBJECT_SOURCE}|\\[(?:${ELEMENT_SOURCE}(?:,${ELEMENT_SOURCE})*|[ \\t\\n\\r]*)\\]`,
  "y",
);
const SCALAR = /true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WS = /[ \t\n\r]/;
const MINIFY = /("[^"\\]*(?:\\.[^"\\]*)*")|[ \t\n\r]+/g;

/** Removes the whitespace between the tokens of valid JSON text, keeping every token as written. */
export function minifyJson(text: string): string {
  return WS.test(text) ? text.replace(MINIFY, "$1") : text;
}

/**
 * One event's JSON text, read on demand. Selections of the same prefix are found once per document
 * (`$.detail.a` and `$.detail.b` locate `detail` once). Assumes the text is JSON (PutEvents built
 * it); throws {@link EventTextError} where it finds otherwise.
 */
export class JsonDocument {
  /** Value ranges (start, end pairs) selected by each path prefix seen so far. */
  private readonly ranges = new Map<string, number[]>();
  /** Members of the objects read so far, by the offset of their opening brace. */
  private readonly objects = new Map<number, Map<string, readonly [number, number]>>();
  private root: number[] | undefined;

  constructor(readonly text: string) {}

  /**
   * The minified JSON text of the value `path` selects, or undefined when it selects nothing. An
   * indefinite path (with a wildcard) selects an array of every match, possibly empty.
   */
  select(path: JsonPath): string | undefined {
    let current = this.rootRange();
    for (let s = 0; s < path.steps.length; s++) {
      const key = path.prefixes[s]!;
      let next = this.ranges.get(key);
      if (next === undefined) {
        next = this.step(current, path.steps[s]!);
        this.ranges.set(key, next);
      }
      current = next;
    }
    if (!path.definite) {
      const parts: string[] = [];
      for (let r = 0; r < current.length; r += 2) parts.push(this.slice(current[r]!, current[r + 1]!));
      return `[${parts.join(",")}]`;
    }
    return current.length === 0 ? undefined : this.slice(current[0]!, current[1]!);
  }

  /** The top-level members of the document (which must be an object): [name, minified value] pairs. */
  members(): Array<readonly [string, string]> {
    const out: Array<readonly [string, string]> = [];
    for (const [name, [start, end]] of this.objectMembers(this.rootRange()[0]!)) {
      out.push([name, this.slice(start, end)]);
    }
    return out;
  }

  private slice(start: number, end: number): string {
    return minifyJson(this.text.slice(start, end));
  }

  private rootRange(): number[] {
    if (this.root === undefined) {
      const t = this.text;
      let start = 0;
      let end = t.length;
      while (start < end && WS.test(t[start]!)) start++;
      while (end > start && WS.test(t[end - 1]!)) end--;
      if (start === end) this.fail("the event is empty", 0);
      this.root = [start, end];
    }
    return this.root;
  }

  private step(ranges: readonly number[], step: PathStep): number[] {
    const out: number[] = [];
    for (let r = 0; r < ranges.length; r += 2) {
      const start = ranges[r]!;
      const c = this.text.charCodeAt(start);
      if (c === LBRACE && step.kind !== "index") {
        const members = this.objectMembers(start);
        if (step.kind === "wildcard") {
          for (const [valueStart, valueEnd] of members.values()) out.push(valueStart, valueEnd);
        } else {
          const range = members.get(step.name);
          if (range !== undefined) out.push(range[0], range[1]);
        }
      } else if (c === LBRACKET && step.kind !== "key") {
        const elements: number[] = [];
        const wanted = step.kind === "index" && step.index >= 0 ? step.index : -1;
        this.eachElement(start, (valueStart, valueEnd) => {
          elements.push(valueStart, valueEnd);
          return elements.length / 2 <= wanted || wanted < 0;
        });
        if (step.kind === "wildcard") {
          for (const offset of elements) out.push(offset); // an array of 100,000+ would overflow a spread
        } else {
          const n = elements.length / 2;
          const i = step.index >= 0 ? step.index : n + step.index;
          if (i >= 0 && i < n) out.push(elements[2 * i]!, elements[2 * i + 1]!);
        }
      }
    }
    return out;
  }

  /**
   * The members of the object at `start`, by name, read once per document. A repeated name keeps
   * its first position and its last value, as with JSON.parse.
   */
  private objectMembers(start: number): Map<string, readonly [number, number]> {
    let members = this.objects.get(start);
    if (members === undefined) {
      const found = new Map<string, readonly [number, number]>();
      const t = this.text;
      this.eachMember(start, (keyStart, keyEnd, valueStart, valueEnd) => {
        let escaped = false;
        for (let i = keyStart + 1; i < keyEnd - 1 && !escaped; i++) escaped = t.charCodeAt(i) === BACKSLASH;
        const name = escaped
          ? (JSON.parse(t.slice(keyStart, keyEnd)) as string)
          : t.slice(keyStart + 1, keyEnd - 1);
        found.set(name, [valueStart, valueEnd]);
      });
      members = found;
      this.objects.set(start, members);
    }
    return members;
  }

  /** Calls `visit` for each member of the object at `start`. */
  private eachMember(
    start: number,
    visit: (keyStart: number, keyEnd: number, valueStart: number, valueEnd: number) => void,
  ): void {
    const t = this.text;
    if (t.charCodeAt(start) !== LBRACE) this.fail("expected an object", start);
    let i = this.ws(start + 1);
    if (t.charCodeAt(i) === RBRACE) return;
    for (;;) {
      if (t.charCodeAt(i) !== QUOTE) this.fail("expected a member name", i);
      const keyEnd = this.skipString(i);
      const colon = this.ws(keyEnd);
      if (t.charCodeAt(colon) !== COLON) this.fail("expected a colon", colon);
      const valueStart = this.ws(colon + 1);
      const valueEnd = this.skipValue(valueStart);
      visit(i, keyEnd, valueStart, valueEnd);
      i = this.ws(valueEnd);
      const c = t.charCodeAt(i);
      if (c === RBRACE) return;
      if (c !== COMMA) this.fail("expected a comma or }", i);
      i = this.ws(i + 1);
    }
  }

  /** Calls `visit` for each element of the array at `start` while it returns true. */
  private eachElement(start: number, visit: (valueStart: number, valueEnd: number) => boolean): void {
    const t = this.text;
    let i = this.ws(start + 1);
    if (t.charCodeAt(i) === RBRACKET) return;
    for (;;) {
      const valueEnd = this.skipValue(i);
      if (!visit(i, valueEnd)) return;
      i = this.ws(valueEnd);
      const c = t.charCodeAt(i);
      if (c === RBRACKET) return;
      if (c !== COMMA) this.fail("expected a comma or ]", i);
      i = this.ws(i + 1);
    }
  }

  private ws(i: number): number {
    const t = this.text;
    let c = t.charCodeAt(i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = t.charCodeAt(++i);
    return i;
  }

  private skipString(i: number): number {
    STRING.lastIndex = i;
    if (!STRING.test(this.text)) this.fail("invalid string", i);
    return STRING.lastIndex;
  }

  /** The end of the value at `i`. Containers are skipped by bracket counting, strings by regex. */
  private skipValue(i: number): number {
    const t = this.text;
    const c = t.charCodeAt(i);
    if (c === QUOTE) return this.skipString(i);
    if (c !== LBRACE && c !== LBRACKET) {
      SCALAR.lastIndex = i;
      if (!SCALAR.test(t)) this.fail("expected a value", i);
      return SCALAR.lastIndex;
    }
    FLAT_CONTAINER.lastIndex = i;
    if (FLAT_CONTAINER.test(t)) return FLAT_CONTAINER.lastIndex;
    let depth = 0;
    for (;;) {
      const d = t.charCodeAt(i);
      if (d === QUOTE) {
        i = this.skipString(i);
        continue;
      }
      if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) {
        if (--depth === 0) return i + 1;
      } else if (d !== d) this.fail("unexpected end of the event", i); // NaN: past the end
      i++;
    }
  }

  private fail(reason: string, at: number): never {
    throw new EventTextError(`${reason} at position ${at} of the event`);
  }
}
