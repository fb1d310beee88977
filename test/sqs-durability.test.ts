/**
 * A message sent and acknowledged survives SIGKILL of the server; so does a delete; a running message
 * move task resumes; receipt handles outlive a restart with other root credentials.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { RETIRED_QUEUES_ACCOUNT, openSqliteStore } from "../src/store/index.js";
import { removeDataDir, sqsClient, startBusbar } from "./support/index.js";

describe("SQS durability", () => {
  it("keeps receipt handles valid across a restart with other root credentials", async () => {
    let server = await startBusbar();
    let sqs = sqsClient(server.url);
    const { QueueUrl } = (await sqs.send(new CreateQueueCommand({ QueueName: "handles" }))) as {
      QueueUrl: string;
    };
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: "a", MessageBody: "a" },
          { Id: "b", MessageBody: "b" },
        ],
      }),
    );
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 2, VisibilityTimeout: 600 }),
    );
    const [a, b] = got.Messages ?? [];
    assert.ok(a?.ReceiptHandle !== undefined && b?.ReceiptHandle !== undefined);
    assert.equal(await server.stop(), 0);
    sqs.destroy();
    // The operator rotates the root key: the handles of the messages in flight still work.
    const rotated = {
      accessKeyId: "BBTESTROOTKEY0000002",
      secretAccessKey: "rotated-root-secret-0123456789ab",
    };
    server = await startBusbar({
      dataDir: server.dataDir,
      env: {
        BUSBAR_ROOT_ACCESS_KEY_ID: rotated.accessKeyId,
        BUSBAR_ROOT_SECRET_ACCESS_KEY: rotated.secretAccessKey,
      },
    });
    sqs = sqsClient(server.url, rotated);
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: a.ReceiptHandle }));
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: b.ReceiptHandle, VisibilityTimeout: 0 }),
    );
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 2 }));
    assert.deepEqual(
      again.Messages?.map((m) => m.Body),
      ["b"],
      "a was deleted, b made visible again, by handles from before the restart",
    );
    sqs.destroy();
    assert.equal(await server.stop(), 0);
    removeDataDir(server.dataDir);
  });

  it("keeps every acknowledged message and forgets every acknowledged delete across SIGKILL", async () => {
    let server = await startBusbar();
    let sqs = sqsClient(server.url);
    const { QueueUrl: url } = await sqs.send(
      new CreateQueueCommand({ QueueName: "durable", Attributes: { VisibilityTimeout: "0" } }),
    );
    const acked = new Set<string>();
    // Producers under load while the server is killed.
    let stop = false;
    let sent = 0;
    const producers = Array.from({ length: 4 }, async (_, p) => {
      while (!stop) {
        const entries = Array.from({ length: 10 }, (_, k) => ({
          Id: `e${k}`,
          MessageBody: `p${p}-${sent++}`,
        }));
        try {
          const r = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
          for (const s of r.Successful ?? [])
            acked.add(entries[Number(s.Id?.slice(1))]?.MessageBody as string);
        } catch {
          return; // the server died mid-request: not acknowledged
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    // Delete some acknowledged messages (acknowledged deletes must stay deleted).
    const first = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    const deleted = new Set((first.Messages ?? []).map((m) => m.Body as string));
    const d = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: (first.Messages ?? []).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    assert.equal(d.Failed?.length ?? 0, 0);
    await new Promise((r) => setTimeout(r, 300));
    await server.kill();
    stop = true;
    await Promise.all(producers);
    sqs.destroy();
    assert.ok(acked.size > 50, `load was sent (${acked.size} acknowledged)`);

    server = await startBusbar({ dataDir: server.dataDir });
    sqs = sqsClient(server.url);
    const found = new Set<string>();
    for (;;) {
      const r = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url?.replace(/^http:\/\/[^/]+/, server.url),
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 600,
        }),
      );
      if (r.Messages === undefined) break;
      for (const m of r.Messages) found.add(m.Body as string);
    }
    for (const body of acked) {
      if (deleted.has(body)) assert.ok(!found.has(body), `${body} was deleted before the kill`);
      else assert.ok(found.has(body), `${body} was acknowledged but is gone`);
    }
    sqs.destroy();
    await server.stop();
    removeDataDir(server.dataDir);
  });
});

describe("message move tasks across restarts", () => {
  it("resumes a running move task after SIGKILL and completes it", async () => {
    let server = await startBusbar();
    let sqs = sqsClient(server.url);
    const arn = (name: string) => `arn:aws:sqs:us-east-1:000000000000:${name}`;
    const { QueueUrl: dlq } = await sqs.send(new CreateQueueCommand({ QueueName: "resume-dlq" }));
    await sqs.send(
      new CreateQueueCommand({
        QueueName: "resume-src",
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("resume-dlq"), maxReceiveCount: 1 }),
        },
      }),
    );
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: dlq,
        Entries: Array.from({ length: 4 }, (_, i) => ({ Id: `m${i}`, MessageBody: `m${i}` })),
      }),
    );
    await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: arn("resume-dlq"),
        DestinationArn: arn("resume-src"),
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    await server.kill();
    sqs.destroy();
    server = await startBusbar({ dataDir: server.dataDir });
    sqs = sqsClient(server.url);
    let last;
    for (let i = 0; i < 100; i++) {
      last = (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn("resume-dlq") }))).Results?.[0];
      if (last?.Status !== "RUNNING") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(last?.Status, "COMPLETED");
    assert.equal(last?.ApproximateNumberOfMessagesMoved, 4);
    sqs.destroy();
    await server.stop();
    removeDataDir(server.dataDir);
  });
});

describe("DeleteQueue cut short by a crash", () => {
  it("leaves no queue with part of its messages: the name is free at once, the rest goes at the next start", async () => {
    let server = await startBusbar();
    const { dataDir } = server;
    let sqs = sqsClient(server.url);
    try {
      const { QueueUrl: url } = await sqs.send(new CreateQueueCommand({ QueueName: "doomed" }));
      for (let b = 0; b < 5; b++)
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: Array.from({ length: 10 }, (_, k) => ({ Id: `m${k}`, MessageBody: `${b}.${k}` })),
          }),
        );
      sqs.destroy();
      await server.stop();
      // What a SIGKILL right after DeleteQueue's first step leaves: the queue retired, its messages there.
      const store = openSqliteStore({ dataDir });
      const retired = await store.retireQueue("000000000000", "doomed");
      assert.ok(retired !== undefined);
      assert.equal((await store.countMessages(retired, Date.now())).visible, 50);
      await store.close();

      server = await startBusbar({ dataDir });
      sqs = sqsClient(server.url);
      await assert.rejects(sqs.send(new GetQueueUrlCommand({ QueueName: "doomed" })), {
        name: "QueueDoesNotExist",
      });
      const { QueueUrl: again } = await sqs.send(new CreateQueueCommand({ QueueName: "doomed" }));
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: again, WaitTimeSeconds: 1 }));
      assert.equal(got.Messages, undefined, "none of the old messages");
      // The start deleted the retired queue and its messages (read beside the running server).
      const beside = openSqliteStore({ dataDir });
      try {
        const deadline = Date.now() + 5000;
        while ((await beside.listQueues(RETIRED_QUEUES_ACCOUNT)).items.length > 0) {
          assert.ok(Date.now() < deadline, "the retired queue went");
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.deepEqual(await beside.countMessages(retired, Date.now()), {
          visible: 0,
          inFlight: 0,
          delayed: 0,
        });
      } finally {
        await beside.close();
      }
    } finally {
      sqs.destroy();
      await server.stop();
      removeDataDir(dataDir);
    }
  });
});
