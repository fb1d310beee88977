import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStoreInThread, type QueueRef, type Store } from "../store/index.js";
import { QueueCounter, SLOW_COUNT_MS } from "./counts.js";

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
