/**
 * The front thread: it owns the listening socket and serves HTTP. Each request is read (bounded),
 * its SigV4 signature verified, its protocol checked and its body parsed here; the operation runs on
 * the main thread (a call message), and its output is written back here in the protocol's shape.
 * The main thread thus spends its time on operations, matching and delivery, not on HTTP and
 * signatures.
 */
import type { AddressInfo } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { QueueError, type SqsErrorCode } from "../../queues/errors/index.js";
import { verifySignature, type CredentialLookup } from "../../auth/index.js";
import type { MetricsRefusal, RenderedMetrics } from "../../metrics/index.js";
import {
  MAX_INPUT_DEPTH,
  TOO_DEEP,
  type Input,
  type OperationTable,
  type RawRequest,
} from "../../api/wire/index.js";
import { routeApi } from "../api-router.js";
import { REPLY_GRACE_MS, closeHttpServer, createHttpServer, vouchBy } from "../http.js";
import {
  Outbox,
  type CallMessage,
  type ErrorShape,
  type FrontMessage,
  type FrontWorkerData,
  type MainMessage,
} from "./protocol.js";

const data = workerData as FrontWorkerData;
const port = parentPort;
if (port === null) throw new Error("the front thread must run in a worker thread");

/** An EventBridge-shaped error an operation threw on the main thread. */
class RemoteAwsError extends Error {
  override readonly name = "RemoteAwsError";
  constructor(
    readonly awsType: string,
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

/** An unexpected failure on the main thread (already logged there). */
class RemoteInternalError extends Error {
  override readonly name = "RemoteInternalError";
}

function errorOf(shape: ErrorShape): Error {
  switch (shape.kind) {
    case "aws":
      return new RemoteAwsError(shape.awsType, shape.httpStatus, shape.message);
    case "queue":
      return new QueueError(shape.code as SqsErrorCode, shape.message);
    case "internal":
      return new RemoteInternalError("internal error on the main thread");
  }
}

const outbox = new Outbox<FrontMessage>(
  (batch) => port.postMessage(batch),
  (message) => {
    // A call that cannot reach the main thread is answered here, with an error.
    const id = "id" in message ? message.id : undefined;
    const waiting = id === undefined ? undefined : pending.get(id);
    if (id === undefined || waiting === undefined) return;
    pending.delete(id);
    waiting.reject(new RemoteInternalError("the request could not be handed to the main thread"));
  },
);
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextId = 0;
let ready = true;
/** Whether a receive on the main thread waits for room (see HttpHandlers.replyRoom). */
let roomWanted = false;

function call(message: (id: number) => CallMessage): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    outbox.send(message(id));
  });
}

// Secrets of access keys, each reused for keyCacheMs; lookups of one key in flight share one call.
type KeyFound = { secretAccessKey: string; accountId: string } | null;
const keys = new Map<string, { at: number; secret: Promise<KeyFound> }>();
function secretOf(accessKeyId: string): Promise<KeyFound> {
  const hit = keys.get(accessKeyId);
  if (hit !== undefined && Date.now() - hit.at < data.keyCacheMs) return hit.secret;
  const secret = call((id) => ({ t: "key", id, accessKeyId })) as Promise<KeyFound>;
  if (keys.size > 10_000) keys.clear();
  keys.set(accessKeyId, { at: Date.now(), secret });
  secret.catch(() => keys.delete(accessKeyId));
  return secret;
}

/** The caller a verified signature names; what it may do is decided on the main thread. */
interface SignedBy {
  readonly accessKeyId: string;
}

const credentials: CredentialLookup = async (accessKeyId) => (await secretOf(accessKeyId)) ?? undefined;

const verify = async (request: RawRequest, service: string): Promise<SignedBy> => {
  const v = await verifySignature(request, credentials, { service, region: data.region });
  return { accessKeyId: v.accessKeyId };
};

