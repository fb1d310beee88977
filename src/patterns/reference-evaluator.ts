/**
 * A deliberately simple reference evaluator for EventBridge event patterns, written from
 * `docs/pattern-semantics.md`; the `R…` numbers in comments are that document's rules. It exists to
 * cross-check the compiled matcher, so it imports nothing from the rest of `src/` and prefers obviousness to
 * speed: it tries every choice of event leaves (exponential in the worst case, fine for tests and corpora).
 *
 * @see docs/pattern-semantics.md
 */

/** A parsed JSON value: object entries in source order (duplicates kept) and numbers as their source text. */
export type JsonNode =
  | { readonly type: "object"; readonly entries: ReadonlyArray<readonly [string, JsonNode]> }
  | { readonly type: "array"; readonly items: readonly JsonNode[] }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "number"; readonly text: string }
  | { readonly type: "literal"; readonly text: "true" | "false" | "null" };

type ObjectNode = Extract<JsonNode, { type: "object" }>;
type Scalar = Extract<JsonNode, { type: "string" | "number" | "literal" }>;

const ESCAPES = new Map(
  Object.entries({ '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }),
);
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * Parses JSON text (RFC 8259, exactly as strict as `JSON.parse`) keeping the literal text of numbers (R1).
 * Strings are unescaped exactly as `JSON.parse` does, lone surrogates included.
 * @throws Error on any syntax error or trailing content.
 */
export function parseJson(text: string): JsonNode {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`Invalid JSON at offset ${pos}: ${what}`);
  };
  const skipWhitespace = (): void => {
    while (pos < text.length && " \t\n\r".includes(text.charAt(pos))) pos++;
  };
  const take = (ch: string): boolean => {
    skipWhitespace();
    return text.charAt(pos) === ch ? (pos++, true) : false;
  };
  const expect = (ch: string): void => void (take(ch) || fail(`expected '${ch}'`));
  const parseString = (): string => {
    expect('"');
    let out = "";
    for (;;) {
      if (pos >= text.length) fail("unterminated string");
      const c = text.charAt(pos++);
      if (c === '"') return out;
      if (c < " ") fail("control character in string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text.charAt(pos++);
      const hex = text.slice(pos, pos + 4);
      if (ESCAPES.has(e)) out += ESCAPES.get(e) ?? "";
      else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(hex)) {
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 4;
      } else fail("bad escape");
    }
  };
  /** Comma-separated elements up to `close`, the opening bracket already consumed. */
  const parseList = <T>(close: string, element: () => T): T[] => {
    const list: T[] = [];
    if (take(close)) return list;
    do list.push(element());
    while (take(","));
    expect(close);
    return list;
  };
  const parseValue = (): JsonNode => {
    if (take("{")) {
      const entry = (): readonly [string, JsonNode] => [parseString(), (expect(":"), parseValue())];
      return { type: "object", entries: parseList("}", entry) };
    }
    if (take("[")) return { type: "array", items: parseList("]", parseValue) };
    if (text.charAt(pos) === '"') return { type: "string", value: parseString() };
    NUMBER.lastIndex = pos;
    const number = NUMBER.exec(text)?.[0];
    if (number !== undefined) return ((pos += number.length), { type: "number", text: number });
    for (const literal of ["true", "false", "null"] as const) {
      if (text.startsWith(literal, pos)) return ((pos += literal.length), { type: "literal", text: literal });
    }
    return fail("unexpected character");
  };
  const value = parseValue();
  skipWhitespace();
  if (pos !== text.length) fail("trailing content");
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Strings (R13–R14, R17–R24): event-ruler matches the bytes `"` + content + `"` in Java's UTF-8.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Java's `String.getBytes(UTF_8)` as a byte string (one char per byte); a lone surrogate becomes `?`. */
function javaUtf8(s: string): string {
  return Buffer.from(s.replace(LONE_SURROGATE, "?"), "utf8").toString("latin1");
}

/** The framed bytes of a string value, undefined for numbers, booleans and null (R13). */
function framedBytes(v: Scalar): string | undefined {
  return v.type === "string" ? javaUtf8(`"${v.value}"`) : undefined;
}

/** R21: one slot per UTF-16 code unit, holding its Locale.ROOT lower- and upper-case forms' bytes. */
function caseSlots(pattern: string): string[][] {
  const slots: string[][] = [];
  for (let i = 0; i < pattern.length; i++) {
    const unit = pattern.charAt(i); // a code unit, as Java's `for (char c : value.toCharArray())`
    slots.push([...new Set([javaUtf8(unit.toLowerCase()), javaUtf8(unit.toUpperCase())])]);
  }
  return slots;
}

/** Where a concatenation of one alternative per slot, placed at `start` in `bytes`, can end. */
function endPositions(bytes: string, slots: readonly string[][], start: number): Set<number> {
  let positions = new Set([start]);
  for (const options of slots) {
    const next = new Set<number>();
    for (const p of positions) for (const o of options) if (bytes.startsWith(o, p)) next.add(p + o.length);
    positions = next;
  }
  return positions;
}

/** R22: the literal byte runs between the unescaped `*`s of a framed wildcard pattern. */
function wildcardSegments(pattern: string): string[] {
  const segments: string[] = [];
  let current = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === "*" && pattern.charAt(i + 1) === "*") throw new Error("wildcard: consecutive '*'");
    if (c === "*") {
      segments.push(javaUtf8(current));
      current = "";
    } else if (c !== "\\") current += c;
    else if (i + 1 < pattern.length && "*\\".includes(pattern.charAt(i + 1))) current += pattern.charAt(++i);
    else throw new Error("wildcard: invalid escape");
  }
  return [...segments, javaUtf8(current)];
}

