/**
 * The embedded store: one SQLite database file in a data directory, opened in WAL mode with
 * `synchronous = FULL` (or with the log fsynced by the store's owner, which then gives the same
 * guarantee: the engine of the worker thread, and the in-thread store), so that a resolved mutation
 * (in particular a resolved `appendEvents`) survives a crash, kill -9 or power loss. SQLite types
 * never leave this folder.
 */
import { accessSync, closeSync, constants, existsSync, fdatasyncSync, openSync, statfsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { makeDataDir } from "../data-dir.js";
import type { Store } from "../types.js";
import { asyncStore } from "./async-store.js";
import { StoreFailureError, StoreOpenError, UnsupportedSchemaVersionError } from "./errors.js";
import { onlyReads, prepareGroupCommit, type CallOutcome, type StoreCall } from "./group-commit.js";
import { inThreadStore, openForSync, type InThreadConnection } from "./in-thread.js";
import { migrate } from "./schema.js";
import { SyncSqliteStore } from "./store.js";

export {
  DuplicateIdError,
  InvalidNextTokenError,
  ParentNotFoundError,
  QueueNotFoundError,
  StoreErrorCode,
  StoreFailureError,
  StoreOpenError,
  UnsupportedSchemaVersionError,
} from "./errors.js";
export { answersBeforeSync, type CallOutcome, type StoreCall } from "./group-commit.js";
export { MoveFailure } from "./moves.js";
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from "./paging.js";
export { FIFO_SCAN_LIMIT, RECEIVE_SCAN_LIMIT } from "./receive.js";
export { MIGRATIONS, SCHEMA_VERSION, applyMigration, type Migration } from "./schema.js";

/** Name of the database file inside the data directory when `fileName` is not given. */
export const DEFAULT_SQLITE_FILE_NAME = "busbar.db";

/** How long a statement waits for another process's lock before failing with SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** What the write-ahead log is cut back to when it starts over after a checkpoint. */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** Mode of a database file the store creates (SQLite gives its -wal and -shm files the same). */
export const DATABASE_FILE_MODE = 0o600;

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Directory of the database file; created (owner only) when missing. */
  readonly dataDir: string;
  /**
   * Name of the database file inside `dataDir` (a plain name, no directory part).
   * @default "busbar.db" ({@link DEFAULT_SQLITE_FILE_NAME})
   */
  readonly fileName?: string;
  /**
   * False: refuse a database of an older schema instead of migrating it (the admin commands, which may
   * run beside an older server on the directory).
   * @default true
   */
  readonly upgrade?: boolean;
}

/** Path of the database file for these options; validates them. */
function databasePath(options: SqliteStoreOptions): string {
  const { dataDir, fileName = DEFAULT_SQLITE_FILE_NAME } = options;
  if (typeof dataDir !== "string" || dataDir.trim() === "") {
    throw new StoreOpenError("dataDir must be a non-empty directory path");
  }
  if (
    typeof fileName !== "string" ||
    !/^[^/\\\0]+$/.test(fileName) ||
    fileName === "." ||
    fileName === ".."
  ) {
    throw new StoreOpenError(
      `fileName must be a plain file name without a directory part, got "${fileName}"`,
    );
  }
  if (fileName === ":memory:" || fileName.startsWith("file:")) {
    throw new StoreOpenError(`fileName must name a file on disk, got "${fileName}"`);
  }
  return join(dataDir, fileName);
}

/**
 * Creates the directory and an empty database file with owner-only modes when they are missing, and
 * checks that the file may be written: SQLite's write-ahead log needs to write beside it even to read.
 */
