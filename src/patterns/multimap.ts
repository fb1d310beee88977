/**
 * Small index structures shared by the field index: a multimap, and a multimap of strings looked up
 * by every prefix (or suffix) length in use.
 */

/**
 * One value, or several. A key of a {@link MultiMap} usually has one value, which is then stored as
 * itself rather than in a list: one memory access fewer on the matcher's hot path. Values must not be
 * arrays themselves.
 */
export type OneOrMany<V> = V | readonly V[];

/** The values of a {@link OneOrMany} as a list. */
export function listOf<V>(values: OneOrMany<V> | undefined): readonly V[] {
  return values === undefined ? [] : Array.isArray(values) ? (values as readonly V[]) : [values as V];
}

/** Adds a value under a key of a one-or-more map. */
export function multiAdd<K, V>(map: Map<K, V | V[]>, key: K, value: V): void {
  const current = map.get(key);
  if (current === undefined) map.set(key, value);
  else if (Array.isArray(current)) current.push(value);
  else map.set(key, [current, value]);
}

/** Removes one occurrence of a (key, value) pair from a one-or-more map; returns whether it was there. */
export function multiRemove<K, V>(map: Map<K, V | V[]>, key: K, value: V): boolean {
  const current = map.get(key);
  if (current === undefined) return false;
  if (!Array.isArray(current)) {
    if (current !== value) return false;
    map.delete(key);
    return true;
  }
  const list = current;
  const at = list.indexOf(value);
  if (at === -1) return false;
  list.splice(at, 1);
  if (list.length === 1) map.set(key, list[0] as V);
  return true;
}

/** A Map from keys to one or more values, with add/remove of single (key, value) pairs. */
export class MultiMap<K, V> {
  readonly map = new Map<K, V | V[]>();

  add(key: K, value: V): void {
    multiAdd(this.map, key, value);
  }

  /** Removes one occurrence of the pair; returns whether it was present. */
  remove(key: K, value: V): boolean {
    return multiRemove(this.map, key, value);
  }

  get(key: K): OneOrMany<V> | undefined {
    return this.map.get(key);
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * Values keyed by a string that is looked up as a prefix (or suffix) of a probe: the probe's prefix of
 * each length in use is one Map lookup, so the cost grows with the number of distinct lengths, not keys.
 */
export class AffixMap<V> {
  private readonly entries = new MultiMap<string, V>();
  private readonly lengthCounts = new Map<number, number>();
  private lengths: number[] = [];

  constructor(private readonly suffix: boolean) {}

  add(key: string, value: V): void {
    this.entries.add(key, value);
    const n = this.lengthCounts.get(key.length) ?? 0;
    this.lengthCounts.set(key.length, n + 1);
    if (n === 0) this.lengths = [...this.lengthCounts.keys()].sort((a, b) => a - b);
  }

  remove(key: string, value: V): boolean {
    if (!this.entries.remove(key, value)) return false;
    const n = (this.lengthCounts.get(key.length) ?? 1) - 1;
    if (n === 0) {
      this.lengthCounts.delete(key.length);
      this.lengths = [...this.lengthCounts.keys()].sort((a, b) => a - b);
    } else {
      this.lengthCounts.set(key.length, n);
    }
    return true;
  }

  get empty(): boolean {
    return this.entries.size === 0;
  }

  /**
   * Calls `each` with the values of every key that is a prefix (suffix) of `probe`, after `map`;
   * returns how many characters it looked up (one lookup per length in use, each hashing its part).
   */
  forEachAffix(probe: string, each: (values: OneOrMany<V>) => void, map?: (part: string) => string): number {
    const lengths = this.lengths;
    const n = probe.length;
    let probed = 0;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i] as number;
      if (len > n) break;
      probed += len;
      let part = this.suffix ? probe.slice(n - len) : probe.slice(0, len);
      if (map !== undefined) part = map(part);
      const values = this.entries.get(part);
      if (values !== undefined) each(values);
    }
    return probed;
  }
}
