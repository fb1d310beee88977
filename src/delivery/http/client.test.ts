/**
 * The HTTP client of targets against real loopback servers: what it keeps of responses (bodies,
 * headers, caps), how it fails (timeouts, resets, refused addresses, the stop signal), and that its
 * keep-alive connections stay usable after each of those.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { DeliveryError } from "../types.js";
import { HttpClient } from "./client.js";
import { parseAllowedNetworks } from "./network-guard.js";

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** Requests that reached /counted. */
let counted = 0;

const routes: Record<string, Route> = {
  "/ok": (_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end("fine"),
  "/counted": (_req, res) => {
    counted++;
    res.writeHead(200).end();
  },
  "/echo": (req, res, body) =>
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body })),
  "/big-ok": (_req, res) => res.writeHead(200).end("y".repeat(200 * 1024)),
  "/teapot": (_req, res) => {
    res.setHeader("set-cookie", ["a=1", "b=2"]);
    res.writeHead(418, { "x-reason": "short and stout" }).end("I am a teapot");
  },
  "/long-error": (_req, res) => res.writeHead(500).end("e".repeat(20_000)),
  "/slow": (_req, res) => {
    setTimeout(() => res.writeHead(200).end("late"), 2_000).unref();
  },
  "/reset": (req) => req.socket.destroy(),
  "/takes-300ms": (_req, res) => {
    setTimeout(() => res.writeHead(200).end("done"), 300).unref();
  },
  // Headers at once, then a byte every 150 ms for 3 s: each phase within the timeout, the whole not.
  "/trickle-ok": (_req, res) => trickle(res, 200),
  "/trickle-error": (_req, res) => trickle(res, 503),
  "/created": (_req, res) => res.writeHead(201, { "retry-after": "7" }).end(),
};

function trickle(res: ServerResponse, status: number): void {
  res.writeHead(status, { "content-type": "text/plain" });
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed || ++sent > 20) {
      clearInterval(timer);
      res.end();
    } else res.write("x");
  }, 150);
  timer.unref();
}

let server: Server;
let base: string;
const client = new HttpClient({
  allowedNetworks: parseAllowedNetworks("127.0.0.0/8"),
  timeoutMs: 400,
});

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const route = routes[new URL(req.url ?? "/", "http://x").pathname];
      if (route === undefined) res.writeHead(404).end("no such route");
      else route(req, res, Buffer.concat(chunks).toString("utf8"));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await client.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const never = new AbortController().signal;
const post = (path: string, extra: Partial<Parameters<HttpClient["send"]>[0]> = {}) =>
  client.send({ method: "POST", url: new URL(`${base}${path}`), headers: {}, body: "{}", ...extra }, never);

async function refusal(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => assert.fail("the request should have failed"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DeliveryError, `a DeliveryError, not ${String(error)}`);
  return error;
}

