/**
 * Case-insensitive matching as event-ruler does it for `equals-ignore-case` and its prefix, suffix and
 * anything-but forms: each UTF-16 unit of the *pattern* may appear in the event as its lower-case or
 * its upper-case form (full, locale-independent mappings of that single unit, which may be longer than
 * one unit); the event is not folded. A surrogate unit stands for the byte `?` (Java's UTF-8 encoding
 * of a lone surrogate), so characters outside the BMP match only "??".
 * @see docs/pattern-semantics.md R20–R21
 * @see event-ruler input/EqualsIgnoreCaseParser.java
 */

// eslint-disable-next-line no-control-regex -- the ASCII range starts at U+0000 on purpose
const ASCII = /^[\x00-\x7f]*$/;

const alternativesCache = new Map<number, readonly string[]>();

/** The forms a pattern code unit accepts. */
function alternatives(unit: number): readonly string[] {
  let alts = alternativesCache.get(unit);
  if (alts === undefined) {
    if (unit >= 0xd800 && unit <= 0xdfff) alts = ["?"];
    else {
      const ch = String.fromCharCode(unit);
      const lower = ch.toLowerCase();
      const upper = ch.toUpperCase();
      alts = lower === upper ? [lower] : [lower, upper];
    }
    alternativesCache.set(unit, alts);
  }
  return alts;
}

/** End offsets in `value` of the ways `pattern` can be matched starting at `start`. */
function forward(value: string, start: number, pattern: string): number[] {
  let positions = [start];
  for (let k = 0; k < pattern.length && positions.length > 0; k++) {
    const next: number[] = [];
    for (const alt of alternatives(pattern.charCodeAt(k))) {
      for (const p of positions) {
        const end = p + alt.length;
        if (value.startsWith(alt, p) && !next.includes(end)) next.push(end);
      }
    }
    positions = next;
  }
  return positions;
}

/** Whole-string case-insensitive equality (pattern semantics, see the module doc). */
export function equalsIgnoreCase(value: string, pattern: string): boolean {
  // ASCII on both sides: each pattern letter accepts exactly its two cases, so lower-casing both is exact.
  if (ASCII.test(value) && ASCII.test(pattern)) {
    return value.length === pattern.length && value.toLowerCase() === pattern.toLowerCase();
  }
  return forward(value, 0, pattern).includes(value.length);
}

/** Case-insensitive prefix test. */
export function startsWithIgnoreCase(value: string, pattern: string): boolean {
  if (ASCII.test(value) && ASCII.test(pattern)) {
    return (
      value.length >= pattern.length && value.slice(0, pattern.length).toLowerCase() === pattern.toLowerCase()
    );
  }
  return forward(value, 0, pattern).length > 0;
}

/** Case-insensitive suffix test: the pattern is matched backwards from the end of the value. */
export function endsWithIgnoreCase(value: string, pattern: string): boolean {
  if (ASCII.test(value) && ASCII.test(pattern)) {
    return (
      value.length >= pattern.length &&
      value.slice(value.length - pattern.length).toLowerCase() === pattern.toLowerCase()
    );
  }
  let positions = [value.length];
  for (let k = pattern.length - 1; k >= 0 && positions.length > 0; k--) {
    const next: number[] = [];
    for (const alt of alternatives(pattern.charCodeAt(k))) {
      for (const p of positions) {
        const start = p - alt.length;
        if (start >= 0 && value.startsWith(alt, start) && !next.includes(start)) next.push(start);
      }
    }
    positions = next;
  }
  return positions.length > 0;
}

/**
 * A key for indexing: per-unit lower case (not String.toLowerCase of the whole, whose final-sigma rule
 * depends on context). Two strings that match a {@link isFoldRegular} pattern have its key; lookups by
 * key are confirmed with the exact predicate.
 */
export function foldKey(text: string): string {
  if (ASCII.test(text)) return text.toLowerCase();
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    const lower = ch.toLowerCase();
    out += lower.length === 1 ? lower : ch;
  }
  return out;
}

/**
 * True when indexing `pattern` by {@link foldKey} finds every value that matches it: each unit's
 * alternatives are single units that fold to the unit's own fold.
 */
export function isFoldRegular(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const unit = pattern.charCodeAt(i);
    const key = foldKey(pattern[i] as string);
    for (const alt of alternatives(unit)) {
      if (alt.length !== 1 || foldKey(alt) !== key) return false;
    }
  }
  return true;
}
