/**
 * The embedded store: one SQLite database file in a data directory, opened in WAL mode with
 * `synchronous = FULL`, so that a resolved mutation (in particular a resolved `appendEvents`) survives
 * a crash, kill -9 or power loss. SQLite types never leave this folder.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Store } from "../types.js";
import { StoreOpenError, UnsupportedSchemaVersionError } from "./errors.js";
import { migrate } from "./schema.js";
import { SqliteStore } from "./store.js";

export {
  DuplicateIdError,
  InvalidNextTokenError,
  ParentNotFoundError,
  StoreErrorCode,
  StoreFailureError,
  StoreOpenError,
  UnsupportedSchemaVersionError,
} from "./errors.js";
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from "./paging.js";
export { SCHEMA_VERSION } from "./schema.js";

/** Name of the database file inside the data directory when `fileName` is not given. */
export const DEFAULT_SQLITE_FILE_NAME = "busbar.db";

/** How long a statement waits for another process's lock before failing with SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Mode of a data directory the store creates: owner only (the file holds secret keys). */
export const DATA_DIR_MODE = 0o700;

/** Mode of a database file the store creates (SQLite gives its -wal and -shm files the same). */
export const DATABASE_FILE_MODE = 0o600;

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Directory of the database file; created (with {@link DATA_DIR_MODE}) when missing. */
  readonly dataDir: string;
  /**
   * Name of the database file inside `dataDir` (a plain name, no directory part).
   * @default "busbar.db" ({@link DEFAULT_SQLITE_FILE_NAME})
   */
  readonly fileName?: string;
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

/** Creates the directory and an empty database file with owner-only modes when they are missing. */
function prepareFiles(dataDir: string, path: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: DATA_DIR_MODE });
    closeSync(openSync(path, "a", DATABASE_FILE_MODE));
  } catch (error) {
    throw new StoreOpenError(`cannot create ${path}`, { cause: error });
  }
}

/** Sets the connection's pragmas: WAL, full fsync on commit, busy timeout, foreign keys. */
function configure(db: Database.Database): void {
  const mode = db.pragma("journal_mode = WAL", { simple: true });
  if (mode !== "wal")
    throw new StoreOpenError(`the file system does not support WAL mode (got "${String(mode)}")`);
  db.pragma("synchronous = FULL");
  db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  db.pragma("foreign_keys = ON");
}

/**
 * Opens (creating and migrating when needed) the SQLite store in `options.dataDir`.
 * @throws {StoreOpenError} when the options are invalid or the file cannot be created or put in WAL mode.
 * @throws {UnsupportedSchemaVersionError} when the file was written by a newer Busbar.
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const path = databasePath(options);
  prepareFiles(options.dataDir, path);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  } catch (error) {
    throw new StoreOpenError(`cannot open ${path}`, { cause: error });
  }
  try {
    configure(db);
    migrate(db);
    return new SqliteStore(db);
  } catch (error) {
    db.close();
    if (error instanceof StoreOpenError || error instanceof UnsupportedSchemaVersionError) throw error;
    throw new StoreOpenError(`cannot open ${path} as a Busbar database`, { cause: error });
  }
}
