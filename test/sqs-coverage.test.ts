/**
 * SQS behaviours the other queue tests leave out, with `@aws-sdk/client-sqs` against a real
 * `busbar serve`: cancelling a message move task while it runs, the queue's own
 * ReceiveMessageWaitTimeSeconds, RedriveAllowPolicy `byQueue`, and FIFO receipt handles whose receive
 * is over.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => {
  server = await startBusbar();
  sqs = sqsClient(server.url);
});

after(async () => {
  sqs.destroy();
  await server.stop();
  removeDataDir(server.dataDir);
});

/** The queue's ApproximateNumberOfMessages (visible messages). */
async function visible(url: string): Promise<number> {
  const r = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages"] }),
  );
  return Number(r.Attributes?.ApproximateNumberOfMessages);
}

describe("message move tasks", () => {
  it("cancels a running task at once: CANCELLED, and no message moves after", async () => {
    const dlq = await create("move-dlq");
    await create("move-src", {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn("move-dlq"), maxReceiveCount: 3 }),
    });
    const dest = await create("move-dest");
    const total = 30;
    for (let i = 0; i < total; i += 10) {
      const r = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: dlq,
          Entries: Array.from({ length: 10 }, (_, k) => ({ Id: `m${k}`, MessageBody: `m-${i + k}` })),
        }),
      );
      assert.equal(r.Failed?.length ?? 0, 0, JSON.stringify(r.Failed));
    }
    const started = Date.now();
    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: arn("move-dlq"),
        DestinationArn: arn("move-dest"),
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );
    assert.ok(TaskHandle);
    const task = async () =>
      (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: arn("move-dlq") }))).Results?.[0];
    // Let it run for a couple of steps (one message a second).
    for (;;) {
      const t = await task();
      assert.equal(t?.Status, "RUNNING");
      if ((t?.ApproximateNumberOfMessagesMoved ?? 0) >= 2) break;
      assert.ok(Date.now() - started < 5_000, "two messages moved within 5 s");
      await sleep(100);
    }
    const cancelled = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    const runFor = (Date.now() - started) / 1000;
    const movedAtCancel = cancelled.ApproximateNumberOfMessagesMoved ?? -1;
    assert.ok(movedAtCancel >= 2, `moved ${movedAtCancel} before the cancel`);
    assert.ok(movedAtCancel <= Math.ceil(runFor) + 1, `${movedAtCancel} moved in ${runFor} s at 1 a second`);
    const after = await task();
    assert.equal(after?.Status, "CANCELLED");
    assert.equal(after?.TaskHandle, undefined, "a cancelled task has no handle to use");
    const moved = after?.ApproximateNumberOfMessagesMoved ?? -1;
    assert.ok(moved - movedAtCancel <= 1, "at most a step in flight at the cancel ends after it");
    assert.equal(await visible(dest), moved);
    await sleep(2_500); // two and a half steps of a running task
    assert.equal((await task())?.ApproximateNumberOfMessagesMoved, moved, "the count stopped growing");
    assert.equal(await visible(dest), moved, "nothing moved after the cancel");
    assert.equal(await visible(dlq), total - moved, "the rest stays in the dead-letter queue");
    assert.ok(moved < total);
    await rejects(
      sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle })),
      "InvalidParameterValue",
      /Only active tasks can be cancelled/,
    );
  });
});

describe("long polling", () => {
  it("waits for the queue's ReceiveMessageWaitTimeSeconds when a receive gives no WaitTimeSeconds, and wakes on a send", async () => {
    const url = await create("queue-wait", { ReceiveMessageWaitTimeSeconds: "2" });
    let t = Date.now();
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    let elapsed = Date.now() - t;
    assert.equal(empty.Messages, undefined);
    assert.ok(elapsed >= 1_950 && elapsed < 3_500, `an empty receive returned after ${elapsed} ms`);

    t = Date.now();
    const short = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0 }));
    elapsed = Date.now() - t;
    assert.equal(short.Messages, undefined);
    assert.ok(elapsed < 1_000, `WaitTimeSeconds 0 is a short poll: returned after ${elapsed} ms`);

    t = Date.now();
    const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    await sleep(300);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "wake up" }));
    const woken = await waiting;
    elapsed = Date.now() - t;
    assert.equal(woken.Messages?.[0]?.Body, "wake up");
    assert.ok(elapsed >= 300 && elapsed < 1_500, `woken after ${elapsed} ms, not at the end of the wait`);
  });
});

