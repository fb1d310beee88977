/**
 * A per-account quota of events put per second (BUSBAR_PUT_EVENTS_PER_SECOND), as EventBridge's
 * "PutEvents throttle limit" is per account: a token bucket per account holding a second's worth (at
 * least a request's 10 entries), refilled continuously. A request whose entries exceed what its account's bucket holds is refused
 * whole (ThrottlingException, which the AWS SDKs retry with backoff) and takes nothing from it, so a
 * throttled client's retries are not charged twice. So that one account cannot take a node's whole
 * ingestion from the others.
 */

/** Buckets kept before full ones (idle accounts, which need no state) are let go. */
const SWEEP_AT = 10_000;
/** The least a bucket holds when full: a request's most entries, so that every request can pass. */
const MIN_BURST = 10;

interface Bucket {
  tokens: number;
  at: number;
}

export class AccountRate {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** @param perSecond events per second per account (and the burst a full bucket allows); 0: no quota. */
  constructor(perSecond: number, now: () => number = () => performance.now()) {
    this.#perSecond = perSecond;
    this.#burst = Math.max(perSecond, MIN_BURST);
    this.#now = now;
  }

  /** The quota, events per second (0: none). */
  get perSecond(): number {
    return this.#perSecond;
  }

  /** Takes `n` events from `account`'s bucket; false, taking nothing, when it holds fewer. */
  take(account: string, n: number): boolean {
    if (this.#perSecond <= 0) return true;
    const now = this.#now();
    let bucket = this.#buckets.get(account);
    if (bucket === undefined) {
      if (this.#buckets.size >= SWEEP_AT) this.#sweep(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(account, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) * this.#perSecond) / 1000);
      bucket.at = now;
    }
    if (bucket.tokens < n) return false;
    bucket.tokens -= n;
    return true;
  }

  /** Lets go of the buckets that have refilled: a new one starts as full. */
  #sweep(now: number): void {
    for (const [account, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) * this.#perSecond) / 1000 >= this.#burst) this.#buckets.delete(account);
    }
  }
}
