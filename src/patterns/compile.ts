/**
 * Compiles event pattern text into sub-patterns: conjunctions of field conditions, one per `$or`
 * alternative, with every field path sorted. Rejects invalid patterns with event-ruler's wording.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 * @see event-ruler JsonRuleCompiler.java
 */
import { parseJson, JsonSyntaxError, type JsonValue } from "./json.js";
import { InvalidEventPatternError, PatternErrorCode } from "./errors.js";
import { conditionKey, type Condition, type Exclusion } from "./conditions.js";
import { comparableKey, comparableProblem } from "./numbers.js";
import { parseCidr, parseIp } from "./ip.js";
import { compileWildcard, type Wildcard } from "./wildcard.js";
import { DEFAULT_PATTERN_LIMITS, type PatternLimits } from "./limits.js";

/** A field path with the OR-list of conditions it must satisfy. */
export interface FieldCondition {
  readonly path: string;
  readonly conditions: readonly Condition[];
  /** Canonical key of the condition list (equal lists share matcher states). */
  readonly key: string;
}

/** A conjunction of field conditions, sorted by path. */
export type SubPattern = readonly FieldCondition[];

/** A compiled pattern: it matches an event when any of its sub-patterns does. */
export interface CompiledPattern {
  readonly subPatterns: readonly SubPattern[];
}

const OR = "$or";
/** Field names that may not appear inside a `$or` branch (event-ruler Constants, R8). */
const RESERVED_IN_OR = new Set([
  "exactly",
  "equals-ignore-case",
  "prefix",
  "suffix",
  "anything-but",
  "exists",
  "wildcard",
  "numeric",
  "cidr",
  "=",
  "<",
  "<=",
  ">",
  ">=",
  "regex",
  "not-wildcard",
  "not-equals-ignore-case",
  "date-after",
  "date-on-or-after",
  "date-before",
  "date-on-or-before",
  "in-date-range",
  "ip-address-in-range",
  "ip-address-not-in-range",
]);

type Draft = Map<string, FieldCondition>;

class Compiler {
  readonly paths = new Set<string>();
  constructor(
    readonly limits: PatternLimits,
    /** Whether `$or` is the OR primitive (true) or, as in event-ruler's legacy compiler, a field name. */
    readonly orPrimitive: boolean,
  ) {}

  fail(field: string, reason: string, code: PatternErrorCode = PatternErrorCode.InvalidPattern): never {
    throw new InvalidEventPatternError(field, reason, code);
  }

  limit(reason: string): never {
    throw new InvalidEventPatternError("", reason, PatternErrorCode.PatternLimit);
  }

  object(
    drafts: Draft[],
    prefix: string,
    entries: ReadonlyArray<readonly [string, JsonValue]>,
    insideOr: boolean,
    depth: number,
  ): Draft[] {
    if (depth > this.limits.maxNestingDepth) {
      this.limit(`Pattern nests objects deeper than ${this.limits.maxNestingDepth} levels`);
    }
    if (entries.length === 0) this.fail(prefix, "Empty objects are not allowed");
    let out = drafts;
    for (const [name, value] of entries) {
      if (name === OR && this.orPrimitive) {
        out = this.or(out, prefix, value, depth);
        continue;
      }
      const path = prefix === "" ? name : `${prefix}.${name}`;
      if (insideOr && RESERVED_IN_OR.has(name)) {
        this.fail(path, `${name} is Ruler reserved fieldName which cannot be used inside ${OR}.`);
      }
      if (value.type === "object") {
        out = this.object(out, path, value.entries, insideOr, depth + 1);
      } else if (value.type === "array") {
        const field = this.field(path, value.items);
        if (out.length === 0) out = [new Map<string, FieldCondition>()];
        for (const d of out) d.set(path, field);
      } else {
        this.fail(path, `"${name}" must be an object or an array`);
      }
    }
    return out;
  }

