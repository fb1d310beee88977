/**
 * The conformance tests of message moves, move tasks, and the durability of queues across reopening.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import type { QueueMessage } from "../../../src/store/index.js";
import { ACCOUNT, OTHER_ACCOUNT, T0 } from "./fixtures.js";
import {
  DAY,
  VISIBILITY,
  queueArn,
  queue,
  ref,
  message,
  fifoMessage,
  at,
  ids,
  receiveIds,
  createQueues,
  moveTask,
} from "./queue-fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/** The ids that moved messages were sent with (their bodies name them; a move gives new ids). */
const origins = (messages: readonly QueueMessage[]): string[] =>
  messages.map((m) => m.body.replace("body of ", ""));

/** Registers the tests; `open` is called once per test. */
export function queueMoveTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("queue moves", () => {
    test("moves visible messages in send order to a destination, up to a limit", async ({ store }) => {
      await createQueues(store, "dlq");
      await store.createQueue(
        queue("dest", { attributes: { VisibilityTimeout: "30", MessageRetentionPeriod: "3600" } }),
      );
      await store.sendMessages(ref("dlq"), [
        message("m1", {
          bodyMd5: "b3f5ed03b84e9ee2d3bf4c2e8ec4e8a1",
          attributes: "{}",
          systemAttributes: '{"AWSTraceHeader":{}}',
          groupId: "g",
          deduplicationId: "d1",
          deadLetterSourceArn: queueArn("src"),
          sentAt: T0 - 100,
          expiresAt: T0 + 2 * DAY,
        }),
        message("m2"),
        message("m3"),
        message("delayed", { visibleAt: T0 + 100 }),
      ]);
      await store.receiveMessages(ref("dlq"), at(T0 - 5, 1, { visibleUntil: T0 - 1 }));
      assert.deepEqual(await store.moveMessages(ref("dlq"), ref("dest"), 2, T0), { moved: 2, remaining: 1 });
      const moved = await store.receiveMessages(ref("dest"), at(T0));
      assert.deepEqual(origins(moved), ["m1", "m2"]);
      // SQS: "All redriven messages are considered new messages and assigned a new messageID and
      // enqueueTime", and "the redrive task resets the retention period".
      const newIds = ids(moved);
      assert.ok(newIds.every((id) => /^[0-9a-f-]{36}$/.test(id)) && new Set(newIds).size === 2, "new ids");
      assert.deepEqual(moved[0], {
        seq: moved[0]?.seq,
        id: newIds[0],
        body: "body of m1",
        bodyMd5: "b3f5ed03b84e9ee2d3bf4c2e8ec4e8a1",
        attributes: "{}",
        systemAttributes: '{"AWSTraceHeader":{}}',
        senderId: ACCOUNT,
        sentAt: T0,
        visibleAt: T0 + VISIBILITY,
        expiresAt: T0 + 3600 * 1000,
        groupId: "g",
        deduplicationId: "d1",
        receiveCount: 1,
        firstReceivedAt: T0,
        lastReceivedAt: T0,
      });
      assert.deepEqual(await store.moveMessages(ref("dlq"), ref("dest"), 10, T0), { moved: 1, remaining: 0 });
      assert.deepEqual(await store.countMessages(ref("dlq"), T0), { visible: 0, inFlight: 0, delayed: 1 });
      assert.deepEqual(await store.moveMessages(ref("ghost"), ref("dest"), 10, T0), {
        moved: 0,
        remaining: 0,
      });
    });

    test("counts what a step moved into its task's count, in the step's transaction", async (session) => {
      await createQueues(session.store, "dlq", "dest");
      await session.store.sendMessages(ref("dlq"), [message("m1"), message("m2"), message("m3")]);
      await session.store.putMoveTask(moveTask("t1", T0, { moved: 5 }));
      assert.deepEqual(await session.store.moveMessages(ref("dlq"), ref("dest"), 2, T0, "t1"), {
        moved: 2,
        remaining: 1,
      });
      assert.equal((await session.store.getMoveTask("t1"))?.moved, 7);
      assert.deepEqual(await session.store.moveMessages(ref("dlq"), ref("dest"), 5, T0), {
        moved: 1,
        remaining: 0,
      });
      assert.equal(
        (await session.store.getMoveTask("t1"))?.moved,
        7,
        "a move without the task counts nothing",
      );
      await session.store.moveMessages(ref("dlq"), ref("dest"), 5, T0, "t1");
      const store = await session.reopen();
      assert.equal((await store.getMoveTask("t1"))?.moved, 7, "kept, with nothing moved since");
    });

    test("moves messages back to the queues they came from", async ({ store }) => {
      await createQueues(store, "dlq", "a", "b");
      await store.createQueue(queue("c", {}, OTHER_ACCOUNT));
      await store.sendMessages(ref("dlq"), [
        message("m1", { deadLetterSourceArn: queueArn("a") }),
        message("m2", { deadLetterSourceArn: queueArn("b") }),
        message("m3", { deadLetterSourceArn: queueArn("a") }),
        message("m4", { deadLetterSourceArn: queueArn("c", OTHER_ACCOUNT) }),
      ]);
      assert.deepEqual(await store.moveMessages(ref("dlq"), undefined, 10, T0), { moved: 4, remaining: 0 });
      const fromA = await store.receiveMessages(ref("a"), at());
      assert.deepEqual(origins(fromA), ["m1", "m3"]);
      assert.equal(fromA[0]?.deadLetterSourceArn, undefined, "a message back home has no dead-letter source");
      assert.deepEqual(origins(await store.receiveMessages(ref("b"), at())), ["m2"]);
      assert.deepEqual(origins(await store.receiveMessages(ref("c", OTHER_ACCOUNT), at())), ["m4"]);
    });

    test("moves a FIFO queue's messages as a receive takes them, each group in order, no group past a message of it in flight", async ({
      store,
    }) => {
      await createQueues(store, "dlq.fifo", "dest.fifo");
      const source = { deadLetterSourceArn: queueArn("dest.fifo") };
      await store.sendMessages(
        ref("dlq.fifo"),
        ["a0", "b0", "a1", "a2", "b1"].map((id) => fifoMessage(id, id.slice(0, 1), source)),
      );
      // a0 and a1 looked at and let go (visible again after b0 and a2 in time, before them in order).
      const seen = await store.receiveMessages(ref("dlq.fifo"), at(T0, 2));
      assert.deepEqual(ids(seen), ["a0", "a1"]);
      const [b0] = await store.receiveMessages(ref("dlq.fifo"), at(T0, 1));
      assert.equal(b0?.id, "b0");
      const again = (m: QueueMessage | undefined) => ({
        seq: m?.seq ?? 0,
        receiveCount: 1,
        visibleUntil: T0 + 1,
      });
      const [a0, a1] = seen;
      assert.deepEqual(
        await store.changeVisibility(ref("dlq.fifo"), [again(a0), again(a1)], T0 + 1, 12 * 3600 * 1000),
        ["changed", "changed"],
      );
      // b0 is in flight: B stays, A moves whole and in order.
      assert.deepEqual(await store.moveMessages(ref("dlq.fifo"), undefined, 10, T0 + 2), {
        moved: 3,
        remaining: 1,
      });
      assert.deepEqual(origins(await store.receiveMessages(ref("dest.fifo"), at(T0 + 2))), [
        "a0",
        "a1",
        "a2",
      ]);
      assert.ok(b0 !== undefined);
      await store.deleteMessages(ref("dlq.fifo"), [{ seq: b0.seq, receiveCount: 1 }], T0 + 3);
      assert.deepEqual(await store.moveMessages(ref("dlq.fifo"), undefined, 10, T0 + 3), {
        moved: 1,
        remaining: 0,
      });
    });

    test("stops a move at the first message that cannot move, saying why", async ({ store }) => {
      await createQueues(store, "dlq", "a");
      await store.sendMessages(ref("dlq"), [
        message("m1", { deadLetterSourceArn: queueArn("a") }),
        message("m2"),
        message("m3", { deadLetterSourceArn: queueArn("a") }),
      ]);
      assert.deepEqual(await store.moveMessages(ref("dlq"), undefined, 10, T0), {
        moved: 1,
        remaining: 2,
        failure: "CouldNotDetermineMessageSource",
      });
      assert.deepEqual(await store.moveMessages(ref("dlq"), ref("ghost"), 10, T0), {
        moved: 0,
        remaining: 2,
        failure: "AWS.SimpleQueueService.NonExistentQueue",
      });
      await store.purgeQueue(ref("dlq"), 10);
      await store.sendMessages(ref("dlq"), [
        message("m4", { deadLetterSourceArn: queueArn("gone") }),
        message("m5", { deadLetterSourceArn: queueArn("a") }),
      ]);
      assert.deepEqual(await store.moveMessages(ref("dlq"), undefined, 10, T0), {
        moved: 0,
        remaining: 2,
        failure: "AWS.SimpleQueueService.NonExistentQueue",
      });
      assert.deepEqual(await receiveIds(store, "dlq"), ["m4", "m5"], "the messages stayed");
      assert.deepEqual(origins(await store.receiveMessages(ref("a"), at())), ["m1"]);
    });

    test("keeps move tasks by id and lists those of a source newest first", async ({ store }) => {
      const full = moveTask("t1", T0, {
        destinationArn: queueArn("dest"),
        maxPerSecond: 50,
        status: "FAILED",
        moved: 3,
        failureReason: "CouldNotDetermineMessageSource",
      });
      await store.putMoveTask(full);
      assert.deepEqual(await store.getMoveTask("t1"), full);
      assert.equal(await store.getMoveTask("missing"), undefined);
      await store.putMoveTask(moveTask("t2", T0 + 10));
      await store.putMoveTask(moveTask("t3", T0 + 10));
      await store.putMoveTask(moveTask("t4", T0 + 5));
      await store.putMoveTask(moveTask("other", T0 + 99, { sourceArn: queueArn("other") }));
      const list = async (limit: number) =>
        (await store.listMoveTasks(queueArn("dlq"), limit)).map((t) => t.id);
      assert.deepEqual(await list(10), ["t3", "t2", "t4", "t1"]);
      assert.deepEqual(await list(2), ["t3", "t2"]);
      const replaced = moveTask("t2", T0 + 10, { status: "COMPLETED", moved: 10 });
      await store.putMoveTask(replaced);
      assert.deepEqual(await store.getMoveTask("t2"), replaced);
      assert.deepEqual(await list(10), ["t3", "t2", "t4", "t1"], "a replaced task keeps its place");
      await store.putMoveTask(moveTask("t5", T0 + 1, { status: "CANCELLING" }));
      assert.deepEqual(
        (await store.listActiveMoveTasks()).map((t) => t.id),
        ["t5", "t4", "t3", "other"],
        "running and cancelling tasks of every source, oldest first",
      );
      const [t3] = await store.listMoveTasks(queueArn("dlq"), 1);
      assert.deepEqual(t3, moveTask("t3", T0 + 10));
      assert.ok(t3 !== undefined && !("destinationArn" in t3) && !("failureReason" in t3));
    });

    test("keeps a source's 10 latest move tasks once they finish, the others' only while they run", async ({
      store,
    }) => {
      // A running task older than ten finished ones stays (it is still moving messages).
      await store.putMoveTask(moveTask("running", T0));
      for (let i = 1; i <= 14; i++)
        await store.putMoveTask(
          moveTask(`t${i}`, T0 + i, { status: i % 2 === 0 ? "COMPLETED" : "CANCELLED" }),
        );
      await store.putMoveTask(moveTask("other", T0, { sourceArn: queueArn("other"), status: "FAILED" }));
      const list = async (source: string) =>
        (await store.listMoveTasks(queueArn(source), 100)).map((t) => t.id);
      assert.deepEqual(await list("dlq"), [...Array.from({ length: 10 }, (_, i) => `t${14 - i}`), "running"]);
      assert.equal(await store.getMoveTask("t4"), undefined, "finished beyond the 10 latest: gone");
      assert.deepEqual(await list("other"), ["other"], "another source's tasks stay");
      // Once the old one finishes, it goes too (it is not among the 10 latest).
      await store.putMoveTask(moveTask("running", T0, { status: "COMPLETED" }));
      assert.deepEqual(
        await list("dlq"),
        Array.from({ length: 10 }, (_, i) => `t${14 - i}`),
      );
    });

    test(
      "keeps queues, sent messages and deletes after reopening",
      async (session) => {
        const s = session.store;
        await createQueues(s, "q.fifo");
        await s.tagResource(queueArn("q.fifo"), [{ key: "team", value: "a" }]);
        const sent = await s.sendMessages(ref("q.fifo"), [fifoMessage("a1", "A"), fifoMessage("b1", "B")]);
        const [a1] = await s.receiveMessages(ref("q.fifo"), at(T0, 1));
        assert.ok(a1 !== undefined);
        assert.deepEqual(await s.deleteMessages(ref("q.fifo"), [{ seq: a1.seq, receiveCount: 1 }], T0), [
          "deleted",
        ]);
        await s.putMoveTask(moveTask("t1", T0, { sourceArn: queueArn("q.fifo") }));
        const store = await session.reopen();
        assert.deepEqual(await store.getQueue(ACCOUNT, "q.fifo"), queue("q.fifo"));
        assert.deepEqual(await store.getTags(queueArn("q.fifo")), [{ key: "team", value: "a" }]);
        assert.deepEqual(
          await store.getMoveTask("t1"),
          moveTask("t1", T0, { sourceArn: queueArn("q.fifo") }),
        );
        const received = await store.receiveMessages(ref("q.fifo"), at(T0 + 1));
        assert.deepEqual(ids(received), ["b1"], "a1 stays deleted");
        assert.equal(received[0]?.sequenceNumber, sent[1]?.sequenceNumber);
        const [again] = await store.sendMessages(ref("q.fifo"), [fifoMessage("a2", "A", {}, "a1")]);
        assert.equal(again?.duplicate, true, "deduplication records survive too");
        const [next] = await store.sendMessages(ref("q.fifo"), [fifoMessage("c1", "C")]);
        assert.ok((next?.sequenceNumber ?? "") > (sent[1]?.sequenceNumber ?? ""), "numbers keep increasing");
      },
      true,
    );
  });
}