function prepareFiles(dataDir: string, path: string): void {
  try {
    makeDataDir(dataDir);
    closeSync(openSync(path, "a", DATABASE_FILE_MODE));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const exists = code !== "ENOENT" && existsSync(path);
    // A directory that cannot be written (a read-only file system, or its mode): the store's -wal and
    // -shm files could not be made either.
    const readOnly = exists && (code === "EROFS" || (code === "EACCES" && !writable(dataDir)));
    throw new StoreOpenError(
      readOnly
        ? `cannot write ${path}: ${reasonOf(error)} (the store needs its data directory writable, even to read: ` +
            "SQLite's write-ahead log keeps its -wal and -shm files beside the database)"
        : `cannot ${exists ? "write" : "create"} ${path}: ${reasonOf(error)}`,
      { cause: error },
    );
  }
}

/** Whether this process may write in `dir`. */
function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Sets the connection's pragmas: WAL, full fsync on commit, busy timeout, foreign keys. */
function configure(db: Database.Database): void {
  const mode = db.pragma("journal_mode = WAL", { simple: true });
  if (mode !== "wal")
    throw new StoreOpenError(`the file system does not support WAL mode (got "${String(mode)}")`);
  db.pragma("synchronous = FULL");
  // A log grown large (a long read transaction of another process holds checkpoints back) shrinks
  // back to this once a checkpoint lets it start over; without it, it kept its size until a restart.
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  db.pragma("foreign_keys = ON");
}

/** What went wrong underneath, for a message (a permission denied reads differently from corruption). */
function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Below this much free space, a failure to open the database is put down to the full disk. */
const OPEN_NEEDS_BYTES = 1024 * 1024;

/**
 * What to add to an open's failure when the data directory's disk is full: SQLite creates the
 * write-ahead log and its index (`-wal`, `-shm`, which a clean stop removes) to open the database,
 * and says only "disk I/O error" when it cannot. Empty otherwise.
 */
function fullDiskHint(dataDir: string): string {
  try {
    const { bavail, bsize } = statfsSync(dataDir);
    const free = bavail * bsize;
    if (free >= OPEN_NEEDS_BYTES) return "";
    return (
      ` (the disk of ${dataDir} is full: ${free} bytes free, and SQLite must create the database's ` +
      "write-ahead log and its index beside it to open it; free some space and start again)"
    );
  } catch {
    return "";
  }
}

/**
 * The schema version of the database file at `path` as it is (0 for one without tables), read without
 * changing it; undefined when there is no such file or it cannot be read as SQLite (opening the store
 * then names the problem). For the start's log line of an upgrade.
 */
export function schemaVersionOfFile(path: string): number | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: SQLITE_BUSY_TIMEOUT_MS });
    return db.pragma("user_version", { simple: true }) as number;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/** Opens (creating and migrating when needed) the database of `options` and the store over it. */
function open(options: SqliteStoreOptions): { db: Database.Database; store: SyncSqliteStore; path: string } {
  const path = databasePath(options);
  prepareFiles(options.dataDir, path);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  } catch (error) {
    throw new StoreOpenError(`cannot open ${path}: ${reasonOf(error)}`, { cause: error });
  }
  try {
    configure(db);
    migrate(db, path, { upgrade: options.upgrade !== false });
    return { db, store: new SyncSqliteStore(db), path };
  } catch (error) {
    db.close();
    if (error instanceof StoreOpenError || error instanceof UnsupportedSchemaVersionError) throw error;
    throw new StoreOpenError(
      `cannot open ${path} as a Busbar database: ${reasonOf(error)}${fullDiskHint(options.dataDir)}`,
      { cause: error },
    );
  }
}

/**
 * Opens (creating and migrating when needed) the SQLite store in `options.dataDir`. Each call runs
 * at once, in its own transaction: a resolved mutation is committed.
 * @throws {StoreOpenError} when the options are invalid or the file cannot be created or put in WAL mode.
 * @throws {UnsupportedSchemaVersionError} when the file was written by a newer Busbar.
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  return asyncStore(open(options).store);
}

/**
 * The SQLite store as the thread that owns it runs it: synchronously, calls that arrive together
 * sharing one commit (group-commit.ts), and the log fsynced by its owner after the commit, so that the
 * outcomes that need no fsync ({@link answersBeforeSync}: reads, visibility changes, standard queues' receives) can be
 * given before it. The connection runs with `synchronous = NORMAL`: in WAL mode SQLite then fsyncs the
 * log before each checkpoint and the database file after it, and a commit is durable once
 * {@link syncLog} returns, as with `synchronous = FULL`.
 * @see https://sqlite.org/pragma.html#pragma_synchronous
 */
