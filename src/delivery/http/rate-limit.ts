/**
 * `InvocationRateLimitPerSecond` of API destinations: per destination, the times of the last
 * `rate` calls, so that no second (any window of 1,000 ms, not only whole seconds) sees more than
 * `rate` calls, the first second included. A call over the limit waits for its turn when that comes
 * within a second; otherwise it fails with a `THROTTLING` error that is `deferred` (the endpoint was
 * not called), its turn kept for it under its ticket (the delivery id) and `retryAfterMs` saying when
 * that turn comes: the delivery engine brings it back then, without counting an attempt against the
 * target's RetryPolicy (only MaximumEventAgeInSeconds bounds the wait, as EventBridge documents), and
 * a backlog is spread over the turns ahead, each call coming back once.
 */
import { DeliveryError } from "../types.js";
import { HttpErrorCode } from "./classify.js";

/** How long a call may wait for its turn before it fails with `THROTTLING`. */
export const DEFAULT_MAX_RATE_WAIT_MS = 1000;

/** The window the rate is counted over. */
const WINDOW_MS = 1000;

/** At most `ratePerSecond` calls in any window of 1,000 ms: the times of the last calls, in a ring. */
export class SlidingWindow {
  /**
   * Times of the last calls (reserved ones included, which may lie ahead), in time order from `next`
   * round the ring; until the ring is full, `next` is 0 and the array is in order.
   */
  private times: number[] = [];
  private next = 0;
  private limit: number;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limit = Math.max(1, Math.floor(ratePerSecond));
  }

  /** Changes the rate (an API destination was updated); the most recent calls still count. */
  setRate(ratePerSecond: number): void {
    const limit = Math.max(1, Math.floor(ratePerSecond));
    if (limit === this.limit) return;
    const ordered = [...this.times.slice(this.next), ...this.times.slice(0, this.next)];
    this.times = ordered.slice(Math.max(0, ordered.length - limit));
    this.next = 0;
    this.limit = limit;
  }

  /**
   * Takes a turn, now or in the future: returns how long to wait for it (0: now), having reserved
   * it; or, when that wait would pass `maxWaitMs`, reserves nothing and returns the wait as negative.
   */
  reserve(maxWaitMs: number): number {
    const now = this.now();
    const full = this.times.length === this.limit;
    // The turn: now, or a window after the call `limit` calls ago, whichever is later; never before
    // the last turn given, so that the ring stays in time order (its oldest turn is the next one out).
    const last =
      this.times.length === 0
        ? now
        : (this.times[(this.next + this.times.length - 1) % this.times.length] as number);
    const at = Math.max(now, last, full ? (this.times[this.next] as number) + WINDOW_MS : now);
    const waitMs = Math.ceil(at - now);
    if (waitMs > maxWaitMs) return -waitMs;
    if (full) {
      this.times[this.next] = at;
      this.next = (this.next + 1) % this.limit;
    } else {
      this.times.push(at);
    }
    return waitMs;
  }
}

/** Sliding windows by key (an API destination's ARN). */
export class RateLimiter {
  private readonly windows = new Map<string, SlidingWindow>();
  /** Turns reserved for deferred calls, by ticket (a delivery id), at `now()` times. */
  private readonly tickets = new Map<string, number>();

  constructor(
    private readonly maxWaitMs = DEFAULT_MAX_RATE_WAIT_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Resolves when a call under `key` may go, at most `ratePerSecond` a second (no limit unless it is
   * a positive number).
   * @throws {DeliveryError} `THROTTLING` (retryable, with `retryAfterMs`) when the token is further
   *   away than the maximum wait; the engine's error when `signal` aborts while waiting.
   */
  async acquire(key: string, ratePerSecond: number, signal: AbortSignal, ticket?: string): Promise<void> {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) return;
    let window = this.windows.get(key);
    if (window === undefined) {
      window = new SlidingWindow(ratePerSecond, this.now);
      this.windows.set(key, window);
    } else {
      window.setRate(ratePerSecond);
    }
    // A call that holds a ticket comes back for the turn reserved for it. One that has none takes the
    // next turn; with a ticket, however far that turn is, so that a backlog of deferred calls is
    // spread over the turns ahead instead of all coming back at the next free one.
    const held = ticket === undefined ? undefined : this.tickets.get(ticket);
    let waitMs: number;
    if (held !== undefined) {
      this.tickets.delete(ticket as string);
      waitMs = Math.max(0, Math.ceil(held - this.now()));
    } else {
      waitMs = window.reserve(ticket === undefined ? this.maxWaitMs : Infinity);
    }
    if (waitMs < 0 || waitMs > this.maxWaitMs) {
      if (waitMs > 0 && ticket !== undefined) this.keep(ticket, this.now() + waitMs);
      throw new DeliveryError(
        HttpErrorCode.Throttling,
        `the invocation rate limit of ${ratePerSecond} per second is reached`,
        { retryable: true, retryAfterMs: Math.abs(waitMs), deferred: true },
      );
    }
    // A turn given up (the attempt aborted while waiting) is not handed to another call: the limit
    // errs on the safe side.
    if (waitMs > 0) await sleep(waitMs, signal);
  }

  private keep(ticket: string, turn: number): void {
    // Tickets of calls that never came back (their delivery ended otherwise) go once long past.
    if (this.tickets.size >= 10_000) {
      const stale = this.now() - 60_000;
      for (const [t, at] of this.tickets) if (at < stale) this.tickets.delete(t);
    }
    this.tickets.set(ticket, turn);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(
        new DeliveryError(
          HttpErrorCode.InternalError,
          "the attempt was aborted while waiting for the rate limit",
          {
            retryable: true,
            cause: signal.reason,
          },
        ),
      );
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}
