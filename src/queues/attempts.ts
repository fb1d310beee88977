/**
 * FIFO receives remembered by ReceiveRequestAttemptId, so that a consumer whose reply was lost can
 * retry and get the same messages and receipt handles. As SQS documents it, a retry gets them again
 * while none of *those* messages was deleted or had its visibility changed, within the 5-minute
 * deduplication interval (the service also checks that they are still in flight, and resets their
 * visibility timeout). Kept in the node's memory: lost on restart, at most {@link MAX_ATTEMPTS}
 * holding at most {@link MAX_ATTEMPT_BYTES} of messages (past them, the oldest of the account that
 * holds the most bytes is forgotten first: a retry of one then receives anew; one account's large
 * receives do not push out another's), and each forgotten once its interval is over.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
 */

/** A message an attempt received: what identifies its receive in the store. */
export interface AttemptMessage {
  readonly seq: number;
  readonly receiveCount: number;
}

/** One remembered receive. */
export interface Attempt<M> {
  /** The reply it gave. */
  readonly messages: readonly M[];
  /** Its messages' receives, in the reply's order. */
  readonly received: readonly AttemptMessage[];
  /** When a retry stops getting it again (its first receive plus the deduplication interval). */
  readonly until: number;
  /** The visibility timeout of its receive (ms): what a retry resets. */
  readonly visibilityMs: number;
}

/** Most attempts remembered; past it, the oldest are forgotten (a retry then receives anew). */
export const MAX_ATTEMPTS = 10_000;

/** Most bytes of messages the attempts remembered hold (their replies' bodies and attributes). */
export const MAX_ATTEMPT_BYTES = 64 * 1024 * 1024;

/** Attempts by queue and attempt id, with an index from each message to the attempt holding it. */
export class ReceiveAttempts<M> {
  /** In the order they were remembered, which is that of their `until`. */
  readonly #byId = new Map<string, Attempt<M> & { readonly queue: string; readonly bytes: number }>();
  #bytes = 0;
  /** What each account holds (the part of a queue key before its `\0`). */
  readonly #byAccount = new Map<string, { bytes: number; attempts: number }>();
  /** `queue \0 seq` → attempt key. */
  readonly #byMessage = new Map<string, string>();

  /** The attempt `id` of `queue` (a key naming the queue), if remembered. */
  get(queue: string, id: string): Attempt<M> | undefined {
    return this.#byId.get(`${queue}\u0000${id}`);
  }

  /**
   * Remembers attempt `id` of `queue`, whose messages weigh `bytes`, forgetting first those whose
   * interval is over at `now`, and the oldest while the bounds would be passed.
   */
  remember(queue: string, id: string, attempt: Attempt<M>, now: number, bytes: number): void {
    const key = `${queue}\u0000${id}`;
    this.forget(queue, id);
    this.#forgetOldest(now, bytes);
    this.#byId.set(key, { ...attempt, queue, bytes });
    this.#bytes += bytes;
    const held = this.#byAccount.get(accountOf(queue)) ?? { bytes: 0, attempts: 0 };
    held.bytes += bytes;
    held.attempts++;
    this.#byAccount.set(accountOf(queue), held);
    for (const m of attempt.received) this.#byMessage.set(`${queue}\u0000${m.seq}`, key);
  }

  /** Forgets the attempts whose interval is over at `now` (also done as attempts are remembered). */
  forgetExpired(now: number): void {
    this.#forgetOldest(now, 0);
  }

  /**
   * Forgets, oldest first, the attempts over at `now`; then, while the bounds would be passed with
   * `bytes` more, the oldest attempt of the account holding the most attempts (the count's bound) or
   * bytes (the bytes' bound).
   */
  #forgetOldest(now: number, bytes: number): void {
    for (const [oldest, held] of this.#byId) {
      if (held.until > now) break;
      this.#drop(oldest);
    }
    while (this.#byId.size > 0) {
      const byCount = this.#byId.size >= MAX_ATTEMPTS;
      if (!byCount && this.#bytes + bytes <= MAX_ATTEMPT_BYTES) break;
      // The account holding the most of what is over the bound gives up its oldest attempt.
      let heaviest = "";
      let most = -1;
      for (const [account, held] of this.#byAccount) {
        const weight = byCount ? held.attempts : held.bytes;
        if (weight > most) [heaviest, most] = [account, weight];
      }
      for (const [key, held] of this.#byId) {
        if (accountOf(held.queue) !== heaviest) continue;
        this.#drop(key);
        break;
      }
    }
  }

  /** Forgets attempt `id` of `queue`. */
  forget(queue: string, id: string): void {
    this.#drop(`${queue}\u0000${id}`);
  }

  /** Forgets the attempts holding any of messages `seqs` of `queue` (deleted, or visibility changed). */
  forgetMessages(queue: string, seqs: Iterable<number>): void {
    if (this.#byId.size === 0) return;
    for (const seq of seqs) {
      const key = this.#byMessage.get(`${queue}\u0000${seq}`);
      if (key !== undefined) this.#drop(key);
    }
  }

  /** How many attempts, holding how many bytes, are remembered. */
  get size(): { attempts: number; bytes: number } {
    return { attempts: this.#byId.size, bytes: this.#bytes };
  }

  /** Forgets every attempt of `queue` (purged or deleted). */
  forgetQueue(queue: string): void {
    for (const [key, attempt] of this.#byId) if (attempt.queue === queue) this.#drop(key);
  }

  #drop(key: string): void {
    const attempt = this.#byId.get(key);
    if (attempt === undefined) return;
    this.#byId.delete(key);
    this.#bytes -= attempt.bytes;
    const account = accountOf(attempt.queue);
    const held = this.#byAccount.get(account);
    if (held !== undefined) {
      held.bytes -= attempt.bytes;
      if (--held.attempts === 0) this.#byAccount.delete(account);
    }
    for (const m of attempt.received) {
      const at = `${attempt.queue}\u0000${m.seq}`;
      if (this.#byMessage.get(at) === key) this.#byMessage.delete(at);
    }
  }
}

/** The account of a queue key (`account \0 name`, as the queue service makes them). */
function accountOf(queue: string): string {
  const end = queue.indexOf("\u0000");
  return end === -1 ? queue : queue.slice(0, end);
}
