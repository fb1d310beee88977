/**
 * The quota of messages in flight per queue (BUSBAR_QUEUE_MAX_IN_FLIGHT; SQS's 120,000), through
 * `@aws-sdk/client-sqs` against a real server with a quota of 25: a short-polling receive of a
 * standard queue past it gets OverLimit, a long poll and a FIFO queue's receives get nothing, and
 * deletes, ended visibility timeouts and a purge make room again.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
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

const QUOTA = 25;

describe(`BUSBAR_QUEUE_MAX_IN_FLIGHT=${QUOTA}`, () => {
  let server: BusbarProcess;
  let sqs: SQSClient;
  before(async () => {
    server = await startBusbar({ env: { BUSBAR_QUEUE_MAX_IN_FLIGHT: String(QUOTA) } });
    sqs = sqsClient(server.url);
  });
  after(async () => {
    sqs.destroy();
    assert.equal(await server.stop(), 0);
    removeDataDir(server.dataDir);
  });

  const send = async (url: string, count: number, fifo = false): Promise<void> => {
    for (let i = 0; i < count; i += 10) {
      const r = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: Math.min(10, count - i) }, (_, j) => ({
            Id: `m${j}`,
            MessageBody: `message ${i + j}`,
            ...(fifo && { MessageGroupId: `g${i + j}`, MessageDeduplicationId: `d${i + j}` }),
          })),
        }),
      );
      assert.equal(r.Failed?.length ?? 0, 0);
    }
  };
  const receive = async (url: string, wait = 0, visibility?: number): Promise<Message[]> =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: wait,
          ...(visibility !== undefined && { VisibilityTimeout: visibility }),
        }),
      )
    ).Messages ?? [];
  /** Receives (short polls) until the quota is reached: every message taken. */
  const fill = async (url: string, visibility?: number): Promise<Message[]> => {
    const taken: Message[] = [];
    for (let i = 0; i < 10 && taken.length < QUOTA; i += 1)
      taken.push(...(await receive(url, 0, visibility)));
    return taken;
  };
  const notVisible = async (url: string): Promise<number> => {
    const r = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ["ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible);
  };
  /** Short polls until one gets messages (OverLimit meanwhile); how long that took. */
  const untilReceived = async (url: string): Promise<{ ms: number; got: Message[] }> => {
    const start = Date.now();
    for (;;) {
      try {
        const got = await receive(url);
        if (got.length > 0) return { ms: Date.now() - start, got };
      } catch (e) {
        assert.equal((e as Error).name, "OverLimit");
      }
      assert.ok(Date.now() - start < 5000, "no room made within 5 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it("refuses a short poll of a standard queue past it with OverLimit, and gives a long poll nothing", async () => {
    const url = await createQueue(sqs, "in-flight-standard");
    await send(url, 40);
    const taken = await fill(url);
    assert.equal(taken.length, QUOTA, "the receive that reaches the quota takes only the room left");
    assert.equal(await notVisible(url), QUOTA);
    await rejectsWith(
      receive(url),
      "OverLimit",
      /in-flight-standard is at its limit of 25 messages in flight/,
    );
    const started = Date.now();
    assert.deepEqual(await receive(url, 1), [], "a long poll gets no error and no message");
    assert.ok(Date.now() - started >= 900, "the long poll waited its time");
    await rejectsWith(receive(url), "OverLimit");

    // Deleting makes room (within a second, when the receive counts again).
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: taken
          .slice(0, 10)
          .map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
    assert.equal(deleted.Successful?.length, 10);
    const { ms, got } = await untilReceived(url);
    assert.equal(got.length, 10);
    assert.ok(ms < 2500, `room made in ${ms} ms`);
    await rejectsWith(receive(url), "OverLimit");

    // So does the end of visibility timeouts: the 5 messages never received and 5 of the 10 made visible.
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: got.map((m, i) => ({
          Id: `v${i}`,
          ReceiptHandle: m.ReceiptHandle as string,
          VisibilityTimeout: 0,
        })),
      }),
    );
    const again = await untilReceived(url);
    assert.equal(again.got.length, 10);
    assert.equal(again.got.filter((m) => got.some((g) => g.MessageId === m.MessageId)).length, 5);

    // A purge makes room at once.
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    await send(url, 5);
    assert.equal((await receive(url)).length, 5);
  });

  it("gives a long poll waiting at the quota the messages made room for", async () => {
    const url = await createQueue(sqs, "in-flight-long-poll");
    await send(url, 30);
    const taken = await fill(url, 2);
    assert.equal(taken.length, QUOTA);
    // The visibility timeouts end after 2 s; a 10 s long poll gets the messages then, with no error.
    const started = Date.now();
    const got = await receive(url, 10);
    assert.ok(got.length > 0);
    const waited = Date.now() - started;
    assert.ok(waited >= 1500 && waited < 6000, `waited ${waited} ms`);
  });

  it("gives a FIFO queue's receives nothing past it, with no error", async () => {
    const url = await createQueue(sqs, "in-flight.fifo", { FifoQueue: "true" });
    await send(url, 30, true);
    const taken = await fill(url);
    assert.equal(taken.length, QUOTA);
    assert.deepEqual(await receive(url), []);
    assert.equal(await notVisible(url), QUOTA);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: taken.slice(0, 5).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
    const start = Date.now();
    let got: Message[] = [];
    while (got.length === 0 && Date.now() - start < 5000) {
      got = await receive(url);
      if (got.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(got.length, 5, "the 5 left, once room was made");
  });

  it("lets a consumer that deletes what it receives go on, however many it received", async () => {
    const url = await createQueue(sqs, "in-flight-deleting");
    await send(url, 100);
    for (let i = 0; i < 10; i += 1) {
      const got = await receive(url);
      assert.equal(got.length, 10, `receive ${i}: never OverLimit with none in flight`);
      const deleted = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: got.map((m, j) => ({ Id: `d${j}`, ReceiptHandle: m.ReceiptHandle as string })),
        }),
      );
      assert.equal(deleted.Successful?.length, 10);
    }
  });

  it("wakes a long poll waiting at the quota when a delete makes room", async () => {
    const url = await createQueue(sqs, "in-flight-woken");
    await send(url, 30);
    const taken = await fill(url);
    assert.equal(taken.length, QUOTA);
    const started = Date.now();
    const polling = receive(url, 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: taken.slice(0, 3).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
    const got = await polling;
    assert.equal(got.length, 3, "the room the delete made");
    assert.ok(
      Date.now() - started < 900,
      `woken by the delete, not the next look (${Date.now() - started} ms)`,
    );
  });

  it("keeps each queue's count apart", async () => {
    const full = await createQueue(sqs, "in-flight-full");
    const other = await createQueue(sqs, "in-flight-other");
    await send(full, QUOTA);
    await send(other, 5);
    assert.equal((await fill(full)).length, QUOTA);
    await rejectsWith(receive(full), "OverLimit");
    assert.equal((await receive(other)).length, 5);
  });
});
