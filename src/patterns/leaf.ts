/**
 * Leaves of a flattened event: the values that patterns compare. An event's leaves are found by the
 * event scanner; each remembers which array elements it lies in, for array-consistent matching.
 */
import { comparableKey } from "./numbers.js";
import { parseIp, type IpBits } from "./ip.js";

/** Kinds of leaf values. */
export const LeafKind = { String: 0, Number: 1, True: 2, False: 3, Null: 4 } as const;
export type LeafKind = (typeof LeafKind)[keyof typeof LeafKind];

/**
 * Array membership of a leaf: pairs `[arrayId, index, arrayId, index, …]`, outermost array first.
 * `null` when the leaf is in no array.
 */
export type Trail = readonly number[] | null;

/**
 * One leaf value of an event. Leaf objects are reused from event to event by the scanner, so a leaf
 * is only valid during the match that found it.
 */
export class Leaf {
  /** Comparable key of a number leaf (value × 10^6), NaN when it has none or is not a number. */
  key = NaN;
  private ipParsed = false;
  private ipBits: IpBits | undefined;

  constructor(
    public kind: LeafKind,
    /** Unescaped string, number literal text, or "true"/"false"/"null". */
    public text: string,
    public trail: Trail,
  ) {
    this.reset(kind, text, trail);
  }

  /** Makes this object stand for another leaf. */
  reset(kind: LeafKind, text: string, trail: Trail): void {
    this.kind = kind;
    this.text = text;
    this.trail = trail;
    this.key = kind === LeafKind.Number ? (comparableKey(text) ?? NaN) : NaN;
    this.ipParsed = false;
    this.ipBits = undefined;
  }

  /** The leaf as an IP address, when it is a string holding one. */
  ip(): IpBits | undefined {
    if (!this.ipParsed) {
      this.ipParsed = true;
      this.ipBits = this.kind === LeafKind.String ? parseIp(this.text) : undefined;
    }
    return this.ipBits;
  }
}

/**
 * True when two array trails never put their leaves in different elements of the same array.
 * @see event-ruler ArrayMembership.checkArrayConsistency
 */
export function consistent(a: Trail, b: Trail): boolean {
  if (a === null || b === null) return true;
  for (let i = 0; i < b.length; i += 2) {
    const id = b[i];
    for (let j = 0; j < a.length; j += 2) {
      if (a[j] === id) {
        if (a[j + 1] !== b[i + 1]) return false;
        break;
      }
    }
  }
  return true;
}

/** The union of two consistent trails. */
export function mergeTrails(a: Trail, b: Trail): Trail {
  if (b === null || a === b) return a;
  if (a === null) return b;
  let out: number[] | null = null;
  for (let i = 0; i < b.length; i += 2) {
    const id = b[i] as number;
    let found = false;
    for (let j = 0; j < a.length; j += 2) {
      if (a[j] === id) {
        found = true;
        break;
      }
    }
    if (!found) {
      out ??= a.slice();
      out.push(id, b[i + 1] as number);
    }
  }
  return out ?? a;
}
