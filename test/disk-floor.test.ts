/**
 * The floor of free disk space (BUSBAR_MIN_FREE_DISK_BYTES, src/store/disk-floor.ts): below it, new
 * events, messages and queues are refused with a retryable 503 in each API's shape, while receives,
 * deletes, configuration changes and pending deliveries go on; the space a drained queue frees inside
 * the database lifts the refusal. On a real, small file system (a tmpfs, which needs root to mount)
 * and with a floor above the machine's free space.
 */
import { mkdtempSync, statSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateEventBusCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  CreateQueueCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import {
  createQueue,
  eventBridgeClient,
  metric,
  mountTmpfs,
  rejectsWith,
  removeDataDir,
  sqsClient,
  startBusbar,
  unmountTmpfs,
  type BusbarProcess,
} from "./support/index.js";

const MIB = 1024 * 1024;
const LOW = /low on disk space: .* under the 16\.0 MiB it keeps free for new events, messages and queues/;

/** Every message of the queue received and deleted; how many. */
async function drain(sqs: SQSClient, queueUrl: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    const messages = r.Messages ?? [];
    if (messages.length === 0) return deleted;
    const d = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    assert.equal(d.Failed?.length ?? 0, 0, JSON.stringify(d.Failed));
    deleted += d.Successful?.length ?? 0;
  }
}

