/**
 * `InvocationRateLimitPerSecond` of API destinations: one token bucket per destination, holding at
 * most one second's worth of calls. A call over the limit waits for its token when that comes soon
 * enough, and otherwise fails with a retryable `THROTTLING` error whose `retryAfterMs` says when a
 * token will be free, so that the delivery engine reschedules it rather than holding it.
 */
import { DeliveryError } from "../types.js";
import { HttpErrorCode } from "./classify.js";

/** How long a call may wait for its token before it fails with `THROTTLING`. */
export const DEFAULT_MAX_RATE_WAIT_MS = 1000;

/** A token bucket: `ratePerSecond` tokens a second, at most `ratePerSecond` (and at least 1) stored. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = this.capacity;
    this.updatedAt = this.now();
  }

  /** Changes the rate (an API destination was updated); stored tokens are kept up to the new capacity. */
  setRate(ratePerSecond: number): void {
    if (ratePerSecond === this.ratePerSecond) return;
    this.refill();
    this.ratePerSecond = ratePerSecond;
    this.tokens = Math.min(this.tokens, this.capacity);
  }

  /**
   * Takes a token, now or in the future: returns how long to wait for it (0: now), having reserved
   * it; or, when that wait would pass `maxWaitMs`, reserves nothing and returns the wait as negative.
   */
  reserve(maxWaitMs: number): number {
    this.refill();
    const after = this.tokens - 1;
    const waitMs = after >= 0 ? 0 : Math.ceil((-after / this.ratePerSecond) * 1000);
    if (waitMs > maxWaitMs) return -waitMs;
    this.tokens = after;
    return waitMs;
  }

  /** Gives back a reserved token that was not used. */
  release(): void {
    this.tokens = Math.min(this.tokens + 1, this.capacity);
  }

  private get capacity(): number {
    return Math.max(1, this.ratePerSecond);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
  }
}

/** Token buckets by key (an API destination's ARN). */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly maxWaitMs = DEFAULT_MAX_RATE_WAIT_MS) {}

  /**
   * Resolves when a call under `key` may go, at most `ratePerSecond` a second (no limit unless it is
   * a positive number).
   * @throws {DeliveryError} `THROTTLING` (retryable, with `retryAfterMs`) when the token is further
   *   away than the maximum wait; the engine's error when `signal` aborts while waiting.
   */
  async acquire(key: string, ratePerSecond: number, signal: AbortSignal): Promise<void> {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) return;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(ratePerSecond);
      this.buckets.set(key, bucket);
    } else {
      bucket.setRate(ratePerSecond);
    }
    const waitMs = bucket.reserve(this.maxWaitMs);
    if (waitMs < 0) {
      throw new DeliveryError(
        HttpErrorCode.Throttling,
        `the invocation rate limit of ${ratePerSecond} per second is reached`,
        { retryable: true, retryAfterMs: -waitMs },
      );
    }
    if (waitMs === 0) return;
    try {
      await sleep(waitMs, signal);
    } catch (error) {
      bucket.release();
      throw error;
    }
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
