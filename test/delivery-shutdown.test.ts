/**
 * A graceful stop (SIGTERM) while attempts hang: an attempt the stop ends is not the target's failure
 * (it is neither counted against MaximumRetryAttempts nor dead-lettered: the next start delivers it),
 * nothing is tried again while stopping, and the process exits in bounded time even when a pooled
 * broker connection has gone silent (its orderly close is never answered). The silent broker is the
 * machine's real Redis behind a TCP proxy the test stalls; that part skips loudly when Redis is
 * unreachable, except under CI=true.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  connect,
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
  type Socket,
} from "node:net";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type EventBridgeClient,
} from "@aws-sdk/client-eventbridge";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import {
  createQueue,
  eventBridgeClient,
  removeDataDir,
  sqsClient,
  startBusbar,
  type BusbarProcess,
} from "./support/index.js";

const ENV = { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8" };
const dataDirs: string[] = [];

after(() => {
  for (const dir of dataDirs) removeDataDir(dir);
});

async function until(what: string, done: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGTERM, and how long the process took to exit (fails past `ms`, killing it). */
async function stopWithin(server: BusbarProcess, ms: number): Promise<number> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
  const outcome = await Promise.race([server.stop(), late]);
  clearTimeout(timer);
  if (outcome === "late") {
    await server.kill();
    assert.fail(`busbar did not exit within ${ms} ms of SIGTERM:\n${server.output().slice(-2000)}`);
  }
  assert.equal(outcome, 0, `exit code\n${server.output().slice(-2000)}`);
  return Date.now() - started;
}

async function put(events: EventBridgeClient, source: string): Promise<string> {
  const r = await events.send(
    new PutEventsCommand({ Entries: [{ Source: source, DetailType: "t", Detail: "{}" }] }),
  );
  assert.equal(r.FailedEntryCount, 0);
  return r.Entries?.[0]?.EventId as string;
}

describe("SIGTERM while attempts hang", () => {
  it("ends the attempt without counting it: no dead letter, and the next start delivers", async () => {
    const arrivals: string[] = [];
    let answer = false;
    const held: ServerResponse[] = [];
    const receiver: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on("end", () => {
        arrivals.push(String(req.headers["webhook-id"]));
        if (answer) res.writeHead(200).end();
        else held.push(res); // never answered: the attempt hangs until the stop ends it
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hang`;
    let server = await startBusbar({ env: ENV });
    dataDirs.push(server.dataDir);
    try {
      let events = eventBridgeClient(server.url);
      const sqs = sqsClient(server.url);
      const dlq = await createQueue(sqs, "shutdown-dlq");
      await events.send(new PutRuleCommand({ Name: "hang", EventPattern: '{"source":["app.hang"]}' }));
      await events.send(
        new PutTargetsCommand({
          Rule: "hang",
          Targets: [
            {
              Id: "h",
              Arn: url,
              RetryPolicy: { MaximumRetryAttempts: 0 },
              DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:shutdown-dlq" },
            },
          ],
        }),
      );
      await put(events, "app.hang");
      await until("the attempt to reach the receiver", () => arrivals.length === 1);
      events.destroy();
      sqs.destroy();
      // The attempt is still hanging: the stop gives it 5 s, then ends it.
      await stopWithin(server, 15_000);
      answer = true;
      server = await startBusbar({ env: ENV, dataDir: server.dataDir });
      events = eventBridgeClient(server.url);
      const sqs2 = sqsClient(server.url);
      await until("the delivery after the restart", () => arrivals.length === 2);
      assert.equal(arrivals[1], arrivals[0], "the same delivery (webhook-id) again");
      const dead = await sqs2.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 1 }));
      assert.equal(dead.Messages?.length ?? 0, 0, "nothing was dead-lettered by the stop");
      events.destroy();
      sqs2.destroy();
    } finally {
      await server.stop();
      for (const res of held) res.destroy();
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it("exits in bounded time when a pooled broker connection has gone silent, and delivers after", async (t) => {
    const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await redis.connect();
    } catch {
      redis.disconnect();
      const message =
        "the shutdown test with a silent broker needs Redis on 127.0.0.1:6379 (see machines/node-svc.md)";
      if (process.env.CI === "true") throw new Error(message);
      console.warn(`\n!!! SKIPPING: ${message}\n`);
      t.skip(message);
      return;
    }
    // A TCP proxy to Redis that, once stalled, keeps its connections open and passes no byte.
    let stalled = false;
    const sockets: Socket[] = [];
    const proxy: TcpServer = createTcpServer((client) => {
      const upstream = connect(6379, "127.0.0.1");
      sockets.push(client, upstream);
      client.on("data", (d: Buffer) => stalled || upstream.write(d));
      upstream.on("data", (d: Buffer) => stalled || client.write(d));
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const port = (proxy.address() as AddressInfo).port;
    const stream = `busbar-shutdown-${randomUUID().slice(0, 8)}`;
    let server = await startBusbar({ env: ENV });
    dataDirs.push(server.dataDir);
    try {
      let events = eventBridgeClient(server.url);
      await events.send(new PutRuleCommand({ Name: "silent", EventPattern: '{"source":["app.silent"]}' }));
      await events.send(
        new PutTargetsCommand({
          Rule: "silent",
          Targets: [{ Id: "r", Arn: `redis://127.0.0.1:${port}/0?stream=${stream}` }],
        }),
      );
      await put(events, "app.silent");
      await until("the first event in the stream", async () => (await redis.xlen(stream)) === 1);
      stalled = true;
      await put(events, "app.silent");
      events.destroy();
      // 5 s for the hanging attempt, then the connection's close, which the silent peer never answers.
      const took = await stopWithin(server, 15_000);
      assert.ok(took < 12_000, `stopped in ${took} ms`);
      for (const s of sockets) s.destroy();
      stalled = false;
      server = await startBusbar({ env: ENV, dataDir: server.dataDir });
      events = eventBridgeClient(server.url);
      await until("the second event after the restart", async () => (await redis.xlen(stream)) === 2);
      events.destroy();
    } finally {
      await server.stop();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => proxy.close(resolve));
      await redis.del(stream);
      redis.disconnect();
    }
  });
});
