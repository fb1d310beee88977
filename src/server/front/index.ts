/**
 * The front thread, seen from the main thread: it is started with the node's HTTP settings, and
 * every call it makes (run an operation, look up an access key's secret, render metrics) is answered
 * here. Replies go back in one message per task of the main thread (protocol.ts, Outbox).
 */
import { startWorker } from "../../threads/index.js";
import { urlOf, type Listener } from "../http.js";
import { isAwsShaped, LazyAbort, type ClientPresence, type Input } from "../../api/index.js";
import type { Logger } from "../../log/index.js";
import type { MetricsScrape } from "../../metrics/index.js";
import { QueueError, storeErrorOf, type ReceiveRoom } from "../../queues/index.js";
import {
  Outbox,
  type CallMessage,
  type ErrorShape,
  type FrontMessage,
  type FrontWorkerData,
  type MainMessage,
} from "./protocol.js";

/** What the front thread's calls run against. */
export interface FrontHandlers {
  /** Runs an EventBridge operation for a caller whose signature the front thread verified. */
  events(op: string, accessKeyId: string, input: Input): Promise<Record<string, unknown>>;
  /** Runs an SQS operation likewise; throws QueueError for SQS's own errors. */
  sqs(
    op: string,
    accessKeyId: string,
    baseUrl: string,
    input: Input,
    client?: ClientPresence,
  ): Promise<Record<string, unknown>>;
  /** The secret of an access key and its account, read from the store (`undefined` when it does not exist). */
  secret(accessKeyId: string): Promise<{ secretAccessKey: string; accountId: string } | undefined>;
  metrics: MetricsScrape;
  /** Reports an unexpected failure of an operation (the request's id is the front thread's to log). */
  onInternalError(error: unknown, operation: string, requestId?: string): void;
  /** The room the receives wait in, which holds the front thread's unsent replies too (http.ts ReplyRoom). */
  readonly room?: ReceiveRoom;
}

/** A running front thread: the node's listener. */
export interface Front extends Listener {
  /** Sets what `/readyz` answers. */
  setReady(ready: boolean): void;
}

function shapeOf(e: unknown, api: "events" | "sqs"): ErrorShape | undefined {
  if (api === "sqs") {
    if (e instanceof QueueError) return { kind: "queue", code: e.code, message: e.message };
    const error = storeErrorOf(e);
    return error === undefined ? undefined : { kind: "queue", code: error.code, message: error.message };
  }
  return isAwsShaped(e)
    ? { kind: "aws", awsType: e.awsType, httpStatus: e.httpStatus, message: e.message }
    : undefined;
}

