/**
 * Broker targets are held to BUSBAR_ALLOW_TARGET_NETWORKS as HTTP targets are (src/delivery/brokers/
 * network.ts): a broker on loopback or a private network, named by address or by a name resolving
 * there, is refused before any connection is made, finally (NO_PERMISSIONS); in an allowed network it
 * is reached through the address checked, with the name kept for TLS.
 */
import { createServer, type Server } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PutEventsCommand, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import { createBrokerInvoker } from "../src/delivery/brokers/index.js";
import { DeliveryError, type Invocation } from "../src/delivery/index.js";
import { NO_ALLOWED_NETWORKS, parseAllowedNetworks } from "../src/delivery/http/index.js";
import {
  createQueue,
  eventBridgeClient,
  removeDataDir,
  sqsClient,
  startBusbar,
  type BusbarProcess,
} from "./support/index.js";

const LOOPBACK = parseAllowedNetworks("127.0.0.0/8,::1/128");

function invocation(arn: string): Invocation {
  return {
    deliveryId: "delivery-1",
    payload: "{}",
    attempt: 0,
    event: { id: "event-1" },
    target: { arn, spec: { Id: "t", Arn: arn } },
  } as unknown as Invocation;
}

/** Invokes and gives the DeliveryError it failed with (or undefined when it succeeded). */
async function failure(
  invoker: ReturnType<typeof createBrokerInvoker>,
  arn: string,
): Promise<DeliveryError | undefined> {
  try {
    await invoker.invoke(invocation(arn), new AbortController().signal);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof DeliveryError, String(e));
    return e;
  }
}

/** A TCP listener on loopback that counts the connections made to it. */
async function listener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, connections: () => count };
}

const uris = (host: string, port: number): string[] => [
  `nats://${host}:${port}/guard.subject`,
  `amqp://guest:guest@${host}:${port}/?exchange=amq.topic`,
  `mqtt://${host}:${port}/guard/topic`,
  `redis://${host}:${port}/0?stream=guard`,
];

