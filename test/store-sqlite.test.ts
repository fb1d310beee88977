/**
 * The SQLite store: the shared conformance suite, each test on a fresh data directory, plus what only
 * the embedded store promises (WAL mode, owner-only files, the data directory created, typed errors).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openSqliteStore } from "../src/store/index.js";
import {
  DEFAULT_SQLITE_FILE_NAME,
  InvalidNextTokenError,
  ParentNotFoundError,
  StoreOpenError,
  UnsupportedSchemaVersionError,
} from "../src/store/sqlite/index.js";
import { storeConformance } from "./support/store-conformance.js";

const root = join(import.meta.dirname, "..");

/** A child process that appends 500 events, reports it, and then waits to be killed. */
const CRASH_SCRIPT = `
import { openSqliteStore } from "./src/store/index.ts";
const store = openSqliteStore({ dataDir: process.argv[1] });
const records = Array.from({ length: 500 }, (_, n) => ({
  event: { id: "e" + n, accountId: "1", busName: "default", time: n, ingestedAt: n, json: JSON.stringify({ n }) },
  deliveries: [{ id: "d" + n, eventId: "e" + n, accountId: "1", busName: "default", ruleName: "r", targetId: "t", dueAt: n, attempts: 0 }],
}));
await store.appendEvents(records);
process.stdout.write("committed\\n");
setInterval(() => {}, 1000);
`;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "busbar-sqlite-"));
}

function removeDir(dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  return Promise.resolve();
}

storeConformance("SQLite store", () => {
  const dataDir = tempDir();
  return Promise.resolve({
    store: openSqliteStore({ dataDir }),
    reopen: () => Promise.resolve(openSqliteStore({ dataDir })),
    cleanup: () => removeDir(dataDir),
  });
});

/** Reads a pragma of a database file through a separate connection. */
function pragma(path: string, name: string): unknown {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma(name, { simple: true });
  } finally {
    db.close();
  }
}