describe("the disk floor on a small file system", () => {
  let mounted: { dir: string } | { skip: string };
  let server: BusbarProcess | undefined;

  before(async () => {
    mounted = mountTmpfs(48);
    if ("skip" in mounted) {
      if (process.env.CI === "true") throw new Error(`CI=true: ${mounted.skip}`);
      console.warn(`\n*** SKIPPING the small file system's disk floor test: ${mounted.skip} ***\n`);
      return;
    }
    server = await startBusbar({
      dataDir: join(mounted.dir, "data"),
      env: { BUSBAR_MIN_FREE_DISK_BYTES: String(16 * MIB) },
    });
  });

  after(async () => {
    await server?.stop();
    if (!("skip" in mounted)) {
      unmountTmpfs(mounted.dir);
    }
  });

  it("refuses new data at the floor, never fills the disk, drains, and takes data again", async (t) => {
    if (server === undefined || "skip" in mounted) return t.skip("no tmpfs");
    const { dir } = mounted;
    const sqs = sqsClient(server.url);
    const events = eventBridgeClient(server.url);
    const queueUrl = await createQueue(sqs, "filling");
    const body = "x".repeat(100_000);
    let sent = 0;
    let refused: Error | undefined;
    // Three senders at once, 1 MB a request: faster than the room is measured, which is what each
    // call's estimate is charged against meanwhile.
    const sender = async (): Promise<void> => {
      for (let i = 0; i < 200; i++) {
        try {
          const r = await sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: Array.from({ length: 10 }, (_, j) => ({ Id: `m${j}`, MessageBody: body })),
            }),
          );
          assert.equal(r.Failed?.length ?? 0, 0, JSON.stringify(r.Failed));
          sent += r.Successful?.length ?? 0;
        } catch (e) {
          // Refused at the floor, before SQLite ever ran out of space (which gives the same 503, with SQLITE_FULL).
          assert.equal((e as Error).name, "ServiceUnavailable", String(e));
          refused = e as Error;
          return;
        }
      }
    };
    await Promise.all([sender(), sender(), sender()]);
    assert.ok(refused !== undefined);
    assert.match(refused.message, LOW);
    assert.ok(sent >= 150, `only ${sent} messages of 100 KB fit in 48 MiB before the 16 MiB floor`);
    assert.ok((await metric(server.url, "busbar_disk_refusals_total", { tier: "data" })) >= 1);
    // Never past it: before each call was charged its estimate, three senders took the disk to 0.
    assert.ok((await metric(server.url, "busbar_disk_free_bytes")) >= 12 * MIB);

    // Something else fills the file system down to 10 MiB of room (and the log's file, which the room
    // is less of): below the floor, over half of it.
    const { bavail, bsize } = statfsSync(dir);
    const wal = Math.min(statSync(join(dir, "data", "busbar.db-wal")).size, 4 * MIB);
    writeFileSync(join(dir, "filler"), Buffer.alloc(Math.max(0, bavail * bsize - wal - 10 * MIB)));
    const lowBy = Date.now() + 5_000;
    while ((await metric(server.url, "busbar_disk_low")) !== 1) {
      if (Date.now() > lowBy) throw new Error("not low within 5 s of the filler");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // New events and queues are refused likewise, in their own APIs' shapes; configuration goes on.
    await rejectsWith(
      events.send(new PutEventsCommand({ Entries: [{ Source: "s", DetailType: "d", Detail: "{}" }] })),
      "ServiceUnavailableException",
      LOW,
    );
    await rejectsWith(sqs.send(new CreateQueueCommand({ QueueName: "another" })), "ServiceUnavailable", LOW);
    await events.send(new PutRuleCommand({ Name: "still-configurable", EventPattern: '{"source":["s"]}' }));
    await events.send(new CreateEventBusCommand({ Name: "still-creatable" }));

    // Consumers drain the queue: every receive and delete works below the floor.
    assert.equal(await drain(sqs, queueUrl), sent);
    // The pages the drained messages held are reused: the refusal lifts though the file system's free
    // space did not grow (SQLite does not give them back to it).
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
        break;
      } catch (e) {
        assert.equal((e as Error).name, "ServiceUnavailable", String(e));
        if (Date.now() > deadline)
          throw new Error("the refusal did not lift within 10 s of the drain", { cause: e });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.equal(await metric(server.url, "busbar_disk_low"), 0);
    // The file system's free space is still under the floor: the room came from the drained pages.
    const free = await metric(server.url, "busbar_disk_free_bytes");
    const reusable = await metric(server.url, "busbar_store_reusable_bytes");
    assert.ok(free < 16 * MIB && free + reusable >= 18 * MIB, `free ${free}, reusable ${reusable}`);
    await events.send(new PutEventsCommand({ Entries: [{ Source: "s", DetailType: "d", Detail: "{}" }] }));
    await createQueue(sqs, "another");
    assert.equal(await drain(sqs, queueUrl), 1);

    // One event of 250 KB matched by 20 rules of 5 queue targets each: 100 deliveries, 25 MB of
    // messages (more, estimated), in one burst on a disk with about 30 MiB of room above the floor.
    // Those past the floor are held, then delivered once the queues are drained.
    const targets = Array.from({ length: 5 }, (_, i) => `fan-${i}`);
    const urls = await Promise.all(targets.map((name) => createQueue(sqs, name)));
    for (let r = 0; r < 20; r++) {
      await events.send(new PutRuleCommand({ Name: `fan-${r}`, EventPattern: '{"source":["fan"]}' }));
      await events.send(
        new PutTargetsCommand({
          Rule: `fan-${r}`,
          Targets: targets.map((name) => ({ Id: name, Arn: `arn:aws:sqs:us-east-1:000000000000:${name}` })),
        }),
      );
    }
    const big = JSON.stringify({ fill: "y".repeat(250_000) });
    const put = await events.send(
      new PutEventsCommand({ Entries: [{ Source: "fan", DetailType: "d", Detail: big }] }),
    );
    assert.equal(put.FailedEntryCount, 0);
    let delivered = 0;
    const fanDeadline = Date.now() + 120_000;
    while (delivered < 100) {
      if (Date.now() > fanDeadline) throw new Error(`${delivered} of 100 deliveries arrived in 120 s`);
      for (const url of urls) delivered += await drain(sqs, url);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(delivered, 100);
    assert.equal(await metric(server.url, "InvocationsDropped"), 0);

    const out = server.output();
    assert.match(out, /the data directory is low on disk space/);
    // The node's coming back above the floor is told at most a minute after it was told it went low.
    // A refusal is not a failure of the server's: no internal error is logged for it.
    assert.doesNotMatch(out, /"msg":"(internal error|the store failed)/);
    assert.doesNotMatch(out, /SQLITE_FULL/);
  });
});

