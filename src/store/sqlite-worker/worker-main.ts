/**
 * The worker thread that owns the SQLite connection, so that the main thread never waits on SQLite
 * (or its fsync) while it serves requests.
 *
 * Group commit: the calls that arrive while the worker is busy, or in the same turn of its event loop,
 * run together, in arrival order, in one transaction (each in its own savepoint), and are answered
 * after its one commit; see src/store/sqlite/group-commit.ts. Those whose outcome needs no fsync are
 * answered before the log's fsync, the others after it (one fsync per group that needs one). A call
 * waits at most one turn of the event loop to be gathered (setImmediate), and while a group is being
 * written the next one gathers.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  answersBeforeSync,
  openSqliteStoreEngine,
  type CallOutcome,
  type StoreCall,
} from "../sqlite/index.js";
import type { PendingDelivery, QueueMessage, Store } from "../types.js";
import {
  flattenDeliveries,
  flattenReceived,
  unflattenMessages,
  unflattenRecords,
  unflattenRefs,
  unflattenReschedules,
  type CallMessage,
  type ErrorShape,
  type FlatMessages,
  type FlatRecords,
  type FlatRefs,
  type FlatReschedules,
  type ReplyMessage,
  type WorkerData,
} from "./protocol.js";

const data = workerData as WorkerData;
const engine = openSqliteStoreEngine({
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

/** The reply to call `id`. */
function reply(id: number, outcome: CallOutcome): ReplyMessage {
  return outcome.ok ? { id, ok: true, value: outcome.value } : { id, ok: false, error: shape(outcome.error) };
}

/** A call with a flat wire form: the store method, how to read its arguments, how to send its result. */
interface WireForm {
  readonly method: string;
  readonly args?: (args: readonly unknown[]) => unknown[];
  readonly value?: (value: unknown) => unknown;
}

/** The calls that cross flat (protocol.ts). */
const WIRE_FORMS: Readonly<Record<string, WireForm>> = {
  appendFlat: { method: "appendEvents", args: ([flat]) => [unflattenRecords(flat as FlatRecords)] },
  sendFlat: {
    method: "sendMessages",
    args: ([queue, flat]) => [queue, unflattenMessages(flat as FlatMessages)],
  },
  receiveFlat: { method: "receiveMessages", value: (value) => flattenReceived(value as QueueMessage[]) },
  dueFlat: {
    method: "listDueDeliveries",
    value: (value) => flattenDeliveries(value as PendingDelivery[]),
  },
  completeFlat: { method: "completeDeliveries", args: ([flat]) => [unflattenRefs(flat as FlatRefs)] },
  rescheduleFlat: {
    method: "rescheduleDeliveries",
    args: ([flat]) => [unflattenReschedules(flat as FlatReschedules)],
  },
};

/** The store call a message asks for. */
function storeCall(message: CallMessage): StoreCall {
  const wire = WIRE_FORMS[message.method];
  if (wire === undefined) return message;
  return { method: wire.method, args: wire.args === undefined ? message.args : wire.args(message.args) };
}

/** The reply to a call, its result in the call's wire form. */
function replyTo(message: CallMessage, outcome: CallOutcome): ReplyMessage {
  const toWire = WIRE_FORMS[message.method]?.value;
  if (toWire === undefined || !outcome.ok) return reply(message.id, outcome);
  return reply(message.id, { ok: true, value: toWire(outcome.value) });
}

/**
 * Runs one group of calls and answers them once the group is committed: at once the calls whose
 * outcome needs no fsync (reads, receives, visibility changes, and failures), in one message; then,
 * once the log is fsynced, the others, in a second one.
 */
function runGroup(messages: readonly CallMessage[]): void {
  const replies: ReplyMessage[] = [];
  const called: CallMessage[] = [];
  const calls: StoreCall[] = [];
  for (const message of messages) {
    try {
      calls.push(storeCall(message));
      called.push(message);
    } catch (error) {
      replies.push(reply(message.id, { ok: false, error }));
    }
  }
  const durable: Array<{ message: CallMessage; outcome: CallOutcome }> = [];
  if (calls.length > 0) {
    engine.runGroup(calls).forEach((outcome, i) => {
      const message = called[i] as CallMessage;
      if (outcome.ok && !answersBeforeSync(calls[i] as StoreCall)) durable.push({ message, outcome });
      else replies.push(replyTo(message, outcome));
    });
  }
  if (replies.length > 0) port?.postMessage(replies);
  if (durable.length === 0) return;
  let synced: CallOutcome | undefined;
  try {
    engine.syncLog();
  } catch (error) {
    synced = { ok: false, error };
  }
  port?.postMessage(durable.map(({ message, outcome }) => replyTo(message, synced ?? outcome)));
}

let gathered: CallMessage[] = [];
let scheduled = false;

/** Runs what has gathered: groups of calls, each `close` ending one (and closing the store). */
function flush(): void {
  scheduled = false;
  const messages = gathered;
  gathered = [];
  let start = 0;
  messages.forEach((message, i) => {
    if (message.method !== "close") return;
    runGroup(messages.slice(start, i));
    start = i + 1;
    try {
      engine.close();
      port?.postMessage([reply(message.id, { ok: true, value: undefined })]);
    } catch (error) {
      port?.postMessage([reply(message.id, { ok: false, error })]);
    }
  });
  runGroup(messages.slice(start));
}

port.on("message", (batch: readonly CallMessage[]) => {
  gathered.push(...batch);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flush);
});

/** Declares the module a worker entry point (nothing to export). */
export type WorkerEntry = Store;
