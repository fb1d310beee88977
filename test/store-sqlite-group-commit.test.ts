/**
 * Group commit in the SQLite store (on its worker thread, and in the calling thread): calls that reach the worker together share one
 * commit, and a call that fails (in SQL or in plain JavaScript) undoes only its own changes. Commits
 * are counted in the database's write-ahead log, where every commit ends with a commit frame.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import {
  openSqliteStoreInThread,
  openSqliteStoreInWorker,
  type IngestRecord,
  type Store,
} from "../src/store/index.js";
import { fillDisk, tmpfsFor, unmountTmpfs } from "./support/index.js";

const ACCOUNT = "111111111111";
const root = join(import.meta.dirname, "..");

/** Another process's connection: takes the write lock, writes a tag, says so, commits 200 ms later. */
const OTHER_WRITER = `
const db = new (require("better-sqlite3"))(process.argv[1], { timeout: 5000 });
db.exec("BEGIN IMMEDIATE");
db.prepare("INSERT INTO tags (arn, key, value) VALUES ('arn:other', 'k', 'v')").run();
process.stdout.write("locked\\n");
setTimeout(() => { db.exec("COMMIT"); db.close(); }, 200);
`;
const T0 = 1_700_000_000_000;

/** WAL layout (https://sqlite.org/fileformat2.html#walformat): a 32-byte header, then frames. */
const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;

/**
 * The commits in a WAL file since it was last restarted: its frames that end a transaction (a
 * non-zero database size) and carry the header's salts (frames left over from before the restart do
 * not); and which restart that was (the salts).
 */
function walState(path: string): { commits: number; salts: string } {
  const wal = readFileSync(path);
  if (wal.length < WAL_HEADER_BYTES) return { commits: 0, salts: "" };
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let commits = 0;
  for (let at = WAL_HEADER_BYTES; at + FRAME_HEADER_BYTES + pageSize <= wal.length;) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
    at += FRAME_HEADER_BYTES + pageSize;
  }
  return { commits, salts: `${salt1}:${salt2}` };
}

/** An event with one delivery, for appendEvents. */
function record(id: string): IngestRecord {
  return {
    event: { id, accountId: ACCOUNT, busName: "default", time: T0, ingestedAt: T0, json: "{}" },
    deliveries: [
      {
        id: "d",
        eventId: id,
        accountId: ACCOUNT,
        busName: "default",
        ruleName: "r",
        targetId: "t",
        dueAt: T0,
        attempts: 0,
      },
    ],
  };
}

