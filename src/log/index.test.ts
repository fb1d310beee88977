import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger, RepeatingFailure } from "./index.js";

/** A logger writing its records into an array, and a clock the test moves. */
function setUp(everyMs: number) {
  const records: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      records.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
      done();
    },
  });
  let now = 1_000;
  const failure = new RepeatingFailure(
    createLogger({ level: "info", destination }),
    { failed: "writing failed", recovered: "writing works again" },
    { everyMs, now: () => now },
  );
  return { records, failure, advance: (ms: number) => (now += ms) };
}

describe("RepeatingFailure", () => {
  it("logs the first failure, then one line per period with the count left out, and the recovery", async () => {
    const { records, failure, advance } = setUp(60_000);
    const err = new Error("SQLITE_FULL: database or disk is full");
    for (let i = 0; i < 10; i++) {
      failure.failed(err, { batch: i });
      advance(1_000);
    }
    advance(60_000);
    failure.failed(err, { batch: 10 });
    failure.failed(err, { batch: 11 });
    failure.succeeded();
    failure.succeeded(); // nothing to say twice
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      records.map((r) => [r.level, r.msg, r.batch, r.failuresSinceLastLine, r.failures]),
      [
        [50, "writing failed", 0, undefined, undefined],
        [50, "writing failed", 10, 9, undefined],
        [30, "writing works again", undefined, undefined, 12],
      ],
    );
    assert.match(JSON.stringify(records[0]?.err), /SQLITE_FULL/);
    // After a recovery, the next failure is news again.
    failure.failed(err);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(records.length, 4);
    assert.equal(records[3]?.msg, "writing failed");
  });

  it("logs at once a failure whose message differs from the last one logged", async () => {
    const { records, failure, advance } = setUp(60_000);
    failure.failed(new Error("SQLITE_FULL: database or disk is full"));
    advance(1_000);
    failure.failed(new Error("SQLITE_FULL: database or disk is full"));
    failure.failed(new Error("SQLITE_CORRUPT: database disk image is malformed"));
    failure.failed(new Error("SQLITE_CORRUPT: database disk image is malformed"));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      records.map((r) => [(r.err as { message?: string } | undefined)?.message, r.failuresSinceLastLine]),
      [
        ["SQLITE_FULL: database or disk is full", undefined],
        ["SQLITE_CORRUPT: database disk image is malformed", 1],
      ],
    );
  });
});