const onInternalError = (err: unknown, operation: string, requestId: string): void => {
  // A failure in shape from the main thread (the store's) was logged there, as the node logs the
  // store's failures: the first, then one line a minute while they repeat, not one per request.
  if (err instanceof RemoteAwsError) return;
  // The main thread logged what failed there; this line ties it to the request's id.
  if (err instanceof RemoteInternalError) {
    outbox.send({ t: "log", message: "internal error on the main thread", operation, requestId });
    return;
  }
  outbox.send({
    t: "log",
    message: "internal error on the front thread",
    err: err instanceof Error ? (err.stack ?? err.message) : String(err),
    operation,
    requestId,
  });
};

// The deepest input handed to the main thread (MAX_INPUT_DEPTH). A message is copied between threads
// by a recursive structured clone, which a deeply nested input overflows: the post throws, or the main
// thread cannot read the message and it is never answered. parseJsonBody refuses such a body before
// it parses it only when it is large; a small one is refused here, once parsed.

/** Whether `value` nests objects or arrays deeper than `max` levels. */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== "object") continue;
    if (depth > max) return true;
    for (const child of Object.values(v))
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
  }
  return false;
}

const eventsOperations: OperationTable<SignedBy> = Object.fromEntries(
  data.eventsOperations.map((op) => [
    op,
    (ctx: SignedBy, input: Input) =>
      nestedDeeperThan(input, MAX_INPUT_DEPTH)
        ? Promise.reject(new RemoteAwsError("SerializationException", 400, TOO_DEEP))
        : (call((id) => ({ t: "events", id, op, accessKeyId: ctx.accessKeyId, input })) as Promise<
            Record<string, unknown>
          >),
  ]),
);
const sqsOperations = new Set(data.sqsOperations);

const api = routeApi<SignedBy, SignedBy>({
  events: { operations: eventsOperations, authenticate: (r) => verify(r, "events"), onInternalError },
  sqs: {
    authenticate: (r) => verify(r, "sqs"),
    operation: (op) =>
      sqsOperations.has(op)
        ? (caller, baseUrl, input, client) =>
            nestedDeeperThan(input, MAX_INPUT_DEPTH)
              ? Promise.reject(new QueueError("MalformedInput", TOO_DEEP))
              : (call((id) => {
                  // The client went away: the main thread stops the receive's wait.
                  client
                    ?.signal()
                    .addEventListener("abort", () => outbox.send({ t: "cancel", id }), { once: true });
                  return { t: "sqs", id, op, accessKeyId: caller.accessKeyId, baseUrl, input };
                }) as Promise<Record<string, unknown>>)
        : undefined,
    onInternalError,
  },
});

const server = createHttpServer({
  maxBodyBytes: data.maxBodyBytes,
  maxBytesInFlight: data.maxBytesInFlight,
  requestTimeoutMs: data.requestTimeoutMs,
  metricsToken: data.metricsToken,
  maxConnections: data.maxConnections,
  api,
  ready: () => ready,
  metrics: (gzip, caller) =>
    call((id) => ({ t: "metrics", id, gzip, ...(caller !== undefined && { caller }) })) as Promise<
      RenderedMetrics | MetricsRefusal
    >,
  vouch: vouchBy(credentials),
  // The main thread's room, which its receives wait in.
  replyRoom: {
    hold: (bytes) => outbox.send({ t: "room", bytes }),
    give: (bytes) => outbox.send({ t: "room", bytes: -bytes }),
    wanted: () => roomWanted,
  },
});

port.on("message", (batch: readonly MainMessage[]) => {
  for (const m of batch) {
    if (m.t === "reply") {
      const p = pending.get(m.id);
      if (p === undefined) continue;
      pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(errorOf(m.error));
    } else if (m.t === "ready") ready = m.value;
    else if (m.t === "room-wanted") roomWanted = m.value;
    else void close();
  }
});

async function close(): Promise<void> {
  ready = false;
  await closeHttpServer(server, REPLY_GRACE_MS);
  port?.postMessage([{ t: "closed" }] satisfies FrontMessage[]);
}

server.once("error", (e: NodeJS.ErrnoException) => {
  port.postMessage([{ t: "listen-failed", message: e.message, code: e.code }] satisfies FrontMessage[]);
});
server.listen(data.port, data.host, () => {
  const a = server.address() as AddressInfo;
  port.postMessage([
    { t: "listening", address: a.address, family: a.family, port: a.port },
  ] satisfies FrontMessage[]);
});
