/**
 * The HTTP front: one port for the EventBridge and SQS APIs, health, readiness and metrics. Bodies
 * are bounded; a request over the limit gets 413 in the AWS error shape of its API and is never read further.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  SQS_TARGET_PREFIX,
  sqsErrorResponse,
  sqsQueryErrorResponse,
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
    },
    body: JSON.stringify({
      __type: "RequestEntityTooLargeException",
      message: `Request body exceeds ${limit} bytes.`,
    }),
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

/** Creates the HTTP server (not yet listening). */
export function createHttpServer(handlers: HttpHandlers): Server {
  const server = createServer((req, res) => {
    void handle(req, res, handlers).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end('{"__type":"InternalException","message":"internal error"}');
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, handlers: HttpHandlers): Promise<void> {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  if (req.method === "GET" && path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return;
  }
  if (req.method === "GET" && path === "/readyz") {
    const ready = handlers.ready();
    res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready\n" : "not ready\n");
    return;
  }
  if (req.method === "GET" && path === "/metrics" && handlers.metrics !== undefined) {
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
    }),
  );
}

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
  address: { readonly host: string; readonly port: number; readonly maxBodyBytes: number },
  api: HttpHandlers["api"],
  ready: () => boolean,
  metrics: NonNullable<HttpHandlers["metrics"]>,
): Promise<Listener> {
  const server = createHttpServer({ maxBodyBytes: address.maxBodyBytes, api, ready, metrics });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  let closed: Promise<void> | undefined;
  return {
    url: urlOf(server.address() as AddressInfo),
    close() {
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      return Promise.resolve();
    },
    async closeConnections() {
      server.closeAllConnections();
      await closed;
    },
  };
}
