/**
 * The SQLite store on a worker thread: the same contract, with every call posted to a thread that
 * owns the connection. The main thread keeps serving requests while SQLite writes and fsyncs, which
 * puts the second core to work, and the calls that reach the worker together share one commit
 * (worker-main.ts).
 */
import { startWorker } from "../../threads/index.js";
import type {
  DeliveryRef,
  DeliveryReschedule,
  IngestRecord,
  NewMessage,
  PendingDelivery,
  QueueRef,
  ReceiveOptions,
  Store,
} from "../types.js";
import {
  flattenMessages,
  flattenRecords,
  flattenRefs,
  flattenReschedules,
  unflattenDeliveries,
  unflattenReceived,
  type FlatDeliveries,
  type FlatReceived,
  type CallMessage,
  type ErrorShape,
  type ReplyMessage,
  type WorkerData,
} from "./protocol.js";

/** A store error re-created on the calling side, with the AWS shape it had in the worker. */
export class RemoteStoreError extends Error {
  override readonly name: string;
  readonly code: string | undefined;
  readonly awsType: string;
  readonly httpStatus: number;
  readonly retryable: boolean;

  constructor(shape: ErrorShape) {
    super(shape.message);
    this.name = shape.name;
    this.code = shape.code;
    this.awsType = shape.awsType ?? "InternalException";
    this.httpStatus = shape.httpStatus ?? 500;
    this.retryable = shape.retryable ?? false;
  }
}

/** Options of {@link openSqliteStoreInWorker}. */
export interface SqliteWorkerStoreOptions {
  readonly dataDir: string;
  readonly fileName?: string;
}

const METHODS = [
  "putAccount",
  "getAccount",
  "listAccounts",
  "putAccessKey",
  "getAccessKey",
  "listAccessKeys",
  "deleteAccessKey",
  "createBus",
  "getBus",
  "listBuses",
  "updateBus",
  "deleteBus",
  "putRule",
  "getRule",
  "listRules",
  "listAllRules",
  "deleteRule",
  "putTargets",
  "removeTargets",
  "listTargets",
  "listRuleNamesByTarget",
  "getTags",
  "tagResource",
  "untagResource",
  "appendEvents",
  "getEvent",
  "countEvents",
  "reusableBytes",
  "listDueDeliveries",
  "listDeliveriesOfEvent",
  "getEvents",
  "countDeliveries",
  "completeDeliveries",
  "rescheduleDeliveries",
  "dropDeliveries",
  "sweepEventsBefore",
  "createQueue",
  "getQueue",
  "listQueues",
  "updateQueue",
  "deleteQueue",
  "retireQueue",
  "listDeadLetterSourceQueues",
  "sendMessages",
  "receiveMessages",
  "deleteMessages",
  "changeVisibility",
  "purgeQueue",
  "countMessages",
  "countInFlight",
  "countMessagesFrom",
  "sweepExpiredMessages",
  "sweepExpiredDeduplication",
  "moveMessages",
  "putMoveTask",
  "getMoveTask",
  "listMoveTasks",
  "listActiveMoveTasks",
  "createConnection",
  "getConnection",
  "listConnections",
  "countConnections",
  "updateConnection",
  "deleteConnection",
  "createApiDestination",
  "getApiDestination",
  "listApiDestinations",
  "countApiDestinations",
  "updateApiDestination",
  "deleteApiDestination",
  "putSecret",
  "getSecret",
  "deleteSecret",
] as const satisfies ReadonlyArray<Exclude<keyof Store, "kind" | "close">>;

/** Compile-time proof that the proxy exposes every method of the contract. */
const _everyMethodProxied: [Exclude<keyof Store, (typeof METHODS)[number] | "kind" | "close">] extends [never]
  ? true
  : never = true;

/** Opens the SQLite store in a worker thread; resolves once it is open (or rejects with why not). */
export async function openSqliteStoreInWorker(options: SqliteWorkerStoreOptions): Promise<Store> {
  const data: WorkerData = {
    dataDir: options.dataDir,
    ...(options.fileName !== undefined && { fileName: options.fileName }),
  };
  const worker = startWorker(import.meta.url, "worker-main", data);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let nextId = 0;
  let failure: Error | undefined;

  worker.on("message", (replies: readonly ReplyMessage[]) => {
    for (const m of replies) {
      const p = pending.get(m.id);
      if (p === undefined) continue;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new RemoteStoreError(m.error));
    }
  });
  const fail = (e: Error): void => {
    failure = e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`the store worker exited (code ${code})`)));

  // Calls made in the same turn (before the microtasks run out) cross to the worker as one message:
  // one structured clone and one wake-up of the worker for all of them.
  let outgoing: CallMessage[] = [];
  const send = (): void => {
    const batch = outgoing;
    outgoing = [];
    worker.postMessage(batch);
  };
  const call = (method: string, args: readonly unknown[]): Promise<unknown> => {
    if (failure !== undefined) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      if (outgoing.push({ id, method, args }) === 1) queueMicrotask(send);
    });
  };

  // A first call proves the store opened (an open error surfaces here).
  await call("countEvents", []);
  const proxy: Record<string, unknown> = { kind: "sqlite" };
  for (const m of METHODS) proxy[m] = (...args: unknown[]) => call(m, args);
  proxy.appendEvents = (records: readonly IngestRecord[]) => call("appendFlat", [flattenRecords(records)]);
  // async, so that messages that cannot be flattened reject rather than throw.
  proxy.sendMessages = async (queue: QueueRef, messages: readonly NewMessage[]) =>
    call("sendFlat", [queue, flattenMessages(messages)]);
  proxy.receiveMessages = async (queue: QueueRef, options: ReceiveOptions) =>
    unflattenReceived((await call("receiveFlat", [queue, options])) as FlatReceived);
  proxy.listDueDeliveries = async (dueBy: number, limit: number, after?: PendingDelivery) =>
    unflattenDeliveries(
      (await call("dueFlat", after === undefined ? [dueBy, limit] : [dueBy, limit, after])) as FlatDeliveries,
    );
  proxy.completeDeliveries = async (refs: readonly DeliveryRef[]) =>
    call("completeFlat", [flattenRefs(refs)]);
  proxy.rescheduleDeliveries = async (changes: readonly DeliveryReschedule[]) =>
    call("rescheduleFlat", [flattenReschedules(changes)]);
  proxy.close = async () => {
    await call("close", []);
    await worker.terminate();
  };
  return proxy as unknown as Store;
}
