/**
 * Group commit: the records of every PutEvents request that arrives while a commit is being prepared
 * or is in flight are written together in the next one, so that many concurrent requests share one
 * durable transaction (one fsync) instead of paying one each. A request's promise resolves only once
 * its records are durable.
 */
import type { IngestRecord, Store } from "../store/index.js";

interface Waiter {
  readonly records: readonly IngestRecord[];
  resolve(): void;
  reject(e: unknown): void;
}

/** Largest number of records written in one transaction. */
export const MAX_GROUP_RECORDS = 5000;

/** Batches appends to a store. */
export class GroupCommitter {
  private queue: Waiter[] = [];
  private queued = 0;
  private scheduled = false;
  private inFlight: Promise<void> | undefined;

  constructor(private readonly store: Store) {}

  /** Resolves when `records` are durable in the store, rejects if their transaction failed. */
  commit(records: readonly IngestRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.queued += records.length;
      this.schedule();
    });
  }

  /** Resolves once everything queued so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight !== undefined || this.scheduled) {
      await (this.inFlight ?? new Promise<void>((r) => setImmediate(r)));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight !== undefined) return;
    this.scheduled = true;
    // Let the requests already read in this turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.inFlight = this.flush().finally(() => {
        this.inFlight = undefined;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch: Waiter[] = [];
    let count = 0;
    while (
      this.queue.length > 0 &&
      (count === 0 || count + (this.queue[0] as Waiter).records.length <= MAX_GROUP_RECORDS)
    ) {
      const w = this.queue.shift() as Waiter;
      batch.push(w);
      count += w.records.length;
    }
    this.queued -= count;
    const records = batch.length === 1 ? (batch[0] as Waiter).records : batch.flatMap((w) => w.records);
    try {
      await this.store.appendEvents(records);
      for (const w of batch) w.resolve();
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
  }
}
