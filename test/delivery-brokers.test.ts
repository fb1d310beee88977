/**
 * Broker targets against the machine's real brokers on 127.0.0.1: NATS with JetStream (4222), RabbitMQ
 * (5672, guest/guest), Mosquitto (1883) and Redis (6379). Each publish is checked from the other side
 * with the broker's own client. Outages and silent brokers are made with a TCP proxy in front of the
 * real broker. A broker that is not reachable skips its tests loudly, except under CI=true.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect as amqpConnect, type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import { connectAsync as mqttConnect, type IPublishPacket, type MqttClient } from "mqtt";
import { Redis } from "ioredis";
import { DeliveryError, type Invocation } from "../src/delivery/index.js";
import {
  BROKER_ERROR_CODES,
  checkBrokerUri,
  createBrokerInvoker,
  parseBrokerUri,
  redactUri,
  type BrokerInvoker,
  type BrokerInvokerStats,
} from "../src/delivery/brokers/index.js";
import { reachablePorts, targetInvocation, TcpProxy } from "./support/index.js";

const RUN = `bt${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
const PORTS = { nats: 4222, amqp: 5672, mqtt: 1883, redis: 6379 } as const;
type Kind = keyof typeof PORTS;
const NAMES: Record<Kind, string> = {
  nats: "NATS",
  amqp: "RabbitMQ",
  mqtt: "Mosquitto (MQTT)",
  redis: "Redis",
};

const up = await reachablePorts(PORTS);

/** `false` when the broker is up; otherwise the skip reason (or, under CI, an error). */
function skipUnless(kind: Kind): false | string {
  if (up[kind]) return false;
  const message = `${NAMES[kind]} is not reachable on 127.0.0.1:${PORTS[kind]}`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`\n*** SKIPPING ${NAMES[kind]} broker target tests: ${message} ***\n`);
  return message;
}

/** A payload with non-ASCII text, big enough to span several frames. */
function eventPayload(): string {
  return JSON.stringify({
    version: "0",
    id: randomUUID(),
    "detail-type": "Order placed — ünïcödé ✓",
    source: "busbar.test",
    detail: { run: RUN, blob: "x".repeat(100_000), emoji: "🚌" },
  });
}

function invocation(arn: string, payload = eventPayload(), extra: Partial<Invocation> = {}): Invocation {
  return targetInvocation(arn, payload, extra);
}

function signal(): AbortSignal {
  return new AbortController().signal;
}

