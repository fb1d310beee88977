/**
 * Durable state behind one narrow contract: the domain types, the {@link Store} interface, and the
 * embedded SQLite implementation.
 */
export * from "./types.js";
import type { ListOptions, Page } from "./types.js";
export {
  DEFAULT_SQLITE_FILE_NAME,
  MIGRATIONS,
  SCHEMA_VERSION,
  StoreErrorCode,
  applyMigration,
  openSqliteStore,
  openSqliteStoreInThread,
  schemaVersionOfFile,
  type SqliteStoreOptions,
} from "./sqlite/index.js";
export {
  RemoteStoreError,
  openSqliteStoreInWorker,
  type SqliteWorkerStoreOptions,
} from "./sqlite-worker/index.js";
export { sweepInSteps } from "./sweep.js";
export {
  DiskFloor,
  DiskLowError,
  floorGuarded,
  measureDataDir,
  type DiskFloorOptions,
  type DiskRoom,
} from "./disk-floor.js";
export { DATA_DIR_MODE, makeDataDir } from "./data-dir.js";
export {
  RESERVE_BYTES,
  RESERVE_FILE_NAME,
  makeReserve,
  releaseReserveIfFull,
  type ReserveOutcome,
} from "./reserve.js";

/**
 * Every item of a paged store listing, read page by page. For the listings that are walked whole
 * (start-up, the command line on a data directory); the API hands pages to its callers instead.
 */
export async function allItems<T>(list: (options: ListOptions) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let nextToken: string | undefined;
  do {
    const page = await list(nextToken === undefined ? {} : { nextToken });
    items.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return items;
}
