/**
 * The SQLite store on a worker thread passes the same conformance suite as the in-thread store, and
 * its errors keep their AWS shape across the thread boundary.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStoreInWorker, RemoteStoreError } from "../src/store/index.js";
import { storeConformance } from "./support/store-conformance.js";

storeConformance("SQLite store in a worker thread", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "busbar-sqlite-worker-"));
  return {
    store: await openSqliteStoreInWorker({ dataDir }),
    reopen: () => openSqliteStoreInWorker({ dataDir }),
    cleanup: () => {
      rmSync(dataDir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
});

describe("SQLite store in a worker thread", () => {
  it("passes errors back with their name and AWS shape", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-sqlite-worker-"));
    const store = await openSqliteStoreInWorker({ dataDir });
    try {
      await assert.rejects(
        store.listBuses("000000000000", { nextToken: "!!not-a-token!!" }),
        (e: unknown) => {
          assert.ok(e instanceof RemoteStoreError);
          assert.equal(e.name, "InvalidNextTokenError");
          assert.equal(e.awsType, "ValidationException");
          assert.equal(e.httpStatus, 400);
          return true;
        },
      );
    } finally {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
