import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CHANGE_LOG_MS,
  DiskFloor,
  DiskLowError,
  floorGuarded,
  isBelowFloor,
  measureDataDir,
  type DiskRoom,
} from "./disk-floor.js";
import { DEFAULT_SQLITE_FILE_NAME, openSqliteStoreInThread } from "./sqlite/index.js";

const MIB = 1024 * 1024;

function room(freeMib: number, reusableMib = 0, walMib = 0): DiskRoom {
  return { free: freeMib * MIB, reusable: reusableMib * MIB, wal: walMib * MIB };
}

/** A floor whose measurements are the given rooms in turn (the last one repeated). */
function scripted(floor: number, rooms: (DiskRoom | Error)[], now: () => number = Date.now) {
  const changes: [boolean, DiskRoom, number][] = [];
  const errors: unknown[] = [];
  let i = 0;
  const disk = new DiskFloor({
    floor,
    measure: () => {
      const next = rooms[Math.min(i++, rooms.length - 1)] as DiskRoom | Error;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    onChange: (low, r, unlogged) => changes.push([low, r, unlogged]),
    onError: (e) => errors.push(e),
    now,
  });
  return { disk, changes, errors, measured: () => i };
}

/** Measures once more (start() measures, then schedules; stopped at once, it measures only then). */
async function measureOnce(disk: DiskFloor): Promise<void> {
  await disk.start();
  disk.stop();
}

describe("the disk floor", () => {
  it("counts the database's free pages as room, and keeps a quarter of the floor on disk with the log's file", () => {
    assert.equal(isBelowFloor(room(300), 256 * MIB), false);
    assert.equal(isBelowFloor(room(200), 256 * MIB), true);
    assert.equal(isBelowFloor(room(200, 100), 256 * MIB), false);
    // The log's file is less room, up to a quarter of the floor: a checkpoint may yet copy its pages
    // past the database's end.
    assert.equal(isBelowFloor(room(300, 0, 50), 256 * MIB), true);
    assert.equal(isBelowFloor(room(330, 0, 200), 256 * MIB), false);
    // Free pages do not make room for the write-ahead log, which grows on disk…
    assert.equal(isBelowFloor(room(50, 10_000, 4), 256 * MIB), true);
    // …unless its file, which SQLite writes over after a checkpoint, is large enough already.
    assert.equal(isBelowFloor(room(1, 10_000, 64), 256 * MIB), false);
    // 0 turns the floor off.
    assert.equal(isBelowFloor(room(0), 0), false);
  });

  it("charges each call admitted until the measurement after it settled", async () => {
    let measured = room(100);
    const disk = new DiskFloor({ floor: 16 * MIB, measure: () => Promise.resolve(measured) });
    await measureOnce(disk);
    // 84 MiB of room above the floor: 40 MiB calls, admitted twice, refused the third time.
    assert.equal(disk.admit("data", 40 * MIB), undefined);
    assert.equal(disk.admit("data", 40 * MIB), undefined);
    const refused = disk.admit("data", 40 * MIB);
    assert.ok(refused instanceof DiskLowError);
    assert.equal(refused.httpStatus, 503);
    assert.equal(refused.awsType, "ServiceUnavailableException");
    assert.match(
      refused.message,
      /20\.0 MiB left for data .* under the 16\.0 MiB it keeps free for new events/,
    );
    // Configuration goes down to half the floor.
    assert.equal(disk.admit("config", 10 * MIB), undefined);
    assert.ok(disk.admit("config", 10 * MIB) instanceof DiskLowError);
    // Settled, a call stays charged until a measurement begun after it sees what it wrote.
    disk.settle(40 * MIB);
    assert.ok(disk.admit("data", 20 * MIB) instanceof DiskLowError);
    measured = room(60);
    await measureOnce(disk);
    assert.equal(disk.roomLeft, (60 - 50) * MIB); // 40 + 10 MiB still pending
    disk.settle(40 * MIB);
    disk.settle(10 * MIB);
    measured = room(10);
    await measureOnce(disk);
    assert.equal(disk.low, true);
    assert.equal(disk.roomLeft, 10 * MIB);
  });

  it("measures more often near the floor, and clears only a share past it, telling each change once", async () => {
    const low = room(10);
    const just = room(17); // over the floor, not past its eighth
    const clear = room(19);
    const { disk, changes, measured } = scripted(16 * MIB, [low, just, just, clear, clear]);
    await disk.start();
    try {
      assert.equal(disk.low, true);
      assert.deepEqual(changes, [[true, low, 0]]);
      // Within two floors of room, every 100 ms.
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.equal(disk.low, true, "17 MiB does not clear a 16 MiB floor");
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.ok(measured() >= 4, `measured ${measured()} times`);
      assert.equal(disk.low, false);
    } finally {
      disk.stop();
    }
    // The second change came within a minute of the first: counted, not told.
    assert.deepEqual(changes, [[true, low, 0]]);
    const stopped = measured();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(measured(), stopped);
  });

  it("tells changes at most once a minute, with the count of those between", async () => {
    let now = 0;
    const { disk, changes } = scripted(16 * MIB, [room(10), room(30), room(10), room(30)], () => now);
    for (let i = 0; i < 3; i++) await measureOnce(disk);
    assert.deepEqual(
      changes.map(([low, , unlogged]) => [low, unlogged]),
      [[true, 0]],
    );
    now += CHANGE_LOG_MS;
    await measureOnce(disk);
    assert.deepEqual(
      changes.map(([low, , unlogged]) => [low, unlogged]),
      [
        [true, 0],
        [false, 2],
      ],
    );
  });

  it("keeps its state through failed measurements, telling the first of them in a minute", async () => {
    const broken = new Error("statfs failed");
    const { disk, errors } = scripted(16 * MIB, [room(1), broken, room(1), broken, broken]);
    for (let i = 0; i < 5; i++) await measureOnce(disk);
    assert.equal(disk.low, true);
    assert.deepEqual(errors, [broken]);
  });

  it("charges a fan-out of events at least what it writes, with names at their longest", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-floor-charge-"));
    const store = openSqliteStoreInThread({ dataDir });
    try {
      const disk = new DiskFloor({ floor: 16 * MIB, measure: () => Promise.resolve(room(100_000)) });
      await measureOnce(disk);
      const guarded = floorGuarded(store, disk);
      const files = () =>
        statSync(join(dataDir, DEFAULT_SQLITE_FILE_NAME)).size +
        statSync(join(dataDir, `${DEFAULT_SQLITE_FILE_NAME}-wal`)).size;
      const before = files();
      const bus = "B".repeat(256);
      // 100 small events, each matched by 30 rules of 5 targets: 15,000 deliveries.
      const records = Array.from({ length: 100 }, (_, e) => {
        const id = `00000000-0000-7000-8000-${String(e).padStart(12, "0")}`;
        return {
          event: { id, accountId: "000000000000", busName: bus, time: 0, ingestedAt: 0, json: "{}" },
          deliveries: Array.from({ length: 150 }, (_, i) => ({
            id: `${id.slice(0, 30)}${String(i).padStart(6, "0")}`,
            eventId: id,
            accountId: "000000000000",
            busName: bus,
            ruleName: `${"r".repeat(60)}${String(i % 30).padStart(4, "0")}`,
            targetId: `${"t".repeat(60)}${String(i % 5).padStart(4, "0")}`,
            dueAt: 0,
            attempts: 0,
          })),
        };
      });
      await guarded.appendEvents(records);
      const written = files() - before;
      const charged = 100_000 * MIB - disk.roomLeft;
      // ~1,300 bytes a delivery in the database and its log; a flat 256 was charged before.
      assert.ok(written > 15_000 * 300, `wrote ${written}`);
      assert.ok(charged >= written, `charged ${charged} for ${written} written`);
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("is off at 0: no measurement, nothing refused", async () => {
    const { disk, measured } = scripted(0, [room(0)]);
    await disk.start();
    assert.equal(measured(), 0);
    assert.equal(disk.low, false);
    assert.equal(disk.room, undefined);
    assert.equal(disk.admit("data", 1e12), undefined);
  });

  it("refuses the calls that add data, then configuration, on a real store, and measures its directory", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-floor-unit-"));
    const store = openSqliteStoreInThread({ dataDir });
    try {
      let measured = room(1000);
      const disk = new DiskFloor({ floor: 16 * MIB, measure: () => Promise.resolve(measured) });
      await measureOnce(disk);
      const guarded = floorGuarded(store, disk);
      const now = Date.now();
      const queue = (name: string) => ({
        accountId: "000000000000",
        name,
        arn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
        fifo: false,
        createdAt: now,
        lastModifiedAt: now,
        attributes: {},
      });
      assert.equal(await guarded.createQueue(queue("q")), true);
      // Its estimate is charged until the next measurement.
      assert.ok(disk.roomLeft < 1000 * MIB);
      measured = room(14, 0, 2);
      await measureOnce(disk);
      assert.equal(disk.low, true);
      await assert.rejects(guarded.createQueue(queue("r")), DiskLowError);
      await assert.rejects(guarded.appendEvents([]), DiskLowError);
      const ref = await store.getQueue("000000000000", "q");
      assert.ok(ref !== undefined);
      await assert.rejects(guarded.sendMessages(ref, []), DiskLowError);
      // Configuration still goes (12 MiB of room is over half the floor); reads and deletes always.
      await guarded.putAccount({ id: "111111111111", name: "other", createdAt: now });
      assert.equal((await guarded.getQueue("000000000000", "q"))?.name, "q");
      measured = room(9, 0, 2);
      await measureOnce(disk);
      await assert.rejects(
        guarded.putAccount({ id: "222222222222", name: "more", createdAt: now }),
        DiskLowError,
      );
      assert.equal(await guarded.deleteQueue("000000000000", "q"), true);
      assert.equal(await guarded.countEvents(), 0);

      const actual = await measureDataDir(dataDir, DEFAULT_SQLITE_FILE_NAME, store)();
      assert.ok(actual.free > 0);
      assert.ok(actual.reusable >= 0 && actual.reusable % 512 === 0);
      assert.ok(actual.wal > 0, "a store in WAL mode has a log file");
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
