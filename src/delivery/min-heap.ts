/** A binary min-heap: the delivery engine's retry timers, earliest first. */
export class MinHeap<T> {
  readonly #items: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(a[i] as T, a[parent] as T) >= 0) break;
      [a[i], a[parent]] = [a[parent] as T, a[i] as T];
      i = parent;
    }
  }

  /** Takes out every item `matches` picks, and gives them (in no order); O(n). */
  removeWhere(matches: (item: T) => boolean): T[] {
    const a = this.#items;
    const removed: T[] = [];
    let kept = 0;
    for (const item of a) {
      if (matches(item)) removed.push(item);
      else a[kept++] = item;
    }
    if (removed.length === 0) return removed;
    a.length = kept;
    for (let i = (kept >> 1) - 1; i >= 0; i--) this.#siftDown(i);
    return removed;
  }

  pop(): T | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    this.#siftDown(0);
    return top;
  }

  #siftDown(from: number): void {
    const a = this.#items;
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < a.length && this.compare(a[l] as T, a[min] as T) < 0) min = l;
      if (r < a.length && this.compare(a[r] as T, a[min] as T) < 0) min = r;
      if (min === i) return;
      [a[i], a[min]] = [a[min] as T, a[i] as T];
      i = min;
    }
  }
}
