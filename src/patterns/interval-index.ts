/**
 * Numeric ranges over comparable keys, queried by point: a segment tree over the elementary intervals
 * between range endpoints, rebuilt lazily after changes. A query costs O(log n + matches).
 */

/** A range with its target. */
export interface Interval<T> {
  readonly low: number;
  readonly lowOpen: boolean;
  readonly high: number;
  readonly highOpen: boolean;
  readonly target: T;
}

export class IntervalIndex<T> {
  private readonly intervals: Interval<T>[] = [];
  private dirty = false;
  private points: number[] = [];
  private tree: Array<T[] | undefined> = [];
  private slots = 0;

  get size(): number {
    return this.intervals.length;
  }

  add(interval: Interval<T>): void {
    this.intervals.push(interval);
    this.dirty = true;
  }

  remove(match: (i: Interval<T>) => boolean): boolean {
    const at = this.intervals.findIndex(match);
    if (at === -1) return false;
    this.intervals.splice(at, 1);
    this.dirty = true;
    return true;
  }

  /** Calls `each` with the targets of every interval containing `key`. */
  query(key: number, each: (targets: readonly T[]) => void): void {
    if (this.dirty) this.rebuild();
    if (this.slots === 0) return;
    const slot = this.slotOf(key);
    let node = 1;
    let lo = 0;
    let hi = this.slots - 1;
    for (;;) {
      const list = this.tree[node];
      if (list !== undefined) each(list);
      if (lo === hi) return;
      const mid = (lo + hi) >> 1;
      if (slot <= mid) {
        node = node * 2;
        hi = mid;
      } else {
        node = node * 2 + 1;
        lo = mid + 1;
      }
    }
  }

  /** Slot 2i+1 is the point points[i]; slot 2i is the open interval just below it. */
  private slotOf(key: number): number {
    const p = this.points;
    let lo = 0;
    let hi = p.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((p[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return p[lo] === key ? 2 * lo + 1 : 2 * lo;
  }

  private rebuild(): void {
    this.dirty = false;
    const set = new Set<number>();
    for (const i of this.intervals) {
      if (Number.isFinite(i.low)) set.add(i.low);
      if (Number.isFinite(i.high)) set.add(i.high);
    }
    this.points = [...set].sort((a, b) => a - b);
    this.slots = this.intervals.length === 0 ? 0 : 2 * this.points.length + 1;
    this.tree = [];
    for (const i of this.intervals) {
      const a = Number.isFinite(i.low) ? this.slotOf(i.low) + (i.lowOpen ? 1 : 0) : 0;
      const b = Number.isFinite(i.high) ? this.slotOf(i.high) - (i.highOpen ? 1 : 0) : this.slots - 1;
      if (a <= b) this.insert(1, 0, this.slots - 1, a, b, i.target);
    }
  }

  private insert(node: number, lo: number, hi: number, a: number, b: number, target: T): void {
    if (a <= lo && hi <= b) {
      const list = this.tree[node];
      if (list === undefined) this.tree[node] = [target];
      else list.push(target);
      return;
    }
    const mid = (lo + hi) >> 1;
    if (a <= mid) this.insert(node * 2, lo, mid, a, b, target);
    if (b > mid) this.insert(node * 2 + 1, mid + 1, hi, a, b, target);
  }
}
