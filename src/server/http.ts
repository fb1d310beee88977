/**
 * The HTTP front: one port for the EventBridge and SQS APIs, health, readiness and metrics. Bodies
 * are bounded; a request over the limit gets 413 in the AWS error shape of its API, its body read and
 * dropped (up to DRAIN_LIMIT_BYTES) so that the client can read the 413, and never kept.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { randomUUID, timingSafeEqual } from "node:crypto";
import {
  SQS_TARGET_PREFIX,
  sqsErrorResponse,
  sqsQueryErrorResponse,
  LazyAbort,
  type RawRequest,
  type RawResponse,
} from "../api/wire/index.js";
import { QueueError } from "../queues/errors/index.js";

/** How requests are answered. */
export interface HttpHandlers {
  readonly maxBodyBytes: number;
  /** Answers `POST /` requests with an X-Amz-Target. */
  readonly api: (request: RawRequest) => Promise<RawResponse>;
  /** Whether the node is ready to accept events. */
  readonly ready: () => boolean;
  /** The Prometheus text exposition of the node's metrics (`GET /metrics`). */
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
  /** When set, `GET /metrics` needs `Authorization: Bearer <metricsToken>` (BUSBAR_METRICS_TOKEN). */
  readonly metricsToken?: string | undefined;
}

/**
 * Whether the request's Authorization header is `Bearer <token>`: the scheme in any case (RFC 7235),
 * the token compared in constant time.
 */
function bearerIs(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const space = header.indexOf(" ");
  if (space === -1 || header.slice(0, space).toLowerCase() !== "bearer") return false;
  const given = Buffer.from(header.slice(space + 1));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function send(res: ServerResponse, r: RawResponse): void {
  res.writeHead(r.status, { ...r.headers, "content-length": Buffer.byteLength(r.body) });
  res.end(r.body);
}

/** The 413 of the request's API: SQS JSON, SQS query (XML), or EventBridge. */
function tooLarge(limit: number, req: IncomingMessage): RawResponse {
  const target = req.headers["x-amz-target"];
  const form = (req.headers["content-type"] ?? "")
    .toLowerCase()
    .startsWith("application/x-www-form-urlencoded");
  const error = new QueueError("RequestEntityTooLarge", `Request body exceeds ${limit} bytes.`);
  if (form) return sqsQueryErrorResponse(error);
  if (typeof target === "string" && target.startsWith(SQS_TARGET_PREFIX)) return sqsErrorResponse(error);
  return {
    status: 413,
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-errortype": "RequestEntityTooLargeException",
      "x-amzn-requestid": randomUUID(),
    },
    body: JSON.stringify({
      __type: "RequestEntityTooLargeException",
      message: `Request body exceeds ${limit} bytes.`,
    }),
  };
}

/**
 * A body over the limit is still read, and dropped, up to this many bytes in all before the 413: a
 * client still sending when the reply came would see its connection reset instead of the 413 (and an
 * SDK would retry the upload). Past it, the 413 goes at once and the connection is closed.
 */
export const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

/** The request's body, or undefined when it is over the limit (read to its end unless past DRAIN_LIMIT_BYTES). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > DRAIN_LIMIT_BYTES) {
      resolve(undefined);
      return;
    }
    let chunks: Buffer[] | undefined = declared > limit ? undefined : [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) chunks = undefined;
      if (size > DRAIN_LIMIT_BYTES) {
        resolve(undefined);
        req.pause();
        return;
      }
      chunks?.push(chunk);
    });
    req.on("end", () => resolve(chunks === undefined ? undefined : Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

/** The requests a server has begun to receive and not yet answered, and whether it is closing. */
interface Answering {
  readonly open: Set<ServerResponse>;
  closing: boolean;
  drained?: () => void;
}

const answering = new WeakMap<Server, Answering>();

/**
 * Stops a server made by {@link createHttpServer}: it accepts no more connections, answers every
 * request it has begun to receive (one whose body is still arriving too, for up to
 * {@link UPLOAD_GRACE_MS}) with `Connection: close`, and closes each connection as its reply ends;
 * what is left `graceMs` after the last reply is closed.
 */
export async function closeHttpServer(server: Server, graceMs: number): Promise<void> {
  const state = answering.get(server);
  const closed = new Promise<void>((resolve) => server.close(() => resolve())); // closes idle connections
  if (state !== undefined) {
    state.closing = true;
    for (const res of state.open) if (!res.headersSent) res.setHeader("connection", "close");
    // A body still not all there after UPLOAD_GRACE_MS will not come (a stalled client): its
    // connection is closed rather than holding the stop for ever.
    const stalled = setTimeout(() => {
      for (const res of state.open) if (!res.req.complete) res.req.socket.destroy();
    }, UPLOAD_GRACE_MS);
    if (state.open.size > 0) await new Promise<void>((resolve) => (state.drained = resolve));
    clearTimeout(stalled);
  }
  await closeConnectionsAsAnswered(server, graceMs);
  await closed;
}

/**
 * Closes the server's connections as their replies end (a connection is idle once its reply is
 * handed to the operating system), then, after `ms`, whatever is left. Closing them all at once would
 * cut off a reply still being written.
 */