/** Starts the front thread and resolves once it listens (rejects if it cannot). */
export async function startFront(
  data: FrontWorkerData,
  handlers: FrontHandlers,
  log: Logger,
): Promise<Front> {
  const worker = startWorker(import.meta.url, "worker-main", data);
  const outbox = new Outbox<MainMessage>(
    (batch) => worker.postMessage(batch),
    (message, err) => {
      // A reply that cannot be copied to the front thread: the request gets the internal error instead.
      if (message.t !== "reply") return;
      log.error({ err }, "a reply could not be handed to the front thread");
      outbox.send({ t: "reply", id: message.id, ok: false, error: { kind: "internal" } });
    },
  );
  handlers.room?.onWanted((value) => outbox.send({ t: "room-wanted", value }));
  let onClosed: (() => void) | undefined;
  let listening: ((m: FrontMessage) => void) | undefined;
  let exited = false;

  const answer = (id: number, work: Promise<unknown>, api: "events" | "sqs" | "other", op: string) => {
    work.then(
      (value) => outbox.send({ t: "reply", id, ok: true, value }),
      (e: unknown) => {
        // A key lookup the store failed is answered in shape too (the front thread's authentication
        // then fails with it), not as an unexpected failure logged again per request there.
        let error = shapeOf(e, api === "other" ? "events" : api);
        if (error === undefined) {
          handlers.onInternalError(e, op);
          error = { kind: "internal" };
        } else if (
          (e instanceof Error && e.name === "StoreFailureError") ||
          (error.kind === "aws" &&
            error.httpStatus >= 500 &&
            error.awsType !== "ServiceUnavailableException") ||
          (error.kind === "queue" && error.code === "InternalError")
        ) {
          // The server's own failure in shape (the store's, a full disk's 503 too): reported here, with
          // what failed. A refusal it chose (503: low on disk) is not a failure, and is logged where it
          // was chosen.
          handlers.onInternalError(e, op);
        }
        outbox.send({ t: "reply", id, ok: false, error });
      },
    );
  };

  /** The receives in flight, by call id, that the front thread may cancel. */
  const cancellable = new Map<number, LazyAbort>();

  const serve = (m: CallMessage) => {
    switch (m.t) {
      case "events":
        answer(m.id, handlers.events(m.op, m.accessKeyId, m.input), "events", m.op);
        break;
      case "sqs": {
        // A receive may be cancelled by the front thread (its client went away): see "cancel".
        if (m.op !== "ReceiveMessage") {
          answer(m.id, handlers.sqs(m.op, m.accessKeyId, m.baseUrl, m.input), "sqs", m.op);
          break;
        }
        const client = new LazyAbort();
        cancellable.set(m.id, client);
        const work = handlers.sqs(m.op, m.accessKeyId, m.baseUrl, m.input, client);
        answer(m.id, work, "sqs", m.op);
        void work.then(
          () => cancellable.delete(m.id),
          () => cancellable.delete(m.id),
        );
        break;
      }
      case "key":
        answer(
          m.id,
          handlers.secret(m.accessKeyId).then((s) => s ?? null),
          "other",
          "access key lookup",
        );
        break;
      case "metrics":
        answer(m.id, handlers.metrics(m.gzip, m.caller), "other", "metrics");
        break;
    }
  };

  worker.on("message", (batch: readonly FrontMessage[]) => {
    for (const m of batch) {
      switch (m.t) {
        case "listening":
        case "listen-failed":
          listening?.(m);
          break;
        case "closed":
          onClosed?.();
          break;
        case "log":
          log.error(
            {
              ...(m.err !== undefined && { err: m.err }),
              operation: m.operation,
              ...(m.requestId !== undefined && { requestId: m.requestId }),
            },
            m.message,
          );
          break;
        case "cancel":
          cancellable.get(m.id)?.abort();
          break;
        case "room":
          if (m.bytes > 0) handlers.room?.hold(m.bytes);
          else handlers.room?.give(-m.bytes);
          break;
        default:
          serve(m);
      }
    }
  });
  worker.on("exit", () => (exited = true));

  const first = await new Promise<FrontMessage>((resolve, reject) => {
    listening = resolve;
    worker.once("error", reject);
  });
  // Without its front thread the node serves nothing: stop, so that a supervisor starts it again
  // (everything acknowledged is durable).
  worker.on("error", (err) => {
    log.fatal({ err }, "the front thread failed; stopping");
    process.exit(1);
  });
  if (first.t === "listen-failed") {
    await worker.terminate();
    const e = new Error(first.message) as NodeJS.ErrnoException;
    if (first.code !== undefined) e.code = first.code;
    throw e;
  }
  if (first.t !== "listening") throw new Error(`unexpected first message from the front thread: ${first.t}`);

  let closing: Promise<void> | undefined;
  return {
    url: urlOf(first),
    setReady(ready) {
      outbox.send({ t: "ready", value: ready });
    },
    close() {
      closing ??= exited
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onClosed = resolve;
            outbox.send({ t: "close" });
          });
      return closing;
    },
    // The thread closed its connections before it said "closed": what is left is to end it.
    async closeConnections() {
      await worker.terminate();
    },
  };
}
