/**
 * Group commit: the records of every PutEvents request that arrives while earlier commits are being
 * written go together into the next one, so that many concurrent requests share one durable
 * transaction (one fsync) instead of paying one each. A request's promise resolves only once its
 * records are durable. Up to {@link MAX_COMMITS_IN_FLIGHT} commits are handed to the store at once,
 * so that a store on another thread always has the next batch waiting.
 */
import type { IngestRecord, Store } from "../store/index.js";

interface Waiter {
  readonly records: readonly IngestRecord[];
  resolve(): void;
  reject(e: unknown): void;
}

/** Largest number of records written in one transaction. */
export const MAX_GROUP_RECORDS = 5000;
/** Commits handed to the store before the previous ones finish. */
export const MAX_COMMITS_IN_FLIGHT = 2;

/** Batches appends to a store. */
export class GroupCommitter {
  private queue: Waiter[] = [];
  private scheduled = false;
  private inFlight = 0;
  private idle: Array<() => void> = [];
  /** Commits requested and not yet settled, for {@link settled}. */
  private readonly outstanding = new Set<Waiter>();
  /** Callers of {@link settled} and the commits each still waits for. */
  private barriers: Array<{ readonly waiting: Set<Waiter>; readonly resolve: () => void }> = [];

  /**
   * @param onCommitted called with each batch of records once it is durable, before the callers
   *   hear of it (the delivery engine dispatches their deliveries from memory).
   */
  constructor(
    private readonly store: Store,
    private readonly onCommitted?: (records: readonly IngestRecord[]) => void,
  ) {}

  /** Resolves when `records` are durable in the store, rejects if their transaction failed. */
  commit(records: readonly IngestRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = { records, resolve, reject };
      this.queue.push(waiter);
      this.outstanding.add(waiter);
      this.schedule();
    });
  }

  /**
   * Resolves once every commit requested before the call has settled (and its records were handed to
   * `onCommitted`), however many are requested after it: what a removal of targets waits for, so that
   * the events matched against them before the registry changed are committed, and dispatched, before
   * their deliveries are dropped.
   */
  settled(): Promise<void> {
    if (this.outstanding.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.barriers.push({ waiting: new Set(this.outstanding), resolve }));
  }

  /** Resolves once everything queued so far is committed (or failed). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_COMMITS_IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    // Let the requests already read in this turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.take();
      if (batch.length === 0) return;
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.schedule();
        if (this.queue.length === 0 && this.inFlight === 0 && !this.scheduled) {
          for (const done of this.idle.splice(0)) done();
        }
      });
      this.schedule();
    });
  }

  private take(): Waiter[] {
    const batch: Waiter[] = [];
    let count = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Waiter;
      if (count > 0 && count + next.records.length > MAX_GROUP_RECORDS) break;
      batch.push(this.queue.shift() as Waiter);
      count += next.records.length;
    }
    return batch;
  }

  private async write(batch: readonly Waiter[]): Promise<void> {
    const records = batch.length === 1 ? (batch[0] as Waiter).records : batch.flatMap((w) => w.records);
    try {
      await this.store.appendEvents(records);
    } catch (e) {
      for (const w of batch) w.reject(e);
      this.settle(batch);
      return;
    }
    try {
      this.onCommitted?.(records);
    } finally {
      for (const w of batch) w.resolve();
      this.settle(batch);
    }
  }

  private settle(batch: readonly Waiter[]): void {
    for (const w of batch) this.outstanding.delete(w);
    if (this.barriers.length === 0) return;
    this.barriers = this.barriers.filter((b) => {
      for (const w of batch) b.waiting.delete(w);
      if (b.waiting.size > 0) return true;
      b.resolve();
      return false;
    });
  }
}
