import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { DEFAULT_SQLITE_FILE_NAME, openSqliteStore } from "./index.js";
import {
  MIGRATIONS,
  SCHEMA_VERSION,
  applyMigration,
  migrate,
  schemaVersion,
  type Migration,
} from "./schema.js";
import { prepareStatements } from "./statements.js";
import { prepareMessageStatements } from "./message-statements.js";

const T0 = 1_700_000_000_000;

/** Runs `body` on a fresh data directory, removed afterwards. */
async function inDataDir(body: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "busbar-schema-"));
  try {
    await body(dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Writes a database as a Busbar of `migrations` left it (at their number's version), holding `rows`. */
function writeDatabase(path: string, migrations: readonly Migration[], rows: string): void {
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    for (const migration of migrations) applyMigration(db, migration);
    db.pragma(`user_version = ${migrations.length}`);
    db.exec(rows);
  } finally {
    db.close();
  }
}

/** Writes a database as Busbar at schema version 2 left it: a bus, an event with two deliveries, a queue. */
function writeVersion2(path: string): void {
  writeDatabase(
    path,
    MIGRATIONS.slice(0, 2),
    `
      INSERT INTO buses (account_id, name, arn, created_at, last_modified_at)
        VALUES ('111111111111', 'default', 'arn:bus', ${T0}, ${T0});
      INSERT INTO events (seq, id, account_id, bus_name, time, ingested_at, json)
        VALUES (1, 'e1', '111111111111', 'default', ${T0}, ${T0}, '{}');
      INSERT INTO deliveries (event_seq, id, event_id, account_id, bus_name, rule_name, target_id, due_at, attempts)
        VALUES (1, 'd1', 'e1', '111111111111', 'default', 'r', 't', ${T0}, 0),
               (1, 'd2', 'e1', '111111111111', 'default', 'r', 't', ${T0}, 0);
      INSERT INTO queues (account_id, name, arn, fifo, attributes, created_at, last_modified_at)
        VALUES ('111111111111', 'q', 'arn:q', 0, '{}', ${T0}, ${T0});
    `,
  );
}

/** A standard queue (id 1, retention 120 s) holding one message sent at T0, in the schema of versions 5 and up. */
const ONE_QUEUED_MESSAGE = `
  INSERT INTO queues (id, account_id, name, arn, fifo, attributes, created_at, last_modified_at)
    VALUES (1, '111111111111', 'q', 'arn:q', 0, '{"MessageRetentionPeriod":"120"}', ${T0}, ${T0});
  INSERT INTO queue_messages (seq, id, sender_id, sent_at, body) VALUES (1, 'm1', 's', ${T0}, 'b');
  INSERT INTO queue_message_states (queue_id, seq, visible_at, receive_count, expires_at)
    VALUES (1, 1, ${T0}, 0, ${T0 + 120_000});
`;

describe("SQLite schema", () => {
  it("migrates a database at version 2, keeping its data", async () => {
    assert.equal(SCHEMA_VERSION, 9);
    await inDataDir(async (dataDir) => {
      const path = join(dataDir, DEFAULT_SQLITE_FILE_NAME);
      writeVersion2(path);
      const store = openSqliteStore({ dataDir });
      try {
        assert.equal((await store.getBus("111111111111", "default"))?.arn, "arn:bus");
        assert.equal((await store.getBus("111111111111", "default"))?.logConfig, undefined);
        assert.equal((await store.getQueue("111111111111", "q"))?.arn, "arn:q");
        assert.equal(await store.countDeliveries(), 2);
        assert.equal(await store.completeDeliveries([{ eventId: "e1", id: "d1" }]), 1);
        assert.equal(
          await store.rescheduleDeliveries([{ eventId: "e1", id: "d2", dueAt: T0 + 1, attempts: 1 }]),
          1,
        );
        assert.deepEqual(
          (await store.listDueDeliveries(T0 + 1, 10)).map((d) => [d.id, d.attempts]),
          [["d2", 1]],
        );
        await store.putSecret("k", "v");
        assert.equal(await store.getSecret("k"), "v");
        assert.deepEqual((await store.listConnections("111111111111")).items, []);
        assert.deepEqual((await store.listApiDestinations("111111111111")).items, []);
      } finally {
        await store.close();
      }
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(schemaVersion(db), SCHEMA_VERSION);
      } finally {
        db.close();
      }
    });
  });

  it("upgrades a version 8 written before migration 8 had the retention floor, and one written after", async () => {
    // What the builds of 8d00d08…8a9615b wrote: migration 8 without its first statement.
    const early8 = (MIGRATIONS[7] as string).replace(
      /^\s*ALTER TABLE queues ADD COLUMN retention_floor_ms[^;]*;/m,
      "",
    );
    assert.notEqual(early8, MIGRATIONS[7]);
    for (const eighth of [early8, MIGRATIONS[7] as string]) {
      await inDataDir(async (dataDir) => {
        const path = join(dataDir, DEFAULT_SQLITE_FILE_NAME);
        writeDatabase(path, [...MIGRATIONS.slice(0, 7), eighth], ONE_QUEUED_MESSAGE);
        const store = openSqliteStore({ dataDir });
        try {
          const ref = { accountId: "111111111111", name: "q" };
          assert.equal((await store.countMessages(ref, T0 + 1)).visible, 1);
          const queue = await store.getQueue(ref.accountId, ref.name);
          assert.ok(queue !== undefined);
          // The column is there: a change of retention writes the queue's retention floor.
          assert.equal(
            await store.updateQueue({ ...queue, attributes: { MessageRetentionPeriod: "60" } }),
            true,
          );
        } finally {
          await store.close();
        }
        const after = new Database(path, { readonly: true });
        try {
          assert.equal(schemaVersion(after), 9);
        } finally {
          after.close();
        }
      });
    }
  });

  it("migrates queued messages from version 5 with their expiry, then follows retention changes", async () => {
    await inDataDir(async (dataDir) => {
      writeDatabase(join(dataDir, DEFAULT_SQLITE_FILE_NAME), MIGRATIONS.slice(0, 5), ONE_QUEUED_MESSAGE);
      const store = openSqliteStore({ dataDir });
      try {
        const ref = { accountId: "111111111111", name: "q" };
        const visible = async (now: number) => (await store.countMessages(ref, now)).visible;
        assert.equal(await visible(T0 + 119_999), 1);
        assert.equal(await visible(T0 + 120_000), 0, "expires when it did before the migration");
        const queue = await store.getQueue(ref.accountId, ref.name);
        assert.ok(queue !== undefined);
        const raised = { ...queue, attributes: { MessageRetentionPeriod: "300" } };
        assert.equal(await store.updateQueue(raised), true);
        assert.equal(await visible(T0 + 299_999), 1, "a raised retention keeps it");
      } finally {
        await store.close();
      }
    });
  });

  it("finds a standard queue's visible messages by the visibility index, reading no invisible one, with no sort", () => {
    const db = new Database(":memory:");
    try {
      migrate(db);
      const sql = prepareMessageStatements(db);
      const plan = db
        .prepare<[Record<string, number>], { detail: string }>(
          `EXPLAIN QUERY PLAN ${sql.visibleInTurn.source}`,
        )
        .all({ queueId: 1, now: T0, afterVisible: 0, after: 0, cutoff: T0, limit: 10 })
        .map((row) => row.detail);
      assert.equal(plan.length, 1, plan.join("; "));
      assert.match(
        plan[0] ?? "",
        /^SEARCH queue_message_states USING INDEX queue_message_states_by_visibility \(queue_id=\? AND \(visible_at,seq\)>\(\?,\?\) AND visible_at<\?\)$/,
      );
    } finally {
      db.close();
    }
  });

  it("checks a FIFO group's messages in flight and visible from the group index alone, expiry included", () => {
    const db = new Database(":memory:");
    try {
      migrate(db);
      const sql = prepareMessageStatements(db);
      const plan = (source: string, params: unknown): string[] =>
        db
          .prepare<[unknown], { detail: string }>(`EXPLAIN QUERY PLAN ${source}`)
          .all(params)
          .map((row) => row.detail);
      const inFlight = db
        .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql.groupInFlight.source}`)
        .all(1, "g", T0, T0)
        .map((row) => row.detail);
      assert.deepEqual(
        inFlight,
        [
          "SEARCH queue_message_states USING COVERING INDEX queue_message_states_by_group (queue_id=? AND group_id=? AND visible_at>?)",
        ],
        inFlight.join("; "),
      );
      const free = plan(sql.freeGroupsAfter.source, {
        queueId: 1,
        after: "",
        now: T0,
        cutoff: T0,
        limit: 10,
      });
      for (const step of free.filter((d) => d.includes("queue_message_states")))
        assert.match(step, /USING COVERING INDEX queue_message_states_by_group/, free.join("; "));
    } finally {
      db.close();
    }
  });

  it("walks due deliveries by seeking deliveries_by_due_at, with no sort", () => {
    const db = new Database(":memory:");
    try {
      migrate(db);
      const sql = prepareStatements(db);
      const plan = db
        .prepare<[number, number, number, string, number], { detail: string }>(
          `EXPLAIN QUERY PLAN ${sql.listDueDeliveriesAfter.source}`,
        )
        .all(T0, T0, 1, "d", 10)
        .map((row) => row.detail);
      assert.equal(plan.length, 1, plan.join("; "));
      assert.match(
        plan[0] ?? "",
        /^SEARCH deliveries USING INDEX deliveries_by_due_at \(\(due_at,event_seq,id\)>/,
      );
    } finally {
      db.close();
    }
  });
});
