/**
 * The SQLite store in the thread that uses it, with group commit, and every fsync off that thread.
 *
 * Calls made in one turn of the event loop run together in one transaction (group-commit.ts), as in
 * the store's worker thread, but without crossing threads: no structured clone, no wake-up of another
 * thread, no second event loop. What running SQLite on the caller's thread would cost is the waits
 * for fsync, so the connection never fsyncs (`synchronous = OFF`, no automatic checkpoints) and the
 * store does it itself, with `fs.fdatasync` on libuv's thread pool:
 *
 * - **Commits.** After a group's transaction, the store fsyncs the write-ahead log and resolves the
 *   group's calls only once that returns. The thread meanwhile serves other requests and runs the
 *   next groups; one fsync is in flight at a time, and the groups written while it runs wait for the
 *   next one, which covers them all. As in the worker, reads, receives and visibility changes resolve
 *   at once, even in a group with other writes (they survive the process being killed; their loss in
 *   a power cut only makes messages visible sooner). Reads may see a commit before its fsync returns;
 *   no other write is acknowledged before it does. One read waits: the delivery engine's walk of the
 *   pending deliveries ({@link READS_AFTER_SYNC}) is answered once the groups written before it are
 *   durable, as the worker answers it (its commits fsync before the next group runs): a walk that saw
 *   a delivery whose commit was not yet acknowledged took it as well as the dispatch that followed
 *   the acknowledgement (a review counted 88–108 events delivered twice in 10–20 s of bursts), and
 *   could deliver an event whose PutEvents then failed.
 * - **Checkpoints.** Every {@link CHECKPOINT_INTERVAL_MS} with writes, the store holds new groups,
 *   waits until the whole log is fsynced, copies it into the database file (a PASSIVE checkpoint), and
 *   lets writes go on only after an fsync of the database file. SQLite restarts the log at the next
 *   write after a complete checkpoint, so the log is never overwritten before the pages it held are
 *   durable in the database file: the order SQLite keeps itself with `synchronous = FULL`.
 *
 * Durability is therefore that of `synchronous = FULL`. When an fsync fails, the state of the files
 * on disk is unknown (a later fsync may succeed without the lost pages), so the store refuses every
 * later write; reads go on.
 * @see https://sqlite.org/pragma.html#pragma_synchronous
 * @see https://sqlite.org/wal.html#ckpt
 */
import { closeSync, fdatasync, openSync } from "node:fs";
import type { Store } from "../types.js";
import { STORE_METHODS } from "./async-store.js";
import { StoreFailureError } from "./errors.js";
import {
  answersBeforeSync,
  onlyReads,
  type CallOutcome,
  type GroupCommit,
  type StoreCall,
} from "./group-commit.js";

/** Reads answered once the writes run before them are durable (see the module's comment). */
const READS_AFTER_SYNC: ReadonlySet<string> = new Set(["listDueDeliveries"]);

/** Least time between two checkpoints while writes go on. */
export const CHECKPOINT_INTERVAL_MS = 250;

/** What the in-thread store needs of an open connection (`synchronous = OFF`, no auto-checkpoint). */
export interface InThreadConnection {
  /** Runs one group of calls (prepareGroupCommit). */
  readonly runGroup: GroupCommit;
  /** Copies the log into the database file without waiting on anyone (and without fsync). */
  checkpoint(): void;
  /** Path of the database file. */
  readonly path: string;
  /** Path of its write-ahead log. */
  readonly walPath: string;
  /** Closes the connection (with a last checkpoint that fsyncs). */
  close(): void;
}