/** Awaits a DeliveryError with this code and retryability; returns it. */
async function rejects(work: Promise<void>, code: string, retryable: boolean): Promise<DeliveryError> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof DeliveryError, `expected a DeliveryError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.retryable, retryable, `${error.code} retryable: ${error.message}`);
    assert.ok(Object.hasOwn(BROKER_ERROR_CODES, error.code), `${error.code} is in the catalog`);
    return error;
  }
  assert.fail(`expected ${code}, but the publish succeeded`);
}

/** Push-style messages, awaited one by one. */
class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: Array<(item: T) => void> = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter === undefined) this.#items.push(item);
    else waiter(item);
  }

  next(timeoutMs = 5_000): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no message within the timeout")), timeoutMs);
      this.#waiters.push((value) => {
        clearTimeout(timer);
        resolve(value);
      });
    });
  }
}

function opened(invoker: BrokerInvoker, kind: keyof BrokerInvokerStats): number {
  return invoker.stats()[kind].opened;
}

/** What each broker's shared tests need: a URI to a fresh destination on a given port, with a consumer. */
interface BrokerFixture {
  readonly kind: Kind;
  /** A URI whose destination exists (and is consumed) on the real broker, at `port` (the broker's or a proxy's). */
  uri(port: number): Promise<string>;
  /** A URI with the broker's own kind of wrong credentials (password `s3cr3t-pw`), or none when the broker has no authentication. */
  readonly badCredentials: ((port: number) => string) | undefined;
}

/** The tests every broker passes: connection reuse, outages, unreachable and silent brokers, secrets. */
function sharedTests(fixture: BrokerFixture): void {
  const { kind } = fixture;

  it("reuses one connection for 100 publishes (concurrent and sequential)", async () => {
    const invoker = createBrokerInvoker();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const uri = await fixture.uri(PORTS[kind]);
      // One signal shared by every concurrent invocation, as the delivery engine's shutdown signal is.
      const shared = signal();
      await Promise.all(Array.from({ length: 50 }, () => invoker.invoke(invocation(uri, "{}"), shared)));
      for (let i = 0; i < 50; i += 1) await invoker.invoke(invocation(uri, "{}"), shared);
      const { open, opened } = invoker.stats()[kind];
      assert.deepEqual({ open, opened }, { open: 1, opened: 1 });
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.map((w) => w.message),
        [],
      );
    } finally {
      process.off("warning", onWarning);
      await invoker.close();
    }
    assert.deepEqual(invoker.stats()[kind].open, 0);
  });

  it("fails retryably while the broker is down, and succeeds on the next publish once it is back", async () => {
    const proxy = await new TcpProxy(PORTS[kind]).start();
    const invoker = createBrokerInvoker({ timeoutMs: 3_000 });
    try {
      const uri = await fixture.uri(proxy.port);
      await invoker.invoke(invocation(uri), signal());
      await proxy.stop();
      const started = Date.now();
      const error = await rejects(invoker.invoke(invocation(uri), signal()), "CONNECTION_FAILED", true);
      assert.ok(Date.now() - started < 2_000, `failed in ${Date.now() - started} ms`);
      assert.doesNotMatch(error.message, /s3cr3t/);
      await rejects(invoker.invoke(invocation(uri), signal()), "CONNECTION_FAILED", true);
      await proxy.start();
      await invoker.invoke(invocation(uri), signal());
      assert.ok(opened(invoker, kind) >= 2, "a new connection after the outage");
      assert.equal(invoker.stats()[kind].open, 1);
    } finally {
      await invoker.close();
      await proxy.stop();
    }
  });

  it("fails retryably and quickly on a port where nothing listens", async () => {
    const invoker = createBrokerInvoker({ timeoutMs: 5_000 });
    try {
      const uri = (await fixture.uri(PORTS[kind])).replace(`:${PORTS[kind]}`, ":1");
      const started = Date.now();
      await rejects(invoker.invoke(invocation(uri), signal()), "CONNECTION_FAILED", true);
      assert.ok(Date.now() - started < 2_000, `failed in ${Date.now() - started} ms`);
    } finally {
      await invoker.close();
    }
  });

  it("times out retryably on a broker that never answers, and honours the abort signal", async () => {
    const proxy = new TcpProxy(PORTS[kind]);
    proxy.silent = true;
    await proxy.start();
    const invoker = createBrokerInvoker({ timeoutMs: 400 });
    try {
      const uri = await fixture.uri(proxy.port);
      const started = Date.now();
      await rejects(invoker.invoke(invocation(uri), signal()), "TIMEOUT", true);
      assert.ok(Date.now() - started < 1_500, `timed out after ${Date.now() - started} ms`);
      const controller = new AbortController();
      const work = invoker.invoke(invocation(uri), controller.signal);
      controller.abort();
      await rejects(work, "ABORTED", true);
    } finally {
      await proxy.stop();
      await invoker.close();
    }
  });

  it("fails with ABORTED after close()", async () => {
    const invoker = createBrokerInvoker();
    await invoker.close();
    await rejects(invoker.invoke(invocation(await fixture.uri(PORTS[kind])), signal()), "ABORTED", true);
  });

  if (fixture.badCredentials !== undefined) {
    const badCredentials = fixture.badCredentials;
    it("refuses wrong credentials as final (NO_PERMISSIONS), without the password in the message", async () => {
      const invoker = createBrokerInvoker();
      try {
        const error = await rejects(
          invoker.invoke(invocation(badCredentials(PORTS[kind])), signal()),
          "NO_PERMISSIONS",
          false,
        );
        assert.doesNotMatch(error.message, /s3cr3t/);
        assert.match(error.message, /\*\*\*/);
      } finally {
        await invoker.close();
      }
    });
  }
}

describe("broker target URIs", () => {
  it("parses each documented form", () => {
    assert.deepEqual(
      pick(parseBrokerUri("nats://u:p%40ss@nats.example:4333/orders.created?jetstream=true"), [
        "kind",
        "host",
        "port",
        "username",
        "password",
        "subject",
        "jetstream",
      ]),
      {
        kind: "nats",
        host: "nats.example",
        port: 4333,
        username: "u",
        password: "p@ss",
        subject: "orders.created",
        jetstream: true,
      },
    );
    assert.deepEqual(pick(parseBrokerUri("nats://s3cr3t@localhost/a"), ["token", "username", "port"]), {
      token: "s3cr3t",
      username: undefined,
      port: 4222,
    });
    assert.deepEqual(
      pick(parseBrokerUri("amqps://guest:guest@rabbit/prod%2Feu?exchange=events&routingKey=order.created"), [
        "kind",
        "tls",
        "port",
        "vhost",
        "exchange",
        "routingKey",
        "mandatory",
      ]),
      {
        kind: "amqp",
        tls: true,
        port: 5671,
        vhost: "prod/eu",
        exchange: "events",
        routingKey: "order.created",
        mandatory: true,
      },
    );
    assert.equal((parseBrokerUri("amqp://h?routingKey=q") as { vhost: string }).vhost, "/");
    assert.equal((parseBrokerUri("amqp://h/%2F?routingKey=q") as { vhost: string }).vhost, "/");
    assert.deepEqual(
      pick(parseBrokerUri("mqtt://h/factory/line%201/temp?qos=0&protocolVersion=4"), [
        "topic",
        "qos",
        "protocolVersion",
        "port",
      ]),
      { topic: "factory/line 1/temp", qos: 0, protocolVersion: 4, port: 1883 },
    );
    assert.deepEqual(
      pick(parseBrokerUri("rediss://:pw@h:6380/3?stream=events&maxlen=1000"), [
        "tls",
        "db",
        "stream",
        "maxLen",
        "username",
        "password",
      ]),
      { tls: true, db: 3, stream: "events", maxLen: 1000, username: undefined, password: "pw" },
    );
  });

  it("pools by endpoint and credentials, not by destination", () => {
    const key = (uri: string): string => parseBrokerUri(uri).poolKey;
    assert.equal(key("nats://h/a"), key("nats://h/b?jetstream=true"));
    assert.notEqual(key("nats://u:p@h/a"), key("nats://u:q@h/a"));
    assert.equal(key("amqp://h/v?exchange=a"), key("amqp://h/v?exchange=b&routingKey=k"));
    assert.notEqual(key("amqp://h/v1?exchange=a"), key("amqp://h/v2?exchange=a"));
    assert.equal(key("mqtt://h/a/b"), key("mqtt://h/c?qos=0"));
    assert.notEqual(key("redis://h/0?stream=a"), key("redis://h/1?stream=a"));
    assert.equal(key("redis://h/0?stream=a"), key("redis://h?stream=b"));
  });

  for (const [uri, reason] of [
    ["not a uri", /not a valid URI/],
    ["http://h/x", /not a broker scheme/],
    ["nats://h", /subject is missing/],
    ["nats://h/a.*", /wildcard/],
    ["nats://h/a.>", /wildcard/],
    ["nats://h/a..b", /empty token/],
    ["nats://h/a%20b", /whitespace/],
    ["nats://h/a?jetstream=yes", /jetstream must be true or false/],
    ["nats://tok@h/a?token=tok2", /either as the user name or as \?token=/],
    ["nats://h/a?subject=b", /unknown query parameter subject/],
    ["nats://h/a?jetstream=true&jetstream=false", /given twice/],
    ["nats://h/a#frag", /fragment/],
    ["amqp://h/", /give \?exchange=/],
    [`amqp://h/?exchange=${"x".repeat(256)}`, /exchange is over 255 bytes/],
    ["amqp://h/?exchange=x&mandatory=1", /mandatory must be true or false/],
    ["mqtt://h/", /topic is missing/],
    ["mqtt://h/a/%2B/b", /wildcard/],
    ["mqtt://h/a/%23", /wildcard/],
    ["mqtt://h/a?qos=2", /qos must be 0 or 1/],
    ["mqtt://h/a?protocolVersion=3", /protocolVersion must be 4/],
    ["redis://h/0", /stream=<key> is required/],
    ["redis://h/events?stream=x", /database number/],
    ["redis://h/0?stream=x&maxlen=0", /maxlen must be a positive integer/],
    ["redis://h/0?stream=x&maxlen=1.5", /maxlen must be a positive integer/],
    ["redis://:s3cr3t@h/0?stream=x&bogus=1", /unknown query parameter bogus/],
    ["redis://h/0?stream=%", /invalid percent-encoding/],
    ["nats://h:0/a", /port 0/],
    ["amqp://h/a/b?exchange=x", /one segment/],
    ["NATS://h/a b", /whitespace/],
  ] as const) {
    it(`refuses ${uri.slice(0, 60)}`, () => {
      const why = checkBrokerUri(uri);
      assert.ok(why !== undefined, "refused");
      assert.match(why, reason);
      assert.doesNotMatch(why, /s3cr3t/);
    });
  }

  it("accepts every documented form", () => {
    for (const uri of [
      "nats://127.0.0.1:4222/orders.created",
      "nats://u:p@h/orders?jetstream=true",
      "nats://h/orders?token=t&tls=true",
      "amqp://guest:guest@127.0.0.1:5672/?exchange=events&routingKey=a.b",
      "amqp://h/vh?routingKey=queue",
      "amqps://h/%2F?exchange=events&mandatory=false",
      "mqtt://h:1883/a/b/c",
      "mqtts://u:p@h/a?qos=0&retain=true&protocolVersion=4",
      "redis://h:6379/0?stream=events",
      "rediss://user:pw@h/2?stream=events&maxlen=100",
    ]) {
      assert.equal(checkBrokerUri(uri), undefined, uri);
    }
  });

  it("redacts passwords and tokens for logs", () => {
    assert.equal(redactUri("amqp://guest:s3cr3t@h/?exchange=x"), "amqp://guest:***@h/?exchange=x");
    assert.equal(redactUri("nats://s3cr3t@h/a"), "nats://***@h/a");
    assert.equal(redactUri("nats://h/a?token=s3cr3t&jetstream=true"), "nats://h/a?token=***&jetstream=true");
    assert.equal(redactUri("redis://:s3cr3t@h/0?stream=x"), "redis://:***@h/0?stream=x");
    assert.equal(redactUri("mqtt://u:s3cr3t@h/a"), "mqtt://u:***@h/a");
    assert.equal(redactUri("mqtt://u:s3cr3t@h:bad/a"), "mqtt://***@h:bad/a");
    assert.equal(redactUri("nats://h/a"), "nats://h/a");
    // Unparsable, a password holding "/", "#" or "?" unencoded: all up to the last "@" goes.
    for (const uri of [
      "nats://u:pa/s3cr3t@h/a",
      "amqp://u:p#s3cr3t@h/?exchange=x",
      "amqp://u:se?s3cr3t@h/?exchange=x",
    ]) {
      assert.doesNotMatch(redactUri(uri), /s3cr3t/, uri);
      assert.doesNotMatch(checkBrokerUri(uri) ?? "", /s3cr3t/, uri);
    }
  });

  it("fails an invocation of an invalid URI as final, without connecting", async () => {
    const invoker = createBrokerInvoker();
    try {
      const error = await rejects(
        invoker.invoke(invocation("mqtt://u:s3cr3t@127.0.0.1/a/#"), signal()),
        "INVALID_PARAMETER",
        false,
      );
      assert.doesNotMatch(error.message, /s3cr3t/);
      assert.equal(invoker.stats().mqtt.opened, 0);
    } finally {
      await invoker.close();
    }
  });

  it("documents every error code in docs/targets-brokers.md, and nothing else", () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "docs", "targets-brokers.md"), "utf8");
    const section = doc.slice(doc.indexOf("## Errors and retries"));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), Object.keys(BROKER_ERROR_CODES).sort());
  });

  it("refuses unknown and out-of-range options", () => {
    assert.throws(
      () => createBrokerInvoker({ timeout: 5 } as never),
      /unknown broker invoker option timeout/,
    );
    assert.throws(() => createBrokerInvoker({ timeoutMs: 0 }), /timeoutMs must be a positive integer/);
    assert.throws(() => createBrokerInvoker({ resourceNotFoundAttempts: 1.5 }), /resourceNotFoundAttempts/);
  });
});