  or(drafts: Draft[], prefix: string, value: JsonValue, depth: number): Draft[] {
    const field = prefix === "" ? OR : `${prefix}.${OR}`;
    if (value.type !== "array") this.fail(field, `It must be an Array followed with ${OR}.`);
    const result: Draft[] = [];
    for (const item of value.items) {
      if (item.type !== "object")
        this.fail(field, `Only JSON object is allowed in array of ${OR} relationship.`);
      const copies: Draft[] =
        drafts.length === 0 ? [new Map<string, FieldCondition>()] : drafts.map((d) => new Map(d));
      for (const d of this.object(copies, prefix, item.entries, true, depth + 1)) {
        result.push(d);
        if (result.length > this.limits.maxCombinations) {
          this.limit(
            `Pattern has more than ${this.limits.maxCombinations} combinations of ${OR} alternatives`,
          );
        }
      }
    }
    if (value.items.length < 2) this.fail(field, `There must have at least 2 Objects in ${OR} relationship.`);
    return result;
  }

  field(path: string, items: readonly JsonValue[]): FieldCondition {
    this.paths.add(path);
    if (this.paths.size > this.limits.maxFieldPaths) {
      this.limit(`Pattern names more than ${this.limits.maxFieldPaths} field paths`);
    }
    const segments = path.split(".").length;
    if (segments > this.limits.maxPathSegments) {
      this.limit(
        `field path ${path.length > 64 ? `${path.slice(0, 64)}…` : path} has ${segments} segments (its nesting and the dots in its keys), more than the limit of ${this.limits.maxPathSegments}`,
      );
    }
    if (items.length === 0) this.fail(path, "Empty arrays are not allowed");
    const byKey = new Map<string, Condition>();
    for (const item of items) {
      for (const c of this.value(path, item)) byKey.set(conditionKey(c), c);
    }
    const keys = [...byKey.keys()].sort();
    return { path, conditions: keys.map((k) => byKey.get(k) as Condition), key: keys.join("\u0001") };
  }

  value(path: string, v: JsonValue): Condition[] {
    switch (v.type) {
      case "string": {
        const ip = parseIp(v.value);
        if (ip !== undefined) {
          return [{ kind: "ip", block: { ...ip, prefixLength: ip.bits.length } }];
        }
        return [{ kind: "exact-string", value: intern(v.value) }];
      }
      case "number":
        return [{ kind: "exact-number", text: v.text, key: comparableKey(v.text) }];
      case "true":
      case "false":
      case "null":
        return [{ kind: "literal", value: v.type }];
      case "object":
        return [this.expression(path, v.entries)];
      case "array":
        return this.fail(path, "Match value must be String, number, true, false, or null");
    }
  }

  expression(path: string, entries: ReadonlyArray<readonly [string, JsonValue]>): Condition {
    const first = entries[0];
    if (first === undefined) return this.fail(path, "Match expression name not found");
    const [op, operand] = first;
    const oneKey = (): void => {
      if (entries.length > 1) {
        this.fail(
          path,
          op === "numeric"
            ? "Too many elements in numeric expression"
            : "Only one key allowed in match expression",
        );
      }
    };
    const str = (what: string): string => {
      if (operand.type !== "string") this.fail(path, `${what} match pattern must be a string`);
      return operand.value;
    };
    switch (op) {
      case "exactly":
        oneKey();
        return { kind: "exact-string", value: intern(str("exact")) };
      case "prefix":
      case "suffix": {
        oneKey();
        if (operand.type === "object") {
          const inner = operand.entries;
          const [innerOp, innerValue] = inner[0] ?? ["", { type: "null" }];
          const name = op === "prefix" ? "Prefix" : "Suffix";
          if (innerOp === "") this.fail(path, `${name} expression name not found`);
          if (innerOp !== "equals-ignore-case") this.fail(path, `Unsupported ${op} pattern: ${innerOp}`);
          if (inner.length > 1) this.fail(path, "Only one key allowed in match expression");
          if (innerValue.type !== "string")
            this.fail(path, "equals-ignore-case match pattern must be a string");
          return {
            kind: op === "prefix" ? "prefix-ignore-case" : "suffix-ignore-case",
            value: innerValue.value,
          };
        }
        return { kind: op, value: intern(str(op)) };
      }
      case "equals-ignore-case":
        oneKey();
        return { kind: "equals-ignore-case", value: str("equals-ignore-case") };
      case "wildcard":
        oneKey();
        return { kind: "wildcard", wildcard: this.wildcard(path, str("wildcard")) };
      case "cidr": {
        oneKey();
        const block = parseCidr(str("cidr"));
        if (typeof block === "string") this.fail(path, block);
        return { kind: "ip", block };
      }
      case "exists":
        oneKey();
        if (operand.type !== "true" && operand.type !== "false") {
          this.fail(path, "exists match pattern must be either true or false.");
        }
        return { kind: operand.type === "true" ? "exists" : "absent" };
      case "numeric":
        oneKey();
        if (operand.type !== "array") this.fail(path, "Value of numeric must be an array.");
        return this.numeric(path, operand.items);
      case "anything-but":
        oneKey();
        return { kind: "anything-but", not: this.anythingBut(path, operand) };
      default:
        return this.fail(path, `Unrecognized match type ${op}`);
    }
  }

