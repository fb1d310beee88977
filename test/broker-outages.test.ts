/**
 * Broker targets when the path to the broker goes silent: a TCP proxy (ports 19600-19699) in front of
 * the machine's real brokers accepts connections and forwards nothing, or stops forwarding on the
 * connections it already carries (as a NAT or firewall that lost a flow's state does). Checks that a
 * connection that stopped answering is replaced, that a connect that gets no answer ends and closes
 * its socket, and that close() is bounded whatever state a connection is in. A broker that is not
 * reachable skips its tests loudly, except under CI=true.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { DeliveryError } from "../src/delivery/index.js";
import { createBrokerInvoker, type BrokerInvoker } from "../src/delivery/brokers/index.js";
import { Redis } from "ioredis";
import { reachablePorts, targetInvocation, TcpProxy } from "./support/index.js";

const RUN = `bo${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
const PORTS = { nats: 4222, amqp: 5672, mqtt: 1883, redis: 6379 } as const;
type Kind = keyof typeof PORTS;
/** The ports these tests may listen on. */
const PROXY_PORTS = { first: 19600, last: 19699 } as const;
/** Each test's limit: a close or connect that never ends fails its own test, not the whole file. */
const TEST = { timeout: 15_000 } as const;

const up = await reachablePorts(PORTS);

/** `false` when the broker is up; otherwise the skip reason (or, under CI, an error). */
function skipUnless(kind: Kind): false | string {
  if (!existsSync("/proc/net/tcp")) return "counting held sockets needs /proc/net/tcp (Linux)";
  if (up[kind]) return false;
  const message = `${kind} is not reachable on 127.0.0.1:${PORTS[kind]}`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`\n*** SKIPPING ${kind} broker outage tests: ${message} ***\n`);
  return message;
}

/** A target URI of each kind through `port`; every destination exists or needs none. */
function uri(kind: Kind, port: number): string {
  switch (kind) {
    case "nats":
      return `nats://127.0.0.1:${port}/${RUN}.subject`;
    case "amqp":
      return `amqp://guest:guest@127.0.0.1:${port}/?exchange=amq.topic&routingKey=${RUN}&mandatory=false`;
    case "mqtt":
      return `mqtt://127.0.0.1:${port}/${RUN}/topic`;
    case "redis":
      return `redis://127.0.0.1:${port}/0?stream=${RUN}`;
  }
}

function invoke(invoker: BrokerInvoker, arn: string): Promise<void> {
  return invoker.invoke(targetInvocation(arn, `{"run":"${RUN}"}`), new AbortController().signal);
}

