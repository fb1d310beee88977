/**
 * Value conditions: what one element of a pattern field's list requires of an event leaf. The compiled
 * matcher indexes them (field-index.ts); {@link conditionMatches} is their plain definition, used to
 * confirm index candidates and by tests.
 */
import { LeafKind, type Leaf } from "./leaf.js";
import { ipInBlock, type CidrBlock } from "./ip.js";
import { equalsIgnoreCase, startsWithIgnoreCase, endsWithIgnoreCase } from "./case-fold.js";
import { wildcardMatches, type Wildcard } from "./wildcard.js";

/** What an `anything-but` excludes. */
export type Exclusion =
  | { readonly kind: "strings"; readonly values: readonly string[] }
  | { readonly kind: "numbers"; readonly keys: readonly number[] }
  | { readonly kind: "prefix"; readonly values: readonly string[] }
  | { readonly kind: "suffix"; readonly values: readonly string[] }
  | { readonly kind: "equals-ignore-case"; readonly values: readonly string[] }
  | { readonly kind: "wildcard"; readonly wildcards: readonly Wildcard[] };

/** One condition of a field's list; the list is satisfied when any of its conditions is. */
export type Condition =
  | { readonly kind: "exact-string"; readonly value: string }
  | { readonly kind: "exact-number"; readonly text: string; readonly key: number | undefined }
  | { readonly kind: "literal"; readonly value: "true" | "false" | "null" }
  | { readonly kind: "ip"; readonly block: CidrBlock }
  | { readonly kind: "prefix"; readonly value: string }
  | { readonly kind: "suffix"; readonly value: string }
  | { readonly kind: "prefix-ignore-case"; readonly value: string }
  | { readonly kind: "suffix-ignore-case"; readonly value: string }
  | { readonly kind: "equals-ignore-case"; readonly value: string }
  | { readonly kind: "wildcard"; readonly wildcard: Wildcard }
  | {
      readonly kind: "numeric";
      readonly low: number;
      readonly lowOpen: boolean;
      readonly high: number;
      readonly highOpen: boolean;
    }
  | { readonly kind: "exists" }
  | { readonly kind: "absent" }
  | { readonly kind: "anything-but"; readonly not: Exclusion };

/** True when an IP leaf lies in a CIDR block. */
export function inBlock(leaf: Leaf, block: CidrBlock): boolean {
  const ip = leaf.ip();
  return ip !== undefined && ipInBlock(ip, block);
}

/**
 * String operators see the value framed in quotes, `"value"`, and their operand framed the same way
 * (`"` + prefix, suffix + `"`), so an operand containing a quote can match across the frame: the
 * prefix `ab"` matches the string `ab` (docs/pattern-semantics.md R13).
 */
export function framedStartsWith(value: string, prefix: string): boolean {
  return value.startsWith(prefix) || (prefix.endsWith('"') && value === prefix.slice(0, -1));
}

/** The suffix counterpart of {@link framedStartsWith}. */
export function framedEndsWith(value: string, suffix: string): boolean {
  return value.endsWith(suffix) || (suffix.startsWith('"') && value === suffix.slice(1));
}

function framedStartsWithIgnoreCase(value: string, prefix: string): boolean {
  return (
    startsWithIgnoreCase(value, prefix) ||
    (prefix.endsWith('"') && equalsIgnoreCase(value, prefix.slice(0, -1)))
  );
}

function framedEndsWithIgnoreCase(value: string, suffix: string): boolean {
  return (
    endsWithIgnoreCase(value, suffix) || (suffix.startsWith('"') && equalsIgnoreCase(value, suffix.slice(1)))
  );
}

/** True when the leaf is one of the values an exclusion names. */
export function excluded(not: Exclusion, leaf: Leaf): boolean {
  const isString = leaf.kind === LeafKind.String;
  switch (not.kind) {
    case "strings":
      return isString && not.values.includes(leaf.text);
    case "numbers":
      return leaf.kind === LeafKind.Number && not.keys.includes(leaf.key);
    case "prefix":
      return isString && not.values.some((v) => framedStartsWith(leaf.text, v));
    case "suffix":
      return isString && not.values.some((v) => framedEndsWith(leaf.text, v));
    case "equals-ignore-case":
      return isString && not.values.some((v) => equalsIgnoreCase(leaf.text, v));
    case "wildcard":
      return isString && not.wildcards.some((w) => wildcardMatches(w, leaf.text));
  }
}

/**
 * The definition of a condition: true when `leaf` satisfies it. `absent` is decided by the matcher
 * (it is about the lack of leaves), so here it never matches a leaf.
 */
export function conditionMatches(c: Condition, leaf: Leaf): boolean {
  const isString = leaf.kind === LeafKind.String;
  switch (c.kind) {
    case "exact-string":
      return isString && leaf.text === c.value;
    case "exact-number":
      return (
        leaf.kind === LeafKind.Number && ((c.key !== undefined && leaf.key === c.key) || leaf.text === c.text)
      );
    case "literal":
      return leaf.kind !== LeafKind.String && leaf.kind !== LeafKind.Number && leaf.text === c.value;
    case "ip":
      return inBlock(leaf, c.block);
    case "prefix":
      return isString && framedStartsWith(leaf.text, c.value);
    case "suffix":
      return isString && framedEndsWith(leaf.text, c.value);
    case "prefix-ignore-case":
      return isString && framedStartsWithIgnoreCase(leaf.text, c.value);
    case "suffix-ignore-case":
      return isString && framedEndsWithIgnoreCase(leaf.text, c.value);
    case "equals-ignore-case":
      return isString && equalsIgnoreCase(leaf.text, c.value);
    case "wildcard":
      return isString && wildcardMatches(c.wildcard, leaf.text);
    case "numeric": {
      const k = leaf.key; // NaN for non-numbers and numbers out of the comparable range
      return (c.lowOpen ? k > c.low : k >= c.low) && (c.highOpen ? k < c.high : k <= c.high);
    }
    case "exists":
      return true;
    case "absent":
      return false;
    case "anything-but":
      // Any leaf that the exclusion does not name: a number is never excluded by strings, nor a string
      // by numbers (event-ruler's anything-but is a "match everything except these values" machine).
      return !excluded(c.not, leaf);
  }
}

/** A canonical text for a condition, equal for conditions that always agree. */
export function conditionKey(c: Condition): string {
  switch (c.kind) {
    case "exact-number":
      return c.key !== undefined ? `n:${c.key}` : `nt:${c.text}`;
    case "ip":
      return `ip:${c.block.family}:${c.block.bits.slice(0, c.block.prefixLength)}`;
    case "wildcard":
      return `w:${c.wildcard.source}`;
    case "anything-but": {
      const n = c.not;
      const body =
        n.kind === "strings" || n.kind === "equals-ignore-case" || n.kind === "prefix" || n.kind === "suffix"
          ? [...n.values].sort()
          : n.kind === "numbers"
            ? [...n.keys].sort((a, b) => a - b)
            : n.wildcards.map((w) => w.source).sort();
      return `ab:${n.kind}:${JSON.stringify(body)}`;
    }
    default:
      return JSON.stringify(c);
  }
}
