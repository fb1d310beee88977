/**
 * The conformance tests of SQS-compatible queues as configuration: create, read, update, list (paged,
 * by prefix), dead-letter sources, and deletion with everything that hangs off a queue.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import { RETIRED_QUEUES_ACCOUNT } from "../../../src/store/index.js";
import { ACCOUNT, OTHER_ACCOUNT, T0, INVALID_TOKEN, allPages, invalidToken } from "./fixtures.js";
import {
  SECOND,
  at,
  queueArn,
  queue,
  ref,
  fifoMessage,
  receiveIds,
  createQueues,
  moveTask,
} from "./queue-fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/** Registers the tests; `open` is called once per test. */
export function queueTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("queues", () => {
    test("creates a queue and reads it back with every field", async ({ store }) => {
      const full = queue("orders.fifo", {
        attributes: { FifoQueue: "true", RedrivePolicy: '{"maxReceiveCount":"3"}', DelaySeconds: "5" },
        deadLetterTargetArn: queueArn("dlq.fifo"),
        lastModifiedAt: T0 + 1,
      });
      assert.equal(await store.createQueue(full), true);
      assert.deepEqual(await store.getQueue(ACCOUNT, "orders.fifo"), full);
      await store.createQueue(queue("plain", { attributes: {} }));
      const plain = await store.getQueue(ACCOUNT, "plain");
      assert.deepEqual(plain, queue("plain", { attributes: {} }));
      assert.ok(plain !== undefined && !("deadLetterTargetArn" in plain), "an absent target stays absent");
      assert.equal(await store.getQueue(ACCOUNT, "missing"), undefined);
    });

    test("refuses a duplicate queue name in an account, keeping the first; accounts are apart", async ({
      store,
    }) => {
      await store.createQueue(queue("orders", { attributes: { DelaySeconds: "1" } }));
      assert.equal(await store.createQueue(queue("orders", { attributes: { DelaySeconds: "2" } })), false);
      assert.deepEqual((await store.getQueue(ACCOUNT, "orders"))?.attributes, { DelaySeconds: "1" });
      assert.equal(await store.createQueue(queue("orders", {}, OTHER_ACCOUNT)), true);
      assert.deepEqual(await store.getQueue(OTHER_ACCOUNT, "orders"), queue("orders", {}, OTHER_ACCOUNT));
    });

    test("updates the attributes and dead-letter target of a queue, and refuses a missing one", async ({
      store,
    }) => {
      await store.createQueue(queue("orders", { deadLetterTargetArn: queueArn("dlq") }));
      const updated = queue("orders", { attributes: { VisibilityTimeout: "60" }, lastModifiedAt: T0 + 5 });
      assert.equal(await store.updateQueue(updated), true);
      assert.deepEqual(await store.getQueue(ACCOUNT, "orders"), updated, "the target is removed too");
      assert.equal(await store.updateQueue(queue("ghost")), false);
      assert.equal(await store.getQueue(ACCOUNT, "ghost"), undefined);
      // A queue deleted and made again under its name is not the one read: an update of the one read
      // (a SetQueueAttributes that raced a DeleteQueue and a CreateQueue) leaves the new one alone.
      await store.deleteQueue(ACCOUNT, "orders");
      const remade = queue("orders", { attributes: { DelaySeconds: "9" }, createdAt: T0 + 10 });
      assert.equal(await store.createQueue(remade), true);
      assert.equal(await store.updateQueue(updated), false);
      assert.deepEqual(await store.getQueue(ACCOUNT, "orders"), remade);
    });

    test("with redelayUnreceivedMs, makes the messages never received visible that long after their send", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo", "other.fifo");
      const delayed = { visibleAt: T0 + 4 * SECOND };
      await store.sendMessages(ref("q.fifo"), [
        fifoMessage("a1", "A", delayed),
        fifoMessage("b1", "B", { ...delayed, sentAt: T0 + SECOND }),
        fifoMessage("c1", "C", delayed),
      ]);
      await store.sendMessages(ref("other.fifo"), [fifoMessage("o1", "O", delayed)]);
      // c1 is received (at its visibility), so it is no longer "never received".
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + 4 * SECOND, 10)), ["a1", "b1", "c1"]);
      await store.sendMessages(ref("q.fifo"), [fifoMessage("d1", "D", { visibleAt: T0 + 900 * SECOND })]);
      const updated = queue("q.fifo", {
        attributes: { FifoQueue: "true", DelaySeconds: "0" },
        lastModifiedAt: T0 + 5,
      });
      assert.equal(await store.updateQueue(updated, { redelayUnreceivedMs: 0 }), true);
      assert.deepEqual(await store.getQueue(ACCOUNT, "q.fifo"), updated);
      // d1, never received, is visible from its send on; the received ones keep their in-flight time.
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + 5 * SECOND, 10)), ["d1"]);
      assert.deepEqual(await store.countMessages(ref("other.fifo"), T0 + 2 * SECOND), {
        visible: 0,
        inFlight: 0,
        delayed: 1,
      });
      // A longer delay hides messages never received again, from their send time.
      await store.sendMessages(ref("other.fifo"), [
        fifoMessage("o2", "P", { sentAt: T0 + 10 * SECOND, visibleAt: T0 + 10 * SECOND }),
      ]);
      await store.updateQueue(
        queue("other.fifo", { attributes: { FifoQueue: "true", DelaySeconds: "60" } }),
        {
          redelayUnreceivedMs: 60 * SECOND,
        },
      );
      assert.deepEqual(await store.countMessages(ref("other.fifo"), T0 + 59 * SECOND), {
        visible: 0,
        inFlight: 0,
        delayed: 2,
      });
      assert.deepEqual(await receiveIds(store, "other.fifo", at(T0 + 60 * SECOND, 10)), ["o1"]);
      assert.deepEqual(await receiveIds(store, "other.fifo", at(T0 + 70 * SECOND, 10)), ["o2"]);
    });

    test("lists the queues of an account in name order, paged", async ({ store }) => {
      const names = ["q1", "q2", "q3", "q4", "q5"];
      for (const n of [...names].reverse()) await store.createQueue(queue(n));
      await store.createQueue(queue("q0", {}, OTHER_ACCOUNT));
      const first = await store.listQueues(ACCOUNT, { limit: 2 });
      assert.deepEqual(
        first.items.map((q) => q.name),
        ["q1", "q2"],
      );
      assert.deepEqual(first.items[0], queue("q1"));
      const pages = await allPages(2, (nextToken) =>
        store.listQueues(ACCOUNT, nextToken === undefined ? { limit: 2 } : { limit: 2, nextToken }),
      );
      assert.deepEqual(
        pages.flat().map((q) => q.name),
        names,
      );
      const all = await store.listQueues(ACCOUNT);
      assert.equal(all.items.length, 5);
      assert.equal(all.nextToken, undefined);
      await assert.rejects(store.listQueues(ACCOUNT, { nextToken: INVALID_TOKEN }), invalidToken);
    });

    test("returns at most 100 queues per page and filters by a literal prefix", async ({ store }) => {
      const names = Array.from({ length: 103 }, (_, i) => `q-${String(i).padStart(3, "0")}`);
      for (const n of names) await store.createQueue(queue(n));
      for (const n of ["a_b", "axb", "a%c"]) await store.createQueue(queue(n));
      const first = await store.listQueues(ACCOUNT, { limit: 500 });
      assert.equal(first.items.length, 100);
      assert.ok(first.nextToken !== undefined);
      const prefixed = async (prefix: string) =>
        (await store.listQueues(ACCOUNT, { prefix })).items.map((q) => q.name);
      assert.deepEqual(await prefixed("a_"), ["a_b"]);
      assert.deepEqual(await prefixed("a%"), ["a%c"]);
      const page = await store.listQueues(ACCOUNT, { prefix: "q-" });
      assert.equal(page.items.length, 100);
      assert.ok(page.nextToken !== undefined);
      const rest = await store.listQueues(ACCOUNT, { prefix: "q-", nextToken: page.nextToken });
      assert.deepEqual(
        rest.items.map((q) => q.name),
        ["q-100", "q-101", "q-102"],
      );
      assert.equal(rest.nextToken, undefined);
    });

    test("lists the dead-letter sources of a queue, of any account, in account and name order", async ({
      store,
    }) => {
      const dlq = queueArn("dlq");
      await store.createQueue(queue("b", { deadLetterTargetArn: dlq }));
      await store.createQueue(queue("a", { deadLetterTargetArn: dlq }));
      await store.createQueue(queue("a", { deadLetterTargetArn: dlq }, OTHER_ACCOUNT));
      await store.createQueue(queue("c", { deadLetterTargetArn: queueArn("other") }));
      await store.createQueue(queue("d"));
      const pages = await allPages(2, (nextToken) =>
        store.listDeadLetterSourceQueues(
          dlq,
          nextToken === undefined ? { limit: 2 } : { limit: 2, nextToken },
        ),
      );
      assert.deepEqual(
        pages.flat().map((q) => `${q.accountId}/${q.name}`),
        [`${ACCOUNT}/a`, `${ACCOUNT}/b`, `${OTHER_ACCOUNT}/a`],
      );
      assert.equal(pages.length, 2);
      assert.deepEqual(
        (await store.listDeadLetterSourceQueues(dlq)).items[0],
        queue("a", { deadLetterTargetArn: dlq }),
      );
      assert.deepEqual((await store.listDeadLetterSourceQueues(queueArn("none"))).items, []);
      await assert.rejects(store.listDeadLetterSourceQueues(dlq, { nextToken: INVALID_TOKEN }), invalidToken);
    });

    test("deletes a queue with its messages, tags, deduplication records and move tasks", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo", "keep.fifo");
      for (const name of ["q.fifo", "keep.fifo"]) {
        await store.sendMessages(ref(name), [fifoMessage("m1", "g")]);
        await store.tagResource(queueArn(name), [{ key: "team", value: "a" }]);
        await store.putMoveTask(moveTask(`task-${name}`, T0, { sourceArn: queueArn(name) }));
      }
      assert.equal(await store.deleteQueue(ACCOUNT, "q.fifo"), true);
      assert.equal(await store.getQueue(ACCOUNT, "q.fifo"), undefined);
      assert.deepEqual(await store.getTags(queueArn("q.fifo")), []);
      assert.equal(await store.getMoveTask("task-q.fifo"), undefined);
      assert.deepEqual(await store.listMoveTasks(queueArn("q.fifo"), 10), []);
      assert.equal(await store.deleteQueue(ACCOUNT, "q.fifo"), false);

      await createQueues(store, "q.fifo");
      assert.deepEqual(await store.countMessages(ref("q.fifo"), T0), { visible: 0, inFlight: 0, delayed: 0 });
      assert.deepEqual(await receiveIds(store, "q.fifo"), [], "the old messages are gone");
      const [again] = await store.sendMessages(ref("q.fifo"), [fifoMessage("m2", "g", {}, "m1")]);
      assert.equal(again?.duplicate, false, "the old deduplication record is gone");

      assert.deepEqual(await receiveIds(store, "keep.fifo"), ["m1"]);
      assert.deepEqual(await store.getTags(queueArn("keep.fifo")), [{ key: "team", value: "a" }]);
      assert.ok((await store.getMoveTask("task-keep.fifo")) !== undefined);
    });

    test("retires a queue at once: its name free, its messages kept apart until deleted", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo", "dlq.fifo");
      await store.sendMessages(ref("q.fifo"), [fifoMessage("m1", "g"), fifoMessage("m2", "h")]);
      await store.tagResource(queueArn("q.fifo"), [{ key: "team", value: "a" }]);
      await store.putMoveTask(moveTask("task-q", T0, { sourceArn: queueArn("q.fifo") }));
      await store.updateQueue(queue("q.fifo", { deadLetterTargetArn: queueArn("dlq.fifo") }));
      const retired = await store.retireQueue(ACCOUNT, "q.fifo");
      assert.ok(retired !== undefined);
      assert.equal(retired.accountId, RETIRED_QUEUES_ACCOUNT);
      assert.equal(await store.getQueue(ACCOUNT, "q.fifo"), undefined);
      assert.deepEqual(
        (await store.listQueues(ACCOUNT)).items.map((q) => q.name),
        ["dlq.fifo"],
      );
      assert.deepEqual((await store.listDeadLetterSourceQueues(queueArn("dlq.fifo"))).items, []);
      assert.deepEqual(await store.getTags(queueArn("q.fifo")), []);
      assert.equal(await store.getMoveTask("task-q"), undefined);
      assert.equal(await store.retireQueue(ACCOUNT, "q.fifo"), undefined);
      // A new queue takes the name, and none of the old messages.
      await createQueues(store, "q.fifo");
      assert.deepEqual(await receiveIds(store, "q.fifo"), []);
      // The retired queue is listed under its account until its messages and itself are deleted.
      assert.deepEqual(
        (await store.listQueues(RETIRED_QUEUES_ACCOUNT)).items.map((q) => q.name),
        [retired.name],
      );
      assert.equal((await store.countMessages(retired, T0)).visible, 2);
      assert.equal(await store.purgeQueue(retired, 1), 1);
      assert.equal(await store.deleteQueue(retired.accountId, retired.name), true);
      assert.deepEqual((await store.listQueues(RETIRED_QUEUES_ACCOUNT)).items, []);
    });
  });
}