/** The DeliveryError `work` rejects with; fails the test if it resolves. */
async function failure(work: Promise<void>): Promise<DeliveryError> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof DeliveryError, `expected a DeliveryError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the publish to fail");
}

/**
 * TCP sockets to `port` that a file descriptor still holds (Busbar's side of the proxy's connections:
 * only this process connects to it), from /proc/net/tcp{,6}, where a socket whose descriptor is closed
 * shows inode 0. A socket that was only half-closed (a FIN sent to a peer that never answers it) is
 * still held; a destroyed one is not.
 */
function heldSockets(port: number): number {
  let held = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const remote = fields[2];
      const inode = fields[9];
      if (remote === undefined || inode === undefined) continue;
      if (Number.parseInt(remote.slice(remote.indexOf(":") + 1), 16) === port && inode !== "0") held += 1;
    }
  }
  return held;
}

/** Polls `check` every 50 ms until it holds or `withinMs` passed; returns whether it held. */
async function eventually(check: () => boolean, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

describe("a broker path gone silent", () => {
  for (const kind of Object.keys(PORTS) as Kind[]) {
    describe(kind, { skip: skipUnless(kind) }, () => {
      it(
        "ends a connect that gets no answer, closes its socket and connects anew once the path is back",
        TEST,
        async () => {
          const proxy = await new TcpProxy(PORTS[kind], PROXY_PORTS).start();
          proxy.silent = true;
          const invoker = createBrokerInvoker({ timeoutMs: 300 });
          try {
            const arn = uri(kind, proxy.port);
            for (let i = 0; i < 3; i += 1) {
              const error = await failure(invoke(invoker, arn));
              // TIMEOUT, or the failure of the connect that a later attempt joined.
              assert.ok(["TIMEOUT", "CONNECTION_FAILED"].includes(error.code), error.message);
              assert.equal(error.retryable, true);
            }
            // The connect is given up within the attempt's deadline plus the 1 s connect grace.
            assert.ok(
              await eventually(() => invoker.stats()[kind].open === 0, 2_500),
              "the pool dropped the connect",
            );
            assert.ok(
              await eventually(() => heldSockets(proxy.port) === 0, 1_500),
              `${heldSockets(proxy.port)} abandoned connect(s) still hold a socket`,
            );
            proxy.silent = false;
            await invoke(invoker, arn);
            assert.equal(invoker.stats()[kind].open, 1);
          } finally {
            await invoker.close();
            await proxy.stop();
          }
        },
      );

      it("publishes nothing for a target removed while its connection was being made", TEST, async () => {
        const proxy = await new TcpProxy(PORTS[kind], PROXY_PORTS).start();
        proxy.delayMs = 600; // the connect takes 600 ms
        const invoker = createBrokerInvoker({ timeoutMs: 5_000 });
        const stream = `${RUN}-removed`;
        const arn =
          kind === "redis" ? `redis://127.0.0.1:${proxy.port}/0?stream=${stream}` : uri(kind, proxy.port);
        try {
          let removed = false;
          const invocation = targetInvocation(arn, `{"run":"${RUN}"}`, { wanted: () => !removed });
          const attempt = invoker.invoke(invocation, new AbortController().signal);
          await new Promise((resolve) => setTimeout(resolve, 200));
          removed = true;
          const error = await failure(attempt);
          assert.equal(error.code, "TARGET_REMOVED", error.message);
          assert.equal(error.retryable, false);
          if (kind === "redis") {
            const redis = new Redis({ host: "127.0.0.1", port: PORTS.redis, lazyConnect: true });
            try {
              assert.equal(await redis.xlen(stream), 0, "nothing was added to the stream");
            } finally {
              redis.disconnect();
            }
          }
          // The connection made is kept for what is still wanted.
          await invoker.invoke(targetInvocation(arn, `{"run":"${RUN}"}`), new AbortController().signal);
          assert.equal(invoker.stats()[kind].opened, 1);
        } finally {
          await invoker.close();
          await proxy.stop();
        }
      });

      it("closes within the close deadline while a connect is pending", TEST, async () => {
        const proxy = await new TcpProxy(PORTS[kind], PROXY_PORTS).start();
        proxy.silent = true;
        // Far longer than the test: only close() may end the connect.
        const invoker = createBrokerInvoker({ timeoutMs: 60_000 });
        try {
          const work = invoke(invoker, uri(kind, proxy.port));
          assert.ok(await eventually(() => proxy.accepted === 1, 2_000), "the connect reached the proxy");
          const started = Date.now();
          await invoker.close();
          const took = Date.now() - started;
          assert.ok(took < 2_500, `close() took ${took} ms`);
          const error = await failure(work);
          assert.equal(error.retryable, true, error.message);
          assert.ok(
            await eventually(() => heldSockets(proxy.port) === 0, 1_000),
            "close() closed the pending connect's socket",
          );
        } finally {
          await invoker.close();
          await proxy.stop();
        }
      });

      it("closes within the close deadline when an open connection went silent", TEST, async () => {
        const proxy = await new TcpProxy(PORTS[kind], PROXY_PORTS).start();
        const invoker = createBrokerInvoker({ timeoutMs: 60_000 });
        try {
          await invoke(invoker, uri(kind, proxy.port));
          proxy.stall();
          const started = Date.now();
          await invoker.close();
          const took = Date.now() - started;
          assert.ok(took < 2_500, `close() took ${took} ms`);
          assert.ok(await eventually(() => heldSockets(proxy.port) === 0, 1_000), "the socket was dropped");
        } finally {
          await invoker.close();
          await proxy.stop();
        }
      });
    });
  }

  describe("redis", { skip: skipUnless("redis") }, () => {
    it("replaces a connection that stopped answering, failing the commands queued on it", TEST, async () => {
      const proxy = await new TcpProxy(PORTS.redis, PROXY_PORTS).start();
      const invoker = createBrokerInvoker({ timeoutMs: 300 });
      try {
        const arn = uri("redis", proxy.port);
        await invoke(invoker, arn);
        proxy.stall();
        // Attempts on the silent connection time out; the commands queued behind them fail with it.
        const attempts = await Promise.allSettled(Array.from({ length: 20 }, () => invoke(invoker, arn)));
        for (const attempt of attempts) {
          assert.equal(attempt.status, "rejected");
          assert.ok(attempt.reason instanceof DeliveryError);
          assert.equal(attempt.reason.retryable, true, attempt.reason.message);
        }
        assert.ok(
          await eventually(() => heldSockets(proxy.port) === 0, 1_500),
          "the silent connection's socket was closed",
        );
        // The next invocation opens a new connection, which the proxy forwards.
        await invoke(invoker, arn);
        assert.deepEqual(invoker.stats().redis, { open: 1, opened: 2 });
      } finally {
        await invoker.close();
        await proxy.stop();
      }
    });
  });
});

/**
 * A fake Redis: answers the handshake (INFO; HELLO refused, as Redis 5 does) and gives every other
 * command to `answer` with its socket. Commands are RESP arrays of bulk strings (`*N`, then `$len` and
 * the bytes, N times). `open` counts its connections.
 */
