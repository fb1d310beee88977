/**
 * `wildcard` patterns: `*` matches any run of characters, `\*` a literal star, `\\` a literal backslash.
 * Consecutive stars and any other escape are invalid, as in event-ruler.
 * @see event-ruler input/WildcardParser.java
 */

/** A compiled wildcard: literal segments that lie between stars. */
export interface Wildcard {
  readonly source: string;
  /** Literal segments; there is a star between each adjacent pair. */
  readonly segments: readonly string[];
  /** Number of stars. */
  readonly stars: number;
}

/** Compiles a wildcard value; returns the reason when it is invalid. */
export function compileWildcard(source: string): Wildcard | string {
  const segments: string[] = [];
  let current = "";
  let previousStar = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "\\") {
      const next = source[i + 1];
      if (next !== "*" && next !== "\\") return `Invalid escape character at pos ${i}`;
      current += next;
      i++;
      previousStar = false;
    } else if (c === "*") {
      if (previousStar) return `Consecutive wildcard characters at pos ${i}`;
      segments.push(current);
      current = "";
      previousStar = true;
    } else {
      current += c;
      previousStar = false;
    }
  }
  segments.push(current);
  return { source, segments, stars: segments.length - 1 };
}

/** True when `value` matches the wildcard. Linear in practice: each segment is placed leftmost. */
export function wildcardMatches(w: Wildcard, value: string): boolean {
  const segs = w.segments;
  const first = segs[0] ?? "";
  if (w.stars === 0) return value === first;
  const last = segs[segs.length - 1] ?? "";
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (let k = 1; k < segs.length - 1; k++) {
    const seg = segs[k] ?? "";
    const found = value.indexOf(seg, at);
    if (found === -1 || found + seg.length > end) return false;
    at = found + seg.length;
  }
  return true;
}

/** The literal text before the first star (what every matching value starts with). */
export function literalPrefix(w: Wildcard): string {
  return w.segments[0] ?? "";
}