describe("broker targets under BUSBAR_ALLOW_TARGET_NETWORKS", () => {
  it("are refused on loopback, by address or by a name resolving there, finally and without a connection", async () => {
    const { server, port, connections } = await listener();
    const invoker = createBrokerInvoker({ timeoutMs: 3000, allowedNetworks: NO_ALLOWED_NETWORKS });
    try {
      for (const host of ["127.0.0.1", "[::1]", "localhost", "127.1.2.3"]) {
        for (const uri of uris(host, port)) {
          const error = await failure(invoker, uri);
          assert.equal(error?.code, "NO_PERMISSIONS", `${uri}: ${error?.message}`);
          assert.equal(error?.retryable, false, uri);
          assert.match(
            error?.message ?? "",
            /refused to call .*a loopback address, which targets may only reach in a network listed in BUSBAR_ALLOW_TARGET_NETWORKS/,
          );
          assert.doesNotMatch(error?.message ?? "", /guest:guest/, "the password stays out of the message");
        }
      }
      assert.equal(connections(), 0, "no connection was made");
      // A private network is refused as well (nothing listens there: refused before any connect).
      const error = await failure(invoker, "redis://10.1.2.3:6379/0?stream=guard");
      assert.equal(error?.code, "NO_PERMISSIONS");
      assert.match(error?.message ?? "", /a private address/);
    } finally {
      await invoker.close();
      server.close();
    }
  });

  it("connect to no server a NATS server gossips, nor to a refused address NATS reads into a host", async () => {
    const { server: logger, port, connections } = await listener();
    // A server on an allowed address that gossips 50 refused loopback servers, then says nothing more.
    const urls = Array.from({ length: 50 }, (_, i) => `127.0.0.${i + 10}:${port}`);
    const gossiping = createServer((socket) => {
      socket.write(
        `INFO ${JSON.stringify({ server_id: "GOSSIP", version: "2.10.0", proto: 1, headers: true, max_payload: 1048576, connect_urls: urls })}\r\n`,
      );
      socket.on("data", () => undefined);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => gossiping.listen(0, "127.0.0.2", resolve));
    const gossipPort = (gossiping.address() as AddressInfo).port;
    const invoker = createBrokerInvoker({
      timeoutMs: 500,
      allowedNetworks: parseAllowedNetworks("127.0.0.2/32"),
    });
    try {
      const error = await failure(invoker, `nats://127.0.0.2:${gossipPort}/gossip`);
      assert.equal(error?.code, "TIMEOUT", error?.message);
      // The pool gives the connect up a second after the deadline; the client's dial loop went on from there.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(connections(), 0, "no gossiped server dialled");
      // 2130706433 is a name to the system's resolver (which finds nothing here), 127.0.0.1 to NATS's
      // URL parser; either way nothing connects.
      const decimal = await failure(invoker, `nats://2130706433:${port}/reparsed`);
      assert.notEqual(decimal, undefined);
      assert.equal(connections(), 0, `${decimal?.code}: ${decimal?.message}`);
    } finally {
      await invoker.close();
      gossiping.close();
      logger.close();
    }
  });

  it("are reached by name in an allowed network, through the address checked, with the name for TLS", async () => {
    // What TLS connections ask for by name (SNI): the handshake then fails, as this server has no certificate.
    const names: string[] = [];
    const tlsServer = createTlsServer({
      SNICallback: (name, done) => {
        names.push(name);
        done(new Error("no certificate here"));
      },
    });
    tlsServer.on("tlsClientError", () => undefined);
    await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
    const port = (tlsServer.address() as AddressInfo).port;
    const invoker = createBrokerInvoker({ timeoutMs: 3000, allowedNetworks: LOOPBACK });
    try {
      for (const uri of [
        `rediss://localhost:${port}/0?stream=guard`,
        `amqps://guest:guest@localhost:${port}/?exchange=amq.topic`,
        `mqtts://localhost:${port}/guard/topic`,
      ]) {
        const before = names.length;
        const error = await failure(invoker, uri);
        assert.equal(error?.code, "CONNECTION_FAILED", `${uri}: ${error?.message}`);
        assert.deepEqual(
          names.slice(before),
          ["localhost"],
          `${uri} connected to the address, asking for the name`,
        );
      }
    } finally {
      await invoker.close();
      tlsServer.close();
    }
  });

  it("deliver to an allowed broker by name (Redis on localhost)", async (t) => {
    const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.on("error", () => undefined);
    try {
      await redis.connect();
    } catch {
      const message = "Redis on 127.0.0.1:6379 is unreachable (see the env skill's machines/node-svc.md)";
      if (process.env.CI === "true") throw new Error(message);
      t.skip(`*** ${message} ***`);
      return;
    }
    const stream = `guard-${Date.now()}`;
    const invoker = createBrokerInvoker({ timeoutMs: 3000, allowedNetworks: LOOPBACK });
    try {
      assert.equal(await failure(invoker, `redis://localhost:6379/0?stream=${stream}`), undefined);
      assert.equal(await redis.xlen(stream), 1);
    } finally {
      await invoker.close();
      await redis.del(stream);
      redis.disconnect();
    }
  });

  describe("on a server without the setting", () => {
    let server: BusbarProcess;
    before(async () => {
      server = await startBusbar();
    });
    after(async () => {
      assert.equal(await server.stop(), 0);
      removeDataDir(server.dataDir);
    });

    it("dead-letters an event for a loopback broker target with NO_PERMISSIONS, connecting to nothing", async () => {
      const { server: broker, port, connections } = await listener();
      const eb = eventBridgeClient(server.url);
      const sqs = sqsClient(server.url);
      try {
        const dlq = await createQueue(sqs, "broker-guard-dlq");
        await eb.send(new PutRuleCommand({ Name: "to-redis", EventPattern: '{"source":["guard"]}' }));
        await eb.send(
          new PutTargetsCommand({
            Rule: "to-redis",
            Targets: [
              {
                Id: "redis",
                Arn: `redis://127.0.0.1:${port}/0?stream=guard`,
                DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:broker-guard-dlq" },
              },
            ],
          }),
        );
        await eb.send(
          new PutEventsCommand({ Entries: [{ Source: "guard", DetailType: "d", Detail: "{}" }] }),
        );
        const got = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 10, MessageAttributeNames: ["All"] }),
        );
        const message = got.Messages?.[0];
        assert.ok(message !== undefined, "dead-lettered");
        assert.equal(message.MessageAttributes?.ERROR_CODE?.StringValue, "NO_PERMISSIONS");
        assert.match(
          message.MessageAttributes?.ERROR_MESSAGE?.StringValue ?? "",
          /BUSBAR_ALLOW_TARGET_NETWORKS/,
        );
        assert.equal(message.MessageAttributes?.RETRY_ATTEMPTS?.StringValue, "0", "not retried");
        assert.equal(connections(), 0);
      } finally {
        eb.destroy();
        sqs.destroy();
        broker.close();
      }
    });
  });
});

describe("a server whose BUSBAR_ALLOW_TARGET_NETWORKS holds the cloud metadata address", () => {
  it("names the networks as it starts, and warns that targets may reach 169.254.169.254", async () => {
    const server = await startBusbar({
      env: { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8,169.254.0.0/16,10.0.0.5/8" },
    });
    try {
      const deadline = Date.now() + 5000;
      // The later of the two warnings.
      while (!server.output().includes("bits set past their prefix") && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const lines = server
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg: string; level: number; allowTargetNetworks?: string[] });
      const listening = lines.find((l) => l.msg === "busbar listening");
      assert.deepEqual(listening?.allowTargetNetworks, ["127.0.0.0/8", "169.254.0.0/16", "10.0.0.0/8"]);
      const warning = lines.find((l) => l.msg.includes("169.254.169.254"));
      assert.equal(warning?.level, 40, server.output());
      assert.match(warning.msg, /BUSBAR_ALLOW_TARGET_NETWORKS lets targets reach 169\.254\.169\.254/);
      // An entry with host bits ("10.0.0.5/8" for "10.0.0.5/32", say) allows its whole network: said.
      const hostBits = lines.find((l) => l.msg.includes("bits set past their prefix")) as
        { level: number; given?: string[] } | undefined;
      assert.equal(hostBits?.level, 40, server.output());
      assert.deepEqual(hostBits.given, ["10.0.0.5/8"]);
    } finally {
      await server.stop();
      removeDataDir(server.dataDir);
    }
  });
});
