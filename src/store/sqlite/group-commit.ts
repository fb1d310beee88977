/**
 * Group commit of store calls: the thread that owns the connection runs the calls that arrived
 * together in ONE transaction, so that they share one commit (and one fsync of the log)
 * instead of paying one each. Queue traffic is many small writes (every receive and delete is one),
 * so this is what makes it cheap.
 *
 * - The group's transaction is BEGIN IMMEDIATE: it takes the write lock before the first call, so
 *   another process writing the same file (the `busbar keys` CLI) makes it wait on the busy timeout
 *   rather than fail a lock upgrade midway.
 * - Each call runs in its own savepoint (better-sqlite3 nests `db.transaction()` calls as savepoints,
 *   the store's own IMMEDIATE transactions included), so a call that throws, in SQL or in plain
 *   JavaScript, rolls back its own changes only and the others go on.
 * - Outcomes are returned after the COMMIT. The connection does not fsync it: its owner fsyncs the
 *   write-ahead log afterwards (the worker's engine in index.ts, the in-thread store), and gives the
 *   outcomes of mutations only then, so that a resolved mutation is durable, as the contract promises.
 *   When the commit itself fails, or SQLite abandons the transaction (an I/O error, a full disk), every
 *   write of the group fails with that error, since none of its changes was kept; its reads are run
 *   again on their own, after the rollback.
 * - A group of reads only runs without a transaction: it has nothing to commit.
 * - Visibility changes, and receives and deletes of a standard queue's messages, need no fsync
 *   ({@link answersBeforeSync}): a commit that is written but not fsynced survives the process being
 *   killed but not necessarily a power cut, and losing one only makes a message visible again sooner,
 *   with a lower receive count, or lets a deleted message of a standard queue be received again,
 *   which at-least-once delivery allows (SQS documents both for standard queues). Their outcomes are
 *   given before the fsync, even in a group with other writes; sends, FIFO receives and deletes and
 *   everything else wait for it (one fsync of the log covers every commit before it). A FIFO receive
 *   waits because what it hands out may rest on commits not yet durable: the delete that released the
 *   group's next message (lost in a power cut, the earlier message would come back after the later one
 *   was processed), or a send not yet acknowledged (its retry would be processed twice). Not waiting
 *   for the fsync shortens a consumer's delete round trip: +10% messages/s at bench:queue's 16+16.
 */
import type Database from "better-sqlite3";
import type { QueueRef } from "../types.js";
import { READ_METHODS, STORE_METHODS, storeError, type SyncStore } from "./async-store.js";

/** One call of a store method, by name. */
export interface StoreCall {
  readonly method: string;
  readonly args: readonly unknown[];
}

/** What became of a call: its value, or the error it threw. */
export type CallOutcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

const READS: ReadonlySet<string> = new Set(READ_METHODS);
/** Writes whose loss in a power cut only makes messages visible again sooner: they need no fsync. */
const RELAXED: ReadonlySet<string> = new Set(["changeVisibility"]);
/** Writes that need no fsync on a standard queue, and wait for it on a FIFO queue. */
const RELAXED_IF_STANDARD: ReadonlySet<string> = new Set(["receiveMessages", "deleteMessages"]);

/** Whether a group only reads: it has nothing to commit. */
export const onlyReads = (calls: readonly StoreCall[]): boolean => calls.every((c) => READS.has(c.method));

/**
 * Whether a call's outcome may be given before the log is fsynced: it reads, its writes are relaxed,
 * or it receives or deletes messages of a standard queue (a FIFO queue, whose name ends in `.fifo`,
 * promises not to hand out a message again once it is deleted, and its groups' order).
 */
export const answersBeforeSync = (call: StoreCall): boolean =>
  READS.has(call.method) ||
  RELAXED.has(call.method) ||
  (RELAXED_IF_STANDARD.has(call.method) && !(call.args[0] as QueueRef).name.endsWith(".fifo"));

/** Runs calls of a group, returning one outcome per call, in order. */
export type GroupCommit = (calls: readonly StoreCall[]) => CallOutcome[];

/** Builds the group commit of a store over its connection (whose owner fsyncs the log itself). */
export function prepareGroupCommit(db: Database.Database, store: SyncStore): GroupCommit {
  /** Runs one call; throws what it throws (an unknown method is a TypeError). */
  const dispatch = (call: StoreCall): unknown => {
    if (!STORE_METHODS.has(call.method)) throw new TypeError(`no store method ${call.method}`);
    const fn = store[call.method as keyof SyncStore] as (...args: unknown[]) => unknown;
    return fn.apply(store, call.args as unknown[]);
  };

  /** Runs one call on its own, catching what it throws. */
  const attempt = (call: StoreCall): CallOutcome => {
    try {
      return { ok: true, value: dispatch(call) };
    } catch (error) {
      return { ok: false, error: storeError(error) };
    }
  };

  /** Inside the group's transaction, a call in its own savepoint. */
  const inSavepoint = db.transaction(dispatch);

  const group = db.transaction((calls: readonly StoreCall[]): CallOutcome[] =>
    calls.map((call) => {
      try {
        return { ok: true, value: inSavepoint(call) };
      } catch (error) {
        // SQLite rolled the whole transaction back: the earlier calls' changes are gone too.
        if (!db.inTransaction) throw error;
        return { ok: false, error: storeError(error) };
      }
    }),
  ).immediate;

  return (calls) => {
    if (onlyReads(calls)) return calls.map(attempt);
    try {
      return group(calls);
    } catch (error) {
      // The writes fail with the transaction. The reads among them are run again on their own, after
      // the rollback: they were made together with the writes, so either state may answer them, and
      // what they read in the transaction (its writes included) was rolled back. A disk full to its
      // last byte fails every write, but not the reads that look up access keys or list queues.
      const failure = storeError(error);
      return calls.map((call) => (READS.has(call.method) ? attempt(call) : { ok: false, error: failure }));
    }
  };
}
