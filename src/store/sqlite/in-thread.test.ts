/**
 * The in-thread store when a checkpoint fails (the disk full as the database file would grow): the
 * log still holds every page, so writes go on and a later checkpoint copies them; the store is not
 * disabled for good, as it was.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHECKPOINT_INTERVAL_MS, inThreadStore } from "./in-thread.js";
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
});