async function closeConnectionsAsAnswered(server: Server, ms: number): Promise<void> {
  const end = Date.now() + ms;
  const open = (): Promise<number> =>
    new Promise((resolve) => server.getConnections((_, count) => resolve(count)));
  server.closeIdleConnections();
  while (Date.now() < end && (await open()) > 0) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    server.closeIdleConnections();
  }
  server.closeAllConnections();
}

/** Creates the HTTP server (not yet listening). */
export function createHttpServer(handlers: HttpHandlers): Server {
  const state: Answering = { open: new Set(), closing: false };
  const answered = (res: ServerResponse): void => {
    if (state.open.delete(res) && state.open.size === 0) state.drained?.();
  };
  // The responses of each connection: a pipelined request's response queued behind another never
  // emits "close" when the connection closes, so the connection's own "close" answers for them (a
  // SIGTERM waited for them for ever).
  const ofSocket = new WeakMap<Socket, Set<ServerResponse>>();
  const server = createServer((req, res) => {
    state.open.add(res);
    if (state.closing) res.setHeader("connection", "close");
    const socket = req.socket;
    let responses = ofSocket.get(socket);
    if (responses === undefined) {
      const mine = new Set<ServerResponse>();
      responses = mine;
      ofSocket.set(socket, mine);
      socket.once("close", () => {
        for (const r of mine) answered(r);
        mine.clear();
      });
    }
    responses.add(res);
    res.once("close", () => {
      responses.delete(res);
      answered(res);
    });
    void handle(req, res, handlers).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end('{"__type":"InternalException","message":"internal error"}');
      } else res.destroy();
    });
  });
  // `Expect: 100-continue` with a declared body over the limit: the 413 at once, instead of a
  // 100 Continue that has the client upload the whole body first.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers["content-length"] ?? 0) > handlers.maxBodyBytes) {
      res.setHeader("connection", "close");
      send(res, tooLarge(handlers.maxBodyBytes, req));
      return;
    }
    res.writeContinue();
    server.emit("request", req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  answering.set(server, state);
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, handlers: HttpHandlers): Promise<void> {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  // HEAD too: probes that only look at the status (node sends no body for HEAD).
  const get = req.method === "GET" || req.method === "HEAD";
  if (get && path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return;
  }
  if (get && path === "/readyz") {
    const ready = handlers.ready();
    res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready\n" : "not ready\n");
    return;
  }
  if (get && path === "/metrics" && handlers.metrics !== undefined) {
    if (handlers.metricsToken !== undefined && !bearerIs(req, handlers.metricsToken)) {
      res
        .writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="busbar metrics"' })
        .end("/metrics needs Authorization: Bearer <BUSBAR_METRICS_TOKEN>\n");
      return;
    }
    const m = await handlers.metrics();
    res.writeHead(200, { "content-type": m.contentType }).end(m.body);
    return;
  }
  const body = await readBody(req, handlers.maxBodyBytes);
  if (body === undefined) {
    res.setHeader("connection", "close");
    send(res, tooLarge(handlers.maxBodyBytes, req));
    return;
  }
  send(
    res,
    await handlers.api({
      method: req.method ?? "GET",
      path,
      query: q === -1 ? "" : url.slice(q + 1),
      // Repeated headers as a list each, so that SigV4 canonicalises them exactly.
      headers: req.headersDistinct,
      body,
      client: new ResponseClient(res),
    }),
  );
}

/**
 * The client of a request served here: gone when its connection closes before the reply is written
 * (watched from the first call of `signal`).
 */
class ResponseClient extends LazyAbort {
  #res: ServerResponse | undefined;

  constructor(res: ServerResponse) {
    super();
    this.#res = res;
  }

  override signal(): AbortSignal {
    const res = this.#res;
    if (res !== undefined) {
      this.#res = undefined;
      if (res.destroyed) this.abort();
      else res.once("close", () => res.writableFinished || this.abort());
    }
    return super.signal();
  }
}

/** How long a stop waits for the last replies to reach the network before closing their connections. */
export const REPLY_GRACE_MS = 2_000;

/** How long a stop waits for the bodies of requests still arriving (see {@link closeHttpServer}). */
export const UPLOAD_GRACE_MS = 10_000;

/** An HTTP listener of the node: its URL, and its two-step close. */
export interface Listener {
  readonly url: string;
  /** Stops accepting; resolves once the requests taken are answered. */
  close(): Promise<void>;
  /** Closes every connection that is left. */
  closeConnections(): Promise<void>;
}

/** The base URL of a listening address (`http://[::1]:8380` for IPv6). */
export function urlOf(a: Pick<AddressInfo, "address" | "family" | "port">): string {
  return `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
}

/** Serves HTTP on the calling thread (BUSBAR_HTTP_THREADS=0). */
export async function listenOnMain(
  address: {
    readonly host: string;
    readonly port: number;
    readonly maxBodyBytes: number;
    readonly metricsToken: string | undefined;
  },
  api: HttpHandlers["api"],
  ready: () => boolean,
  metrics: NonNullable<HttpHandlers["metrics"]>,
): Promise<Listener> {
  const { maxBodyBytes, metricsToken } = address;
  const server = createHttpServer({ maxBodyBytes, api, ready, metrics, metricsToken });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  let closed: Promise<void> | undefined;
  return {
    url: urlOf(server.address() as AddressInfo),
    close() {
      return (closed ??= closeHttpServer(server, REPLY_GRACE_MS));
    },
    async closeConnections() {
      server.closeAllConnections();
      await closed;
    },
  };
}