describe("RedriveAllowPolicy byQueue", () => {
  it("lets the listed source queues use the dead-letter queue and refuses any other", async () => {
    await create("by-queue-dlq", {
      RedriveAllowPolicy: JSON.stringify({
        redrivePermission: "byQueue",
        sourceQueueArns: [arn("listed-src"), arn("listed-later")],
      }),
    });
    const redrive = JSON.stringify({ deadLetterTargetArn: arn("by-queue-dlq"), maxReceiveCount: 2 });
    const listed = await create("listed-src", { RedrivePolicy: redrive });
    const later = await create("listed-later");
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: later, Attributes: { RedrivePolicy: redrive } }),
    );
    const refusal =
      /RedriveAllowPolicy of arn:aws:sqs:us-east-1:000000000000:by-queue-dlq does not allow this queue/;
    await rejects(create("unlisted-src", { RedrivePolicy: redrive }), "InvalidParameterValue", refusal);
    const unlisted = await create("unlisted-src");
    await rejects(
      sqs.send(new SetQueueAttributesCommand({ QueueUrl: unlisted, Attributes: { RedrivePolicy: redrive } })),
      "InvalidParameterValue",
      refusal,
    );
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: unlisted, AttributeNames: ["RedrivePolicy"] }),
    );
    assert.equal(attributes.Attributes?.RedrivePolicy, undefined, "the refused policy was not kept");
    const sources = await sqs.send(
      new ListDeadLetterSourceQueuesCommand({ QueueUrl: `${server.url}/${ACCOUNT}/by-queue-dlq` }),
    );
    assert.deepEqual([...(sources.queueUrls ?? [])].sort(), [later, listed].sort());
  });
});

describe("queue ARNs of other partitions", () => {
  it("name the queue of that region, account and name, as Busbar reads every ARN", async () => {
    // Busbar serves one partition and reads ARNs by region, account and name whatever their partition
    // (arn:aws[a-z-]*, as its rule targets and bus dead-letter queues do).
    const cn = (name: string) => `arn:aws-cn:sqs:us-east-1:${ACCOUNT}:${name}`;
    await create("partition-dlq", {
      RedriveAllowPolicy: JSON.stringify({
        redrivePermission: "byQueue",
        sourceQueueArns: [cn("partition-src")],
      }),
    });
    const source = await create("partition-src", {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: cn("partition-dlq"), maxReceiveCount: 1 }),
    });
    const sources = await sqs.send(
      new ListDeadLetterSourceQueuesCommand({ QueueUrl: `${server.url}/${ACCOUNT}/partition-dlq` }),
    );
    assert.deepEqual(sources.queueUrls, [source]);
    await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: "to the dead letters" }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: source, VisibilityTimeout: 0 }));
    assert.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: source }))).Messages, undefined);
    assert.equal(await visible(`${server.url}/${ACCOUNT}/partition-dlq`), 1, "moved on its second receive");
    await rejects(
      create("partition-missing", {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: cn("no-such-dlq"), maxReceiveCount: 1 }),
      }),
      "InvalidParameterValue",
      /Dead letter target does not exist/,
    );
  });
});

describe("FIFO receipt handles", () => {
  it("refuse DeleteMessage and ChangeMessageVisibility with a handle whose receive is over, keeping the message", async () => {
    const url = await create("handles.fifo", { FifoQueue: "true" });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: "once",
        MessageGroupId: "g",
        MessageDeduplicationId: "d",
      }),
    );
    const receive = async (visibility: number) => {
      const r = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          VisibilityTimeout: visibility,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      return r.Messages?.[0];
    };
    const first = await receive(1);
    assert.equal(first?.Body, "once");
    const expired = /The receipt handle has expired/;
    const refusedWith = async (handle: string | undefined, why: string) => {
      await rejects(
        sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: handle })),
        "InvalidParameterValue",
        expired,
      ).catch((e: Error) => assert.fail(`DeleteMessage ${why}: ${e.message}`));
      await rejects(
        sqs.send(
          new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: handle, VisibilityTimeout: 30 }),
        ),
        "InvalidParameterValue",
        expired,
      ).catch((e: Error) => assert.fail(`ChangeMessageVisibility ${why}: ${e.message}`));
    };
    await sleep(1_100);
    await refusedWith(first?.ReceiptHandle, "after the visibility timeout");

    const second = await receive(30);
    assert.equal(second?.Body, "once", "the refused delete left the message");
    assert.equal(second?.Attributes?.ApproximateReceiveCount, "2");
    await refusedWith(first?.ReceiptHandle, "with the handle of an earlier receive");

    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: second?.ReceiptHandle,
        VisibilityTimeout: 30,
      }),
    );
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second?.ReceiptHandle }));
    const none = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0 }));
    assert.equal(none.Messages, undefined, "deleted with the current handle");
  });
});
