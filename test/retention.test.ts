/**
 * The retention sweeps delete in chunks of RETENTION_CHUNK rows per store call, and go on until
 * nothing expired is left: a backlog several chunks long is swept in one sweep.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deleteOldEvents } from "../src/ingest/index.js";
import { QueueService } from "../src/queues/index.js";
import { openSqliteStoreInThread, RETENTION_CHUNK, type NewMessage, type Store } from "../src/store/index.js";
import { ACCOUNT, T0, record } from "./support/store-conformance/fixtures.js";

/** More than two chunks. */
const BACKLOG = 2 * RETENTION_CHUNK + 345;

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

describe("retention sweeps", () => {
  it("delete a backlog of old events several chunks long, and keep those a delivery waits for", async () => {
    await withStore(async (store) => {
      const records = Array.from({ length: BACKLOG }, (_, i) => record(`old-${i}`, T0 + i, []));
      records.push(record("waited-for", T0), record("recent", T0 + 1e9, []));
      await store.appendEvents(records);
      assert.equal(await deleteOldEvents(store, T0 + 1e6), BACKLOG);
      assert.equal(await store.countEvents(), 2);
      assert.ok(await store.getEvent("waited-for"));
      assert.ok(await store.getEvent("recent"));
    });
  });

  it("delete a backlog of expired queue messages several chunks long", async () => {
    await withStore(async (store) => {
      const name = "q";
      await store.createQueue({
        accountId: ACCOUNT,
        name,
        arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`,
        fifo: false,
        attributes: {},
        createdAt: T0,
        lastModifiedAt: T0,
      });
      const message = (id: string, expiresAt: number): NewMessage => ({
        id,
        body: id,
        senderId: ACCOUNT,
        sentAt: T0,
        visibleAt: T0,
        expiresAt,
      });
      for (let i = 0; i < BACKLOG; i += 500) {
        const count = Math.min(500, BACKLOG - i);
        await store.sendMessages(
          { accountId: ACCOUNT, name },
          Array.from({ length: count }, (_, k) => message(`m${i + k}`, T0 + 10)),
        );
      }
      await store.sendMessages({ accountId: ACCOUNT, name }, [message("kept", T0 + 1e9)]);
      const queues = new QueueService({ store, region: "us-east-1", receiptKey: "k", now: () => T0 + 20 });
      assert.equal(await queues.sweep(), BACKLOG);
      assert.deepEqual(await store.countMessages({ accountId: ACCOUNT, name }, T0 + 20), {
        visible: 1,
        inFlight: 0,
        delayed: 0,
      });
    });
  });
});