describe("NATS targets", { skip: skipUnless("nats") }, () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const streams: string[] = [];
  const invoker = createBrokerInvoker();

  before(async () => {
    nc = await natsConnect({ servers: `127.0.0.1:${PORTS.nats}` });
    jsm = await jetstreamManager(nc);
  });
  after(async () => {
    await invoker.close();
    for (const name of streams) await jsm.streams.delete(name).catch(() => false);
    await nc.close();
  });

  async function stream(): Promise<{ name: string; subject: string }> {
    const name = `${RUN}_${streams.length}`;
    const subject = `${RUN}.js.${streams.length}`;
    streams.push(name);
    await jsm.streams.add({ name, subjects: [subject], duplicate_window: 60_000_000_000 });
    return { name, subject };
  }

  it("publishes on a core subject with the documented headers", async () => {
    const subject = `${RUN}.core.${randomUUID()}`;
    const inbox = new Inbox<{ data: string; headers: Record<string, string> }>();
    const sub = nc.subscribe(subject, {
      callback: (_error, msg) =>
        inbox.push({
          data: msg.string(),
          headers: Object.fromEntries([...(msg.headers ?? [])].map(([k, v]) => [k, v.join(",")])),
        }),
    });
    await nc.flush();
    const call = invocation(`nats://127.0.0.1:${PORTS.nats}/${subject}`);
    await invoker.invoke(call, signal());
    const received = await inbox.next();
    sub.unsubscribe();
    assert.equal(received.data, call.payload);
    assert.equal(received.headers["Busbar-Delivery-Id"], call.deliveryId);
    assert.equal(received.headers["Busbar-Event-Id"], call.event.id);
    assert.equal(received.headers["Content-Type"], "application/json");
  });

  it("publishes to JetStream, waits for the PubAck, and stores a retried delivery once (Nats-Msg-Id)", async () => {
    const { name, subject } = await stream();
    const call = invocation(`nats://127.0.0.1:${PORTS.nats}/${subject}?jetstream=true`);
    await invoker.invoke(call, signal());
    await invoker.invoke({ ...call, attempt: 1 }, signal());
    const info = await jsm.streams.info(name);
    assert.equal(info.state.messages, 1);
    const stored = await jsm.streams.getMessage(name, { last_by_subj: subject });
    assert.ok(stored !== null);
    assert.equal(new TextDecoder().decode(stored.data), call.payload);
    assert.equal(stored.header.get("Nats-Msg-Id"), call.deliveryId);
    assert.equal(stored.header.get("Busbar-Event-Id"), call.event.id);
  });

  it("retries a subject no stream captures a few attempts, then gives up (RESOURCE_NOT_FOUND)", async () => {
    const uri = `nats://127.0.0.1:${PORTS.nats}/${RUN}.nostream.x?jetstream=true`;
    const error = await rejects(invoker.invoke(invocation(uri), signal()), "RESOURCE_NOT_FOUND", true);
    assert.match(error.message, /no JetStream stream captures subject/);
    await rejects(
      invoker.invoke(invocation(uri, "{}", { attempt: 1 }), signal()),
      "RESOURCE_NOT_FOUND",
      true,
    );
    await rejects(
      invoker.invoke(invocation(uri, "{}", { attempt: 2 }), signal()),
      "RESOURCE_NOT_FOUND",
      false,
    );
  });

  it("refuses a payload over the server's max_payload as final", async () => {
    const uri = `nats://127.0.0.1:${PORTS.nats}/${RUN}.big`;
    const big = "x".repeat((nc.info?.max_payload ?? 1_048_576) + 1);
    await rejects(invoker.invoke(invocation(uri, big), signal()), "PAYLOAD_TOO_LARGE", false);
  });

  sharedTests({
    kind: "nats",
    uri: (port) => Promise.resolve(`nats://127.0.0.1:${port}/${RUN}.shared.${randomUUID()}`),
    // The machine's NATS server has no authentication: any credentials are accepted (wrong ones are
    // tested in delivery-broker-auth.test.ts, against a server of its own that requires them).
    badCredentials: undefined,
  });
});

