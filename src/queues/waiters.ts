/**
 * Long polling: receives that found nothing wait here until a message may have arrived on their queue
 * (a send, a visibility change, a move), a periodic re-check (for delays and visibility timeouts that
 * end on their own), or their deadline.
 */

interface Waiter {
  done: boolean;
  readonly wake: () => void;
}

/** How often a waiting receive looks again without being woken. */
export const RECHECK_MS = 1000;

/** Waiting receives by queue. */
export class Waiters {
  readonly #byQueue = new Map<string, Waiter[]>();
  #closed = false;

  /**
   * Resolves when woken, after {@link RECHECK_MS}, at `deadline`, at {@link close}, or when `signal`
   * aborts (leaving the queue's waiters at once, so that a send wakes one that is still there).
   */
  wait(queueKey: string, deadline: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        done: false,
        wake: () => {
          if (waiter.done) return;
          waiter.done = true;
          clearTimeout(timer);
          signal?.removeEventListener("abort", waiter.wake);
          const list = this.#byQueue.get(queueKey);
          if (list !== undefined) {
            const i = list.indexOf(waiter);
            if (i !== -1) list.splice(i, 1);
            if (list.length === 0) this.#byQueue.delete(queueKey);
          }
          resolve();
        },
      };
      const timer = setTimeout(() => waiter.wake(), Math.max(0, Math.min(RECHECK_MS, deadline - Date.now())));
      signal?.addEventListener("abort", waiter.wake, { once: true });
      const list = this.#byQueue.get(queueKey);
      if (list === undefined) this.#byQueue.set(queueKey, [waiter]);
      else list.push(waiter);
    });
  }

  /** Wakes the `count` longest-waiting receives of a queue (all of them when `count` is omitted). */
  notify(queueKey: string, count = Infinity): void {
    const list = this.#byQueue.get(queueKey);
    if (list === undefined) return;
    for (const waiter of list.slice(0, count)) waiter.wake();
  }

  /** Wakes every waiting receive of every queue. */
  notifyAll(): void {
    for (const key of [...this.#byQueue.keys()]) this.notify(key);
  }

  /** Wakes every waiting receive; later waits return at once. */
  close(): void {
    this.#closed = true;
    for (const list of [...this.#byQueue.values()]) for (const waiter of [...list]) waiter.wake();
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }
}