export interface SqliteStoreEngine {
  /**
   * Runs the calls in order in one IMMEDIATE transaction, each in its own savepoint, and returns one
   * outcome per call once the transaction is committed (not yet fsynced). A call that fails undoes
   * only its own changes. Calls that only read run without a transaction. After a failed fsync every
   * group that writes fails: what the files hold is unknown.
   */
  runGroup(calls: readonly StoreCall[]): CallOutcome[];
  /**
   * Fsyncs the write-ahead log: the commits before it are durable once it returns.
   * @throws {StoreFailureError} when the fsync fails (and from then on refuses writes).
   */
  syncLog(): void;
  /** Closes the database; closing twice is harmless. */
  close(): void;
}

/**
 * Opens the SQLite store for group commit, as {@link openSqliteStore} opens it.
 * @throws {StoreOpenError} when the options are invalid or the file cannot be created or put in WAL mode.
 * @throws {UnsupportedSchemaVersionError} when the file was written by a newer Busbar.
 */
export function openSqliteStoreEngine(options: SqliteStoreOptions): SqliteStoreEngine {
  const { db, store, path } = open(options);
  // The engine's owner fsyncs the log after each commit that needs it (syncLog).
  db.pragma("synchronous = NORMAL");
  const runGroup = prepareGroupCommit(db, store);
  let logFd: number | undefined = openForSync(`${path}-wal`);
  let failure: StoreFailureError | undefined;
  return {
    runGroup: (calls) => {
      if (failure === undefined || onlyReads(calls)) return runGroup(calls);
      return calls.map(() => ({ ok: false, error: failure }));
    },
    syncLog: () => {
      if (failure !== undefined) throw failure;
      try {
        fdatasyncSync(logFd as number);
      } catch (error) {
        throw (failure = new StoreFailureError("SQLITE_IOERR_FSYNC", { cause: error }));
      }
    },
    close: () => {
      if (logFd === undefined) return;
      closeSync(logFd);
      logFd = undefined;
      // Closing checkpoints the log and deletes it: that checkpoint must fsync.
      db.pragma("synchronous = FULL");
      store.close();
    },
  };
}

/**
 * Opens the SQLite store to run in the calling thread with group commit: the calls made in one turn
 * of the event loop share one transaction, and the fsyncs (of the log after commits, of the database
 * file after checkpoints) run on libuv's thread pool, so the thread never waits on one (in-thread.ts).
 * @throws {StoreOpenError} when the options are invalid or the file cannot be created or put in WAL mode.
 * @throws {UnsupportedSchemaVersionError} when the file was written by a newer Busbar.
 */
export function openSqliteStoreInThread(options: SqliteStoreOptions): Store {
  return inThreadStore(openInThreadConnection(options));
}

/** The connection {@link openSqliteStoreInThread} runs its store over. */
export function openInThreadConnection(options: SqliteStoreOptions): InThreadConnection {
  const { db, store, path } = open(options);
  // The store fsyncs and checkpoints itself, in the order SQLite would (in-thread.ts).
  db.pragma("synchronous = OFF");
  db.pragma("wal_autocheckpoint = 0");
  return {
    runGroup: prepareGroupCommit(db, store),
    checkpoint: () => db.pragma("wal_checkpoint(PASSIVE)"),
    path,
    walPath: `${path}-wal`,
    close: () => {
      // Closing checkpoints the log and deletes it: that checkpoint must fsync.
      db.pragma("synchronous = FULL");
      store.close();
    },
  };
}