describe("SQLite store files", () => {
  it("creates the data directory when it is missing, and the database file in it", async () => {
    const root = tempDir();
    try {
      const dataDir = join(root, "nested", "data");
      const store = openSqliteStore({ dataDir });
      await store.close();
      assert.ok(existsSync(join(dataDir, DEFAULT_SQLITE_FILE_NAME)));
    } finally {
      await removeDir(root);
    }
  });

  it("uses the given file name", async () => {
    const dataDir = tempDir();
    try {
      const store = openSqliteStore({ dataDir, fileName: "other.sqlite" });
      await store.close();
      assert.ok(existsSync(join(dataDir, "other.sqlite")));
      assert.equal(existsSync(join(dataDir, DEFAULT_SQLITE_FILE_NAME)), false);
    } finally {
      await removeDir(dataDir);
    }
  });

  it("puts the database in WAL mode", async () => {
    const dataDir = tempDir();
    try {
      const store = openSqliteStore({ dataDir });
      await store.appendEvents([]);
      assert.equal(pragma(join(dataDir, DEFAULT_SQLITE_FILE_NAME), "journal_mode"), "wal");
      await store.close();
    } finally {
      await removeDir(dataDir);
    }
  });

  it(
    "creates the data directory and database file readable by their owner only",
    { skip: process.platform === "win32" },
    async () => {
      const root = tempDir();
      try {
        const dataDir = join(root, "data");
        const store = openSqliteStore({ dataDir });
        await store.putAccount({ id: "111111111111", name: "main", createdAt: 0 });
        assert.equal(statSync(dataDir).mode & 0o077, 0);
        for (const file of [DEFAULT_SQLITE_FILE_NAME, `${DEFAULT_SQLITE_FILE_NAME}-wal`]) {
          assert.equal(statSync(join(dataDir, file)).mode & 0o077, 0, `${file} is private`);
        }
        await store.close();
      } finally {
        await removeDir(root);
      }
    },
  );

  it("rejects an empty data directory and a file name with a directory part, creating nothing", () => {
    const dataDir = join(tmpdir(), `busbar-never-created-${process.pid}`);
    assert.throws(() => openSqliteStore({ dataDir, fileName: "../escape.db" }), StoreOpenError);
    assert.throws(() => openSqliteStore({ dataDir, fileName: ":memory:" }), StoreOpenError);
    assert.throws(() => openSqliteStore({ dataDir: "" }), StoreOpenError);
    assert.equal(existsSync(dataDir), false);
  });

  it("keeps a resolved appendEvents after the process is killed with SIGKILL", async () => {
    const dataDir = tempDir();
    try {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", CRASH_SCRIPT, dataDir],
        {
          cwd: root,
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      const exited = new Promise<NodeJS.Signals | null>((resolve) => {
        child.once("exit", (_code, signal) => resolve(signal));
      });
      let out = "";
      for await (const chunk of child.stdout) {
        out += String(chunk);
        if (out.includes("committed")) break;
      }
      child.kill("SIGKILL");
      assert.equal(await exited, "SIGKILL", `the child ended on its own: ${out}`);
      const store = openSqliteStore({ dataDir });
      try {
        assert.equal(await store.countEvents(), 500);
        assert.equal((await store.getEvent("e499"))?.json, '{"n":499}');
        assert.equal((await store.listDeliveriesOfEvent("e499")).length, 1);
      } finally {
        await store.close();
      }
    } finally {
      await removeDir(dataDir);
    }
  });

  it("refuses a file that is not a SQLite database", async () => {
    const dataDir = tempDir();
    try {
      writeFileSync(join(dataDir, DEFAULT_SQLITE_FILE_NAME), "not a database ".repeat(100));
      assert.throws(() => openSqliteStore({ dataDir }), StoreOpenError);
    } finally {
      await removeDir(dataDir);
    }
  });

  it("refuses another program's SQLite database, and leaves it as it was", async () => {
    const dataDir = tempDir();
    try {
      const path = join(dataDir, DEFAULT_SQLITE_FILE_NAME);
      const foreign = new Database(path);
      foreign.exec(
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)",
      );
      foreign.close();
      assert.throws(
        () => openSqliteStore({ dataDir }),
        (error: unknown) =>
          error instanceof StoreOpenError &&
          error.message.includes(path) &&
          /no Busbar schema version but holds 1 other table\(s\) \(invoices\)/.test(error.message),
      );
      const after = new Database(path);
      const tables = after.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
      after.close();
      assert.deepEqual(tables, ["invoices"]);
    } finally {
      await removeDir(dataDir);
    }
  });

  it("refuses a database written by a newer schema version", async () => {
    const dataDir = tempDir();
    try {
      await openSqliteStore({ dataDir }).close();
      const db = new Database(join(dataDir, DEFAULT_SQLITE_FILE_NAME));
      db.pragma("user_version = 999");
      db.close();
      const file = join(dataDir, DEFAULT_SQLITE_FILE_NAME);
      assert.throws(
        () => openSqliteStore({ dataDir }),
        (error: unknown) =>
          error instanceof UnsupportedSchemaVersionError &&
          error.file === file &&
          error.message.includes(`The database ${file} has schema version 999`),
      );
    } finally {
      await removeDir(dataDir);
    }
  });
});

describe("SQLite store errors", () => {
  it("throws InvalidNextTokenError, mapped to ValidationException, for a token of another listing", async () => {
    const dataDir = tempDir();
    const store = openSqliteStore({ dataDir });
    try {
      await store.createBus({ accountId: "1", name: "a", arn: "arn:a", createdAt: 0, lastModifiedAt: 0 });
      await store.createBus({ accountId: "1", name: "b", arn: "arn:b", createdAt: 0, lastModifiedAt: 0 });
      const { nextToken } = await store.listBuses("1", { limit: 1 });
      assert.ok(nextToken !== undefined);
      const error = await store.listRules("1", "a", { nextToken }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof InvalidNextTokenError);
      assert.equal(error.awsType, "ValidationException");
      assert.equal(error.httpStatus, 400);
    } finally {
      await store.close();
      await removeDir(dataDir);
    }
  });

  it("throws ParentNotFoundError for a rule of a missing bus or targets of a missing rule", async () => {
    const dataDir = tempDir();
    const store = openSqliteStore({ dataDir });
    try {
      const rule = {
        accountId: "1",
        busName: "ghost",
        name: "r",
        arn: "arn:r",
        state: "ENABLED",
        createdBy: "1",
        createdAt: 0,
        lastModifiedAt: 0,
      } as const;
      await assert.rejects(store.putRule(rule), ParentNotFoundError);
      await assert.rejects(store.putTargets("1", "ghost", "r", []), ParentNotFoundError);
    } finally {
      await store.close();
      await removeDir(dataDir);
    }
  });
});