/** Glob match: bytes = segment0 * segment1 * … * segmentN, each `*` standing for any (possibly empty) run. */
function wildcardMatches(bytes: string, segments: readonly string[]): boolean {
  const first = segments[0] ?? "";
  const last = segments[segments.length - 1] ?? "";
  if (segments.length === 1) return bytes === first;
  let pos = first.length;
  for (const middle of segments.slice(1, -1)) {
    const at = bytes.indexOf(middle, pos);
    if (at < 0) return false;
    pos = at + middle.length;
  }
  return bytes.startsWith(first) && bytes.length - last.length >= pos && bytes.endsWith(last);
}

// ---------------------------------------------------------------------------------------------------------
// Numbers (R25–R28).

/** The exact decimal value of a number literal (JSON or JS), as a canonical `digits e scale` key. */
function decimalKey(text: string): string | undefined {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(text);
  if (!m) return undefined;
  const fraction = m[3] ?? "";
  const exponent = Number(m[4] ?? "0");
  if (Math.abs(exponent) > 2_147_483_647) return undefined; // beyond what java.math.BigDecimal accepts
  let digits = ((m[2] ?? "") + fraction).replace(/^0+/, "");
  let scale = exponent - fraction.length;
  while (digits.endsWith("0")) {
    digits = digits.slice(0, -1);
    scale++;
  }
  return digits === "" ? "0" : `${m[1]}${digits}e${scale}`;
}

/** R25: the double a number compares as, or undefined when it is not exactly the double's shortest decimal. */
function comparableValue(text: string): number | undefined {
  const d = Number(text);
  if (!Number.isFinite(d)) return undefined;
  const key = decimalKey(text);
  if (key === undefined || key !== decimalKey(String(d))) return undefined; // String(-0) is "0"
  return d === 0 ? 0 : d; // BigDecimal has no negative zero
}

const numberValue = (v: Scalar): number | undefined =>
  v.type === "number" ? comparableValue(v.text) : undefined;

// ---------------------------------------------------------------------------------------------------------
// IP addresses (R29–R33): the literals java.net.InetAddress accepts after CIDR.java's regular expressions.

