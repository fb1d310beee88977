/**
 * The in-thread store when a checkpoint fails (the disk full as the database file would grow): the
 * log still holds every page, so writes go on and a later checkpoint copies them; the store is not
 * disabled for good, as it was. And the delivery engine's walk of pending deliveries, answered only
 * once the commits before it are durable.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHECKPOINT_INTERVAL_MS, inThreadStore } from "./in-thread.js";
import type { IngestRecord } from "../types.js";
import { openInThreadConnection } from "./index.js";

describe("the in-thread store", () => {
  it("goes on writing after a failed checkpoint, and checkpoints later", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-in-thread-"));
    const connection = openInThreadConnection({ dataDir });
    let failures = 2;
    let checkpoints = 0;
    const store = inThreadStore({
      ...connection,
      checkpoint: () => {
        if (failures > 0) {
          failures--;
          throw Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" });
        }
        checkpoints++;
        connection.checkpoint();
      },
    });
    try {
      const account = { id: "000000000000", name: "a", createdAt: 1 };
      for (let i = 0; i < 5; i++) {
        assert.equal(await store.putAccount({ ...account, id: `00000000000${i}` }), true);
        // Past the checkpoint interval: the next write first checkpoints.
        await new Promise((resolve) => setTimeout(resolve, CHECKPOINT_INTERVAL_MS + 20));
      }
      assert.equal(failures, 0, "the injected failures were met");
      assert.ok(checkpoints > 0, "a later checkpoint ran");
      assert.equal((await store.listAccounts({})).items.length, 5);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("answers a walk of pending deliveries only once the commits before it are acknowledged", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-in-thread-"));
    const store = inThreadStore(openInThreadConnection({ dataDir }));
    try {
      const record = (id: string): IngestRecord => ({
        event: { id, accountId: "000000000000", busName: "default", time: 1, ingestedAt: 1, json: "{}" },
        deliveries: [
          {
            id: `${id}-d`,
            eventId: id,
            accountId: "000000000000",
            busName: "default",
            ruleName: "r",
            targetId: "t",
            dueAt: 1,
            attempts: 0,
          },
        ],
      });
      const order: string[] = [];
      // In one group with the commit, and in a group of its own while that commit's fsync may run.
      const committed = store.appendEvents([record("e1")]).then(() => order.push("commit"));
      const sameGroup = store.listDueDeliveries(Number.MAX_SAFE_INTEGER, 10).then((page) => {
        order.push("walk");
        return page;
      });
      const nextGroup = new Promise((resolve) => setImmediate(resolve))
        .then(() => store.listDueDeliveries(Number.MAX_SAFE_INTEGER, 10))
        .then(() => order.push("next walk"));
      await Promise.all([committed, sameGroup, nextGroup]);
      assert.deepEqual(order, ["commit", "walk", "next walk"]);
      assert.deepEqual(
        (await sameGroup).map((d) => d.id),
        ["e1-d"],
      );
      // Other reads still answer before the fsync.
      const reads: string[] = [];
      const write = store.appendEvents([record("e2")]).then(() => reads.push("commit"));
      const read = store.getEvents(["e1"]).then(() => reads.push("read"));
      await Promise.all([write, read]);
      assert.deepEqual(reads, ["read", "commit"]);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