  wildcard(path: string, source: string): Wildcard {
    const w = compileWildcard(source);
    if (typeof w === "string") this.fail(path, w);
    if (w.stars > this.limits.maxWildcardStars) {
      this.fail(
        path,
        `wildcard pattern has ${w.stars} wildcard characters, more than the limit of ${this.limits.maxWildcardStars}`,
        PatternErrorCode.PatternLimit,
      );
    }
    return w;
  }

  numberKey(path: string, v: JsonValue, what: string): number {
    if (v.type !== "number") return this.fail(path, `Value of ${what} must be numeric`);
    const problem = comparableProblem(v.text);
    if (problem !== undefined) this.fail(path, problem);
    return comparableKey(v.text) as number;
  }

  numeric(path: string, items: readonly JsonValue[]): Condition {
    const [opValue, first, secondOp, second, ...rest] = items;
    if (opValue?.type !== "string") {
      return this.fail(
        path,
        `Invalid member in numeric match: ${opValue === undefined ? "]" : describe(opValue)}`,
      );
    }
    const op = opValue.value;
    if (first === undefined) return this.fail(path, `Value of ${op === "=" ? "equals" : op} must be numeric`);
    const done = (): void => {
      if (secondOp !== undefined) this.fail(path, "Too many elements in numeric expression");
    };
    switch (op) {
      case "=": {
        const k = this.numberKey(path, first, "equals");
        done();
        return { kind: "numeric", low: k, lowOpen: false, high: k, highOpen: false };
      }
      case "<":
      case "<=": {
        const k = this.numberKey(path, first, op);
        done();
        return { kind: "numeric", low: -Infinity, lowOpen: true, high: k, highOpen: op === "<" };
      }
      case ">":
      case ">=": {
        const low = this.numberKey(path, first, op);
        const lowOpen = op === ">";
        if (secondOp === undefined) return { kind: "numeric", low, lowOpen, high: Infinity, highOpen: true };
        if (secondOp.type !== "string")
          return this.fail(path, `Bad value in numeric range: ${describe(secondOp)}`);
        const top = secondOp.value;
        if (top !== "<" && top !== "<=") return this.fail(path, `Bad numeric range operator: ${top}`);
        if (second === undefined) return this.fail(path, `Value of ${top} must be numeric`);
        const high = this.numberKey(path, second, top);
        if (rest.length > 0) this.fail(path, "Too many terms in numeric range expression");
        if (low >= high) this.fail(path, "Bottom must be less than top");
        return { kind: "numeric", low, lowOpen, high, highOpen: top === "<" };
      }
      default:
        return this.fail(path, `Unrecognized numeric range operator: ${op}`);
    }
  }

  anythingBut(path: string, operand: JsonValue): Exclusion {
    if (operand.type === "object") {
      const [op, inner] = operand.entries[0] ?? ["", { type: "null" }];
      if (op === "") this.fail(path, "Anything-But expression name not found");
      if (operand.entries.length > 1) this.fail(path, "Only one key allowed in match expression");
      switch (op) {
        case "prefix":
        case "suffix": {
          const values = this.stringList(path, inner, op, "prefix/suffix match pattern must be a string");
          if (values.includes("")) this.fail(path, "Null prefix/suffix not allowed");
          return { kind: op, values };
        }
        case "equals-ignore-case":
          return {
            kind: "equals-ignore-case",
            values: this.stringList(
              path,
              inner,
              op,
              "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
            ),
          };
        case "wildcard":
          return {
            kind: "wildcard",
            wildcards: this.stringList(path, inner, op, "wildcard match pattern must be a string").map((s) =>
              this.wildcard(path, s),
            ),
          };
        default:
          return this.fail(path, `Unsupported anything-but pattern: ${op}`);
      }
    }
    const items = operand.type === "array" ? operand.items : [operand];
    if (operand.type !== "array" && operand.type !== "string" && operand.type !== "number") {
      this.fail(path, "Value of anything-but must be an array or single string/number value.");
    }
    const strings: string[] = [];
    const numbers: number[] = [];
    for (const item of items) {
      if (item.type === "string") strings.push(item.value);
      else if (item.type === "number") numbers.push(this.numberKey(path, item, "anything-but"));
      else this.fail(path, "Inside anything but list, start|null|boolean is not supported.");
    }
    if (strings.length > 0 === numbers.length > 0) {
      this.fail(
        path,
        "Inside anything but list, either all values are number or string, mixed type is not supported",
      );
    }
    return strings.length > 0 ? { kind: "strings", values: strings } : { kind: "numbers", keys: numbers };
  }

