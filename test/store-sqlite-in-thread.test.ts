/**
 * The SQLite store run in the calling thread (group commit, fsyncs on the thread pool) passes the same
 * conformance suite as the other stores; calls made together share one commit; nothing it resolved is
 * lost when the process is killed, across its own checkpoints.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStoreInThread } from "../src/store/index.js";
import { storeConformance } from "./support/store-conformance.js";

storeConformance("SQLite store in the calling thread", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "busbar-sqlite-in-thread-"));
  return Promise.resolve({
    store: openSqliteStoreInThread({ dataDir }),
    reopen: () => Promise.resolve(openSqliteStoreInThread({ dataDir })),
    cleanup: () => {
      rmSync(dataDir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});

const root = join(import.meta.dirname, "..");

/**
 * A child process that appends batches of 100 events of ~1 KB for as long as it lives, printing the
 * number of each batch once its promise resolved, and the size of the log file now and then.
 */
const WRITER_SCRIPT = `
import { statSync } from "node:fs";
import { openSqliteStoreInThread } from "./src/store/index.ts";
const dataDir = process.argv[1];
const store = openSqliteStoreInThread({ dataDir });
const note = "x".repeat(1000);
let batch = 0;
const write = async () => {
  for (;;) {
    const b = batch++;
    const records = Array.from({ length: 100 }, (_, i) => {
      const id = "e" + b + "-" + i;
      return {
        event: { id, accountId: "1", busName: "default", time: b, ingestedAt: b, json: JSON.stringify({ note }) },
        deliveries: [{ id: "d", eventId: id, accountId: "1", busName: "default", ruleName: "r", targetId: "t", dueAt: b, attempts: 0 }],
      };
    });
    await store.appendEvents(records);
    process.stdout.write("acked " + b + " " + statSync(dataDir + "/busbar.db-wal").size + "\\n");
  }
};
// Four writers at once, so that groups hold several calls.
for (let w = 0; w < 4; w++) void write();
`;

describe("SQLite store in the calling thread, durability", () => {
  it("keeps every event it acknowledged when killed, across its checkpoints, and restarts its log", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-sqlite-in-thread-"));
    try {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", WRITER_SCRIPT, dataDir],
        {
          cwd: root,
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      const acked: number[] = [];
      const walSizes: number[] = [];
      let buffered = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          const [, b, size] = line.split(" ");
          acked.push(Number(b));
          walSizes.push(Number(size));
        }
      });
      // Writing long enough for several checkpoints (CHECKPOINT_INTERVAL_MS apart), timed from the
      // first acknowledgement: the child's start-up (seconds on a loaded host) writes nothing.
      const started = Date.now();
      while (acked.length === 0) {
        assert.ok(Date.now() - started < 30_000, "the writer acknowledged nothing in 30 s");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 2500));
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      assert.ok(acked.length > 50, `only ${acked.length} batches were acknowledged`);

      const store = openSqliteStoreInThread({ dataDir });
      try {
        for (const b of acked) {
          assert.ok(await store.getEvent(`e${b}-0`), `acknowledged batch ${b} is missing`);
          assert.ok(await store.getEvent(`e${b}-99`), `acknowledged batch ${b} is incomplete`);
        }
        assert.equal(await store.countEvents(), await store.countDeliveries());
      } finally {
        await store.close();
      }
      // Checkpoints let SQLite restart the log: it stays far smaller than everything written (~2 KB a
      // record with its delivery and indexes).
      const written = acked.length * 100 * 1000;
      const largest = Math.max(...walSizes);
      assert.ok(largest < written / 2, `the log grew to ${largest} bytes for ${written} bytes of events`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
