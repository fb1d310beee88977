/**
 * The SQLite store: the shared conformance suite, each test on a fresh data directory, plus what only
 * the embedded store promises (WAL mode, owner-only files, the data directory created, typed errors).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
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

  it("rejects a file name with a directory part", () => {
    assert.throws(() => openSqliteStore({ dataDir: tempDir(), fileName: "../escape.db" }), StoreOpenError);
    assert.throws(() => openSqliteStore({ dataDir: "" }), StoreOpenError);
  });

  it("refuses a database written by a newer schema version", async () => {
    const dataDir = tempDir();
    try {
      await openSqliteStore({ dataDir }).close();
      const db = new Database(join(dataDir, DEFAULT_SQLITE_FILE_NAME));
      db.pragma("user_version = 999");
      db.close();
      assert.throws(() => openSqliteStore({ dataDir }), UnsupportedSchemaVersionError);
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
