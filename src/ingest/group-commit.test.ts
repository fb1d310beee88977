import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore, type IngestRecord, type Store } from "../store/index.js";
import { GroupCommitter } from "./group-commit.js";
import { uuidv7 } from "./ids.js";

function record(): IngestRecord {
  const id = uuidv7();
  return {
    event: { id, accountId: "000000000000", busName: "default", time: 0, ingestedAt: 0, json: "{}" },
    deliveries: [],
  };
}

/** A real SQLite store whose appendEvents calls are counted. */
function countingStore(): { store: Store; batches: number[]; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "busbar-commit-"));
  const store = openSqliteStore({ dataDir: dir });
  const batches: number[] = [];
  const append = store.appendEvents.bind(store);
  Object.defineProperty(store, "appendEvents", {
    value: (records: readonly IngestRecord[]) => {
      batches.push(records.length);
      return append(records);
    },
  });
  return { store, batches, dir };
}

describe("GroupCommitter", () => {
  it("commits concurrent requests together and resolves each once durable", async () => {
    const { store, batches, dir } = countingStore();
    const committer = new GroupCommitter(store);
    const requests = Array.from({ length: 50 }, () => [record(), record()]);
    await Promise.all(requests.map((r) => committer.commit(r)));
    assert.ok(batches.length < 5, `50 concurrent requests took ${batches.length} transactions`);
    for (const r of requests) for (const x of r) assert.ok(await store.getEvent(x.event.id));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  it("rejects every request of a transaction that fails, storing none of it", async () => {
    const { store, dir } = countingStore();
    const committer = new GroupCommitter(store);
    const dup = record();
    await committer.commit([dup]);
    const other = record();
    // Both requests join one transaction, which the repeated id makes fail as a whole.
    const results = await Promise.allSettled([committer.commit([record(), dup]), committer.commit([other])]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["rejected", "rejected"],
    );
    assert.equal(await store.getEvent(other.event.id), undefined);
    assert.ok(await committer.commit([record()]).then(() => true), "later requests commit normally");
    await committer.drain();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  it("drains: resolves once everything queued is written", async () => {
    const { store, dir } = countingStore();
    const committer = new GroupCommitter(store);
    const pending = Array.from({ length: 10 }, () => committer.commit([record()]));
    await committer.drain();
    assert.equal(await store.countEvents(), 10);
    await Promise.all(pending);
    await committer.drain();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