function ipBytes(s: string): number[] | undefined {
  if (/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/.test(s)) {
    const parts = s.split(".").map(Number);
    return s.length <= 15 && parts.every((p) => p <= 255) ? parts : undefined;
  }
  if (!/^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/.test(s)) return undefined;
  const halves = s.split("::");
  const groups = halves.map((half) => (half === "" ? [] : half.split(":")));
  const words = groups.flat();
  if (halves.length > 2 || words.some((w) => !/^[0-9a-fA-F]+$/.test(w) || parseInt(w, 16) > 0xffff))
    return undefined;
  if (halves.length === 1 ? words.length !== 8 : words.length > 7) return undefined;
  const zeros = new Array<string>(8 - words.length).fill("0");
  const all = halves.length === 1 ? words : [...(groups[0] ?? []), ...zeros, ...(groups[1] ?? [])];
  const bytes = all.flatMap((w) => [parseInt(w, 16) >> 8, parseInt(w, 16) & 0xff]);
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes; // an IPv4-mapped address becomes a 4-byte IPv4 address (R30)
}

/** The address as 8 or 32 upper-case hex digits, or undefined when the string is not an IP literal. */
function ipHex(s: string): string | undefined {
  return ipBytes(s)
    ?.map((b) => b.toString(16).toUpperCase().padStart(2, "0"))
    .join("");
}

/** A closed range of addresses, as two hex strings of the same length. */
interface HexRange {
  readonly lo: string;
  readonly hi: string;
}

/** R32: `{"cidr": "ip/n"}` is [ip with host bits cleared, ip with host bits set]; n ≤ 31 (IPv4) or ≤ 127. */
function cidrRange(text: string): HexRange {
  const parts = text.split("/");
  while (parts[parts.length - 1] === "") parts.pop(); // Java's String.split drops trailing empty strings
  const [address = "", maskText = "", ...rest] = parts;
  const hex = ipHex(address);
  const mask = /^[+-]?[0-9]+$/.test(maskText) ? Number(maskText) : -1;
  if (rest.length > 0 || hex === undefined || mask < 0 || mask >= hex.length * 4)
    throw new Error(`bad CIDR ${text}`);
  let lo = "";
  let hi = "";
  for (let nibble = 0; nibble < hex.length; nibble++) {
    const digit = parseInt(hex.charAt(nibble), 16);
    const hostMask = (1 << Math.max(0, Math.min(4, nibble * 4 + 4 - mask))) - 1;
    lo += (digit & ~hostMask & 0xf).toString(16).toUpperCase();
    hi += (digit | hostMask).toString(16).toUpperCase();
  }
  return { lo, hi };
}

/** R33: event-ruler's range automaton, also for addresses shorter or longer than the range's. */
function inHexRange(v: string, r: HexRange): boolean {
  if (v.length >= r.lo.length) return v.slice(0, r.lo.length) >= r.lo && v.slice(0, r.lo.length) <= r.hi;
  for (let k = 1; k <= v.length; k++) {
    if (v.slice(0, k) > r.lo.slice(0, k) && v.slice(0, k) < r.hi.slice(0, k)) return true;
  }
  return false;
}

const ipValue = (v: Scalar): string | undefined => (v.type === "string" ? ipHex(v.value) : undefined);

// ---------------------------------------------------------------------------------------------------------
// Pattern compilation (R6–R12): a list of sub-patterns, each a map from dotted path to OR-ed conditions.

type Condition =
  { readonly absent: true } | { readonly absent: false; readonly test: (v: Scalar) => boolean };
type SubPattern = Map<string, readonly Condition[]>;

const value = (test: (v: Scalar) => boolean): Condition => ({ absent: false, test });

/** Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP (R8). */
const RESERVED_IN_OR = new Set(
  `exactly equals-ignore-case prefix suffix anything-but exists wildcard numeric cidr = < <= > >= regex not-wildcard
  not-equals-ignore-case date-after date-on-or-after date-before date-on-or-before in-date-range ip-address-in-range
  ip-address-not-in-range`.split(/\s+/),
);

function singleEntry(node: JsonNode): readonly [string, JsonNode] {
  const entry = node.type === "object" && node.entries.length === 1 ? node.entries[0] : undefined;
  if (!entry) throw new Error("a match expression must be an object with exactly one key");
  return entry;
}

function stringArg(node: JsonNode): string {
  if (node.type !== "string") throw new Error("expected a string");
  return node.value;
}

/** R15–R22: the string operators; none of them ever matches a number, a boolean or null. */
function stringOperator(op: string, arg: JsonNode): (v: Scalar) => boolean {
  if (op === "wildcard") {
    const segments = wildcardSegments(`"${stringArg(arg)}"`);
    return (v) => {
      const bytes = framedBytes(v);
      return bytes !== undefined && wildcardMatches(bytes, segments);
    };
  }
  let ignoreCase = op === "equals-ignore-case";
  let text: string;
  if (arg.type === "object" && (op === "prefix" || op === "suffix")) {
    const [inner, innerArg] = singleEntry(arg);
    if (inner !== "equals-ignore-case") throw new Error(`unsupported ${op} expression ${inner}`);
    ignoreCase = true;
    text = stringArg(innerArg);
  } else text = stringArg(arg);
  const framings = new Map(
    Object.entries({ exactly: '"X"', "equals-ignore-case": '"X"', prefix: '"X', suffix: 'X"' }),
  );
  const framed = framings.get(op)?.replace("X", () => text);
  if (framed === undefined) throw new Error(`unsupported operator ${op}`);
  const slots = ignoreCase ? caseSlots(framed) : [[javaUtf8(framed)]];
  return (v) => {
    const bytes = framedBytes(v);
    if (bytes === undefined) return false;
    const starts = op === "suffix" ? Array.from({ length: bytes.length + 1 }, (_, i) => i) : [0];
    return starts.some((start) => {
      const ends = endPositions(bytes, slots, start);
      return op === "prefix" ? ends.size > 0 : ends.has(bytes.length);
    });
  };
}

/** R23–R24: anything-but in all its forms. */
function anythingBut(arg: JsonNode): Condition {
  if (arg.type === "object") {
    const [op, inner] = singleEntry(arg);
    const texts = inner.type === "array" ? inner.items.map(stringArg) : [stringArg(inner)];
    if (texts.length === 0 || op === "exactly") throw new Error(`anything-but: unsupported ${op} expression`);
    if (["prefix", "suffix"].includes(op) && texts.includes("")) throw new Error("anything-but: empty affix");
    const excluded = texts.map((t) => stringOperator(op, { type: "string", value: t }));
    return value((v) => !excluded.some((test) => test(v)));
  }
  const items = arg.type === "array" ? arg.items : [arg];
  if (items.length > 0 && items.every((i) => i.type === "string")) {
    const excluded = items.map((i) => stringOperator("exactly", i));
    return value((v) => !excluded.some((test) => test(v)));
  }
  const excluded = items.map((i) => (i.type === "number" ? comparableValue(i.text) : undefined));
  if (items.length === 0 || excluded.includes(undefined)) throw new Error("anything-but: bad values");
  return value((v) => !excluded.includes(numberValue(v) ?? NaN));
}

const compare = (op: string, x: number, b: number): boolean =>
  op === "=" ? x === b : op === "<" ? x < b : op === "<=" ? x <= b : op === ">" ? x > b : x >= b;

