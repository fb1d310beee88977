import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DiskFloor,
  DiskLowError,
  floorGuarded,
  isBelowFloor,
  measureDataDir,
  type DiskRoom,
} from "./disk-floor.js";
import { openSqliteStoreInThread } from "./sqlite/index.js";

const MIB = 1024 * 1024;

/** A floor whose measurements are the given rooms in turn (the last one repeated). */
function scripted(floor: number, rooms: (DiskRoom | Error)[]) {
  const changes: [boolean, DiskRoom][] = [];
  const errors: unknown[] = [];
  let i = 0;
  const disk = new DiskFloor({
    floor,
    measure: () => {
      const next = rooms[Math.min(i++, rooms.length - 1)] as DiskRoom | Error;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    onChange: (low, room) => changes.push([low, room]),
    onError: (e) => errors.push(e),
  });
  return { disk, changes, errors, measured: () => i };
}

describe("the disk floor", () => {
  it("counts the database's free pages as room, and keeps a quarter of the floor free on disk", () => {
    assert.equal(isBelowFloor({ free: 300 * MIB, reusable: 0 }, 256 * MIB), false);
    assert.equal(isBelowFloor({ free: 200 * MIB, reusable: 0 }, 256 * MIB), true);
    assert.equal(isBelowFloor({ free: 200 * MIB, reusable: 100 * MIB }, 256 * MIB), false);
    // Free pages do not make room for the write-ahead log, which grows on disk.
    assert.equal(isBelowFloor({ free: 60 * MIB, reusable: 10_000 * MIB }, 256 * MIB), true);
    assert.equal(isBelowFloor({ free: 64 * MIB, reusable: 10_000 * MIB }, 256 * MIB), false);
    // 0 turns the floor off.
    assert.equal(isBelowFloor({ free: 0, reusable: 0 }, 0), false);
  });

  it("measures before it starts, tells each change once, and measures more often near the floor", async () => {
    const low = { free: 10 * MIB, reusable: 0 };
    const near = { free: 30 * MIB, reusable: 0 };
    const { disk, changes, measured } = scripted(16 * MIB, [low, low, near, near, near]);
    await disk.start();
    try {
      assert.equal(disk.low, true);
      assert.deepEqual(changes, [[true, low]]);
      const refusal = disk.refusal();
      assert.ok(refusal instanceof DiskLowError);
      assert.equal(refusal.httpStatus, 503);
      assert.equal(refusal.awsType, "ServiceUnavailableException");
      assert.equal(refusal.retryable, true);
      assert.match(refusal.message, /10\.0 MiB left for data .* under the 16\.0 MiB it keeps free/);
      // Within two floors of room, every 100 ms: five measurements in well under a second.
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.ok(measured() >= 4, `measured ${measured()} times`);
      assert.equal(disk.low, false);
      assert.deepEqual(changes, [
        [true, low],
        [false, near],
      ]);
    } finally {
      disk.stop();
    }
    const stopped = measured();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(measured(), stopped);
  });

  it("keeps its state through failed measurements, telling the first of a run of them", async () => {
    const low = { free: 1 * MIB, reusable: 0 };
    const broken = new Error("statfs failed");
    const { disk, errors } = scripted(16 * MIB, [low, broken, broken, broken, low, broken]);
    await disk.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.equal(disk.low, true);
      assert.deepEqual(errors, [broken, broken]);
    } finally {
      disk.stop();
    }
  });

  it("is off at 0: no measurement, nothing refused", async () => {
    const { disk, measured } = scripted(0, [{ free: 0, reusable: 0 }]);
    await disk.start();
    assert.equal(measured(), 0);
    assert.equal(disk.low, false);
    assert.equal(disk.room, undefined);
  });

  it("refuses only the calls that add data, on a real store, and measures its data directory", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-floor-unit-"));
    const store = openSqliteStoreInThread({ dataDir });
    try {
      let room: DiskRoom = { free: 1000 * MIB, reusable: 0 };
      const disk = new DiskFloor({ floor: 16 * MIB, measure: () => Promise.resolve(room) });
      await disk.start();
      disk.stop();
      const guarded = floorGuarded(store, disk);
      const now = Date.now();
      const queue = {
        accountId: "000000000000",
        name: "q",
        arn: "arn:aws:sqs:us-east-1:000000000000:q",
        fifo: false,
      };
      assert.equal(
        await guarded.createQueue({ ...queue, createdAt: now, lastModifiedAt: now, attributes: {} }),
        true,
      );
      room = { free: 1 * MIB, reusable: 0 };
      await disk.start(); // one measurement: low
      disk.stop();
      assert.equal(disk.low, true);
      await assert.rejects(
        guarded.createQueue({ ...queue, name: "r", createdAt: now, lastModifiedAt: now, attributes: {} }),
        DiskLowError,
      );
      await assert.rejects(guarded.appendEvents([]), DiskLowError);
      const ref = await store.getQueue(queue.accountId, "q");
      assert.ok(ref !== undefined);
      await assert.rejects(guarded.sendMessages(ref, []), DiskLowError);
      // Reads, deletes and configuration pass.
      assert.equal((await guarded.getQueue(queue.accountId, "q"))?.name, "q");
      assert.equal(await guarded.deleteQueue(queue.accountId, "q"), true);
      assert.equal(await guarded.countEvents(), 0);

      const measured = await measureDataDir(dataDir, store)();
      assert.ok(measured.free > 0);
      assert.ok(measured.reusable >= 0 && measured.reusable % 512 === 0);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
