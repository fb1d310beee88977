/**
 * A queue's MessageRetentionPeriod applies to the messages already in it, as SQS documents
 * (SetQueueAttributes: a change "will impact existing messages in the queue"): a raised retention keeps
 * a message past the expiry it had, a lowered one expires an old message at once.
 *
 * The retention is at least 60 seconds and Busbar has no clock to set: the messages are sent by one
 * server, their send moved back in the stopped server's store (`sent_at` and the expiry together, as
 * if they had been sent earlier, and the retention changes' floors with them), and a second server on
 * the same data directory answers.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { createQueue, removeDataDir, sqsClient, startBusbar } from "./support/index.js";

/** How far back the messages' send is moved. */
const AGE_MS = 200_000;

/**
 * Moves the send of every message in a stopped server's store `ms` back, and the queues' retention
 * changes with them (each change's floor: what had expired by then), as if it had all happened earlier.
 */
function age(dataDir: string, ms: number): void {
  const db = new Database(join(dataDir, "busbar.db"));
  try {
    db.prepare("UPDATE queue_messages SET sent_at = sent_at - ?").run(ms);
    db.prepare("UPDATE queue_message_states SET expires_at = expires_at - ?").run(ms);
    db.prepare(
      "UPDATE queues SET retention_floor_ms = retention_floor_ms - ? WHERE retention_floor_ms > -1e15",
    ).run(ms);
  } finally {
    db.close();
  }
}

const visible = async (sqs: SQSClient, url: string): Promise<string | undefined> =>
  (
    await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages"] }),
    )
  ).Attributes?.ApproximateNumberOfMessages;

const bodies = async (sqs: SQSClient, url: string): Promise<string[]> =>
  (
    await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    )
  ).Messages?.map((m) => m.Body as string) ?? [];

const setRetention = (sqs: SQSClient, url: string, seconds: number) =>
  sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: url,
      Attributes: { MessageRetentionPeriod: String(seconds) },
    }),
  );

describe("MessageRetentionPeriod", () => {
  it("applies a change to the messages already queued: raised keeps them, lowered expires the old", async () => {
    const sending = await startBusbar();
    let sqs = sqsClient(sending.url);
    let raised: string;
    let lowered: string;
    try {
      raised = await createQueue(sqs, "raised", { MessageRetentionPeriod: "120" });
      lowered = await createQueue(sqs, "lowered", { MessageRetentionPeriod: "600" });
      await sqs.send(new SendMessageCommand({ QueueUrl: raised, MessageBody: "kept" }));
      await sqs.send(new SendMessageCommand({ QueueUrl: lowered, MessageBody: "old" }));
      // Sent with 120 s of retention, this message would expire 120 s after its send; now 300 s.
      await setRetention(sqs, raised, 300);
    } finally {
      sqs.destroy();
      assert.equal(await sending.stop(), 0);
    }
    age(sending.dataDir, AGE_MS); // both messages are 200 s old
    const server = await startBusbar({ dataDir: sending.dataDir });
    sqs = sqsClient(server.url);
    try {
      raised = `${server.url}/000000000000/raised`;
      lowered = `${server.url}/000000000000/lowered`;
      const [kept] =
        (
          await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: raised,
              VisibilityTimeout: 0,
              MessageSystemAttributeNames: ["SentTimestamp"],
            }),
          )
        ).Messages ?? [];
      assert.equal(kept?.Body, "kept", "a raised retention keeps a message past its old expiry");
      const sentAgo = Date.now() - Number(kept.Attributes?.SentTimestamp);
      assert.ok(sentAgo >= AGE_MS, `sent ${sentAgo} ms ago`);

      assert.equal(await visible(sqs, lowered), "1", "200 s old under 600 s of retention");
      await setRetention(sqs, lowered, 120);
      assert.equal(await visible(sqs, lowered), "0", "a lowered retention expires an older message");
      assert.deepEqual(await bodies(sqs, lowered), []);
      await sqs.send(new SendMessageCommand({ QueueUrl: lowered, MessageBody: "young" }));
      assert.deepEqual(await bodies(sqs, lowered), ["young"], "a younger message stays");
    } finally {
      sqs.destroy();
      assert.equal(await server.stop(), 0);
      removeDataDir(server.dataDir);
    }
  });
});
