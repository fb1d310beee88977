/**
 * The SQLite store runs synchronously (the driver is synchronous); this module states that contract
 * ({@link SyncStore}), lists its methods, and turns a synchronous store into the promise-based
 * {@link Store}: each method runs at once and returns a settled promise, with driver errors wrapped.
 */
import Database from "better-sqlite3";
import type { Store } from "../types.js";
import { StoreFailureError } from "./errors.js";

/** The {@link Store} contract with every method synchronous: it returns what the promise would give. */
export type SyncStore = {
  [K in Exclude<keyof Store, "kind">]: Store[K] extends (...args: infer A) => Promise<infer R>
    ? (...args: A) => R
    : never;
};

/** The methods that only read: a group of calls that are all reads needs no transaction. */
export const READ_METHODS = [
  "getAccount",
  "listAccounts",
  "getAccessKey",
  "listAccessKeys",
  "getBus",
  "listBuses",
  "getRule",
  "listRules",
  "listAllRules",
  "listTargets",
  "listRuleNamesByTarget",
  "getTags",
  "getEvent",
  "countEvents",
  "reusableBytes",
  "listDueDeliveries",
  "listDeliveriesOfEvent",
  "getEvents",
  "countDeliveries",
  "getQueue",
  "listQueues",
  "listDeadLetterSourceQueues",
  "countMessages",
  "countInFlight",
  "countMessagesFrom",
  "getMoveTask",
  "listMoveTasks",
  "listActiveMoveTasks",
  "getConnection",
  "listConnections",
  "countConnections",
  "getApiDestination",
  "listApiDestinations",
  "countApiDestinations",
  "getSecret",
] as const satisfies ReadonlyArray<keyof SyncStore>;

/** The methods that write (receiving a message writes: it counts the receive). */
export const WRITE_METHODS = [
  "putAccount",
  "putAccessKey",
  "deleteAccessKey",
  "createBus",
  "updateBus",
  "deleteBus",
  "putRule",
  "deleteRule",
  "putTargets",
  "removeTargets",
  "tagResource",
  "untagResource",
  "appendEvents",
  "sweepEventsBefore",
  "completeDeliveries",
  "rescheduleDeliveries",
  "dropDeliveries",
  "createQueue",
  "updateQueue",
  "deleteQueue",
  "retireQueue",
  "sendMessages",
  "receiveMessages",
  "deleteMessages",
  "changeVisibility",
  "purgeQueue",
  "sweepExpiredMessages",
  "sweepExpiredDeduplication",
  "moveMessages",
  "putMoveTask",
  "createConnection",
  "updateConnection",
  "deleteConnection",
  "createApiDestination",
  "updateApiDestination",
  "deleteApiDestination",
  "putSecret",
  "deleteSecret",
] as const satisfies ReadonlyArray<keyof SyncStore>;

/** Every method of the store but `close`. */
export type StoreMethod = (typeof READ_METHODS)[number] | (typeof WRITE_METHODS)[number];

/** Compile-time proof that the two lists name every method of the contract. */
const _everyMethodListed: [Exclude<keyof SyncStore, StoreMethod | "close">] extends [never] ? true : never =
  true;

/** Every method of the store but `close`, by name. */
export const STORE_METHODS: ReadonlySet<string> = new Set<StoreMethod>([...READ_METHODS, ...WRITE_METHODS]);

/** Wraps a driver error in a store error; other errors pass through. */
export function storeError(error: unknown): unknown {
  return error instanceof Database.SqliteError ? new StoreFailureError(error.code, { cause: error }) : error;
}

/** Runs `fn` now; its result, or its exception with driver errors wrapped, becomes the returned promise. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    try {
      resolve(fn());
    } catch (error) {
      throw storeError(error);
    }
  });
}

/** The promise-based {@link Store} over a synchronous one: each call runs at once. */
export function asyncStore(sync: SyncStore): Store {
  const store: Record<string, unknown> = { kind: "sqlite" };
  for (const method of [...STORE_METHODS, "close"]) {
    const fn = sync[method as keyof SyncStore] as (...args: unknown[]) => unknown;
    store[method] = (...args: unknown[]) => settle(() => fn.apply(sync, args));
  }
  return store as unknown as Store;
}
