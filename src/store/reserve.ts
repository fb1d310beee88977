/**
 * A data directory's reserve: a file of {@link RESERVE_BYTES} that holds room on its disk for the
 * database to open when the disk is full. A clean stop removes SQLite's write-ahead log and its index
 * (`-wal`, `-shm`), which opening the database must create again: on a disk another process filled
 * to its last byte, a stopped node could not start at all ("disk I/O error"), and so could not even
 * serve the reads and the drain that do not need room. With the reserve, the start that finds the
 * disk full removes it and opens the database in its room; writes then fail with a retryable 503 until
 * space is freed, and the next start with room makes the reserve again.
 *
 * CockroachDB keeps an "emergency ballast" file for the same reason; there the operator removes it.
 */
import {
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  statfsSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { join } from "node:path";

/** The reserve's file, in the data directory. */
export const RESERVE_FILE_NAME = "disk-reserve";

/**
 * Its size: 1 MiB. Opening the database takes ~32 KiB (the log's index, and the log's header); the
 * rest gives the start's own first writes room.
 */
export const RESERVE_BYTES = 1024 * 1024;

/** A reserve is made only while the disk has this many times its size free: never the last room. */
const MAKE_WITH_FREE_MULTIPLE = 8;

/**
 * What {@link releaseReserveIfFull} or {@link makeReserve} did, and the disk's free bytes before.
 * `foreign`: something other than a regular file has the reserve's name (a directory, a link), which
 * Busbar neither removes nor replaces.
 */
export interface ReserveOutcome {
  readonly outcome: "released" | "made" | "kept" | "none" | "foreign";
  readonly freeBytes: number;
}

/** What has the reserve's name, without following a link; undefined when nothing does. */
function entryOf(file: string): Stats | undefined {
  return lstatSync(file, { throwIfNoEntry: false });
}

/** Free bytes of the file system holding `dir`, as an unprivileged process may use them. */
function freeBytesOf(dir: string): number {
  const { bavail, bsize } = statfsSync(dir);
  return bavail * bsize;
}

/**
 * Before the database opens: removes the reserve when the disk has less free than its size (the
 * database could not open otherwise). `released`, `kept`, or `none` when there is no reserve.
 */
export function releaseReserveIfFull(dataDir: string, bytes = RESERVE_BYTES): ReserveOutcome {
  const file = join(dataDir, RESERVE_FILE_NAME);
  const entry = entryOf(file);
  const freeBytes = freeBytesOf(dataDir);
  if (entry === undefined) return { outcome: "none", freeBytes };
  if (!entry.isFile()) return { outcome: "foreign", freeBytes };
  if (freeBytes >= bytes) return { outcome: "kept", freeBytes };
  unlinkSync(file);
  return { outcome: "released", freeBytes };
}

/**
 * Once the node has started: makes the reserve (its bytes written and fsynced: a sparse file would
 * hold no room) when there is none, or one shorter than `bytes`, and the disk has room to spare.
 * `made`, `kept` when there is one (or a short one and too little room to make it again), `foreign`,
 * or `none` when the disk had too little free or filled while it was written (the partial file then
 * removed).
 * @throws whatever else writing it throws (the partial file removed).
 */
export function makeReserve(dataDir: string, bytes = RESERVE_BYTES): ReserveOutcome {
  const file = join(dataDir, RESERVE_FILE_NAME);
  const freeBytes = freeBytesOf(dataDir);
  const entry = entryOf(file);
  if (entry !== undefined && !entry.isFile()) return { outcome: "foreign", freeBytes };
  if (entry !== undefined && entry.size >= bytes) return { outcome: "kept", freeBytes };
  if (freeBytes < MAKE_WITH_FREE_MULTIPLE * bytes)
    return { outcome: entry === undefined ? "none" : "kept", freeBytes };
  // One cut short (a stop while it was written) is made again whole.
  if (entry !== undefined) unlinkSync(file);
  let fd: number | undefined;
  try {
    fd = openSync(file, "wx", 0o600);
    const chunk = Buffer.alloc(Math.min(bytes, 64 * 1024));
    for (let written = 0; written < bytes;) {
      written += writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    return { outcome: "made", freeBytes };
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    const code = (e as NodeJS.ErrnoException).code;
    // Made meanwhile by another start: there is one.
    if (code === "EEXIST") return { outcome: "kept", freeBytes };
    try {
      unlinkSync(file);
    } catch {
      // Nothing was made.
    }
    if (code === "ENOSPC" || code === "EDQUOT") return { outcome: "none", freeBytes };
    throw e;
  }
}
