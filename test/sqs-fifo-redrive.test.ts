/**
 * FIFO queues (group ordering under concurrent consumers, deduplication, sequence numbers) and dead-letter
 * queues (redrive after maxReceiveCount, and a message move task back), against a real `busbar serve`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CancelMessageMoveTaskCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import {
  createQueue,
  rejectsWith,
  removeDataDir,
  sqsClient,
  startBusbar,
  type BusbarProcess,
} from "./support/index.js";

let server: BusbarProcess;
let sqs: SQSClient;
const ACCOUNT = "000000000000";
const arn = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;

const rejects = rejectsWith;
const create = (name: string, attributes: Record<string, string> = {}): Promise<string> =>
  createQueue(sqs, name, attributes);

before(async () => {
  server = await startBusbar();
  sqs = sqsClient(server.url);
});

after(async () => {
  sqs.destroy();
  await server.stop();
  removeDataDir(server.dataDir);
});

describe("FIFO queues", () => {
  it("keeps each group in order under concurrent consumers, one message of a group in flight at a time", async () => {
    const url = await create("orders.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    const groups = ["a", "b", "c"];
    const perGroup = 12;
    for (let i = 0; i < perGroup; i++) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: groups.map((g) => ({ Id: g, MessageBody: `${g}:${i}`, MessageGroupId: g })),
        }),
      );
    }
    const received = new Map<string, number[]>(groups.map((g) => [g, []]));
    const inFlight = new Set<string>();
    /** When the delete of each group's latest message was sent: its next may be handed out only after. */
    const deleteSentAt = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (;;) {
          const r = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: url,
              MaxNumberOfMessages: 1,
              WaitTimeSeconds: 1,
              MessageSystemAttributeNames: [
                "MessageGroupId",
                "SequenceNumber",
                "ApproximateFirstReceiveTimestamp",
              ],
            }),
          );
          const m = r.Messages?.[0];
          if (m === undefined) return;
          const group = m.Attributes?.MessageGroupId as string;
          assert.ok(!inFlight.has(group), `group ${group} handed out while one of its messages is in flight`);
          // The server's own time of the hand-out (the same clock): not before the delete of the
          // group's previous message was sent, even when this answer arrived after that. (Its arrival
          // while the delete is still unanswered proves nothing: the delete takes effect at the server
          // before its answer comes back, which for a FIFO queue also waits for the fsync.)
          const handedOutAt = Number(m.Attributes?.ApproximateFirstReceiveTimestamp);
          const previousDeleteSent = deleteSentAt.get(group) ?? 0;
          assert.ok(
            handedOutAt >= previousDeleteSent,
            `group ${group} handed out ${previousDeleteSent - handedOutAt} ms before its previous message's delete was sent`,
          );
          inFlight.add(group);
          received.get(group)?.push(Number((m.Body as string).split(":")[1]));
          // Held a while, so that the other consumers' receives meanwhile must find nothing of its group.
          await new Promise((res) => setTimeout(res, 25));
          deleteSentAt.set(group, Date.now());
          inFlight.delete(group);
          await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
        }
      }),
    );
    for (const g of groups) {
      assert.deepEqual(
        received.get(g),
        Array.from({ length: perGroup }, (_, i) => i),
        `group ${g} in order`,
      );
    }
  });

  it("drops duplicates within the window: explicit ids and content-based, with increasing sequence numbers", async () => {
    const url = await create("dedup.fifo", { FifoQueue: "true" });
    const first = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: "one",
        MessageGroupId: "g",
        MessageDeduplicationId: "d1",
      }),
    );
    const again = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: "one again",
        MessageGroupId: "g",
        MessageDeduplicationId: "d1",
      }),
    );
    assert.equal(again.MessageId, first.MessageId);
    assert.equal(again.SequenceNumber, first.SequenceNumber);
    const second = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: "two",
        MessageGroupId: "g",
        MessageDeduplicationId: "d2",
      }),
    );
    assert.match(second.SequenceNumber ?? "", /^\d{20}$/);
    assert.ok(BigInt(second.SequenceNumber as string) > BigInt(first.SequenceNumber as string));
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, AttributeNames: ["All"] }),
    );
    assert.deepEqual(
      r.Messages?.map((m) => m.Body),
      ["one", "two"],
    );
    assert.equal(r.Messages?.[0]?.Attributes?.MessageDeduplicationId, "d1");
    assert.equal(r.Messages?.[0]?.Attributes?.SequenceNumber, first.SequenceNumber);

    const cbd = await create("content.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    const a = await sqs.send(
      new SendMessageCommand({ QueueUrl: cbd, MessageBody: "same", MessageGroupId: "g" }),
    );
    const b = await sqs.send(
      new SendMessageCommand({ QueueUrl: cbd, MessageBody: "same", MessageGroupId: "g" }),
    );
    assert.equal(b.MessageId, a.MessageId);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: cbd, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    assert.equal(Attributes?.ApproximateNumberOfMessages, "1");
  });

  it("answers a retried receive with the same ReceiveRequestAttemptId with the same messages and handles", async () => {
    const url = await create("attempts.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    for (const body of ["one", "two"]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: "g" }));
    }
    const receive = (attempt: string) =>
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          ReceiveRequestAttemptId: attempt,
        }),
      );
    const first = await receive("a1");
    assert.deepEqual(
      first.Messages?.map((m) => m.Body),
      ["one", "two"],
    );
    const retry = await receive("a1");
    assert.deepEqual(
      retry.Messages?.map((m) => m.ReceiptHandle),
      first.Messages?.map((m) => m.ReceiptHandle),
    );
    assert.equal((await receive("a2")).Messages, undefined, "another attempt finds the group in flight");
    for (const m of first.Messages ?? []) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
    assert.equal((await receive("a1")).Messages, undefined, "after a delete, the id starts a new receive");
  });

  it("keeps a receive attempt through other messages' deletes, resets its visibility, and drops it on purge", async () => {
    const url = await create("attempts-2.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: ["a", "b", "c"].map((g) => ({ Id: g, MessageBody: g, MessageGroupId: g })),
      }),
    );
    const receive = (attempt: string, max = 1, visibility?: number) =>
      sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: max,
          ReceiveRequestAttemptId: attempt,
          ...(visibility !== undefined && { VisibilityTimeout: visibility }),
        }),
      );
    // Consumer 1's reply is lost; consumer 2 receives and deletes another message meanwhile.
    const lost = await receive("consumer-1", 1, 3);
    assert.deepEqual(
      lost.Messages?.map((m) => m.Body),
      ["a"],
    );
    const other = await receive("consumer-2");
    assert.deepEqual(
      other.Messages?.map((m) => m.Body),
      ["b"],
    );
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: other.Messages?.[0]?.ReceiptHandle }),
    );
    await new Promise((r) => setTimeout(r, 2000));
    const retry = await receive("consumer-1", 1, 3);
    assert.deepEqual(
      retry.Messages?.map((m) => m.ReceiptHandle),
      lost.Messages?.map((m) => m.ReceiptHandle),
    );
    // The retry reset the 3 s visibility timeout: 2 s later (4 s after the first receive) "a" is still hidden.
    await new Promise((r) => setTimeout(r, 2000));
    const meanwhile = await receive("consumer-3", 10);
    assert.deepEqual(
      meanwhile.Messages?.map((m) => m.Body),
      ["c"],
      "a is still in flight",
    );
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    assert.equal((await receive("consumer-1")).Messages, undefined, "a purged message is not received again");
  });

  it("fills a receive from one message group first, leaving the other groups to other consumers", async () => {
    const url = await create("fill-by-group.fifo", { FifoQueue: "true", ContentBasedDeduplication: "true" });
    // Sent with the groups alternating: A1, B1, A2, B2, A3, B3.
    for (let i = 1; i <= 3; i++)
      for (const g of ["A", "B"])
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: `${g}${i}`, MessageGroupId: g }));
    const bodies = async (max: number): Promise<string[]> =>
      (
        (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: max }))).Messages ??
        []
      ).map((m) => m.Body as string);
    // SQS "first attempts to return as many messages with the same message group ID as possible".
    assert.deepEqual(await bodies(2), ["A1", "A2"]);
    assert.deepEqual(await bodies(10), ["B1", "B2", "B3"], "group B is left to another consumer");
    assert.deepEqual(await bodies(10), [], "A3 waits behind A1 and A2 in flight");
    // A receive of more than one group's messages takes the oldest group's first, then the next.
    const other = await create("fill-then-next.fifo", {
      FifoQueue: "true",
      ContentBasedDeduplication: "true",
    });
    for (let i = 1; i <= 3; i++)
      for (const g of ["A", "B"])
        await sqs.send(
          new SendMessageCommand({ QueueUrl: other, MessageBody: `${g}${i}`, MessageGroupId: g }),
        );
    const all = await sqs.send(new ReceiveMessageCommand({ QueueUrl: other, MaxNumberOfMessages: 10 }));
    assert.deepEqual(
      (all.Messages ?? []).map((m) => m.Body),
      ["A1", "A2", "A3", "B1", "B2", "B3"],
    );
  });

  it("refuses FIFO sends without a group or deduplication, and per-message delays", async () => {
    const url = await create("rules.fifo", { FifoQueue: "true" });
    await rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x", MessageDeduplicationId: "d" })),
      "MissingParameter",
      /MessageGroupId/,
    );
    await rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x", MessageGroupId: "g" })),
      "InvalidParameterValue",
      /ContentBasedDeduplication/,
    );
    await rejects(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: "x",
          MessageGroupId: "g",
          MessageDeduplicationId: "d",
          DelaySeconds: 5,
        }),
      ),
      "InvalidParameterValue",
      /DelaySeconds/,
    );
    await rejects(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [{ Id: "a", MessageBody: "x", MessageDeduplicationId: "d" }],
        }),
      ),
      "InvalidParameterValue",
      /MessageGroupId/,
    );
  });
});

