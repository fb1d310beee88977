/**
 * Reads an event's JSON text and collects the leaves at the paths some pattern uses, into the buckets
 * of the path trie. Everything else is validated and skipped without building strings or objects, so
 * matching cost follows what the rules look at, not the size of the event.
 * @see https://www.rfc-editor.org/rfc/rfc8259 (the grammar validated here)
 */
import { InvalidEventJsonError, MatchLimitExceededError } from "./errors.js";
import { Leaf, LeafKind, type Trail } from "./leaf.js";
import type { PathNode } from "./path-trie.js";

/** Deepest nesting of objects and arrays accepted in an event (as Jackson's default). */
export const MAX_EVENT_DEPTH = 1000;

/**
 * Most arrays of objects or arrays a value may lie in, nested, at a field path some rule uses: each
 * such value carries the (array, index) pairs of all of them for array-consistent matching, and
 * comparing two costs their product, so 14,000 objects under 990 nested arrays took 11 s and 700 MB
 * to match. An event past it is refused as one too costly to match.
 */
export const MAX_ARRAY_NESTING = 32;

const QUOTE = 34;
const BACKSLASH = 92;

// A container holding only scalars (or, for arrays, scalars and such objects), validated and skipped
// by one sticky regular expression: the regex engine runs native code, several times faster than a
// character loop in JS, and events are mostly made of such containers. Anything else falls back to
// the loop in skip().
const WS = "[ \\t\\n\\r]*";
// "Unrolled" string: runs of plain characters between escapes, which the regex engine matches fast.
const STR = '"[^"\\\\\\x00-\\x1f]*(?:\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\\\\x00-\\x1f]*)*"';
const NUM = "-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?";
const SCALAR = `(?:${STR}|${NUM}|true|false|null)`;
const MEMBER = `${WS}${STR}${WS}:${WS}${SCALAR}${WS}`;
const FLAT_OBJECT = `\\{(?:${MEMBER}(?:,${MEMBER})*|${WS})\\}`;
const ELEMENT = `${WS}(?:${SCALAR}|${FLAT_OBJECT})${WS}`;
const FLAT_CONTAINER = new RegExp(`${FLAT_OBJECT}|\\[(?:${ELEMENT}(?:,${ELEMENT})*|${WS})\\]`, "y");

/**
 * Where the flat container opening at `i` ends, or -1 when the one at `i` is not flat. The regex
 * engine keeps state per repetition of the list, so a list of millions of elements overflows its
 * stack (a RangeError): the loop in skip() reads that one instead.
 */
function flatContainerEnd(s: string, i: number): number {
  FLAT_CONTAINER.lastIndex = i;
  try {
    return FLAT_CONTAINER.test(s) ? FLAT_CONTAINER.lastIndex : -1;
  } catch (e) {
    if (e instanceof RangeError) return -1;
    throw e;
  }
}

/** A reusable scanner; not re-entrant (one scan at a time). */
export class EventScanner {
  private s = "";
  private i = 0;
  private stamp = 0;
  private arrays = 0;
  /** Whether the text is known to be valid JSON: strings are then skipped by searching for quotes. */
  private trusted = false;
  private readonly containers = new Uint8Array(MAX_EVENT_DEPTH + 1);
  /** Nodes that received leaves during the last scan. */
  readonly touched: PathNode[] = [];

  /**
   * Scans `text`, filling the buckets of nodes under `root`; returns the scan's stamp (a bucket holds
   * this event's leaves only while its `stamp` equals it).
   *
   * `valid` says the caller has already validated `text` as JSON (PutEvents builds its envelopes from
   * parts it checked): unused strings are then skipped with a native search for their closing quote
   * instead of being read character by character. Nesting depth is checked either way.
   */
  scan(text: string, root: PathNode, stamp: number, valid = false): void {
    this.s = text;
    this.i = 0;
    this.trusted = valid;
    this.stamp = stamp;
    this.arrays = 0;
    this.touched.length = 0;
    this.value(root, null, 0);
    this.ws();
    if (this.i !== text.length) this.fail("Unexpected text after the JSON value");
  }

  /**
   * Whether `text` is one JSON object and nothing else (whitespace around it aside), validated as
   * {@link scan} validates what it skips, and with nothing built: how PutEvents checks a Detail, which
   * is then placed verbatim in the event's envelope.
   */
  isObject(text: string): boolean {
    return this.notObject(text) === undefined;
  }