describe("the disk floor above the machine's free space, below twice it", () => {
  // Half again the machine's free space: below it for data, over half of it for configuration.
  const { bavail, bsize } = statfsSync(tmpdir());
  const floorAboveAll = { BUSBAR_MIN_FREE_DISK_BYTES: String(Math.round(1.5 * bavail * bsize)) };
  let dataDir: string;
  let servers: BusbarProcess[] = [];

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), "busbar-floor-"));
  });

  after(async () => {
    for (const s of servers) await s.stop();
    removeDataDir(dataDir);
  });

  it("holds a pending delivery to a queue while low, and delivers it when there is room again", async () => {
    // Accepted with delivery off: the delivery stays pending.
    let server = await startBusbar({ dataDir, env: { BUSBAR_DELIVERY: "off" } });
    servers = [server];
    let sqs = sqsClient(server.url);
    let events = eventBridgeClient(server.url);
    await createQueue(sqs, "target");
    const targetArn = `arn:aws:sqs:us-east-1:000000000000:target`;
    await events.send(new PutRuleCommand({ Name: "to-queue", EventPattern: '{"source":["held"]}' }));
    // No retries: a refusal of the node's own is not the target's failure, and is not one of them.
    await events.send(
      new PutTargetsCommand({
        Rule: "to-queue",
        Targets: [{ Id: "q", Arn: targetArn, RetryPolicy: { MaximumRetryAttempts: 0 } }],
      }),
    );
    const put = await events.send(
      new PutEventsCommand({ Entries: [{ Source: "held", DetailType: "d", Detail: '{"n":1}' }] }),
    );
    assert.equal(put.FailedEntryCount, 0);
    assert.equal(await server.stop(), 0);

    // Below the floor: the delivery is tried, refused and held (tried again every 5 s), not dropped.
    server = await startBusbar({ dataDir, env: floorAboveAll });
    servers = [server];
    sqs = sqsClient(server.url);
    events = eventBridgeClient(server.url);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    assert.equal(await metric(server.url, "busbar_deliveries_in_memory"), 1);
    assert.equal(await metric(server.url, "InvocationsDropped"), 0);
    assert.equal(await metric(server.url, "FailedInvocations"), 0);
    assert.equal(await metric(server.url, "RetryInvocationAttempts"), 0);
    assert.equal(await metric(server.url, "busbar_disk_low"), 1);
    // Every API's new data is refused in its own shape, configuration and reads go on.
    await rejectsWith(
      events.send(new PutEventsCommand({ Entries: [{ Source: "s", DetailType: "d", Detail: "{}" }] })),
      "ServiceUnavailableException",
      /BUSBAR_MIN_FREE_DISK_BYTES/,
    );
    // The port is new at each start, and the queue's URL with it.
    const target = (await sqs.send(new GetQueueUrlCommand({ QueueName: "target" }))).QueueUrl;
    assert.equal(target, `${server.url}/000000000000/target`);
    await rejectsWith(
      sqs.send(new SendMessageCommand({ QueueUrl: target, MessageBody: "b" })),
      "ServiceUnavailable",
      /BUSBAR_MIN_FREE_DISK_BYTES/,
    );
    await rejectsWith(sqs.send(new CreateQueueCommand({ QueueName: "new" })), "ServiceUnavailable");
    await events.send(new PutRuleCommand({ Name: "another", EventPattern: '{"source":["x"]}' }));
    assert.doesNotMatch(server.output(), /"msg":"(internal error|the store failed)/);
    assert.equal(await server.stop(), 0);

    // With room again, the held delivery arrives.
    server = await startBusbar({ dataDir });
    servers = [server];
    sqs = sqsClient(server.url);
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: `${server.url}/000000000000/target`,
        WaitTimeSeconds: 10,
        MaxNumberOfMessages: 10,
      }),
    );
    assert.equal(r.Messages?.length, 1);
    assert.equal((JSON.parse(r.Messages?.[0]?.Body ?? "{}") as { source?: string }).source, "held");
  });

  it("answers each protocol's refusal with a front thread too (BUSBAR_HTTP_THREADS=1)", async () => {
    const server = await startBusbar({ env: { ...floorAboveAll, BUSBAR_HTTP_THREADS: "1" } });
    servers.push(server);
    try {
      const sqs = sqsClient(server.url);
      const events = eventBridgeClient(server.url);
      await rejectsWith(
        events.send(new PutEventsCommand({ Entries: [{ Source: "s", DetailType: "d", Detail: "{}" }] })),
        "ServiceUnavailableException",
        /BUSBAR_MIN_FREE_DISK_BYTES/,
      );
      await rejectsWith(
        sqs.send(new CreateQueueCommand({ QueueName: "new" })),
        "ServiceUnavailable",
        /BUSBAR_MIN_FREE_DISK_BYTES/,
      );
      await events.send(new CreateEventBusCommand({ Name: "configurable" }));
      assert.doesNotMatch(server.output(), /"msg":"(internal error|the store failed)/);
    } finally {
      await server.stop();
      removeDataDir(server.dataDir);
    }
  });
});