describe("dead-letter queues", () => {
  it("moves a message received maxReceiveCount times to the dead-letter queue, and a move task brings it back", async () => {
    const dlq = await create("work-dlq");
    await rejects(
      create("bad-redrive", {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("nope"), maxReceiveCount: 2 }),
      }),
      "InvalidParameterValue",
      /does not exist/,
    );
    await rejects(
      create("bad-count", {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("work-dlq"), maxReceiveCount: 0 }),
      }),
      "InvalidParameterValue",
      /maxReceiveCount/,
    );
    const url = await create("work", {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("work-dlq"), maxReceiveCount: "2" }),
    });
    const sources = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }));
    assert.deepEqual(sources.queueUrls, [url]);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "poison" }));
    for (let i = 1; i <= 2; i++) {
      const r = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0, AttributeNames: ["All"] }),
      );
      assert.equal(r.Messages?.[0]?.Attributes?.ApproximateReceiveCount, String(i));
    }
    const third = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    assert.equal(third.Messages, undefined, "the third receive finds it gone to the dead-letter queue");
    const dead = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, VisibilityTimeout: 0, AttributeNames: ["All"] }),
    );
    assert.equal(dead.Messages?.[0]?.Body, "poison");
    assert.equal(dead.Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn, arn("work"));

    await rejects(
      sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn("work") })),
      "InvalidParameterValue",
      /Dead Letter Queue/,
    );
    await rejects(
      sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn("missing") })),
      "ResourceNotFoundException",
    );
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn("work-dlq") }));
    assert.ok(TaskHandle);
    let status = "";
    for (let i = 0; i < 50 && status !== "COMPLETED"; i++) {
      const t = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn("work-dlq") }));
      status = t.Results?.[0]?.Status ?? "";
      if (status === "COMPLETED") {
        assert.equal(t.Results?.[0]?.ApproximateNumberOfMessagesMoved, 1);
        assert.equal(t.Results?.[0]?.ApproximateNumberOfMessagesToMove, 1);
        assert.equal(typeof t.Results?.[0]?.StartedTimestamp, "number");
      } else await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, "COMPLETED");
    const back = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 2, AttributeNames: ["All"] }),
    );
    assert.equal(back.Messages?.[0]?.Body, "poison");
    assert.equal(back.Messages?.[0]?.Attributes?.ApproximateReceiveCount, "1");
    await rejects(
      sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle })),
      "InvalidParameterValue",
      /active/,
    );
  });

  it("moves at most 10 messages to the dead-letter queue per receive, handing none of the rest out", async () => {
    for (const fifo of [false, true]) {
      const suffix = fifo ? ".fifo" : "";
      const fifoAttributes = fifo ? { FifoQueue: "true", ContentBasedDeduplication: "true" } : {};
      await create(`many-dlq${suffix}`, fifoAttributes);
      const url = await create(`many${suffix}`, {
        ...fifoAttributes,
        VisibilityTimeout: "1",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn(`many-dlq${suffix}`), maxReceiveCount: 1 }),
      });
      for (let b = 0; b < 3; b++) {
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: Array.from({ length: 10 }, (_, i) => ({
              Id: `m${i}`,
              MessageBody: `poison-${b}-${i}`,
              ...(fifo && { MessageGroupId: `g${b}-${i}` }),
            })),
          }),
        );
      }
      // Each received once (FIFO: each its own group, so that all are in flight at once).
      let received = 0;
      for (let round = 0; received < 30 && round < 40; round++) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
        received += r.Messages?.length ?? 0;
        if ((r.Messages?.length ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 1100));
      }
      assert.equal(received, 30);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const depth = async (q: string): Promise<number> => {
        const a = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: q, AttributeNames: ["ApproximateNumberOfMessages"] }),
        );
        return Number(a.Attributes?.ApproximateNumberOfMessages);
      };
      const dlqUrl = url.replace(`many${suffix}`, `many-dlq${suffix}`);
      // All 30 are over their count: each receive moves 10 of them in its transaction, hands out none.
      for (const moved of [10, 20, 30]) {
        const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
        assert.equal(r.Messages?.length ?? 0, 0, fifo ? "FIFO" : "standard");
        assert.equal(await depth(dlqUrl), moved, fifo ? "FIFO" : "standard");
      }
      assert.equal(await depth(url), 0);
    }
  });

  it("honours RedriveAllowPolicy and rejects a dead-letter queue of the other type, or the queue itself", async () => {
    await create("closed-dlq", { RedriveAllowPolicy: JSON.stringify({ redrivePermission: "denyAll" }) });
    await rejects(
      create("src", {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("closed-dlq"), maxReceiveCount: 3 }),
      }),
      "InvalidParameterValue",
      /RedriveAllowPolicy/,
    );
    await create("fifo-dlq.fifo", { FifoQueue: "true" });
    const url = await create("src2");
    await rejects(
      sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: url,
          Attributes: {
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("fifo-dlq.fifo"), maxReceiveCount: 3 }),
          },
        }),
      ),
      "InvalidParameterValue",
      /same type/,
    );
    await rejects(
      sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: url,
          Attributes: {
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("src2"), maxReceiveCount: 1 }),
          },
        }),
      ),
      "InvalidParameterValue",
      /cannot be its own dead-letter queue/,
    );
  });
});