  /**
   * Why `text` is not one JSON object (what is wrong, and where); undefined when it is one.
   * @param at the depth the object will lie at in an event (1 for an event's Detail), counted against
   *   the event's nesting limit.
   */
  notObject(text: string, at = 0): string | undefined {
    this.s = text;
    this.i = 0;
    this.trusted = false;
    try {
      if (this.ws() !== 123 /* { */) return "it must be a JSON object";
      this.skip(at);
      this.ws();
      return this.i === text.length ? undefined : `text after the object at position ${this.i}`;
    } catch (e) {
      if (e instanceof InvalidEventJsonError) return `${e.reason} at position ${e.position}`;
      throw e;
    } finally {
      this.s = "";
    }
  }

  private fail(reason: string): never {
    throw new InvalidEventJsonError(reason, this.i);
  }

  private tooNested(): never {
    throw new MatchLimitExceededError(
      undefined,
      `The event nests arrays of objects or arrays more than ${MAX_ARRAY_NESTING} deep (at position ${this.i}) ` +
        "under a field some rule uses: matching it would cost too much. Nest arrays less deeply.",
    );
  }

  private ws(): number {
    const s = this.s;
    let i = this.i;
    let c = s.charCodeAt(i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
    this.i = i;
    return c;
  }

  private emit(node: PathNode, kind: LeafKind, text: string, trail: Trail): void {
    if (node.stamp !== this.stamp) {
      node.stamp = this.stamp;
      node.count = 0;
      this.touched.push(node);
    }
    const leaf = node.leaves[node.count];
    if (leaf === undefined) node.leaves[node.count] = new Leaf(kind, text, trail);
    else leaf.reset(kind, text, trail);
    node.count++;
  }

  private value(node: PathNode, trail: Trail, depth: number): void {
    const c = this.ws();
    if (c === 123 /* { */) {
      const children = node.children;
      if (children === null) {
        this.skip(depth);
        return;
      }
      if (depth >= MAX_EVENT_DEPTH) this.fail(`Nesting deeper than ${MAX_EVENT_DEPTH} levels`);
      this.i++;
      if (this.ws() === 125 /* } */) {
        this.i++;
        return;
      }
      for (;;) {
        if (this.ws() !== QUOTE) this.fail("Expected a field name");
        const child = this.child(node, children);
        if (this.ws() !== 58 /* : */) this.fail("Expected ':' after a field name");
        this.i++;
        if (child === undefined) this.skip(depth + 1);
        else this.value(child, trail, depth + 1);
        const d = this.ws();
        this.i++;
        if (d === 44 /* , */) continue;
        if (d === 125 /* } */) return;
        this.i--;
        this.fail("Expected ',' or '}' in object");
      }
    }
    if (c === 91 /* [ */) {
      if (depth >= MAX_EVENT_DEPTH) this.fail(`Nesting deeper than ${MAX_EVENT_DEPTH} levels`);
      this.i++;
      if (this.ws() === 93 /* ] */) {
        this.i++;
        return;
      }
      const id = ++this.arrays;
      for (let index = 0; ; index++) {
        // Only object and array elements carry their index: a scalar element keeps the enclosing trail
        // (event-ruler Event.traverseArray; docs/pattern-semantics.md R4).
        const e = this.ws();
        const nested = e === 123 || e === 91;
        if (nested && trail !== null && trail.length >= 2 * MAX_ARRAY_NESTING) this.tooNested();
        this.value(node, nested ? (trail === null ? [id, index] : [...trail, id, index]) : trail, depth + 1);
        const d = this.ws();
        this.i++;
        if (d === 44) continue;
        if (d === 93) return;
        this.i--;
        this.fail("Expected ',' or ']' in array");
      }
    }
    if (node.wantedBy === 0) {
      this.skip(depth);
      return;
    }
    if (c === QUOTE) {
      this.emit(node, LeafKind.String, this.string(), trail);
    } else if (c === 116 /* t */ || c === 102 /* f */ || c === 110 /* n */) {
      const word = this.literal(c);
      this.emit(
        node,
        word === "true" ? LeafKind.True : word === "false" ? LeafKind.False : LeafKind.Null,
        word,
        trail,
      );
    } else {
      const start = this.i;
      this.number();
      this.emit(node, LeafKind.Number, this.s.slice(start, this.i), trail);
    }
  }

  /**
   * Reads a field name (from its opening quote) and returns the child node it leads to. A name without
   * escapes is compared in place with the few child keys, so no string is built for it.
   */
  private child(node: PathNode, children: Map<string, PathNode>): PathNode | undefined {
    const s = this.s;
    const keys = node.childKeys;
    if (keys.length <= 8) {
      const start = this.i + 1;
      let i = start;
      let c = s.charCodeAt(i);
      while (c !== QUOTE && c !== BACKSLASH && c >= 32) c = s.charCodeAt(++i);
      if (c === QUOTE) {
        this.i = i + 1;
        const length = i - start;
        for (let k = 0; k < keys.length; k++) {
          const key = keys[k] as string;
          if (key.length === length && s.startsWith(key, start)) return node.childNodes[k];
        }
        return undefined;
      }
    }
    return children.get(this.string());
  }

  private literal(c: number): string {
    const word = c === 116 ? "true" : c === 102 ? "false" : "null";
    if (!this.s.startsWith(word, this.i)) this.fail("Unexpected character");
    this.i += word.length;
    return word;
  }

  /** Reads a string starting at its opening quote; returns its unescaped value. */
  private string(): string {
    const s = this.s;
    const start = ++this.i;
    let i = start;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        this.i = i + 1;
        return s.slice(start, i);
      }
      if (c === BACKSLASH) break;
      if (!(c >= 32)) {
        this.i = i;
        this.fail(i >= s.length ? "Unterminated string" : "Control character in string");
      }
      i++;
    }
    // Slow path: the string has escapes.
    let out = s.slice(start, i);
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        this.i = i + 1;
        return out;
      }
      if (c === BACKSLASH) {
        const e = s.charCodeAt(i + 1);
        switch (e) {
          case QUOTE:
          case BACKSLASH:
          case 47 /* / */:
            out += String.fromCharCode(e);
            break;
          case 98 /* b */:
            out += "\b";
            break;
          case 102 /* f */:
            out += "\f";
            break;
          case 110 /* n */:
            out += "\n";
            break;
          case 114 /* r */:
            out += "\r";
            break;
          case 116 /* t */:
            out += "\t";
            break;
          case 117 /* u */: {
            const hex = s.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
              this.i = i;
              this.fail("Invalid \\u escape in string");
            }
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            this.i = i;
            this.fail("Invalid escape in string");
        }
        i += 2;
        continue;
      }
      if (!(c >= 32)) {
        this.i = i;
        this.fail(i >= s.length ? "Unterminated string" : "Control character in string");
      }
      out += s[i];
      i++;
    }
  }

  /** Skips a string starting at its opening quote, validating it. */
  private skipString(): void {
    const s = this.s;
    let i = this.i + 1;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        this.i = i + 1;
        return;
      }
      if (c === BACKSLASH) {
        const e = s.charCodeAt(i + 1);
        if (e === 117) {
          for (let k = i + 2; k < i + 6; k++) {
            const h = s.charCodeAt(k);
            if (!((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102))) {
              this.i = i;
              this.fail("Invalid \\u escape in string");
            }
          }
          i += 6;
          continue;
        }
        if (
          e !== QUOTE &&
          e !== BACKSLASH &&
          e !== 47 &&
          e !== 98 &&
          e !== 102 &&
          e !== 110 &&
          e !== 114 &&
          e !== 116
        ) {
          this.i = i;
          this.fail("Invalid escape in string");
        }
        i += 2;
        continue;
      }
      if (!(c >= 32)) {
        this.i = i;
        this.fail(i >= s.length ? "Unterminated string" : "Control character in string");
      }
      i++;
    }
  }

  /** Validates and skips a number. */
  private number(): void {
    const s = this.s;
    let i = this.i;
    let c = s.charCodeAt(i);
    if (c === 45 /* - */) c = s.charCodeAt(++i);
    if (c === 48 /* 0 */) {
      c = s.charCodeAt(++i);
    } else if (c >= 49 && c <= 57) {
      do c = s.charCodeAt(++i);
      while (c >= 48 && c <= 57);
    } else {
      this.i = i;
      this.fail(i >= s.length ? "Unexpected end of input" : "Unexpected character");
    }
    if (c === 46 /* . */) {
      c = s.charCodeAt(++i);
      if (!(c >= 48 && c <= 57)) {
        this.i = i;
        this.fail("Expected a digit after the decimal point");
      }
      do c = s.charCodeAt(++i);
      while (c >= 48 && c <= 57);
    }
    if (c === 101 || c === 69 /* e E */) {
      c = s.charCodeAt(++i);
      if (c === 43 || c === 45) c = s.charCodeAt(++i);
      if (!(c >= 48 && c <= 57)) {
        this.i = i;
        this.fail("Expected a digit in the exponent");
      }
      do c = s.charCodeAt(++i);
      while (c >= 48 && c <= 57);
    }
    this.i = i;
  }

  /**
   * Validates and skips one value of any kind, without recursion. One tight loop over local variables:
   * this is where an event's unused parts are read, so it is the scanner's hot path.
   * @param at the depth the value lies at (0: the whole text), so that the event's nesting is limited
   *   the same whichever of its parts rules read and which are skipped.
   */
  private skip(at: number): void {
    const s = this.s;
    const n = s.length;
    const stack = this.containers;
    const limit = MAX_EVENT_DEPTH - at;
    let i = this.i;
    let depth = 0;
    let c: number;
    for (;;) {
      // A value is expected at i (after whitespace).
      c = s.charCodeAt(i);
      while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
      if (c === QUOTE) {
        i = this.skipStringFrom(i);
      } else if ((c >= 48 && c <= 57) || c === 45) {
        // Number: validated by the careful routine only when it is not a plain run of digits and '.'.
        const start = i;
        if (c === 45) c = s.charCodeAt(++i);
        if (c === 48 ? (c = s.charCodeAt(++i)) >= 48 && c <= 57 : false) {
          this.i = i;
          this.fail("Unexpected character");
        }
        while (c >= 48 && c <= 57) c = s.charCodeAt(++i);
        if (c === 46 || c === 101 || c === 69 || i === start || s.charCodeAt(i - 1) === 45) {
          this.i = start;
          this.number();
          i = this.i;
        }
      } else if (c === 123 || c === 91) {
        // Counted before the flat containers' shortcut too: a container at the limit is one too deep.
        if (depth >= limit) {
          this.i = i;
          this.fail(`Nesting deeper than ${MAX_EVENT_DEPTH} levels`);
        }
        const flatEnd = this.trusted ? -1 : flatContainerEnd(s, i);
        if (flatEnd !== -1) {
          i = flatEnd;
        } else {
          let d = s.charCodeAt(++i);
          while (d === 32 || d === 10 || d === 13 || d === 9) d = s.charCodeAt(++i);
          if (d === c + 2) {
            i++; // empty container: '{' + 2 is '}', '[' + 2 is ']'
          } else {
            stack[depth++] = c;
            if (c === 123) i = this.skipMemberName(i);
            continue;
          }
        }
      } else if (c === 116 || c === 102 || c === 110) {
        this.i = i;
        this.literal(c);
        i = this.i;
      } else {
        this.i = i;
        this.fail(i >= n ? "Unexpected end of input" : "Unexpected character");
      }
      // After a value: close containers, or move on to the next element.
      for (;;) {
        if (depth === 0) {
          this.i = i;
          return;
        }
        c = s.charCodeAt(i);
        while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
        const open = stack[depth - 1] as number;
        if (c === 44) {
          i++;
          if (open === 123) i = this.skipMemberName(i);
          break;
        }
        if (c === open + 2) {
          i++;
          depth--;
          continue;
        }
        this.i = i;
        this.fail(open === 123 ? "Expected ',' or '}' in object" : "Expected ',' or ']' in array");
      }
    }
  }

  /**
   * Skips the string whose opening quote is at `quote` and returns the offset after it: plain
   * characters in a tight loop, escapes and errors through {@link skipString}.
   */
  private skipStringFrom(quote: number): number {
    const s = this.s;
    if (this.trusted) {
      // Valid JSON: the string ends at the first quote not escaped by an odd run of backslashes.
      let j = s.indexOf('"', quote + 1);
      while (j !== -1) {
        let k = j - 1;
        while (s.charCodeAt(k) === BACKSLASH) k--;
        if (((j - 1 - k) & 1) === 0) return j + 1;
        j = s.indexOf('"', j + 1);
      }
      // Not valid after all: the careful reader below reports where.
    }
    let i = quote;
    for (;;) {
      const c = s.charCodeAt(++i);
      if (c === QUOTE) return i + 1;
      if (c === BACKSLASH || !(c >= 32)) {
        this.i = quote;
        this.skipString();
        return this.i;
      }
    }
  }

  /** Skips `"name" :` from offset `i` inside an object being skipped; returns the offset after it. */
  private skipMemberName(i: number): number {
    const s = this.s;
    let c = s.charCodeAt(i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
    if (c !== QUOTE) {
      this.i = i;
      this.fail("Expected a field name");
    }
    i = this.skipStringFrom(i);
    c = s.charCodeAt(i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
    if (c !== 58) {
      this.i = i;
      this.fail("Expected ':' after a field name");
    }
    return i + 1;
  }
}
