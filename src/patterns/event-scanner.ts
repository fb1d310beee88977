/**
 * Reads an event's JSON text and collects the leaves at the paths some pattern uses, into the buckets
 * of the path trie. Everything else is validated and skipped without building strings or objects, so
 * matching cost follows what the rules look at, not the size of the event.
 * @see https://www.rfc-editor.org/rfc/rfc8259 (the grammar validated here)
 */
import { InvalidEventJsonError } from "./errors.js";
import { Leaf, LeafKind, type Trail } from "./leaf.js";
import type { PathNode } from "./path-trie.js";

/** Deepest nesting of objects and arrays accepted in an event (as Jackson's default). */
export const MAX_EVENT_DEPTH = 1000;

const QUOTE = 34;
const BACKSLASH = 92;

/** A reusable scanner; not re-entrant (one scan at a time). */
export class EventScanner {
  private s = "";
  private i = 0;
  private stamp = 0;
  private arrays = 0;
  private readonly containers = new Uint8Array(MAX_EVENT_DEPTH + 1);
  /** Nodes that received leaves during the last scan. */
  readonly touched: PathNode[] = [];

  /**
   * Scans `text`, filling the buckets of nodes under `root`; returns the scan's stamp (a bucket holds
   * this event's leaves only while its `stamp` equals it).
   */
  scan(text: string, root: PathNode, stamp: number): void {
    this.s = text;
    this.i = 0;
    this.stamp = stamp;
    this.arrays = 0;
    this.touched.length = 0;
    this.value(root, null, 0);
    this.ws();
    if (this.i !== text.length) this.fail("Unexpected text after the JSON value");
  }

  private fail(reason: string): never {
    throw new InvalidEventJsonError(reason, this.i);
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
    node.leaves[node.count++] = new Leaf(kind, text, trail);
  }

  private value(node: PathNode, trail: Trail, depth: number): void {
    const c = this.ws();
    if (c === 123 /* { */) {
      const children = node.children;
      if (children === null) {
        this.skip();
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
        const key = this.string();
        if (this.ws() !== 58 /* : */) this.fail("Expected ':' after a field name");
        this.i++;
        const child = children.get(key);
        if (child === undefined) this.skip();
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
        this.value(node, trail === null ? [id, index] : [...trail, id, index], depth + 1);
        const d = this.ws();
        this.i++;
        if (d === 44) continue;
        if (d === 93) return;
        this.i--;
        this.fail("Expected ',' or ']' in array");
      }
    }
    if (node.wantedBy === 0) {
      this.skip();
      return;
    }
    if (c === QUOTE) {
      this.emit(node, LeafKind.String, this.string(), trail);
    } else if (c === 116 /* t */ || c === 102 /* f */ || c === 110 /* n */) {
      const word = this.literal(c);
      this.emit(node, word === "true" ? LeafKind.True : word === "false" ? LeafKind.False : LeafKind.Null, word, trail);
    } else {
      const start = this.i;
      this.number();
      this.emit(node, LeafKind.Number, this.s.slice(start, this.i), trail);
    }
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

  /** Validates and skips one value of any kind, without recursion. */
  private skip(): void {
    const stack = this.containers;
    let depth = 0;
    for (;;) {
      // A value is expected here.
      let c = this.ws();
      if (c === 123 /* { */ || c === 91 /* [ */) {
        if (depth >= MAX_EVENT_DEPTH) this.fail(`Nesting deeper than ${MAX_EVENT_DEPTH} levels`);
        this.i++;
        const d = this.ws();
        if (d === (c === 123 ? 125 : 93)) {
          this.i++;
        } else {
          stack[depth++] = c;
          if (c === 123) this.memberName();
          continue;
        }
      } else if (c === QUOTE) {
        this.skipString();
      } else if (c === 116 || c === 102 || c === 110) {
        this.literal(c);
      } else {
        this.number();
      }
      // After a value: close containers or move to the next element.
      for (;;) {
        if (depth === 0) return;
        c = this.ws();
        const open = stack[depth - 1];
        this.i++;
        if (c === 44 /* , */) {
          if (open === 123) this.memberName();
          break;
        }
        if ((c === 125 && open === 123) || (c === 93 && open === 91)) {
          depth--;
          continue;
        }
        this.i--;
        this.fail(open === 123 ? "Expected ',' or '}' in object" : "Expected ',' or ']' in array");
      }
    }
  }

  /** Skips `"name" :` inside an object being skipped. */
  private memberName(): void {
    if (this.ws() !== QUOTE) this.fail("Expected a field name");
    this.skipString();
    if (this.ws() !== 58) this.fail("Expected ':' after a field name");
    this.i++;
  }
}