/** A queue of the account. */
async function createQueue(store: Store, name: string): Promise<void> {
  const arn = `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
  await store.createQueue({
    accountId: ACCOUNT,
    name,
    arn,
    fifo: false,
    attributes: {},
    createdAt: T0,
    lastModifiedAt: T0,
  });
}

/** A message for sendMessages. */
function message(id: string) {
  return { id, body: id, senderId: ACCOUNT, sentAt: T0, visibleAt: T0, expiresAt: T0 + 1e9 };
}

/** The two stores that commit in groups: on a worker thread, and in the calling thread. */
const GROUPED: ReadonlyArray<[string, (o: { dataDir: string }) => Promise<Store>]> = [
  ["in a worker thread", openSqliteStoreInWorker],
  ["in the calling thread", (o) => Promise.resolve(openSqliteStoreInThread(o))],
];

for (const [where, openGrouped] of GROUPED)
  describe(`SQLite store ${where}, group commit`, () => {
    it("commits concurrent calls together, and a failing call undoes only its own changes", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "busbar-sqlite-group-"));
      const wal = join(dataDir, "busbar.db-wal");
      let store = await openGrouped({ dataDir });
      try {
        await createQueue(store, "q");
        // Enough events that listing them keeps the worker busy while the calls below arrive.
        await store.appendEvents(Array.from({ length: 20_000 }, (_, i) => record(`old-${i}`)));
        const before = walState(wal);

        const busy = store.listDueDeliveries(T0, 20_000);
        const calls = [
          store.sendMessages({ accountId: ACCOUNT, name: "q" }, [message("m1"), message("m2")]),
          store.appendEvents([record("e1"), record("e2"), record("e1")]), // fails after inserting e1 and e2
          store.deleteMessages({ accountId: ACCOUNT, name: "q" }, 42 as never, T0), // fails in JavaScript
          store.sendMessages({ accountId: ACCOUNT, name: "ghost" }, [message("x")]), // no such queue
          store.sendMessages({ accountId: ACCOUNT, name: "q" }, [message("m3")]),
          store.appendEvents([record("e3")]),
          store.putAccount({ id: ACCOUNT, name: "main", createdAt: T0 }),
          store.countMessages({ accountId: ACCOUNT, name: "q" }, T0),
        ];
        const outcomes = await Promise.allSettled([busy, ...calls]);
        // A checkpoint of the 20,000 events may restart the log meanwhile (new salts): then every
        // commit in it is one of these calls' (a restart happens at the first write after it).
        const now = walState(wal);
        const commits = now.salts === before.salts ? now.commits - before.commits : now.commits;

        assert.deepEqual(
          outcomes.map((o) => o.status),
          [
            "fulfilled",
            "fulfilled",
            "rejected",
            "rejected",
            "rejected",
            "fulfilled",
            "fulfilled",
            "fulfilled",
            "fulfilled",
          ],
        );
        const reasons = outcomes.flatMap((o) => (o.status === "rejected" ? [(o.reason as Error).name] : []));
        assert.deepEqual(reasons, ["DuplicateIdError", "TypeError", "QueueNotFoundError"]);
        assert.ok(commits >= 1 && commits <= 2, `${calls.length} calls took ${commits} commits`);

        await store.close();
        store = await openGrouped({ dataDir });
        const received = await store.receiveMessages(
          { accountId: ACCOUNT, name: "q" },
          { max: 10, now: T0, visibleUntil: T0 + 1 },
        );
        assert.deepEqual(
          received.map((m) => m.id),
          ["m1", "m2", "m3"],
        );
        assert.equal(await store.getEvent("e1"), undefined, "the failed call's inserts are undone");
        assert.equal(await store.getEvent("e2"), undefined);
        assert.equal((await store.getEvent("e3"))?.id, "e3");
        assert.equal((await store.getAccount(ACCOUNT))?.name, "main");
      } finally {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it("takes the write lock for the whole group, waiting for another connection's", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "busbar-sqlite-group-"));
      const store = await openGrouped({ dataDir });
      let other: ChildProcess | undefined;
      try {
        await createQueue(store, "q");
        // Another process writes the same file (as the `busbar keys` CLI does) and holds its lock a
        // while (a process of its own: the store may wait for the lock in this thread).
        other = spawn(process.execPath, ["-e", OTHER_WRITER, join(dataDir, "busbar.db")], { cwd: root });
        const child = other;
        await new Promise<void>((resolve, reject) => {
          child.stdout?.once("data", () => resolve());
          child.once("exit", (code) => reject(new Error(`the other writer exited (${code})`)));
        });
        const committed = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        // A group that reads before it writes: a deferred transaction would read an old snapshot and
        // then fail to write (SQLITE_BUSY_SNAPSHOT); the group's BEGIN IMMEDIATE waits instead.
        const ref = { accountId: ACCOUNT, name: "q" };
        const [counts, sent, tags] = await Promise.all([
          store.countMessages(ref, T0),
          store.sendMessages(ref, [message("m1")]),
          store.getTags("arn:other"),
          committed,
        ]);
        assert.deepEqual(counts, { visible: 0, inFlight: 0, delayed: 0 });
        assert.deepEqual(sent, [{ id: "m1", duplicate: false }]);
        assert.deepEqual(tags, [{ key: "k", value: "v" }], "the group began after the other commit");
      } finally {
        other?.kill();
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it("answers a receive before the fsync that a send of its group waits for", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "busbar-sqlite-group-"));
      const store = await openGrouped({ dataDir });
      const q = { accountId: ACCOUNT, name: "q" };
      try {
        await createQueue(store, "q");
        await store.sendMessages(q, [message("m1")]);
        const order: string[] = [];
        // Made in one turn: one group, the send first. The receive needs no fsync, the send does.
        const send = store.sendMessages(q, [message("m2")]).then(() => order.push("send"));
        const receive = store
          .receiveMessages(q, { max: 1, now: T0, visibleUntil: T0 + 30_000 })
          .then((received) => order.push(`receive ${received.map((m) => m.id).join()}`));
        await Promise.all([send, receive]);
        assert.deepEqual(order, ["receive m1", "send"]);
      } finally {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it("answers each of many concurrent calls with its own result", async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "busbar-sqlite-group-"));
      const store = await openGrouped({ dataDir });
      try {
        await createQueue(store, "q");
        const sends = Array.from({ length: 50 }, (_, i) =>
          store.sendMessages({ accountId: ACCOUNT, name: "q" }, [message(`m${i}`)]),
        );
        const results = await Promise.all(sends);
        assert.deepEqual(
          results.map(([r]) => r?.id),
          Array.from({ length: 50 }, (_, i) => `m${i}`),
        );
        assert.deepEqual(await store.countMessages({ accountId: ACCOUNT, name: "q" }, T0), {
          visible: 50,
          inFlight: 0,
          delayed: 0,
        });
      } finally {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it("answers the reads of a group whose writes a full disk fails, and fails the writes with 503 SQLITE_FULL", async (t) => {
      const disk = tmpfsFor(t, 8);
      if (disk === undefined) return;
      let store: Store | undefined;
      try {
        store = await openGrouped({ dataDir: join(disk, "data") });
        await store.putAccount({ id: ACCOUNT, name: "main", createdAt: T0 });
        await createQueue(store, "q");
        fillDisk(disk);
        // An event of 2 MB cannot be written; the reads made with it (in its group) can be answered.
        const big = record("big");
        const event = { ...big.event, json: JSON.stringify({ pad: "x".repeat(2_000_000) }) };
        const [write, account, queue] = await Promise.allSettled([
          store.appendEvents([{ ...big, event }]),
          store.getAccount(ACCOUNT),
          store.getQueue(ACCOUNT, "q"),
        ]);
        if (write.status !== "rejected") assert.fail("the write of 2 MB on a full disk succeeded");
        const failure = write.reason as Error & { httpStatus?: number };
        assert.equal(failure.name, "StoreFailureError");
        assert.equal(failure.httpStatus, 503);
        assert.match(failure.message, /^The store failed: SQLITE_FULL \(its disk is full\)/);
        if (account.status !== "fulfilled") assert.fail(`getAccount: ${String(account.reason)}`);
        assert.equal(account.value?.name, "main");
        if (queue.status !== "fulfilled") assert.fail(`getQueue: ${String(queue.reason)}`);
        assert.equal(queue.value?.name, "q");
      } finally {
        await store?.close();
        unmountTmpfs(disk);
      }
    });
  });
