/**
 * SQS's quota of messages in flight per queue: "approximately 120,000" on a standard queue, where a
 * short-polling ReceiveMessage past it gets `OverLimit` and a long-polling one no error (it waits on,
 * and gets nothing while the queue stays there); 120,000 on a FIFO queue, which "does not return an
 * error" (its receives get nothing meanwhile). ElasticMQ enforces it too; LocalStack does not.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html
 *
 * Counting a queue's messages in flight reads each of them (measured: 35 ms for 120,000), too much for
 * every receive. Each queue keeps instead a running count: counted at its first receive, raised by
 * what each receive takes (reserved before the store is asked, so that receives at the same time do
 * not each take the last room), lowered by each message deleted and each visibility timeout changed
 * to 0, and counted again when a receive finds too little room and the last count is
 * {@link RECOUNT_MS} old. Visibility timeouts that end on their own, and messages that expire, lower
 * the true count without lowering the running one, which then errs high until the next count. A
 * delete of a standard queue's message that was visible again (its handle outlived its visibility
 * timeout) lowers it by one too many, and so lets one more message be received past the quota until
 * the next count: the quota is approximate, as SQS's is ("approximately 120,000").
 */
import type { QueueRef } from "../store/index.js";

/** SQS's quota of messages in flight per queue (BUSBAR_QUEUE_MAX_IN_FLIGHT). */
export const DEFAULT_MAX_IN_FLIGHT = 120_000;

/** How old a queue's count must be before a receive that finds too little room counts again. */
export const RECOUNT_MS = 1000;

interface Bound {
  /** The last count, plus what completed receives took since. */
  base: number;
  /** What receives under way have reserved. */
  pending: number;
  /** When the last count was taken (-Infinity: never). */
  countedAt: number;
  /** The count under way, shared by the receives that want it. */
  counting: Promise<void> | undefined;
}

/** Room a receive reserved: give it back through {@link InFlightLimit.taken}. */
export interface Reservation {
  /** How many messages the receive may take (0: the queue is at its quota). */
  readonly room: number;
  readonly bound: Bound;
}

/** The in-flight bounds of a node's queues, by queue key. */
export class InFlightLimit {
  readonly #bounds = new Map<string, Bound>();

  constructor(
    /** Messages in flight a queue may hold. */
    readonly max: number,
    /** Counts a queue's messages in flight (counts.ts: the store's `countInFlight`, in steps). */
    private readonly count: (queue: QueueRef, now: number) => Promise<number>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reserves room for up to `wanted` messages of `queue` (`key` names it); possibly none. */
  async reserve(queue: QueueRef, key: string, wanted: number): Promise<Reservation> {
    let bound = this.#bounds.get(key);
    if (bound === undefined) {
      bound = { base: 0, pending: 0, countedAt: Number.NEGATIVE_INFINITY, counting: undefined };
      this.#bounds.set(key, bound);
    }
    const stale = this.now() - bound.countedAt >= RECOUNT_MS;
    if (bound.countedAt === Number.NEGATIVE_INFINITY || (stale && this.#room(bound) < wanted)) {
      bound.counting ??= this.#recount(queue, bound);
      await bound.counting;
    }
    const room = Math.max(0, Math.min(wanted, this.#room(bound)));
    bound.pending += room;
    return { room, bound };
  }

  /** A receive that reserved `reservation` took `got` messages (0 when it failed). */
  taken(reservation: Reservation, got: number): void {
    const { bound } = reservation;
    bound.pending -= reservation.room;
    bound.base += got;
  }

  /**
   * `count` messages of the queue `key` names left flight: deleted, or made visible again at once (a
   * visibility timeout changed to 0). True when that made room in a queue that had none: receives
   * waiting for it may take messages now.
   */
  released(key: string, count: number): boolean {
    const bound = this.#bounds.get(key);
    if (bound === undefined || count <= 0) return false;
    const full = this.#room(bound) <= 0;
    bound.base = Math.max(0, bound.base - count);
    return full && this.#room(bound) > 0;
  }

  /** Forgets a queue's bound (it was purged or deleted): its next receive counts again. */
  forget(key: string): void {
    this.#bounds.delete(key);
  }

  #room(bound: Bound): number {
    return this.max - bound.base - bound.pending;
  }

  /**
   * Counts again. The store runs calls in the order they were asked: a receive asked after the count
   * is not in it, and finishes after it (still pending when the count ends); one asked before it is
   * in it, and may finish after it (the worker store answers a receive once it is durable), which
   * counts its messages twice until the next count: the bound errs high. A count of a queue with
   * more than one step's worth of messages not visible (counts.ts) can err low: a message whose
   * visibility timeout is changed, or that is received, between two steps may move from the part of
   * the visibility order not yet counted into the part already counted, and be counted in neither.
   */
  async #recount(queue: QueueRef, bound: Bound): Promise<void> {
    try {
      const now = this.now();
      bound.base = await this.count(queue, now);
      bound.countedAt = now;
    } finally {
      bound.counting = undefined;
    }
  }
}