/** R26: ["=", n], [">"|">=", n], ["<"|"<=", n] or [">"|">=", n, "<"|"<=", m], on comparable numbers. */
function numeric(arg: JsonNode): Condition {
  const items = arg.type === "array" ? arg.items : [];
  const ops = items.filter((_, i) => i % 2 === 0).map((n) => (n.type === "string" ? n.value : "?"));
  const bounds = items
    .filter((_, i) => i % 2 === 1)
    .map((n) => (n.type === "number" ? comparableValue(n.text) : undefined));
  const ranged = ops.length === 2 && [">", ">="].includes(ops[0] ?? "") && ["<", "<="].includes(ops[1] ?? "");
  if (
    ops.length !== bounds.length ||
    !(ops.length === 1 || ranged) ||
    !ops.every((op) => ["=", "<", "<=", ">", ">="].includes(op))
  ) {
    throw new Error("numeric: malformed expression");
  }
  if (bounds.includes(undefined)) throw new Error("numeric: bound is not a comparable number");
  return value((v) => {
    const n = numberValue(v);
    return n !== undefined && ops.every((op, i) => compare(op, n, bounds[i] ?? NaN));
  });
}

function compileOperator(expression: JsonNode): Condition {
  const [op, arg] = singleEntry(expression);
  switch (op) {
    case "anything-but":
      return anythingBut(arg);
    case "numeric":
      return numeric(arg);
    case "exists":
      if (arg.type !== "literal" || arg.text === "null") throw new Error("exists: expected true or false");
      return arg.text === "true" ? value(() => true) : { absent: true };
    case "cidr": {
      const range = cidrRange(stringArg(arg));
      return value((v) => inHexRange(ipValue(v) ?? "", range));
    }
    default:
      return value(stringOperator(op, arg));
  }
}

/** R12 (with R15, R27, R31): the OR-ed conditions of one field's list. */
function compileConditions(list: JsonNode): Condition[] {
  if (list.type !== "array" || list.items.length === 0) throw new Error("values must be a non-empty array");
  return list.items.flatMap((item): Condition[] => {
    switch (item.type) {
      case "object":
        return [compileOperator(item)];
      case "string": {
        const hex = ipHex(item.value); // R31: a string that is an IP literal matches that address
        const range = { lo: hex ?? "", hi: hex ?? "" };
        return [
          value(
            hex === undefined ? stringOperator("exactly", item) : (v) => inHexRange(ipValue(v) ?? "", range),
          ),
        ];
      }
      case "number": {
        const n = comparableValue(item.text);
        const literal = value((v) => v.type === "number" && v.text === item.text);
        return n === undefined ? [literal] : [value((v) => numberValue(v) === n), literal];
      }
      case "literal":
        return [value((v) => v.type === "literal" && v.text === item.text)];
      case "array":
        throw new Error("match values must be strings, numbers, true, false, null or objects");
    }
  });
}

function compileObject(rules: SubPattern[], path: string[], obj: ObjectNode, withOr: boolean, inOr: boolean) {
  if (obj.entries.length === 0) throw new Error("empty objects are not allowed");
  for (const [key, node] of obj.entries) {
    if (withOr && key === "$or") compileOr(rules, path, node);
    else if (inOr && RESERVED_IN_OR.has(key)) throw new Error(`${key} is reserved inside $or`);
    else if (node.type === "object") compileObject(rules, [...path, key], node, withOr, inOr);
    else {
      const conditions = compileConditions(node);
      if (rules.length === 0) rules.push(new Map());
      for (const rule of rules) rule.set([...path, key].join("."), conditions); // the last one wins (R10)
    }
  }
}

/** R7: every `$or` branch extends its own copy of the sub-patterns built so far. */
function compileOr(rules: SubPattern[], path: string[], node: JsonNode): void {
  if (node.type !== "array" || node.items.length < 2) throw new Error("$or needs an array of 2+ objects");
  const before = rules.map((rule) => new Map(rule));
  rules.length = 0;
  for (const branch of node.items) {
    if (branch.type !== "object") throw new Error("$or entries must be objects");
    const forked: SubPattern[] =
      before.length === 0 ? [new Map<string, readonly Condition[]>()] : before.map((rule) => new Map(rule));
    compileObject(forked, path, branch, true, true);
    rules.push(...forked);
  }
}

