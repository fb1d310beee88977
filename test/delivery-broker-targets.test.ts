/**
 * Broker targets end to end: one rule of a real `busbar serve` with a NATS JetStream (a stream the test
 * makes, publishes acknowledged by PubAck), a RabbitMQ, an MQTT and a Redis streams target, each
 * consumed with the broker's own client from the machine's real broker.
 * Skips loudly when a broker is unreachable, except under CI=true.
 */
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ListRuleNamesByTargetCommand,
  PutEventsCommand,
  PutRuleCommand,
  ListTargetsByRuleCommand,
  PutTargetsCommand,
  type EventBridgeClient,
} from "@aws-sdk/client-eventbridge";
import Database from "better-sqlite3";
import { connect as natsConnect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import amqp from "amqplib";
import { Redis } from "ioredis";
import mqtt from "mqtt";
import {
  eventBridgeClient,
  reachable,
  removeDataDir,
  startBusbar,
  type BusbarProcess,
} from "./support/index.js";

const PORTS = { nats: 4222, rabbitmq: 5672, mosquitto: 1883, redis: 6379 } as const;

let server: BusbarProcess;
let events: EventBridgeClient;
/** The brokers are on loopback, which broker targets reach only in a network the operator allowed. */
const ENV = { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8" };
const down: string[] = [];

before(async () => {
  for (const [name, port] of Object.entries(PORTS)) if (!(await reachable(port))) down.push(name);
  if (down.length > 0) {
    const message = `broker target tests need ${down.join(", ")} on 127.0.0.1 (see the env skill's machines/node-svc.md)`;
    if (process.env.CI === "true") throw new Error(message);
    console.warn(`\n!!! SKIPPING: ${message}\n`);
    return;
  }
  server = await startBusbar({ env: ENV });
  events = eventBridgeClient(server.url);
});

after(async () => {
  if (down.length > 0) return;
  events.destroy();
  await server.stop();
  removeDataDir(server.dataDir);
});

describe("broker targets", () => {
  it("deliver one event to NATS JetStream, RabbitMQ, MQTT and a Redis stream", async (t) => {
    if (down.length > 0) {
      t.skip(`brokers down: ${down.join(", ")}`);
      return;
    }
    const tag = randomUUID().slice(0, 8);
    const subject = `busbar.test.${tag}`;
    const topic = `busbar/test/${tag}`;
    const stream = `busbar-test-${tag}`;
    const jsStream = `busbar_test_${tag}`;

    const nc = await natsConnect({ servers: "127.0.0.1:4222" });
    // The NATS target publishes with JetStream: to a stream that captures its subject, acknowledged by
    // the stream's PubAck (without the stream, the publish finds no responders and fails).
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: jsStream, subjects: [subject] });
    const natsGot = new Promise<string>((resolve) => {
      const sub = nc.subscribe(subject, { max: 1 });
      void (async () => {
        for await (const m of sub) resolve(m.string());
      })();
    });
    const conn = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, "amq.topic", `busbar.${tag}`);
    const amqpGot = new Promise<string>((resolve) => {
      void ch.consume(queue, (m) => m !== null && resolve(m.content.toString("utf8")), { noAck: true });
    });
    const mq = await mqtt.connectAsync("mqtt://127.0.0.1:1883");
    await mq.subscribeAsync(topic, { qos: 1 });
    const mqttGot = new Promise<string>((resolve) =>
      mq.on("message", (_t, payload) => resolve(payload.toString("utf8"))),
    );
    const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true });
    await redis.connect();
    try {
      await events.send(
        new PutRuleCommand({ Name: `brokers-${tag}`, EventPattern: `{"source":["brokers.${tag}"]}` }),
      );
      const put = await events.send(
        new PutTargetsCommand({
          Rule: `brokers-${tag}`,
          Targets: [
            { Id: "nats", Arn: `nats://127.0.0.1:4222/${subject}?jetstream=true` },
            {
              Id: "amqp",
              Arn: `amqp://guest:guest@127.0.0.1:5672/?exchange=amq.topic&routingKey=busbar.${tag}`,
            },
            { Id: "mqtt", Arn: `mqtt://127.0.0.1:1883/${topic}` },
            { Id: "redis", Arn: `redis://127.0.0.1:6379/0?stream=${stream}` },
          ],
        }),
      );
      assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.FailedEntries));
      // The listing hides the broker's password; put back as listed, the targets keep their credentials
      // (the delivery to RabbitMQ below would be refused with "***" as the password).
      const listed = await events.send(new ListTargetsByRuleCommand({ Rule: `brokers-${tag}` }));
      const amqpArn = listed.Targets?.find((target) => target.Id === "amqp")?.Arn;
      assert.equal(amqpArn, `amqp://guest:***@127.0.0.1:5672/?exchange=amq.topic&routingKey=busbar.${tag}`);
      const again = await events.send(
        new PutTargetsCommand({ Rule: `brokers-${tag}`, Targets: listed.Targets ?? [] }),
      );
      assert.equal(again.FailedEntryCount, 0, JSON.stringify(again.FailedEntries));
      // Changed otherwise, its *** would be the password: refused, and the stored target kept.
      const changed = await events.send(
        new PutTargetsCommand({
          Rule: `brokers-${tag}`,
          Targets: [
            { Id: "amqp", Arn: `${amqpArn}&mandatory=true` },
            { Id: "new", Arn: `${amqpArn}` },
          ],
        }),
      );
      assert.equal(changed.FailedEntryCount, 2, JSON.stringify(changed.FailedEntries));
      for (const entry of changed.FailedEntries ?? [])
        assert.match(entry.ErrorMessage ?? "", /password or token is \*\*\*/);
      const r = await events.send(
        new PutEventsCommand({
          Entries: [{ Source: `brokers.${tag}`, DetailType: "t", Detail: '{"n":42}' }],
        }),
      );
      const id = r.Entries?.[0]?.EventId;
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("timed out")), 10_000),
      );
      for (const got of [natsGot, amqpGot, mqttGot]) {
        const event = JSON.parse(await Promise.race([got, timeout])) as { id: string; detail: unknown };
        assert.equal(event.id, id);
        assert.deepEqual(event.detail, { n: 42 });
      }
      const deadline = Date.now() + 10_000;
      let entries: Array<[string, string[]]> = [];
      while (entries.length === 0 && Date.now() < deadline) {
        entries = await redis.xrange(stream, "-", "+");
        if (entries.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const fields = entries[0]?.[1] ?? [];
      const event = JSON.parse(fields[fields.indexOf("event") + 1] as string) as { id: string };
      assert.equal(event.id, id);
      // The stream stored the event once, with JetStream's deduplication id: the delivery id.
      const info = await jsm.streams.info(jsStream);
      assert.equal(info.state.messages, 1);
      const stored = await jsm.streams.getMessage(jsStream, { last_by_subj: subject });
      assert.ok(stored !== null);
      assert.equal((JSON.parse(new TextDecoder().decode(stored.data)) as { id: string }).id, id);
      assert.equal(stored.header.get("Busbar-Event-Id"), id);
      assert.match(stored.header.get("Nats-Msg-Id"), /\S/);
      assert.equal(stored.header.get("Nats-Msg-Id"), stored.header.get("Busbar-Delivery-Id"));
      assert.doesNotMatch(server.output(), /guest:guest/, "no credentials in the log");
    } finally {
      await jsm.streams.delete(jsStream).catch(() => false);
      await nc.close();
      await conn.close();
      await mq.endAsync();
      await redis.del(stream);
      redis.disconnect();
    }
  });

  it("label what they publish as JSON, or as text when an InputTransformer made text of the event", async (t) => {
    if (down.length > 0) {
      t.skip(`brokers down: ${down.join(", ")}`);
      return;
    }
    const tag = randomUUID().slice(0, 8);
    const nc = await natsConnect({ servers: "127.0.0.1:4222" });
    const natsGot = (subject: string) =>
      new Promise<[string, string | undefined]>((resolve) => {
        const sub = nc.subscribe(subject, { max: 1 });
        void (async () => {
          for await (const m of sub) resolve([m.string(), m.headers?.get("Content-Type")]);
        })();
      });
    const textGot = natsGot(`busbar.text.${tag}`);
    const jsonGot = natsGot(`busbar.json.${tag}`);
    const conn = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, "amq.topic", `busbar.text.${tag}`);
    const amqpGot = new Promise<[string, unknown]>((resolve) => {
      void ch.consume(
        queue,
        (m) => m !== null && resolve([m.content.toString("utf8"), m.properties.contentType]),
        {
          noAck: true,
        },
      );
    });
    const text = { InputPathsMap: { n: "$.detail.n" }, InputTemplate: "n is <n>" };
    try {
      await events.send(
        new PutRuleCommand({ Name: `typed-${tag}`, EventPattern: `{"source":["typed.${tag}"]}` }),
      );
      const put = await events.send(
        new PutTargetsCommand({
          Rule: `typed-${tag}`,
          Targets: [
            { Id: "nats-text", Arn: `nats://127.0.0.1:4222/busbar.text.${tag}`, InputTransformer: text },
            { Id: "nats-json", Arn: `nats://127.0.0.1:4222/busbar.json.${tag}` },
            {
              Id: "amqp-text",
              Arn: `amqp://guest:guest@127.0.0.1:5672/?exchange=amq.topic&routingKey=busbar.text.${tag}`,
              InputTransformer: text,
            },
          ],
        }),
      );
      assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.FailedEntries));
      await events.send(
        new PutEventsCommand({ Entries: [{ Source: `typed.${tag}`, DetailType: "t", Detail: '{"n":42}' }] }),
      );
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("timed out")), 10_000),
      );
      assert.deepEqual(await Promise.race([textGot, timeout]), ["n is 42", "text/plain; charset=utf-8"]);
      const [json, type] = await Promise.race([jsonGot, timeout]);
      assert.equal(type, "application/json");
      assert.deepEqual((JSON.parse(json) as { detail: unknown }).detail, { n: 42 });
      assert.deepEqual(await Promise.race([amqpGot, timeout]), ["n is 42", "text/plain; charset=utf-8"]);
    } finally {
      await nc.close();
      await conn.close();
    }
  });

  it("keeps a broker's password sealed in the store, across restarts and from rows stored in clear", async (t) => {
    if (down.length > 0) {
      t.skip(`brokers down: ${down.join(", ")}`);
      return;
    }
    const tag = randomUUID().slice(0, 8);
    const uri = `amqp://guest:guest@127.0.0.1:5672/?exchange=amq.topic&routingKey=sealed.${tag}`;
    const shown = `amqp://guest:***@127.0.0.1:5672/?exchange=amq.topic&routingKey=sealed.${tag}`;
    const rule = `sealed-${tag}`;
    const conn = await amqp.connect("amqp://guest:guest@127.0.0.1:5672");
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, "amq.topic", `sealed.${tag}`);
    const got: string[] = [];
    await ch.consume(queue, (m) => m !== null && got.push(m.content.toString("utf8")), { noAck: true });
    let own = await startBusbar({ env: ENV });
    const file = join(own.dataDir, "busbar.db");
    const storedRow = () => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare("SELECT arn, spec FROM targets WHERE rule_name = ?").get(rule) as {
          arn: string;
          spec: string;
        };
      } finally {
        db.close();
      }
    };
    const delivered = async (client: EventBridgeClient) => {
      const r = await client.send(
        new PutEventsCommand({ Entries: [{ Source: `sealed.${tag}`, DetailType: "t", Detail: "{}" }] }),
      );
      const id = r.Entries?.[0]?.EventId ?? "";
      const deadline = Date.now() + 10_000;
      while (!got.some((body) => body.includes(id)) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return got.some((body) => body.includes(id));
    };
    try {
      let client = eventBridgeClient(own.url);
      await client.send(new PutRuleCommand({ Name: rule, EventPattern: `{"source":["sealed.${tag}"]}` }));
      const put = await client.send(
        new PutTargetsCommand({ Rule: rule, Targets: [{ Id: "amqp", Arn: uri }] }),
      );
      assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.FailedEntries));
      const sealed = storedRow();
      assert.equal(sealed.arn, shown);
      assert.doesNotMatch(sealed.spec, /guest:guest/);
      assert.match(sealed.spec, /"Arn":"busbar-sealed:v1:/);
      for (const arn of [uri, shown]) {
        const names = await client.send(new ListRuleNamesByTargetCommand({ TargetArn: arn }));
        assert.deepEqual(names.RuleNames, [rule], arn);
      }
      assert.ok(await delivered(client), "delivered with the opened password");

      // A row as versions before sealing stored it: the restarted node seals it, and still delivers.
      client.destroy();
      await own.stop();
      const db = new Database(file);
      db.prepare("UPDATE targets SET arn = ?, spec = ? WHERE rule_name = ?").run(
        uri,
        JSON.stringify({ Id: "amqp", Arn: uri }),
        rule,
      );
      db.close();
      own = await startBusbar({ env: ENV, dataDir: own.dataDir });
      client = eventBridgeClient(own.url);
      const resealed = storedRow();
      assert.equal(resealed.arn, shown);
      assert.doesNotMatch(resealed.spec, /guest:guest/);
      assert.ok(await delivered(client), "delivered after the restart");
      const listed = await client.send(new ListTargetsByRuleCommand({ Rule: rule }));
      assert.equal(listed.Targets?.[0]?.Arn, shown);
      client.destroy();
    } finally {
      await own.stop();
      removeDataDir(own.dataDir);
      await conn.close();
    }
  });
});
