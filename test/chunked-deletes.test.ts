/**
 * PurgeQueue and DeleteQueue delete a queue's messages in chunks of DELETE_CHUNK per store call, and
 * go on until none is left: a queue several chunks long goes in one purge or one deletion. Retention
 * sweeps go in steps of SWEEP_SCAN_LIMIT messages, and GetQueueAttributes counts in steps of
 * COUNT_STEP.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COUNT_STEP, QueueService } from "../src/queues/index.js";
import {
  openSqliteStoreInThread,
  DELETE_CHUNK,
  SWEEP_SCAN_LIMIT,
  type NewMessage,
  type Queue,
  type QueueRef,
  type Store,
} from "../src/store/index.js";
import { ACCOUNT, T0 } from "./support/store-conformance/fixtures.js";

/** More than two chunks. */
const BACKLOG = 2 * DELETE_CHUNK + 345;

async function withStore(run: (store: Store) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "busbar-retention-"));
  const store = openSqliteStoreInThread({ dataDir });
  try {
    await run(store);
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe("chunked deletions", () => {
  // PurgeQueue and DeleteQueue delete a queue's messages the same way.
  const purgeOrDelete = [
    [
      "purge a queue several chunks long in one PurgeQueue",
      (q: QueueService, queue: Queue) => q.purge(queue),
    ],
    [
      "delete a queue several chunks long with its messages",
      (q: QueueService, queue: Queue) => q.deleteQueue(queue),
    ],
  ] as const;
  for (const [title, operation] of purgeOrDelete)
    it(title, async () => {
      await withStore(async (store) => {
        const ref = await createQueue(store, "q");
        await sendMany(store, ref, BACKLOG, T0 + 1e9);
        const counted = counting(store, "purgeQueue");
        const queues = new QueueService({
          store: counted.store,
          region: "us-east-1",
          receiptKey: "k",
          now: () => T0,
        });
        await operation(queues, await queues.getQueue(ref));
        assert.equal(counted.calls(), 3, "three chunks");
        // After a deletion, a new queue of the same name starts empty.
        if ((await store.getQueue(ACCOUNT, "q")) === undefined) await createQueue(store, "q");
        assert.deepEqual(await store.countMessages(ref, T0), { visible: 0, inFlight: 0, delayed: 0 });
        await sendMany(store, ref, 3, T0 + 1e9);
        assert.equal((await store.countMessages(ref, T0)).visible, 3, "the queue takes messages again");
      });
    });

  it("sweeps expired messages of several queues in steps, keeping the others", async () => {
    await withStore(async (store) => {
      const a = await createQueue(store, "a");
      const b = await createQueue(store, "b");
      // 2 × 345 kept and 2,345 + 200 expired: 3,235 messages, 7 steps of SWEEP_SCAN_LIMIT (500).
      await sendMany(store, a, 345, T0 + 1e9);
      await sendMany(store, a, 2 * DELETE_CHUNK + 345, T0 + 10);
      await sendMany(store, b, 200, T0 + 10);
      await sendMany(store, b, 345, T0 + 1e9);
      const counted = counting(store, "sweepExpiredMessages");
      const queues = new QueueService({
        store: counted.store,
        region: "us-east-1",
        receiptKey: "k",
        now: () => T0 + 20,
      });
      assert.equal(await queues.sweep(), 2 * DELETE_CHUNK + 345 + 200);
      assert.equal(counted.calls(), Math.ceil(3235 / SWEEP_SCAN_LIMIT), "one store call per step");
      for (const ref of [a, b]) {
        assert.deepEqual(await store.countMessages(ref, T0), { visible: 345, inFlight: 0, delayed: 0 });
      }
      assert.equal(await queues.sweep(), 0, "nothing left to sweep");
    });
  });
});

describe("chunked counts", () => {
  it("count a queue several steps long for GetQueueAttributes, as one count would", async () => {
    await withStore(async (store) => {
      const ref = await createQueue(store, "q");
      // 2 × COUNT_STEP + 345 messages kept, 200 expired, 25 of them received (in flight).
      await sendMany(store, ref, 2 * COUNT_STEP + 345, T0 + 1e9);
      await sendMany(store, ref, 200, T0 + 10);
      const received = await store.receiveMessages(ref, { max: 10, now: T0 + 20, visibleUntil: T0 + 1e6 });
      await store.receiveMessages(ref, { max: 10, now: T0 + 20, visibleUntil: T0 + 1e6 });
      await store.receiveMessages(ref, { max: 5, now: T0 + 20, visibleUntil: T0 + 1e6 });
      assert.equal(received.length, 10);
      const counted = counting(store, "countMessagesFrom");
      const queues = new QueueService({
        store: counted.store,
        region: "us-east-1",
        receiptKey: "k",
        now: () => T0 + 20,
      });
      const attributes = await queues.getAttributes(await queues.getQueue(ref), [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ]);
      const whole = await store.countMessages(ref, T0 + 20);
      assert.deepEqual(whole, { visible: 2 * COUNT_STEP + 345 - 25, inFlight: 25, delayed: 0 });
      assert.deepEqual(attributes, {
        ApproximateNumberOfMessages: String(whole.visible),
        ApproximateNumberOfMessagesNotVisible: String(whole.inFlight),
        ApproximateNumberOfMessagesDelayed: String(whole.delayed),
      });
      assert.equal(
        counted.calls(),
        Math.ceil((2 * COUNT_STEP + 345 + 200) / COUNT_STEP),
        "one call per step",
      );
    });
  });
});

/** A standard queue of the account. */
async function createQueue(store: Store, name: string): Promise<QueueRef> {
  await store.createQueue({
    accountId: ACCOUNT,
    name,
    arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`,
    fifo: false,
    attributes: {},
    createdAt: T0,
    lastModifiedAt: T0,
  });
  return { accountId: ACCOUNT, name };
}

/** Sends `count` messages, visible at T0 and kept until `expiresAt`, 500 per call. */
async function sendMany(store: Store, ref: QueueRef, count: number, expiresAt: number): Promise<void> {
  const message = (id: string): NewMessage => ({
    id,
    body: id,
    senderId: ACCOUNT,
    sentAt: T0,
    visibleAt: T0,
    expiresAt,
  });
  for (let i = 0; i < count; i += 500) {
    const ids = Array.from({ length: Math.min(500, count - i) }, (_, k) => `m${expiresAt}-${i + k}`);
    await store.sendMessages(ref, ids.map(message));
  }
}

/** The store, counting the calls of one of its methods. */
function counting(store: Store, method: keyof Store): { store: Store; calls: () => number } {
  let calls = 0;
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      if (key === method) calls++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { store: proxy, calls: () => calls };
}
