import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStoreInThread, type QueueRef, type Store } from "../store/index.js";
import { COUNT_STEP, QueueCounter, SLOW_COUNT_MS, countInFlightInSteps } from "./counts.js";

const ACCOUNT = "111111111111";
const T0 = 1_700_000_000_000;

async function withQueue(run: (store: Store, ref: QueueRef) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "busbar-counts-"));
  const store = openSqliteStoreInThread({ dataDir });
  const ref = { accountId: ACCOUNT, name: "q" };
  await store.createQueue({
    ...ref,
    arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:q`,
    fifo: false,
    attributes: {},
    createdAt: T0,
    lastModifiedAt: T0,
  });
  try {
    await run(store, ref);
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const send = (store: Store, ref: QueueRef, id: string) =>
  store.sendMessages(ref, [
    { id, body: id, senderId: ACCOUNT, sentAt: T0, visibleAt: T0, expiresAt: T0 + 1e9 },
  ]);

describe("QueueCounter", () => {
  it("counts a quick queue afresh each time", async () => {
    await withQueue(async (store, ref) => {
      let now = T0;
      const counter = new QueueCounter(store, () => now++);
      await send(store, ref, "a");
      assert.equal((await counter.count(ref, "q")).visible, 1);
      await send(store, ref, "b");
      assert.equal((await counter.count(ref, "q")).visible, 2);
    });
  });

  it("gives a slow queue's count again for ten times as long as it took, then counts afresh; forget ends it", async () => {
    await withQueue(async (store, ref) => {
      // Each reading of the clock moves it on by a slow count's time.
      let now = T0;
      const counter = new QueueCounter(store, () => (now += SLOW_COUNT_MS));
      await send(store, ref, "a");
      assert.equal((await counter.count(ref, "q")).visible, 1);
      await send(store, ref, "b");
      assert.equal((await counter.count(ref, "q")).visible, 1, "the slow count, given again");
      now += 10 * SLOW_COUNT_MS;
      assert.equal((await counter.count(ref, "q")).visible, 2, "counted afresh once its time is up");
      await send(store, ref, "c");
      counter.forget("q");
      assert.equal((await counter.count(ref, "q")).visible, 3, "a purge or deletion forgets it");
    });
  });
});

describe("countInFlightInSteps", () => {
  it("counts the messages in flight among many delayed ones, a step of COUNT_STEP at a time", async () => {
    await withQueue(async (store, ref) => {
      // COUNT_STEP + 500 delayed, 300 visible of which 120 are received (in flight), 50 expired in flight.
      const message = (id: string, visibleAt: number, expiresAt = T0 + 1e9) => ({
        id,
        body: id,
        senderId: ACCOUNT,
        sentAt: T0,
        visibleAt,
        expiresAt,
      });
      for (let i = 0; i < COUNT_STEP + 500; i += 1000) {
        const ids = Array.from({ length: Math.min(1000, COUNT_STEP + 500 - i) }, (_, k) => `d${i + k}`);
        await store.sendMessages(
          ref,
          ids.map((id) => message(id, T0 + 1e6)),
        );
      }
      await store.sendMessages(
        ref,
        Array.from({ length: 50 }, (_, k) => message(`x${k}`, T0, T0 + 500)),
      );
      for (let k = 0; k < 5; k++)
        await store.receiveMessages(ref, { max: 10, now: T0, visibleUntil: T0 + 1e5 });
      await store.sendMessages(
        ref,
        Array.from({ length: 300 }, (_, k) => message(`v${k}`, T0)),
      );
      for (let k = 0; k < 12; k++)
        await store.receiveMessages(ref, { max: 10, now: T0, visibleUntil: T0 + 1e5 });
      const now = T0 + 1000; // the 50 received first have expired
      let calls = 0;
      const counted = new Proxy(store, {
        get(target, key, receiver) {
          if (key === "countInFlight") calls++;
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
      assert.equal(await countInFlightInSteps(counted, ref, now), 120);
      assert.equal((await store.countMessages(ref, now)).inFlight, 120);
      assert.equal(calls, 2, "two steps");
    });
  });
});
