/**
 * A queue's approximate counts by state (GetQueueAttributes' ApproximateNumberOfMessages…, a move
 * task's ApproximateNumberOfMessagesToMove). Counting reads every message of the queue: a million
 * took 170-190 ms of the store in one call, during which no other request of any account was served
 * (measured with the store driven directly: another account's call waited up to 175 ms; 7-9 ms
 * during a count in steps, which took 300 ms). The count is made in steps of {@link COUNT_STEP} messages, each a call of
 * its own, so that other requests run between them; and the count of a queue that took
 * {@link SLOW_COUNT_MS} or more is given again, for ten times as long as it took, to the requests that
 * ask meanwhile (a monitor or autoscaler polling a large backlog every second would otherwise keep
 * the store counting). SQS's counts are approximate too, and lag ("ApproximateNumberOfMessages …
 * might not reflect the most recent changes").
 */
import type { InFlightCursor, QueueCounts, QueueRef, Store } from "../store/index.js";

/** Messages counted in one store call: a few milliseconds. */
export const COUNT_STEP = 20_000;

/** A count that took this long (ms) or more is given again for a while (see the module's comment). */
export const SLOW_COUNT_MS = 100;

/** How many times as long as a slow count took it is given again. */
const REUSE_FACTOR = 10;

/** Counts of slow queues kept at most; the map starts over when full. */
const MAX_KEPT = 10_000;

/** A queue's counts at `now`, added up from steps of {@link COUNT_STEP} messages. */
export async function countInSteps(store: Store, queue: QueueRef, now: number): Promise<QueueCounts> {
  let visible = 0;
  let inFlight = 0;
  let delayed = 0;
  let after: number | undefined = 0;
  while (after !== undefined) {
    const step = await store.countMessagesFrom(queue, now, after, COUNT_STEP);
    visible += step.visible;
    inFlight += step.inFlight;
    delayed += step.delayed;
    after = step.next;
  }
  return { visible, inFlight, delayed };
}

/**
 * A queue's messages in flight at `now` (in-flight.ts), added up from steps of {@link COUNT_STEP}
 * messages not visible (in flight or delayed): a queue of a million delayed messages held the store
 * for 383 ms counted in one call.
 */
export async function countInFlightInSteps(store: Store, queue: QueueRef, now: number): Promise<number> {
  let inFlight = 0;
  let after: InFlightCursor | undefined;
  for (;;) {
    const step = await store.countInFlight(queue, now, after, COUNT_STEP);
    inFlight += step.inFlight;
    if (step.next === undefined) return inFlight;
    after = step.next;
  }
}

interface SlowCount {
  /** When it was asked for. */
  readonly at: number;
  /** How long it took (ms). */
  readonly took: number;
  readonly counts: Promise<QueueCounts>;
}

/** The counts of a node's queues, those of slow queues shared for a while (see the module's comment). */
export class QueueCounter {
  readonly #slow = new Map<string, SlowCount>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** The counts of `queue` (`key` names it). */
  async count(queue: QueueRef, key: string): Promise<QueueCounts> {
    const start = this.now();
    const known = this.#slow.get(key);
    if (known !== undefined && start - known.at < Math.max(known.took, 1) * REUSE_FACTOR) {
      return known.counts;
    }
    const counting = countInSteps(this.store, queue, start);
    // A queue slow to count last time: those asking while this count runs share it.
    if (known !== undefined) this.#slow.set(key, { at: start, took: known.took, counts: counting });
    let counts: QueueCounts;
    try {
      counts = await counting;
    } catch (error) {
      this.#slow.delete(key);
      throw error;
    }
    const took = this.now() - start;
    if (took >= SLOW_COUNT_MS) {
      if (this.#slow.size >= MAX_KEPT) this.#slow.clear();
      this.#slow.set(key, { at: start, took, counts: Promise.resolve(counts) });
    } else {
      this.#slow.delete(key);
    }
    return counts;
  }

  /** Forgets a queue's count (it was purged or deleted): the next is counted afresh. */
  forget(key: string): void {
    this.#slow.delete(key);
  }
}