  /** A string or a non-empty list of strings (the operand of anything-but's object forms). */
  stringList(path: string, v: JsonValue, what: string, notString: string): string[] {
    const items = v.type === "array" ? v.items : [v];
    if (items.length === 0)
      this.fail(path, `Inside anything-but/${what} list, empty lists are not supported.`);
    return items.map((item) => {
      if (item.type !== "string") this.fail(path, notString);
      return item.value;
    });
  }
}

/**
 * Shares one string object among the rules that compare with the same value: the matcher's indexes
 * then keep fewer, hotter strings (a lookup reads the stored key's header). Bounded: when full it
 * starts over, which only costs sharing.
 */
const INTERN_LIMIT = 65_536;
const interned = new Map<string, string>();
function intern(s: string): string {
  if (s.length > 64) return s;
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size >= INTERN_LIMIT) interned.clear();
  interned.set(s, s);
  return s;
}

function hasOrKey(v: JsonValue): boolean {
  if (v.type === "object") return v.entries.some(([k, child]) => k === OR || hasOrKey(child));
  if (v.type === "array") return v.items.some(hasOrKey);
  return false;
}

function describe(v: JsonValue): string {
  return v.type === "string" ? v.value : v.type === "number" ? v.text : v.type;
}

/**
 * Compiles pattern text, or throws {@link InvalidEventPatternError} naming the field and the rule broken.
 */
export function compilePattern(
  text: string,
  limits: PatternLimits = DEFAULT_PATTERN_LIMITS,
): CompiledPattern {
  if (text.length > limits.maxPatternLength) {
    throw new InvalidEventPatternError(
      "",
      `Event pattern is ${text.length} characters long, more than the limit of ${limits.maxPatternLength}`,
      PatternErrorCode.PatternLimit,
    );
  }
  let root: JsonValue;
  try {
    // Objects nest at most maxNestingDepth deep; leave room for operand arrays and objects.
    root = parseJson(text, limits.maxNestingDepth + 4);
  } catch (e) {
    if (e instanceof JsonSyntaxError && e.kind === "depth") {
      throw new InvalidEventPatternError(
        "",
        `Pattern nests deeper than ${limits.maxNestingDepth} levels`,
        PatternErrorCode.PatternLimit,
      );
    }
    if (e instanceof JsonSyntaxError) throw new InvalidEventPatternError("", `Malformed JSON: ${e.message}`);
    throw e;
  }
  if (root.type !== "object") throw new InvalidEventPatternError("", "Filter is not an object");
  let drafts: Draft[];
  try {
    drafts = new Compiler(limits, true).object([], "", root.entries, false, 1);
  } catch (e) {
    // As event-ruler's Machine.addRule: a pattern the $or-aware compiler rejects is tried again with
    // "$or" as an ordinary field name (its backward compatibility); if that fails too, the first error
    // stands. Limit errors are final.
    if (!(e instanceof InvalidEventPatternError) || e.code !== PatternErrorCode.InvalidPattern) throw e;
    if (!hasOrKey(root)) throw e;
    try {
      drafts = new Compiler(limits, false).object([], "", root.entries, false, 1);
    } catch {
      throw e;
    }
  }
  const conditions = drafts.reduce((sum, d) => sum + d.size, 0);
  if (conditions > limits.maxExpandedConditions) {
    throw new InvalidEventPatternError(
      "",
      `Pattern expands into ${drafts.length} combinations of ${OR} alternatives with ${conditions} field conditions in all, more than the limit of ${limits.maxExpandedConditions}`,
      PatternErrorCode.PatternLimit,
    );
  }
  const subPatterns = drafts.map((d) =>
    [...d.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  );
  return { subPatterns };
}
