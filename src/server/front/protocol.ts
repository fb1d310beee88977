/**
 * The messages between the main thread and the front thread. The front thread serves HTTP: it reads
 * requests, verifies their SigV4 signatures, parses and checks the protocol, and writes replies; the
 * main thread runs the operations. Messages travel in arrays (see {@link Outbox}).
 */
import type { Input } from "../../api/wire/index.js";
import type { MetricsCaller } from "../../metrics/index.js";

/** What the front thread is started with. */
export interface FrontWorkerData {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly maxBytesInFlight: number;
  readonly requestTimeoutMs: number;
  /** BUSBAR_METRICS_TOKEN: the bearer token `GET /metrics` needs, when set. */
  readonly metricsToken: string | undefined;
  /** BUSBAR_MAX_CONNECTIONS: the connections served at once. */
  readonly maxConnections: number;
  /** How long an access key's secret is reused before it is asked for again. */
  readonly keyCacheMs: number;
  /** The node's region: signatures must be scoped to it. */
  readonly region: string;
  /** The names of the EventBridge operations and of the SQS operations. */
  readonly eventsOperations: readonly string[];
  readonly sqsOperations: readonly string[];
}

/** A call from the front thread; the main thread answers each with a {@link ReplyMessage} of its id. */
export type CallMessage =
  | {
      readonly t: "events";
      readonly id: number;
      readonly op: string;
      readonly accessKeyId: string;
      readonly input: Input;
    }
  | {
      readonly t: "sqs";
      readonly id: number;
      readonly op: string;
      readonly accessKeyId: string;
      readonly baseUrl: string;
      readonly input: Input;
    }
  /**
   * The secret of an access key, for a signature check, and its account (`null` when the key does not
   * exist).
   */
  | { readonly t: "key"; readonly id: number; readonly accessKeyId: string }
  /** Prometheus text of the node's metrics, compressed when `gzip`; a caller's account's alone, when given. */
  | { readonly t: "metrics"; readonly id: number; readonly gzip: boolean; readonly caller?: MetricsCaller };

/** A notice from the front thread (no reply). */
export type NoticeMessage =
  | { readonly t: "listening"; readonly address: string; readonly family: string; readonly port: number }
  | { readonly t: "listen-failed"; readonly message: string; readonly code: string | undefined }
  /** The front thread stopped accepting and every request it had taken is answered. */
  | { readonly t: "closed" }
  | {
      readonly t: "log";
      readonly message: string;
      /** Absent when the main thread logged the error itself. */
      readonly err?: string;
      readonly operation: string;
      readonly requestId?: string;
    }
  /** The client of call `id` went away before its reply (a long poll then stops waiting). */
  | { readonly t: "cancel"; readonly id: number }
  /** Bytes of unsent replies held in the main thread's room (given back when negative; see http.ts ReplyRoom). */
  | { readonly t: "room"; readonly bytes: number };

export type FrontMessage = CallMessage | NoticeMessage;

/** How an operation failed, in a form that crosses threads. */
export type ErrorShape =
  /** An EventBridge-shaped error (ApiError, AuthError, store errors): its type, status and message. */
  | { readonly kind: "aws"; readonly awsType: string; readonly httpStatus: number; readonly message: string }
  /** An SQS error: its code. */
  | { readonly kind: "queue"; readonly code: string; readonly message: string }
  /** Anything else: logged on the main thread; the client gets the protocol's internal error. */
  | { readonly kind: "internal" };

/** The answer to a call, or a command from the main thread. */
export type MainMessage =
  | { readonly t: "reply"; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly t: "reply"; readonly id: number; readonly ok: false; readonly error: ErrorShape }
  /** Whether the node is ready (`/readyz`). */
  | { readonly t: "ready"; readonly value: boolean }
  /** Whether a receive waits for room (the front thread then holds unsent replies to a pace). */
  | { readonly t: "room-wanted"; readonly value: boolean }
  /** Stop accepting, answer what was taken, close the connections, then say "closed". */
  | { readonly t: "close" };

/**
 * Collects the messages of one task (everything up to the next microtask checkpoint: the replies a
 * batch of store results completes, say) and posts them as one array. Waiting for the end of the
 * event loop's turn (setImmediate) gathered more per message but cost the queue benchmark ~10% of
 * its throughput in added latency, and gained nothing for ingest.
 */
export class Outbox<M> {
  private batch: M[] = [];
  private scheduled = false;

  /**
   * @param unsendable hears of a message that cannot be posted (its copy between threads failed),
   *   so that whoever waits for its answer is told; the batch's other messages still go.
   */
  constructor(
    private readonly post: (batch: readonly M[]) => void,
    private readonly unsendable: (message: M, error: unknown) => void,
  ) {}

  send(message: M): void {
    this.batch.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const batch = this.batch;
      this.batch = [];
      try {
        this.post(batch);
      } catch {
        for (const m of batch) {
          try {
            this.post([m]);
          } catch (error) {
            this.unsendable(m, error);
          }
        }
      }
    });
  }
}