interface Pending {
  readonly call: StoreCall;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** A group whose outcomes wait for the fsync that makes them durable. */
interface Written {
  readonly pending: readonly Pending[];
  readonly outcomes: readonly CallOutcome[];
}

/** Settles each call of a group with its outcome. */
function settle(pending: readonly Pending[], outcomes: readonly CallOutcome[]): void {
  pending.forEach((p, i) => {
    const outcome = outcomes[i] as CallOutcome;
    if (outcome.ok) p.resolve(outcome.value);
    else p.reject(outcome.error);
  });
}

/** Opens a file of the database for fsync (the log is created, empty, when SQLite has not yet). */
export function openForSync(path: string): number {
  try {
    return openSync(path, "r");
  } catch {
    return openSync(path, "a", 0o600);
  }
}

/**
 * The promise-based {@link Store} over a connection, run in the calling thread with group commit and
 * the fsyncs on libuv's thread pool.
 */
export function inThreadStore(connection: InThreadConnection): Store {
  const logFd = openForSync(connection.walPath);
  const dbFd = openForSync(connection.path);
  let gathered: Pending[] = [];
  let scheduled = false;
  /** Groups written since the fsync in flight began: the next fsync makes them durable. */
  let unsynced: Written[] = [];
  /** Whether the log holds writes that no finished or running fsync covers. */
  let dirty = false;
  let syncing = false;
  /** Whether new groups wait: a checkpoint is due or running. */
  let holding = false;
  let lastCheckpoint = performance.now();
  let failure: StoreFailureError | undefined;
  let closed = false;
  let onIdle: (() => void) | undefined;

  const fail = (error: Error): StoreFailureError =>
    (failure ??= new StoreFailureError("SQLITE_IOERR_FSYNC", { cause: error }));

  const schedule = (): void => {
    if (scheduled || holding || gathered.length === 0) return;
    scheduled = true;
    // The calls of the requests read in this turn of the event loop join the group.
    setImmediate(flush);
  };

  /** Ends a hold: the groups gathered meanwhile run. */
  const release = (): void => {
    holding = false;
    lastCheckpoint = performance.now();
    schedule();
    if (!syncing) onIdle?.();
  };

  /**
   * With the whole log durable: copy it into the database file, fsync that, then let writes go on. A
   * checkpoint that fails (the disk full as the database file grows) leaves the log as it was, every
   * page still in it, so writes go on and the next checkpoint tries again; only a failed fsync, which
   * leaves no way to know what is on the disk, stops the store.
   */
  const checkpoint = (): void => {
    try {
      connection.checkpoint();
    } catch {
      release();
      return;
    }
    fdatasync(dbFd, (error) => {
      if (error !== null) fail(error);
      release();
    });
  };

  const sync = (): void => {
    if (syncing) return;
    if (unsynced.length === 0 && !(dirty && holding)) {
      if (holding && failure === undefined) checkpoint();
      else if (holding) release();
      else onIdle?.();
      return;
    }
    syncing = true;
    dirty = false;
    const covered = unsynced;
    unsynced = [];
    fdatasync(logFd, (error) => {
      syncing = false;
      if (error !== null) {
        const e = fail(error);
        for (const w of covered) for (const p of w.pending) p.reject(e);
      } else {
        for (const w of covered) settle(w.pending, w.outcomes);
      }
      sync();
    });
  };

  /** Runs the group gathered so far. */
  const runGathered = (): void => {
    const pending = gathered;
    gathered = [];
    if (pending.length === 0) return;
    const calls = pending.map((p) => p.call);
    if (onlyReads(calls)) {
      const outcomes = connection.runGroup(calls);
      if (!(syncing || unsynced.length > 0)) {
        settle(pending, outcomes);
        return;
      }
      // Writes before them are not durable yet: the walks of pending deliveries wait for the next fsync.
      answerNowOrAfterSync(pending, outcomes, (call) => !READS_AFTER_SYNC.has(call.method));
      sync();
      return;
    }
    if (failure !== undefined) {
      for (const p of pending) p.reject(failure);
      return;
    }
    const outcomes = connection.runGroup(calls);
    dirty = true;
    // What needs no fsync (and failures) is answered now; the rest once the log is fsynced.
    answerNowOrAfterSync(
      pending,
      outcomes,
      (call) => answersBeforeSync(call) && !READS_AFTER_SYNC.has(call.method),
    );
    if (performance.now() - lastCheckpoint >= CHECKPOINT_INTERVAL_MS) holding = true;
    if (unsynced.length > 0 || holding) sync();
  };

  /** Settles the failures and the calls `now` allows; the others wait for the next fsync. */
  const answerNowOrAfterSync = (
    pending: readonly Pending[],
    outcomes: readonly CallOutcome[],
    now: (call: StoreCall) => boolean,
  ): void => {
    const later: Pending[] = [];
    const laterOutcomes: CallOutcome[] = [];
    pending.forEach((p, i) => {
      const outcome = outcomes[i] as CallOutcome;
      if (!outcome.ok || now(p.call)) settle([p], [outcome]);
      else {
        later.push(p);
        laterOutcomes.push(outcome);
      }
    });
    if (later.length > 0) unsynced.push({ pending: later, outcomes: laterOutcomes });
  };

  const flush = (): void => {
    scheduled = false;
    if (!holding) runGathered();
    onIdle?.();
  };

  const call = (method: string, args: readonly unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (closed) {
        reject(new StoreFailureError("SQLITE_MISUSE", { cause: new Error("the store is closed") }));
        return;
      }
      gathered.push({ call: { method, args }, resolve, reject });
      schedule();
    });

  /** Resolves once no call waits and no group, fsync or checkpoint is under way. */
  const idle = (): Promise<void> =>
    new Promise<void>((resolve) => {
      onIdle = () => {
        if (holding || syncing || unsynced.length > 0 || gathered.length > 0) return;
        onIdle = undefined;
        resolve();
      };
      flush();
      onIdle?.();
    });

  const store: Record<string, unknown> = { kind: "sqlite" };
  for (const method of STORE_METHODS) store[method] = (...args: unknown[]) => call(method, args);
  store.close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    // Calls made before close run first, and their fsyncs end before the files are closed.
    await idle();
    closeSync(logFd);
    closeSync(dbFd);
    connection.close();
  };
  return store as unknown as Store;
}
