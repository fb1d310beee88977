/**
 * One server per data directory. Two `busbar serve` on one directory would each resume every pending
 * delivery (each event delivered twice) and each sweep and retry on its own. The first holds an
 * exclusive SQLite lock on `busbar.lock` in the directory for as long as it runs; the operating
 * system lets go of it when the process ends, however it ends, so a SIGKILL leaves no stale lock. The
 * admin commands (`busbar accounts`, `busbar keys`) open `busbar.db`, not this file, and still work
 * beside a running server.
 */
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { makeDataDir } from "../store/index.js";

/** The lock file's name in the data directory. */
export const LOCK_FILE_NAME = "busbar.lock";

/** Another server holds the data directory. */
export class DataDirInUseError extends Error {
  override readonly name = "DataDirInUseError";
}

/** The lock on a data directory, held until released or the process ends. */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes the data directory's lock (making the directory if it is missing), or throws
 * {@link DataDirInUseError} at once when another process holds it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  makeDataDir(dataDir);
  if (!statSync(dataDir).isDirectory()) {
    throw new Error(`the data directory ${dataDir} is a file, not a directory`);
  }
  const file = join(dataDir, LOCK_FILE_NAME);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0 });
  } catch (e) {
    // SQLite says only "unable to open database file": a directory this user may not write, say.
    let why = (e as Error).message;
    try {
      accessSync(dataDir, constants.W_OK | constants.X_OK);
    } catch {
      why = `this user (uid ${process.getuid?.() ?? "?"}) may not write in ${dataDir}`;
    }
    throw new Error(`cannot open ${file}: ${why}`, { cause: e });
  }
  try {
    // An exclusive transaction on an empty database: a POSIX lock on the file, no data written.
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = MEMORY"); // no busbar.lock-journal beside it while it runs
    db.exec("BEGIN EXCLUSIVE");
  } catch (e) {
    db.close();
    if ((e as { code?: unknown }).code === "SQLITE_BUSY") {
      throw new DataDirInUseError(
        `the data directory ${dataDir} is in use by another busbar serve (it holds ${file}); stop it, or give this one another --data-dir`,
      );
    }
    throw e;
  }
  return {
    release() {
      if (db.open) db.close();
    },
  };
}
