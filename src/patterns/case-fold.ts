/**
 * Case-insensitive comparison as event-ruler does it for `equals-ignore-case` and the
 * prefix/suffix/anything-but variants: each code point of the pattern matches itself, its lower-case
 * form and its upper-case form (locale-independent), when those forms are single code points.
 * @see event-ruler input/EqualsIgnoreCaseParser.java
 */

/** The code points that a pattern code point accepts. */
function variants(cp: number): readonly number[] {
  const ch = String.fromCodePoint(cp);
  const out = [cp];
  for (const form of [ch.toLowerCase(), ch.toUpperCase()]) {
    const f = form.codePointAt(0);
    if (f !== undefined && form.length === String.fromCodePoint(f).length && !out.includes(f)) out.push(f);
  }
  return out;
}

const variantCache = new Map<number, readonly number[]>();
function cachedVariants(cp: number): readonly number[] {
  let v = variantCache.get(cp);
  if (v === undefined) {
    v = variants(cp);
    if (variantCache.size < 65536) variantCache.set(cp, v);
  }
  return v;
}

/**
 * True when `value` equals `pattern` ignoring case, starting at code-unit offset `at` of `value` and
 * covering exactly `pattern` when `whole` is true (otherwise `pattern` must be a prefix from `at`).
 * Returns the end offset in `value`, or -1.
 */
export function matchIgnoreCaseAt(value: string, at: number, pattern: string): number {
  let i = at;
  for (const ch of pattern) {
    const p = ch.codePointAt(0) as number;
    const v = value.codePointAt(i);
    if (v === undefined) return -1;
    if (v !== p && !cachedVariants(p).includes(v)) return -1;
    i += v > 0xffff ? 2 : 1;
  }
  return i;
}

/** Whole-string case-insensitive equality (pattern semantics, see module doc). */
export function equalsIgnoreCase(value: string, pattern: string): boolean {
  return matchIgnoreCaseAt(value, 0, pattern) === value.length;
}

/** Case-insensitive prefix test. */
export function startsWithIgnoreCase(value: string, pattern: string): boolean {
  return matchIgnoreCaseAt(value, 0, pattern) !== -1;
}

/** Case-insensitive suffix test. */
export function endsWithIgnoreCase(value: string, pattern: string): boolean {
  // Variants keep the code-unit length of single code points except across the BMP boundary, which
  // no simple case mapping crosses; so the suffix starts `pattern.length` units from the end.
  const at = value.length - pattern.length;
  return at >= 0 && matchIgnoreCaseAt(value, at, pattern) === value.length;
}

/**
 * A folding key for indexing: two strings that match ignoring case have the same key whenever the
 * pattern is {@link isFoldRegular}. Lookups by key must still be confirmed with the exact predicate.
 */
export function foldKey(text: string): string {
  return text.toLowerCase();
}

/**
 * True when indexing `pattern` by {@link foldKey} finds every value that matches it: each code point's
 * variants all fold to the same single code point, with the same length.
 */
export function isFoldRegular(pattern: string): boolean {
  for (const ch of pattern) {
    const folded = ch.toLowerCase();
    if (folded.length !== ch.length) return false;
    for (const v of cachedVariants(ch.codePointAt(0) as number)) {
      const f = String.fromCodePoint(v).toLowerCase();
      if (f !== folded) return false;
    }
  }
  return true;
}