describe("HttpClient", () => {
  it("drops a success's body unread, and gives its status and headers", async () => {
    const response = await post("/ok");
    assert.equal(response.status, 200);
    assert.equal(response.body, "");
    assert.equal(response.truncated, false);
    assert.equal(response.headers["content-type"], "text/plain");
  });

  it("keeps a success's body when asked, with the request as sent", async () => {
    const response = await post("/echo?a=1", {
      headers: { "X-Custom": "v1", "content-type": "application/json" },
      body: '{"k":"é"}',
      readSuccessBody: true,
    });
    assert.equal(response.status, 200);
    const echoed = JSON.parse(response.body) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    assert.equal(echoed.method, "POST");
    assert.equal(echoed.url, "/echo?a=1");
    assert.equal(echoed.body, '{"k":"é"}');
    assert.equal(echoed.headers["x-custom"], "v1");
    assert.equal(echoed.headers["content-length"], String(Buffer.byteLength('{"k":"é"}')));
    assert.match(echoed.headers["user-agent"] ?? "", /^Busbar\//);
  });

  it("keeps the start of an error's body, its status text, and repeated headers as a list", async () => {
    const teapot = await post("/teapot");
    assert.equal(teapot.status, 418);
    assert.equal(teapot.statusMessage, "I'm a Teapot");
    assert.equal(teapot.body, "I am a teapot");
    assert.equal(teapot.headers["x-reason"], "short and stout");
    assert.deepEqual(teapot.headers["set-cookie"], ["a=1", "b=2"]);
    const long = await post("/long-error", { maxBodyBytes: 100 });
    assert.equal(long.status, 500);
    assert.equal(long.body, "e".repeat(100));
    assert.equal(long.truncated, true);
    assert.equal(long.unfinished, false);
    // The connection was read to the end: the next request on it works.
    assert.equal((await post("/ok")).status, 200);
  });

  it("answers a success with a long body, closing the connection rather than reading it all", async () => {
    const response = await post("/big-ok");
    assert.equal(response.status, 200);
    assert.equal(response.body, "");
    assert.equal((await post("/ok")).status, 200);
  });

  it("gives 404 and 201 like any other response", async () => {
    assert.equal((await post("/missing")).status, 404);
    const created = await post("/created");
    assert.equal(created.status, 201);
    assert.equal(created.headers["retry-after"], "7");
  });

  it("times out a response that does not come, as TIMEOUT (retryable)", async () => {
    const error = await refusal(post("/slow"));
    assert.equal(error.code, "TIMEOUT");
    assert.equal(error.retryable, true);
    assert.match(error.message, /POST http:\/\/127\.0\.0\.1:\d+\/slow/);
  });

  it("ends a response that trickles in past the timeout: a 2xx counts, another status as far as it came", async () => {
    let started = performance.now();
    const ok = await post("/trickle-ok");
    assert.equal(ok.status, 200);
    assert.equal(ok.unfinished, true);
    assert.ok(performance.now() - started < 1_000, `took ${performance.now() - started} ms`);
    started = performance.now();
    const error = await post("/trickle-error");
    assert.equal(error.status, 503);
    assert.equal(error.truncated, true);
    assert.match(error.body, /^x+$/);
    assert.ok(performance.now() - started < 1_000, `took ${performance.now() - started} ms`);
    assert.equal((await post("/ok")).status, 200);
  });

  it("fails a reset connection as CONNECTION_FAILURE (retryable), and the next request works", async () => {
    const error = await refusal(post("/reset"));
    assert.equal(error.code, "CONNECTION_FAILURE");
    assert.equal(error.retryable, true);
    assert.equal((await post("/ok")).status, 200);
  });

  it("ends requests in flight when their stop signal fires, and no others", async () => {
    const stop = new AbortController();
    const other = new AbortController();
    const send = (signal: AbortSignal) =>
      client.send({ method: "POST", url: new URL(`${base}/slow`), headers: {}, timeoutMs: 5_000 }, signal);
    const stopped = [send(stop.signal), send(stop.signal)];
    const kept = send(other.signal);
    setTimeout(() => stop.abort(new Error("shutting down")), 50);
    for (const pending of stopped) {
      const error = await refusal(pending);
      assert.equal(error.code, "INTERNAL_ERROR");
      assert.match(error.message, /aborted by the delivery engine/);
    }
    assert.equal((await kept).status, 200);
    // A signal already fired refuses before sending.
    const error = await refusal(send(stop.signal));
    assert.match(error.message, /aborted/);
  });

  it("counts the timeout from the dispatch, not from a wait for one of the origin's sockets", async () => {
    // Two sockets; each answer takes 300 ms of a 400 ms timeout: the last two requests wait 600 ms.
    const narrow = new HttpClient({
      allowedNetworks: parseAllowedNetworks("127.0.0.0/8"),
      timeoutMs: 400,
      maxSocketsPerOrigin: 2,
    });
    try {
      const send = (signal: AbortSignal) =>
        narrow.send({ method: "POST", url: new URL(`${base}/takes-300ms`), headers: {} }, signal);
      const statuses = await Promise.all(Array.from({ length: 6 }, () => send(never).then((r) => r.status)));
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
      // One stopped while it waits for a socket is refused at once and gives its turn on.
      const stop = new AbortController();
      const first = [send(never), send(never)];
      const waiting = send(stop.signal);
      const after = send(never);
      stop.abort(new Error("shutting down"));
      assert.match((await refusal(waiting)).message, /aborted by the delivery engine/);
      assert.equal((await after).status, 200);
      for (const r of await Promise.all(first)) assert.equal(r.status, 200);
    } finally {
      await narrow.close();
    }
  });

  it("sends no request that stopped being wanted while it waited for a socket (its target removed)", async () => {
    const narrow = new HttpClient({
      allowedNetworks: parseAllowedNetworks("127.0.0.0/8"),
      timeoutMs: 1_000,
      maxSocketsPerOrigin: 2,
    });
    try {
      const send = (path: string, wanted?: () => boolean) =>
        narrow.send({ method: "POST", url: new URL(`${base}${path}`), headers: {}, wanted }, never);
      const first = [send("/takes-300ms"), send("/takes-300ms")];
      let removed = false;
      const before = counted;
      const waiting = send("/counted", () => !removed);
      const kept = send("/counted", () => true);
      removed = true;
      const error = await refusal(waiting);
      assert.equal(error.code, "TARGET_REMOVED");
      assert.equal(error.retryable, false);
      assert.equal((await kept).status, 200);
      for (const r of await Promise.all(first)) assert.equal(r.status, 200);
      assert.equal(counted - before, 1, "only the request still wanted reached the server");
    } finally {
      await narrow.close();
    }
  });

  it("keeps an origin's last sockets for paths with none, so a slow target cannot hold them all", async () => {
    // 16 sockets: /slow (2 s an answer) may hold 14 of them; /ok, with none in flight, takes one of
    // the last 2 at once instead of waiting behind /slow's 30 requests (2 s and more).
    const narrow = new HttpClient({
      allowedNetworks: parseAllowedNetworks("127.0.0.0/8"),
      timeoutMs: 2_500,
      maxSocketsPerOrigin: 16,
    });
    const send = (path: string) =>
      narrow.send({ method: "POST", url: new URL(`${base}${path}`), headers: {} }, never);
    const slow = Array.from({ length: 30 }, () =>
      send("/slow").then(
        (r) => r.status,
        () => 0,
      ),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        assert.equal((await send("/ok")).status, 200);
        assert.ok(Date.now() - started < 1_000, `/ok waited ${Date.now() - started} ms`);
      }
    } finally {
      await narrow.close(); // ends /slow's requests
      await Promise.all(slow);
    }
  });

  it("refuses addresses outside the allowed networks, and URLs and headers it cannot send", async () => {
    const strict = new HttpClient({ timeoutMs: 400 });
    try {
      const refused = await refusal(
        strict.send({ method: "POST", url: new URL(`${base}/ok`), headers: {} }, never),
      );
      assert.equal(refused.code, "NO_PERMISSIONS");
      assert.equal(refused.retryable, false);
    } finally {
      await strict.close();
    }
    const ftp = await refusal(post("/ok", { url: new URL("ftp://127.0.0.1/x") }));
    assert.equal(ftp.code, "INVALID_PARAMETER");
    const header = await refusal(post("/ok", { headers: { "bad header": "x" } }));
    assert.equal(header.code, "INVALID_PARAMETER");
    const value = await refusal(post("/ok", { headers: { "x-ok": "line\nbreak" } }));
    assert.equal(value.code, "INVALID_PARAMETER");
  });
});
