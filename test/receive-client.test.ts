/**
 * A receive asks its request's client for an abort signal only when it is about to wait (a long poll
 * whose client goes away then takes nothing): making one per request cost ~15 µs of CPU per message at
 * bench:queue's load. LazyAbort, the main thread's side of a front thread's request, makes its signal
 * on demand, aborted already when the client went before it was asked.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LazyAbort } from "../src/api/index.js";
import { QueueService } from "../src/queues/index.js";
import { openSqliteStoreInThread } from "../src/store/index.js";
import { ACCOUNT } from "./support/store-conformance/fixtures.js";

const receiveOf = (client: { signal(): AbortSignal }, waitSeconds: number) => ({
  max: 10,
  waitSeconds,
  systemAttributeNames: [],
  messageAttributeNames: [],
  client,
});

describe("a receive's client", () => {
  it("is asked for its signal only by a receive that waits, and a wait ends when it aborts", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "busbar-receive-client-"));
    const store = openSqliteStoreInThread({ dataDir });
    const queues = new QueueService({ store, region: "us-east-1", receiptKey: "k".repeat(32) });
    try {
      const queue = await queues.createQueue(ACCOUNT, "q", {}, []);
      const sender = { accountId: ACCOUNT, senderId: ACCOUNT };
      const asked = { count: 0 };
      const client = new LazyAbort();
      const counted = {
        signal: () => {
          asked.count++;
          return client.signal();
        },
      };

      await queues.send(queue, [{ MessageBody: "one" }], sender);
      assert.equal((await queues.receive(queue, receiveOf(counted, 20))).length, 1);
      assert.equal(asked.count, 0, "a receive that found a message made no signal");

      const started = Date.now();
      const waiting = queues.receive(queue, receiveOf(counted, 20));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(asked.count, 1, "the waiting receive asked once");
      client.abort();
      assert.deepEqual(await waiting, []);
      assert.ok(Date.now() - started < 5_000, "the wait ended with the client, not at its 20 s");
      await queues.send(queue, [{ MessageBody: "two" }], sender);
      const next = await queues.receive(queue, receiveOf(new LazyAbort(), 0));
      assert.deepEqual(
        next.map((m) => m.Body),
        ["two"],
        "the message sent after the client left went to the next receive",
      );
    } finally {
      queues.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("LazyAbort: a signal asked for after the abort is aborted; one asked for before aborts with it", () => {
    const late = new LazyAbort();
    late.abort();
    assert.equal(late.signal().aborted, true);
    const early = new LazyAbort();
    const signal = early.signal();
    assert.equal(signal.aborted, false);
    assert.equal(early.signal(), signal, "one signal per client");
    early.abort();
    assert.equal(signal.aborted, true);
  });
});