/** R6, R8: as JsonRuleCompiler; if that rejects the pattern, as RuleCompiler, where `$or` is a plain key. */
function compilePattern(pattern: JsonNode): SubPattern[] {
  if (pattern.type !== "object") throw new Error("pattern must be a JSON object");
  const compile = (withOr: boolean): SubPattern[] => {
    const rules: SubPattern[] = [];
    compileObject(rules, [], pattern, withOr, false);
    return rules;
  };
  try {
    return compile(true);
  } catch {
    return compile(false);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Event flattening (R2–R5) and matching (R34–R38).

interface Leaf {
  readonly path: string;
  readonly value: Scalar;
  /** array id → element index, for every enclosing array whose element is an object or an array (R4). */
  readonly membership: ReadonlyMap<number, number>;
}

function flattenEvent(event: ObjectNode): Leaf[] {
  const leaves: Leaf[] = [];
  const membership = new Map<number, number>();
  let arrayCount = 0;
  const visit = (node: JsonNode, steps: string[]): void => {
    if (node.type === "object") {
      for (const [key, child] of node.entries) visit(child, [...steps, key]);
    } else if (node.type === "array") {
      const arrayId = arrayCount++;
      node.items.forEach((item, index) => {
        const container = item.type === "object" || item.type === "array";
        if (container) membership.set(arrayId, index); // a scalar element gets no membership of its own (R4)
        visit(item, steps);
        membership.delete(arrayId);
      });
    } else {
      leaves.push({ path: steps.join("."), value: node, membership: new Map(membership) });
    }
  };
  visit(event, []);
  return leaves;
}

type Membership = ReadonlyMap<number, number>;

/** ArrayMembership.checkArrayConsistency: the union, or undefined when an array has two different indexes. */
function merge(soFar: Membership, leaf: Membership): Membership | undefined {
  const merged = new Map(soFar);
  for (const [array, index] of leaf) {
    if ((merged.get(array) ?? index) !== index) return undefined;
    merged.set(array, index);
  }
  return merged;
}

function matchesSubPattern(rule: SubPattern, leaves: readonly Leaf[]): boolean {
  const paths = [...rule.keys()].sort(); // UTF-16 code unit order, like Java's String.compareTo (R35)
  const step = (i: number, soFar: Membership): boolean => {
    const path = paths[i];
    if (path === undefined) return true;
    const conditions = rule.get(path) ?? [];
    const candidates = leaves.filter(
      (leaf) => leaf.path === path && merge(soFar, leaf.membership) !== undefined,
    );
    if (candidates.length === 0 && conditions.some((c) => c.absent) && step(i + 1, soFar)) return true; // R37
    return candidates.some(
      (leaf) =>
        conditions.some((c) => !c.absent && c.test(leaf.value)) &&
        step(i + 1, merge(soFar, leaf.membership) ?? soFar),
    );
  };
  return step(0, new Map());
}

/**
 * Decides whether an event matches an event pattern, with event-ruler's verdict as specified in
 * `docs/pattern-semantics.md`.
 * @param patternJson The pattern as JSON text; another component has already validated it.
 * @param eventJson The event as JSON text; it must be a JSON object.
 * @returns true when at least one of the pattern's `$or` expansions matches the event.
 * @throws Error when either text is not JSON, the event is not an object, or the pattern holds anything this
 *   evaluator does not understand (it never guesses).
 */
export function referenceMatches(patternJson: string, eventJson: string): boolean {
  const rules = compilePattern(parseJson(patternJson));
  const event = parseJson(eventJson);
  if (event.type !== "object") throw new Error("event must be a JSON object");
  const leaves = flattenEvent(event);
  return rules.some((rule) => matchesSubPattern(rule, leaves));
}