describe("RabbitMQ targets", { skip: skipUnless("amqp") }, () => {
  let connection: ChannelModel;
  let channel: Channel;
  const exchange = `${RUN}.events`;
  const invoker = createBrokerInvoker();

  before(async () => {
    connection = await amqpConnect(`amqp://guest:guest@127.0.0.1:${PORTS.amqp}`);
    channel = await connection.createChannel();
    await channel.assertExchange(exchange, "topic", { durable: false });
  });
  after(async () => {
    await invoker.close();
    await channel.deleteExchange(exchange);
    await connection.close();
  });

  /** An exclusive queue bound to `exchange` for `routingKey`, consumed into an inbox. */
  async function queue(
    routingKey: string,
    source = exchange,
  ): Promise<{ name: string; inbox: Inbox<ConsumeMessage> }> {
    const { queue: name } = await channel.assertQueue("", { exclusive: true });
    if (source !== "") await channel.bindQueue(name, source, routingKey);
    const inbox = new Inbox<ConsumeMessage>();
    await channel.consume(name, (msg) => msg !== null && inbox.push(msg), { noAck: true });
    return { name, inbox };
  }

  it("publishes a persistent JSON message to an exchange and waits for the confirm", async () => {
    const { inbox } = await queue("order.*");
    const call = invocation(
      `amqp://guest:guest@127.0.0.1:${PORTS.amqp}/?exchange=${exchange}&routingKey=order.created`,
    );
    await invoker.invoke(call, signal());
    const msg = await inbox.next();
    assert.equal(msg.content.toString("utf8"), call.payload);
    assert.equal(msg.fields.routingKey, "order.created");
    assert.equal(msg.properties.deliveryMode, 2);
    assert.equal(msg.properties.contentType, "application/json");
    assert.equal(msg.properties.messageId, call.deliveryId);
    assert.equal(msg.properties.appId, "busbar");
    assert.equal((msg.properties.headers as Record<string, unknown>)["busbar-event-id"], call.event.id);
  });

  it("closes the channel of an exchange no longer published to, and publishes to it again after", async () => {
    const idle = createBrokerInvoker({ channelIdleMs: 200 });
    const exchanges = Array.from({ length: 5 }, (_, i) => `${RUN}.churn-${i}`);
    try {
      for (const name of exchanges) await channel.assertExchange(name, "fanout", { durable: false });
      const uri = (name: string) =>
        `amqp://guest:guest@127.0.0.1:${PORTS.amqp}/?exchange=${name}&routingKey=x&mandatory=false`;
      for (const name of exchanges) await idle.invoke(invocation(uri(name)), signal());
      assert.equal(idle.stats().amqp.channels, 5, "a channel per exchange");
      // Unused for longer than channelIdleMs: closed (a connection's channels are bounded, 2,047 on
      // RabbitMQ, and each exchange ever used kept one).
      const until = Date.now() + 3_000;
      while ((idle.stats().amqp.channels ?? 0) > 0 && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(idle.stats().amqp.channels, 0);
      assert.equal(idle.stats().amqp.open, 1, "the connection stays");
      const { inbox } = await queue("", exchanges[0]);
      const again = invocation(uri(exchanges[0] ?? ""));
      await idle.invoke(again, signal());
      assert.equal((await inbox.next()).content.toString("utf8"), again.payload);
    } finally {
      await idle.close();
      for (const name of exchanges) await channel.deleteExchange(name);
    }
  });

  it("publishes straight to a queue through the default exchange (?routingKey=<queue>, vhost %2F)", async () => {
    const { name, inbox } = await queue("", "");
    const call = invocation(`amqp://guest:guest@127.0.0.1:${PORTS.amqp}/%2F?routingKey=${name}`);
    await invoker.invoke(call, signal());
    assert.equal((await inbox.next()).content.toString("utf8"), call.payload);
  });

  it("fails a returned (unroutable) message, retryably for a few attempts then finally (UNROUTABLE)", async () => {
    const uri = `amqp://guest:guest@127.0.0.1:${PORTS.amqp}/?exchange=${exchange}&routingKey=nobody.listens`;
    const error = await rejects(invoker.invoke(invocation(uri), signal()), "UNROUTABLE", true);
    assert.match(error.message, /NO_ROUTE/);
    await rejects(invoker.invoke(invocation(uri, "{}", { attempt: 2 }), signal()), "UNROUTABLE", false);
    // With mandatory=false the broker drops it and confirms.
    await invoker.invoke(invocation(`${uri}&mandatory=false`), signal());
  });

  it("fails a missing exchange (RESOURCE_NOT_FOUND) without disturbing other exchanges on the connection", async () => {
    const { inbox } = await queue("still.works");
    const base = `amqp://guest:guest@127.0.0.1:${PORTS.amqp}/`;
    await rejects(
      invoker.invoke(invocation(`${base}?exchange=${RUN}.missing&routingKey=x`), signal()),
      "RESOURCE_NOT_FOUND",
      true,
    );
    await rejects(
      invoker.invoke(
        invocation(`${base}?exchange=${RUN}.missing&routingKey=x`, "{}", { attempt: 2 }),
        signal(),
      ),
      "RESOURCE_NOT_FOUND",
      false,
    );
    const call = invocation(`${base}?exchange=${exchange}&routingKey=still.works`);
    await invoker.invoke(call, signal());
    assert.equal((await inbox.next()).content.toString("utf8"), call.payload);
  });

  it("refuses a virtual host that does not exist as final (NO_PERMISSIONS)", async () => {
    const uri = `amqp://guest:guest@127.0.0.1:${PORTS.amqp}/${RUN}-novhost?exchange=x`;
    const error = await rejects(invoker.invoke(invocation(uri), signal()), "NO_PERMISSIONS", false);
    assert.match(error.message, /virtual host/);
  });

  sharedTests({
    kind: "amqp",
    uri: async (port) => {
      const routingKey = `shared.${randomUUID()}`;
      await queue(routingKey);
      return `amqp://guest:guest@127.0.0.1:${port}/?exchange=${exchange}&routingKey=${routingKey}`;
    },
    badCredentials: (port) => `amqp://guest:s3cr3t-pw@127.0.0.1:${port}/?exchange=${exchange}`,
  });
});

describe("MQTT targets", { skip: skipUnless("mqtt") }, () => {
  let client: MqttClient;
  const inboxes = new Map<string, Inbox<IPublishPacket>>();
  const invoker = createBrokerInvoker();

  before(async () => {
    client = await mqttConnect({
      host: "127.0.0.1",
      port: PORTS.mqtt,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    client.on("message", (topic, _payload, packet) => inboxes.get(topic)?.push(packet));
  });
  after(async () => {
    await invoker.close();
    await client.endAsync();
  });

  async function topic(): Promise<{ topic: string; inbox: Inbox<IPublishPacket> }> {
    const name = `busbar-test/${RUN}/${randomUUID()}/events`;
    const inbox = new Inbox<IPublishPacket>();
    inboxes.set(name, inbox);
    await client.subscribeAsync(name, { qos: 1 });
    return { topic: name, inbox };
  }

  it("publishes at QoS 1 to a topic with slashes, with MQTT 5 properties", async () => {
    const { topic: name, inbox } = await topic();
    const call = invocation(`mqtt://127.0.0.1:${PORTS.mqtt}/${name}`);
    await invoker.invoke(call, signal());
    const packet = await inbox.next();
    assert.equal(packet.topic, name);
    assert.equal(packet.qos, 1);
    assert.equal(Buffer.from(packet.payload).toString("utf8"), call.payload);
    assert.equal(packet.properties?.contentType, "application/json");
    assert.deepEqual(
      { ...packet.properties?.userProperties },
      {
        "busbar-delivery-id": call.deliveryId,
        "busbar-event-id": call.event.id,
      },
    );
  });

  it("publishes at QoS 0 and over MQTT 3.1.1 (?qos=0&protocolVersion=4)", async () => {
    const { topic: name, inbox } = await topic();
    const call = invocation(`mqtt://127.0.0.1:${PORTS.mqtt}/${name}?qos=0&protocolVersion=4`);
    await invoker.invoke(call, signal());
    const packet = await inbox.next();
    assert.equal(Buffer.from(packet.payload).toString("utf8"), call.payload);
    assert.equal(packet.qos, 0);
  });

  sharedTests({
    kind: "mqtt",
    uri: async (port) => `mqtt://127.0.0.1:${port}/${(await topic()).topic}`,
    // The machine's Mosquitto allows anonymous clients and ignores credentials (wrong ones are tested
    // in delivery-broker-auth.test.ts, against a broker of its own that requires them).
    badCredentials: undefined,
  });
});

describe("Redis stream targets", { skip: skipUnless("redis") }, () => {
  let redis: Redis;
  const keys: Array<[db: number, key: string]> = [];
  const invoker = createBrokerInvoker();

  before(async () => {
    redis = new Redis({ host: "127.0.0.1", port: PORTS.redis, lazyConnect: true });
    await redis.connect();
  });
  after(async () => {
    await invoker.close();
    for (const [db, key] of keys) {
      await redis.select(db);
      await redis.del(key);
    }
    await redis.quit();
  });

  function stream(db = 0): string {
    const key = `${RUN}:${randomUUID()}`;
    keys.push([db, key]);
    return key;
  }

  it("XADDs the payload with the delivery and event ids", async () => {
    const key = stream();
    const call = invocation(`redis://127.0.0.1:${PORTS.redis}/0?stream=${encodeURIComponent(key)}`);
    await invoker.invoke(call, signal());
    await redis.select(0);
    const entries = await redis.xrange(key, "-", "+");
    assert.equal(entries.length, 1);
    const fields = entries[0]?.[1] ?? [];
    assert.deepEqual(fields, [
      "event",
      call.payload,
      "delivery-id",
      call.deliveryId,
      "event-id",
      call.event.id,
    ]);
  });

  it("appends to the database in the path", async () => {
    const key = stream(1);
    await invoker.invoke(invocation(`redis://127.0.0.1:${PORTS.redis}/1?stream=${key}`, "{}"), signal());
    await redis.select(0);
    assert.equal(await redis.exists(key), 0);
    await redis.select(1);
    assert.equal(await redis.xlen(key), 1);
    await redis.select(0);
  });

  it("trims the stream approximately with ?maxlen", async () => {
    const key = stream();
    const uri = `redis://127.0.0.1:${PORTS.redis}/0?stream=${key}&maxlen=10`;
    for (let i = 0; i < 250; i += 1) await invoker.invoke(invocation(uri, `{"i":${i}}`), signal());
    await redis.select(0);
    const length = await redis.xlen(key);
    assert.ok(length >= 10 && length < 250, `XLEN ${length}`);
  });

  it("refuses a key of another type as final (WRONGTYPE)", async () => {
    const key = stream();
    await redis.select(0);
    await redis.set(key, "not a stream");
    const error = await rejects(
      invoker.invoke(invocation(`redis://127.0.0.1:${PORTS.redis}/0?stream=${key}`), signal()),
      "BROKER_REJECTED",
      false,
    );
    assert.match(error.message, /WRONGTYPE/);
  });

  it("refuses a database number the server does not have as final", async () => {
    await rejects(
      invoker.invoke(invocation(`redis://127.0.0.1:${PORTS.redis}/99999?stream=${stream()}`), signal()),
      "INVALID_PARAMETER",
      false,
    );
  });

  sharedTests({
    kind: "redis",
    uri: (port) => Promise.resolve(`redis://127.0.0.1:${port}/0?stream=${stream()}`),
    badCredentials: (port) => `redis://${RUN}-nobody:s3cr3t-pw@127.0.0.1:${port}/0?stream=${RUN}:never`,
  });
});

function pick(value: object, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, (value as Record<string, unknown>)[k]]));
}
