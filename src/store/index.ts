/**
 * Durable state behind one narrow contract: the domain types, the {@link Store} interface, and the
 * embedded SQLite implementation.
 */
export * from "./types.js";
export { openSqliteStore, openSqliteStoreInThread, type SqliteStoreOptions } from "./sqlite/index.js";
export {
  RemoteStoreError,
  openSqliteStoreInWorker,
  type SqliteWorkerStoreOptions,
} from "./sqlite-worker/index.js";