async function fakeRedis(
  answer: (command: string, socket: Socket) => void,
): Promise<{ server: Server; port: number; open: () => number }> {
  let open = 0;
  const server = createServer((socket) => {
    open += 1;
    let buffer = "";
    socket.on("error", () => undefined);
    socket.on("close", () => {
      open -= 1;
    });
    socket.on("data", (data) => {
      buffer += data.toString("latin1");
      for (;;) {
        const lines = buffer.split("\r\n");
        const n = Number(lines[0]?.slice(1));
        if (!(lines[0]?.startsWith("*") === true && lines.length > 2 * n + 1)) return;
        const command = (lines[2] ?? "").toUpperCase();
        buffer = lines.slice(2 * n + 1).join("\r\n");
        if (command === "INFO") {
          const info = "# Server\r\nredis_version:7.0.0\r\nloading:0\r\n";
          socket.write(`$${info.length}\r\n${info}\r\n`);
        } else if (command === "HELLO") socket.write("-ERR unknown command 'HELLO'\r\n");
        else answer(command, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, open: () => open };
}

describe("a broker that floods its reply", () => {
  /**
   * A Redis that answers XADD with the header of a 2 GB string and sends 10 MB a second of it: a
   * socket that never falls idle, whose reply never ends.
   */
  async function floodingRedis(): Promise<{
    server: Server;
    port: number;
    open: () => number;
    sent: () => number;
  }> {
    let sent = 0;
    const fake = await fakeRedis((command, socket) => {
      if (command !== "XADD") {
        socket.write("+OK\r\n");
        return;
      }
      socket.write("$2000000000\r\n");
      const chunk = Buffer.alloc(256 * 1024, 0x42);
      const flood = setInterval(() => {
        for (let i = 0; i < 4; i += 1) socket.write(chunk);
        sent += 4 * chunk.length;
      }, 100);
      socket.on("close", () => clearInterval(flood));
    });
    return { ...fake, sent: () => sent };
  }

  it("drops the connection of an attempt past its deadline", TEST, async () => {
    const fake = await floodingRedis();
    const invoker = createBrokerInvoker({ timeoutMs: 1_000 });
    try {
      const error = await failure(invoke(invoker, `redis://127.0.0.1:${fake.port}/0?stream=${RUN}`));
      assert.equal(error.code, "TIMEOUT", error.message);
      // Closed within the close's own deadline (2 s): kept, it took in the flood for as long as it
      // lasted (a review saw 1.4 GB in 25 s), its socket never idle enough to time out.
      assert.ok(await eventually(() => fake.open() === 0, 4_000), "the connection was dropped");
      assert.equal(invoker.stats().redis.open, 0);
      const sent = fake.sent();
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(fake.sent(), sent, "no more is sent to it");
    } finally {
      await invoker.close();
      fake.server.close();
    }
  });

  it("gives up a NATS connect whose server sends more than 64 KiB without its INFO line", TEST, async () => {
    let closedAt = 0;
    const server = createServer((socket) => {
      socket.on("error", () => undefined);
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const flood = setInterval(() => socket.write(chunk), 20);
      socket.on("close", () => {
        clearInterval(flood);
        closedAt = Date.now();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const invoker = createBrokerInvoker({ timeoutMs: 5_000 });
    try {
      const started = Date.now();
      const error = await failure(invoke(invoker, `nats://127.0.0.1:${port}/${RUN}.subject`));
      const failedAt = Date.now();
      assert.equal(error.retryable, true, error.message);
      // At its second chunk, not at the attempt's deadline (5 s): the client library's wait for INFO
      // costs the square of what it received.
      assert.ok(failedAt - started < 2_000, `failed after ${failedAt - started} ms (${error.message})`);
      assert.ok(await eventually(() => closedAt > 0, 1_000), "its socket was closed");
    } finally {
      await invoker.close();
      server.close();
    }
  });
});

describe("a Redis at its maxclients", () => {
  // Redis answers a connection past `maxclients` with this error to its first command, then closes it.
  for (const [command, db] of [
    ["XADD", 0],
    ["SELECT", 1],
  ] as const) {
    it(`retries when ${command} is answered with "max number of clients reached"`, TEST, async () => {
      const fake = await fakeRedis((received, socket) => {
        if (received === command) socket.end("-ERR max number of clients reached\r\n");
        else socket.write("+OK\r\n");
      });
      const invoker = createBrokerInvoker({ timeoutMs: 2_000 });
      try {
        const error = await failure(invoke(invoker, `redis://127.0.0.1:${fake.port}/${db}?stream=${RUN}`));
        assert.match(error.message, /max number of clients reached/);
        assert.equal(error.retryable, true, error.message);
      } finally {
        await invoker.close();
        fake.server.close();
      }
    });
  }

  it(
    "leaves other generic errors final, and drops a connection whose server stays open after QUIT",
    TEST,
    async () => {
      const fake = await fakeRedis((received, socket) =>
        socket.write(
          received === "XADD" ? "-ERR Invalid stream ID specified as stream command argument\r\n" : "+OK\r\n",
        ),
      );
      const invoker = createBrokerInvoker({ timeoutMs: 2_000 });
      try {
        const error = await failure(invoke(invoker, `redis://127.0.0.1:${fake.port}/0?stream=${RUN}`));
        assert.equal(error.retryable, false, error.message);
        // The connection stays pooled; closing it sends QUIT, which this server answers and stays open.
        assert.equal(fake.open(), 1);
        await invoker.close();
        assert.ok(
          await eventually(() => fake.open() === 0, 2_000),
          "the closed connection's socket was dropped",
        );
      } finally {
        await invoker.close();
        fake.server.close();
      }
    },
  );
});
