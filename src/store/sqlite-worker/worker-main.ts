/**
 * The worker thread that owns the SQLite connection: it runs store calls one at a time, in arrival
 * order, so that the main thread never waits on SQLite (or its fsync) while it serves requests.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openSqliteStore } from "../sqlite/index.js";
import type { Store } from "../types.js";
import {
  unflattenRecords,
  type CallMessage,
  type ErrorShape,
  type FlatRecords,
  type ReplyMessage,
  type WorkerData,
} from "./protocol.js";

const data = workerData as WorkerData;
const store = openSqliteStore({
  dataDir: data.dataDir,
  ...(data.fileName !== undefined && { fileName: data.fileName }),
});
const port = parentPort;
if (port === null) throw new Error("worker-main must run in a worker thread");

function shape(e: unknown): ErrorShape {
  if (!(e instanceof Error)) return { name: "Error", message: String(e) };
  const x = e as Error & Partial<Omit<ErrorShape, "name" | "message">>;
  return {
    name: x.name,
    message: x.message,
    ...(typeof x.code === "string" && { code: x.code }),
    ...(typeof x.awsType === "string" && { awsType: x.awsType }),
    ...(typeof x.httpStatus === "number" && { httpStatus: x.httpStatus }),
    ...(typeof x.retryable === "boolean" && { retryable: x.retryable }),
  };
}

/** The store's methods, and `appendFlat`: `appendEvents` of records sent flat. */
const methods = store as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
const appendFlat = (flat: FlatRecords): Promise<void> => store.appendEvents(unflattenRecords(flat));

port.on("message", (call: CallMessage) => {
  const method = call.method === "appendFlat" ? appendFlat : methods[call.method];
  const reply = (m: ReplyMessage): void => port.postMessage(m);
  if (typeof method !== "function") {
    reply({
      id: call.id,
      ok: false,
      error: { name: "TypeError", message: `no store method ${call.method}` },
    });
    return;
  }
  (method as (...args: unknown[]) => Promise<unknown>).apply(store, [...call.args]).then(
    (value) => reply({ id: call.id, ok: true, value }),
    (e: unknown) => reply({ id: call.id, ok: false, error: shape(e) }),
  );
});

/** Declares the module a worker entry point (nothing to export). */
export type WorkerEntry = Store;
