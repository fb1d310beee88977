/**
 * The conformance tests of queue messages: send, receive, delete, visibility, counts, purge, expiry,
 * FIFO numbering, deduplication and group order, and dead-letter redrive. Times are explicit (`now`).
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import type { QueueMessage } from "../../../src/store/index.js";
import { ACCOUNT, T0 } from "./fixtures.js";
import {
  SECOND,
  DAY,
  VISIBILITY,
  DEDUP_WINDOW,
  queueArn,
  ref,
  message,
  fifoMessage,
  at,
  ids,
  receiveIds,
  createQueues,
  queue,
  sweep,
} from "./queue-fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/** Registers the tests; `open` is called once per test. */
export function queueMessageTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("queue messages", () => {
    test("sends messages and receives them in send order with every field", async ({ store }) => {
      await createQueues(store, "q");
      const full = message("m1", {
        bodyMd5: "b3f5ed03b84e9ee2d3bf4c2e8ec4e8a1",
        attributes: '{"a":{"DataType":"String","StringValue":"x"}}',
        systemAttributes: '{"AWSTraceHeader":{"DataType":"String","StringValue":"Root=1"}}',
        senderId: "AIDASENDER",
        sentAt: T0 - 5,
        groupId: "fair",
      });
      const results = await store.sendMessages(ref("q"), [full, message("m2"), message("m3")]);
      assert.deepEqual(results, [
        { id: "m1", duplicate: false },
        { id: "m2", duplicate: false },
        { id: "m3", duplicate: false },
      ]);
      const received = await store.receiveMessages(ref("q"), at(T0 + 1));
      assert.deepEqual(ids(received), ["m1", "m2", "m3"]);
      const [first, second] = received;
      assert.ok(first !== undefined && second !== undefined);
      const { deduplication: _, ...sent } = full;
      assert.deepEqual(first, {
        ...sent,
        seq: first.seq,
        visibleAt: T0 + 1 + VISIBILITY,
        receiveCount: 1,
        firstReceivedAt: T0 + 1,
        lastReceivedAt: T0 + 1,
      });
      assert.ok(second.seq > first.seq, "seq increases in send order");
      assert.deepEqual(Object.keys(second).sort(), [
        "body",
        "expiresAt",
        "firstReceivedAt",
        "id",
        "lastReceivedAt",
        "receiveCount",
        "senderId",
        "sentAt",
        "seq",
        "visibleAt",
      ]);
    });

    test("refuses to send to a missing queue, and receives nothing from one", async ({ store }) => {
      await assert.rejects(store.sendMessages(ref("ghost"), [message("m1")]), { name: "QueueNotFoundError" });
      assert.deepEqual(await receiveIds(store, "ghost"), []);
    });

    test("receives at most max messages and hides them until visibleUntil", async ({ store }) => {
      await createQueues(store, "q");
      await store.sendMessages(
        ref("q"),
        Array.from({ length: 5 }, (_, i) => message(`m${i}`)),
      );
      assert.deepEqual(await receiveIds(store, "q", at(T0, 2)), ["m0", "m1"]);
      assert.deepEqual(await receiveIds(store, "q", at(T0, 10)), ["m2", "m3", "m4"]);
      assert.deepEqual(await receiveIds(store, "q", at(T0 + VISIBILITY - 1)), [], "all in flight");
      const again = await store.receiveMessages(ref("q"), at(T0 + VISIBILITY, 1));
      assert.deepEqual(ids(again), ["m0"], "visible again at visibleUntil, in send order");
      assert.equal(again[0]?.receiveCount, 2);
      assert.equal(again[0]?.firstReceivedAt, T0);
      assert.equal(again[0]?.lastReceivedAt, T0 + VISIBILITY);
    });

    test("receives neither delayed messages before they are visible nor expired messages", async ({
      store,
    }) => {
      await createQueues(store, "q");
      await store.sendMessages(ref("q"), [
        message("delayed", { visibleAt: T0 + 10 }),
        message("expiring", { expiresAt: T0 + 5 }),
        message("plain"),
      ]);
      assert.deepEqual(await receiveIds(store, "q", at(T0, 10, { visibleUntil: T0 })), ["expiring", "plain"]);
      assert.deepEqual(await receiveIds(store, "q", at(T0 + 10)), ["delayed", "plain"]);
    });

    test("gives standard queues no sequence numbers and no deduplication", async ({ store }) => {
      await createQueues(store, "q");
      const results = await store.sendMessages(ref("q"), [
        fifoMessage("m1", "g", {}, "k"),
        fifoMessage("m2", "g", {}, "k"),
      ]);
      assert.deepEqual(results, [
        { id: "m1", duplicate: false },
        { id: "m2", duplicate: false },
      ]);
      const received = await store.receiveMessages(ref("q"), at());
      assert.deepEqual(ids(received), ["m1", "m2"]);
      assert.ok(received.every((m) => m.sequenceNumber === undefined));
    });

    test("numbers FIFO messages with 20-digit sequence numbers increasing per queue", async ({ store }) => {
      await createQueues(store, "a.fifo", "b.fifo");
      const first = await store.sendMessages(ref("a.fifo"), [fifoMessage("m1", "g"), fifoMessage("m2", "h")]);
      await store.sendMessages(ref("b.fifo"), [fifoMessage("x1", "g")]);
      const second = await store.sendMessages(ref("a.fifo"), [fifoMessage("m3", "g")]);
      const numbers = [...first, ...second].map((r) => r.sequenceNumber ?? "");
      for (const n of numbers) assert.match(n, /^\d{20}$/);
      assert.ok(numbers[0]! < numbers[1]! && numbers[1]! < numbers[2]!, `${numbers.join(" < ")}`);
      const received = await store.receiveMessages(ref("a.fifo"), at());
      // Group g's messages first (a receive fills from one group first), then h's.
      assert.deepEqual(
        received.map((m) => m.sequenceNumber),
        [numbers[0], numbers[2], numbers[1]],
      );
      assert.deepEqual(
        received.map((m) => m.deduplicationId),
        ["m1", "m3", "m2"],
      );
    });

    test("drops FIFO duplicates within the deduplication window, in a batch and after a delete", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo");
      const [original, inBatch] = await store.sendMessages(ref("q.fifo"), [
        fifoMessage("m1", "g", {}, "k"),
        fifoMessage("m2", "g", {}, "k"),
      ]);
      assert.ok(original !== undefined && original.sequenceNumber !== undefined);
      const duplicate = { id: "m1", sequenceNumber: original.sequenceNumber, duplicate: true };
      assert.deepEqual(inBatch, duplicate);
      const [later] = await store.sendMessages(ref("q.fifo"), [
        fifoMessage("m3", "g", { sentAt: T0 + 10 }, "k"),
      ]);
      assert.deepEqual(later, duplicate);
      const [received] = await store.receiveMessages(ref("q.fifo"), at(T0 + 10));
      assert.equal(received?.id, "m1");
      assert.deepEqual(
        await store.deleteMessages(ref("q.fifo"), [{ seq: received.seq, receiveCount: 1 }], T0 + 10),
        ["deleted"],
      );
      await sweep(store, T0 + 20);
      const [afterDelete] = await store.sendMessages(ref("q.fifo"), [
        fifoMessage("m4", "g", { sentAt: T0 + 20 }, "k"),
      ]);
      assert.deepEqual(afterDelete, duplicate, "the record outlives the message");
      assert.deepEqual(await store.countMessages(ref("q.fifo"), T0 + 20), {
        visible: 0,
        inFlight: 0,
        delayed: 0,
      });
    });

    test("accepts a FIFO deduplication key again once its window has passed", async ({ store }) => {
      await createQueues(store, "q.fifo", "other.fifo");
      const [first] = await store.sendMessages(ref("q.fifo"), [fifoMessage("m1", "g", {}, "k")]);
      const [elsewhere] = await store.sendMessages(ref("other.fifo"), [fifoMessage("x1", "g", {}, "k")]);
      assert.equal(elsewhere?.duplicate, false, "windows are per queue");
      const sentAt = T0 + DEDUP_WINDOW;
      const [second] = await store.sendMessages(ref("q.fifo"), [fifoMessage("m2", "g", { sentAt }, "k")]);
      assert.equal(second?.duplicate, false);
      assert.equal(second?.id, "m2");
      assert.ok((second?.sequenceNumber ?? "") > (first?.sequenceNumber ?? ""));
      const [third] = await store.sendMessages(ref("q.fifo"), [
        fifoMessage("m3", "g", { sentAt: sentAt + 1 }, "k"),
      ]);
      assert.deepEqual(third, { ...second, duplicate: true }, "the new send opened a new window");
      assert.equal((await sweep(store, sentAt + 2)).deleted, 0);
      const [fourth] = await store.sendMessages(ref("q.fifo"), [
        fifoMessage("m4", "g", { sentAt: sentAt + 3 }, "k"),
      ]);
      assert.equal(fourth?.duplicate, true, "sweeping keeps records still in their window");
      assert.deepEqual(await receiveIds(store, "q.fifo", at(sentAt + 3)), ["m1", "m2"]);
    });

    test("sweeps deduplication records whose window has ended, in steps, reading each once", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo", "other.fifo");
      // Keys k0..k4 sent 1 ms apart on q.fifo, k9 on other.fifo last.
      for (let i = 0; i < 5; i++) {
        await store.sendMessages(ref("q.fifo"), [fifoMessage(`m${i}`, "g", { sentAt: T0 + i }, `k${i}`)]);
      }
      await store.sendMessages(ref("other.fifo"), [fifoMessage("x", "g", { sentAt: T0 + 9 }, "k9")]);
      const sweepDeduplication = async (now: number, scanLimit: number): Promise<number[]> => {
        const steps: number[] = [];
        let cursor: string | undefined;
        do {
          const step = await store.sweepExpiredDeduplication(now, scanLimit, cursor);
          steps.push(step.deleted);
          if (step.next !== undefined) assert.notEqual(step.next, cursor, "a step must move on");
          cursor = step.next;
        } while (cursor !== undefined);
        return steps;
      };
      const end = T0 + DEDUP_WINDOW; // the window of k0 ends here, k1's 1 ms later, …
      assert.deepEqual(await sweepDeduplication(end - 1, 10), [0], "no window has ended");
      // Six records, four of them expired (k0..k3), 4 a step: 2 steps; then 2 left, 1 a step: 3 steps.
      assert.equal(
        (await sweepDeduplication(end + 3, 4)).reduce((a, b) => a + b),
        4,
      );
      assert.deepEqual(await sweepDeduplication(end + 3, 1), [0, 0, 0]);
      // k0..k3 may be sent again as new messages (their records are gone, whatever the time given);
      // k4 and k9 are still within their windows.
      const again = async (queue: string, key: string): Promise<boolean | undefined> =>
        (
          await store.sendMessages(ref(queue), [fifoMessage(`again-${key}`, "g", { sentAt: T0 + 10 }, key)])
        )[0]?.duplicate;
      assert.equal(await again("q.fifo", "k0"), false);
      assert.equal(await again("q.fifo", "k3"), false);
      assert.equal(await again("q.fifo", "k4"), true);
      assert.equal(await again("other.fifo", "k9"), true);
      await assert.rejects(store.sweepExpiredDeduplication(end, 0), /scanLimit must be a positive integer/);
      await assert.rejects(store.sweepExpiredDeduplication(end, 5, "nope"), /is not a cursor/);
    });

    test("gives nothing of a FIFO group with a message in flight, and keeps each group in order", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo");
      await store.sendMessages(ref("q.fifo"), [
        fifoMessage("a1", "A"),
        fifoMessage("b1", "B"),
        fifoMessage("a2", "A"),
        fifoMessage("b2", "B"),
        fifoMessage("c1", "C"),
      ]);
      const first = await store.receiveMessages(ref("q.fifo"), at(T0, 2));
      assert.deepEqual(ids(first), ["a1", "a2"], "a receive fills from one group first");
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + 1, 1)), ["b1"]);
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + 1)), ["c1"], "A and B are in flight");
      const a1 = first[0] as QueueMessage;
      await store.deleteMessages(ref("q.fifo"), [{ seq: a1.seq, receiveCount: 1 }], T0 + 2);
      assert.deepEqual(
        await receiveIds(store, "q.fifo", at(T0 + 2)),
        [],
        "A's a2 is still in flight, as are B's b1 and C's c1",
      );
      assert.deepEqual(
        await receiveIds(store, "q.fifo", at(T0 + 1 + VISIBILITY)),
        ["b1", "b2", "a2", "c1"],
        "back: each group in order, the group of the oldest message first",
      );
    });

    test("takes several FIFO groups in one receive, each in order, one group before the next", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo");
      await store.sendMessages(ref("q.fifo"), [
        fifoMessage("a1", "A"),
        fifoMessage("b1", "B"),
        fifoMessage("a2", "A"),
        fifoMessage("b2", "B"),
        fifoMessage("a3", "A"),
      ]);
      assert.deepEqual(await receiveIds(store, "q.fifo"), ["a1", "a2", "a3", "b1", "b2"]);
    });

    test("blocks a FIFO group while a later message of it is in flight", async ({ store }) => {
      await createQueues(store, "q.fifo");
      await store.sendMessages(ref("q.fifo"), [
        fifoMessage("a1", "A"),
        fifoMessage("a2", "A"),
        fifoMessage("b1", "B"),
      ]);
      const [a1] = await store.receiveMessages(ref("q.fifo"), at(T0, 2));
      assert.ok(a1 !== undefined);
      const change = { seq: a1.seq, receiveCount: 1, visibleUntil: T0 + 1 };
      assert.deepEqual(await store.changeVisibility(ref("q.fifo"), [change], T0 + 1, 12 * 3600 * SECOND), [
        "changed",
      ]);
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + 1)), ["b1"], "a2 is still in flight");
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + VISIBILITY)), ["a1", "a2"]);
    });

    test("finds a FIFO group that can move behind thousands of messages in flight", async ({ store }) => {
      // More than the SQLite store reads in send order (FIFO_SCAN_LIMIT, 2,000): SQS finds a free group
      // among its first 120,000 messages.
      const n = 2500;
      await createQueues(store, "q.fifo");
      const own = Array.from({ length: n }, (_, i) => fifoMessage(`m${i}`, `g${String(i).padStart(5, "0")}`));
      await store.sendMessages(ref("q.fifo"), own);
      assert.equal((await store.receiveMessages(ref("q.fifo"), at(T0, n))).length, n);
      await store.sendMessages(ref("q.fifo"), [fifoMessage("fresh", "fresh"), fifoMessage("first", "a")]);
      assert.deepEqual(
        await receiveIds(store, "q.fifo", at(T0 + 1)),
        ["first", "fresh"],
        "every group in flight but two",
      );
    });

    test("finds a FIFO group that can move behind a blocked group's long backlog", async ({ store }) => {
      await createQueues(store, "q.fifo");
      const backlog = Array.from({ length: 2500 }, (_, i) => fifoMessage(`a${i}`, "A"));
      await store.sendMessages(ref("q.fifo"), backlog);
      assert.deepEqual(ids(await store.receiveMessages(ref("q.fifo"), at(T0, 1))), ["a0"]);
      await store.sendMessages(ref("q.fifo"), [fifoMessage("b0", "B"), fifoMessage("b1", "B")]);
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + 1)), ["b0", "b1"], "A's head is in flight");
      // The group's backlog still comes in order once its head is gone.
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + 1 + VISIBILITY, 3)), ["a0", "a1", "a2"]);
    });

    test("lets a FIFO group move on once its message in flight has expired, swept or not", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo");
      const retention = 60 * SECOND;
      await store.sendMessages(ref("q.fifo"), [fifoMessage("a1", "A", { expiresAt: T0 + retention })]);
      const long = { visibleUntil: T0 + 600 * SECOND };
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0, 1, long)), ["a1"]);
      await store.sendMessages(ref("q.fifo"), [
        fifoMessage("a2", "A", { sentAt: T0 + 40 * SECOND, expiresAt: T0 + 40 * SECOND + retention }),
      ]);
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + 41 * SECOND)), [], "a1 is in flight");
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + retention + 1, 10, long)), ["a2"]);

      // Past the messages a receive reads in send order (FIFO_SCAN_LIMIT), where groups are looked
      // at one by one: a group whose message in flight expired, behind thousands of groups in flight.
      await createQueues(store, "big.fifo");
      await store.sendMessages(ref("big.fifo"), [fifoMessage("x1", "x", { expiresAt: T0 + retention })]);
      assert.deepEqual(await receiveIds(store, "big.fifo", at(T0, 1, long)), ["x1"]);
      const n = 2500;
      const others = Array.from({ length: n }, (_, i) =>
        fifoMessage(`m${i}`, `g${String(i).padStart(5, "0")}`),
      );
      await store.sendMessages(ref("big.fifo"), others);
      assert.equal((await store.receiveMessages(ref("big.fifo"), at(T0, n, long))).length, n);
      await store.sendMessages(ref("big.fifo"), [fifoMessage("x2", "x", { sentAt: T0 + 40 * SECOND })]);
      assert.deepEqual(await receiveIds(store, "big.fifo", at(T0 + 41 * SECOND)), [], "x1 is in flight");
      assert.deepEqual(await receiveIds(store, "big.fifo", at(T0 + retention + 1)), ["x2"]);
    });

    test("keeps a FIFO group's later messages behind a delayed one", async ({ store }) => {
      await createQueues(store, "q.fifo");
      await store.sendMessages(ref("q.fifo"), [
        fifoMessage("a1", "A", { visibleAt: T0 + 10 }),
        fifoMessage("a2", "A"),
        fifoMessage("b1", "B"),
      ]);
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0)), ["b1"]);
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + 10)), ["a1", "a2"]);
    });

    test("moves a message received maxReceiveCount times to the dead-letter queue", async ({ store }) => {
      await createQueues(store, "q", "dlq");
      await store.sendMessages(ref("q"), [
        message("m1", {
          attributes: "{}",
          expiresAt: T0 + 7 * DAY,
          bodyMd5: "b3f5ed03b84e9ee2d3bf4c2e8ec4e8a1",
        }),
        // Visible once m1 has been received twice (a receive takes the messages visible longest).
        message("m2", { visibleAt: T0 + 2 * VISIBILITY }),
      ]);
      // A standard dead-letter queue keeps the message's enqueue time: it expires 2 days after its send
      // (the dead-letter queue's retention), not 7 (the source queue's).
      const redrive = {
        maxReceiveCount: 2,
        deadLetterQueue: ref("dlq"),
        sourceArn: queueArn("q"),
        deadLetterRetentionMs: 2 * DAY,
      };
      const receive = (now: number, max = 1) => receiveIds(store, "q", at(now, max, { redrive }));
      assert.deepEqual(await receive(T0), ["m1"]);
      assert.deepEqual(await receive(T0 + VISIBILITY), ["m1"]);
      assert.deepEqual(await receive(T0 + 2 * VISIBILITY), ["m2"], "m1 goes, and the receive takes the next");
      const [moved] = await store.receiveMessages(ref("dlq"), at(T0 + 2 * VISIBILITY));
      assert.ok(moved !== undefined);
      assert.deepEqual(moved, {
        seq: moved.seq,
        id: "m1",
        body: "body of m1",
        bodyMd5: "b3f5ed03b84e9ee2d3bf4c2e8ec4e8a1",
        attributes: "{}",
        senderId: ACCOUNT,
        sentAt: T0,
        visibleAt: T0 + 3 * VISIBILITY,
        expiresAt: T0 + 2 * DAY,
        deadLetterSourceArn: queueArn("q"),
        // Receives count across queues (SQS's ApproximateReceiveCount): two in q, one here.
        receiveCount: 3,
        firstReceivedAt: T0,
        lastReceivedAt: T0 + 2 * VISIBILITY,
      });
      assert.deepEqual(await store.countMessages(ref("q"), T0 + 2 * VISIBILITY), {
        visible: 0,
        inFlight: 1,
        delayed: 0,
      });
    });

    test("receives as usual when the dead-letter queue does not exist", async ({ store }) => {
      await createQueues(store, "q");
      await store.sendMessages(ref("q"), [message("m1")]);
      const redrive = {
        maxReceiveCount: 1,
        deadLetterQueue: ref("missing"),
        sourceArn: queueArn("q"),
        deadLetterRetentionMs: DAY,
      };
      await store.receiveMessages(ref("q"), at(T0, 1, { redrive }));
      const [again] = await store.receiveMessages(ref("q"), at(T0 + VISIBILITY, 1, { redrive }));
      assert.equal(again?.id, "m1");
      assert.equal(again?.receiveCount, 2);
    });

    test("redrives FIFO messages into a FIFO dead-letter queue with new sequence numbers", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo", "dlq.fifo");
      await store.sendMessages(ref("q.fifo"), [fifoMessage("a1", "A", {}, "dd-a1"), fifoMessage("a2", "A")]);
      // A FIFO dead-letter queue resets the enqueue time: the retention runs from the move.
      const redrive = {
        maxReceiveCount: 1,
        deadLetterQueue: ref("dlq.fifo"),
        sourceArn: queueArn("q.fifo"),
        deadLetterRetentionMs: DAY,
      };
      const [first] = await store.receiveMessages(ref("q.fifo"), at(T0, 1, { redrive }));
      assert.equal(first?.id, "a1");
      assert.deepEqual(await receiveIds(store, "q.fifo", at(T0 + VISIBILITY, 1, { redrive })), ["a2"]);
      const [moved] = await store.receiveMessages(ref("dlq.fifo"), at(T0 + VISIBILITY));
      assert.equal(moved?.id, "a1");
      assert.equal(moved?.groupId, "A");
      assert.equal(moved?.deduplicationId, "a1", "SQS replaces the deduplication id with the message id");
      assert.match(moved?.sequenceNumber ?? "", /^\d{20}$/);
      assert.ok((moved?.sequenceNumber ?? "") > (first?.sequenceNumber ?? ""));
      assert.equal(moved?.expiresAt, T0 + VISIBILITY + DAY);
    });

    test("deletes from a standard queue whatever receive the handle came from", async ({ store }) => {
      await createQueues(store, "q", "other");
      await store.sendMessages(ref("q"), [message("m1"), message("m2"), message("m3")]);
      await store.sendMessages(ref("other"), [message("x1")]);
      const [m1, m2] = await store.receiveMessages(ref("q"), at(T0, 2));
      const [x1] = await store.receiveMessages(ref("other"), at());
      assert.ok(m1 !== undefined && m2 !== undefined && x1 !== undefined);
      await store.receiveMessages(ref("q"), at(T0 + VISIBILITY, 1));
      const outcomes = await store.deleteMessages(
        ref("q"),
        [
          { seq: m1.seq, receiveCount: 1 },
          { seq: m1.seq, receiveCount: 1 },
          { seq: m2.seq, receiveCount: 7 },
          { seq: x1.seq, receiveCount: 1 },
          { seq: 987_654_321, receiveCount: 1 },
        ],
        T0 + VISIBILITY,
      );
      assert.deepEqual(outcomes, ["deleted", "gone", "deleted", "gone", "gone"]);
      assert.deepEqual(await receiveIds(store, "q", at(T0 + 2 * VISIBILITY)), ["m3"]);
      assert.deepEqual(await receiveIds(store, "other", at(T0 + 2 * VISIBILITY)), ["x1"]);
    });

    test("deletes from a FIFO queue only during the handle's receive", async ({ store }) => {
      await createQueues(store, "q.fifo");
      await store.sendMessages(ref("q.fifo"), [fifoMessage("a1", "A"), fifoMessage("b1", "B")]);
      const [a1, b1] = await store.receiveMessages(ref("q.fifo"), at());
      assert.ok(a1 !== undefined && b1 !== undefined);
      const late = T0 + VISIBILITY;
      await store.receiveMessages(ref("q.fifo"), at(late, 1));
      const outcomes = await store.deleteMessages(
        ref("q.fifo"),
        [
          { seq: a1.seq, receiveCount: 1 },
          { seq: b1.seq, receiveCount: 1 },
        ],
        late,
      );
      assert.deepEqual(outcomes, ["expired", "expired"], "a1 is under a later receive; b1 is visible");
      assert.deepEqual(await store.deleteMessages(ref("q.fifo"), [{ seq: a1.seq, receiveCount: 2 }], late), [
        "deleted",
      ]);
      assert.deepEqual(await store.deleteMessages(ref("q.fifo"), [{ seq: a1.seq, receiveCount: 2 }], late), [
        "gone",
      ]);
      assert.deepEqual(await receiveIds(store, "q.fifo", at(late)), ["b1"], "b1 stayed");
    });

    test("changes visibility, telling every outcome apart on a standard queue", async ({ store }) => {
      await createQueues(store, "q");
      await store.sendMessages(ref("q"), [message("m1"), message("m2"), message("m3")]);
      const [m1, m2, m3] = await store.receiveMessages(ref("q"), at());
      assert.ok(m1 !== undefined && m2 !== undefined && m3 !== undefined);
      const max = 60 * SECOND;
      const now = T0 + 10;
      const outcomes = await store.changeVisibility(
        ref("q"),
        [
          { seq: m1.seq, receiveCount: 1, visibleUntil: T0 + max },
          { seq: m2.seq, receiveCount: 1, visibleUntil: T0 + max + 1 },
          { seq: m3.seq, receiveCount: 1, visibleUntil: now },
          { seq: 987_654_321, receiveCount: 1, visibleUntil: now + 1 },
        ],
        now,
        max,
      );
      assert.deepEqual(outcomes, ["changed", "limit", "changed", "gone"]);
      assert.deepEqual(await receiveIds(store, "q", at(now, 1)), ["m3"], "a change to now makes m3 visible");
      const later = T0 + VISIBILITY;
      assert.deepEqual(await receiveIds(store, "q", at(later)), ["m2"], "m1 was extended, m2 not");
      const stale = await store.changeVisibility(
        ref("q"),
        [
          { seq: m2.seq, receiveCount: 1, visibleUntil: later + 5 },
          { seq: m3.seq, receiveCount: 2, visibleUntil: later + 5 },
        ],
        now + VISIBILITY,
        max,
      );
      assert.deepEqual(stale, ["stale", "not-in-flight"]);
      assert.deepEqual(await store.countMessages(ref("q"), later + 1), {
        visible: 0,
        inFlight: 3,
        delayed: 0,
      });
    });

    test("measures the visibility limit from the handle's receive", async ({ store }) => {
      await createQueues(store, "q");
      await store.sendMessages(ref("q"), [message("m1")]);
      const max = 60 * SECOND;
      await store.receiveMessages(ref("q"), at(T0, 1, { visibleUntil: T0 + 1 }));
      const [m1] = await store.receiveMessages(ref("q"), at(T0 + 1, 1, { visibleUntil: T0 + 2 }));
      assert.ok(m1 !== undefined);
      const change = { seq: m1.seq, receiveCount: 2, visibleUntil: T0 + 1 + max };
      assert.deepEqual(await store.changeVisibility(ref("q"), [change], T0 + 1, max), ["changed"]);
    });

    test("calls a stale or finished receive expired when changing visibility on a FIFO queue", async ({
      store,
    }) => {
      await createQueues(store, "q.fifo");
      await store.sendMessages(ref("q.fifo"), [fifoMessage("a1", "A"), fifoMessage("b1", "B")]);
      const [a1, b1] = await store.receiveMessages(ref("q.fifo"), at());
      assert.ok(a1 !== undefined && b1 !== undefined);
      const late = T0 + VISIBILITY;
      await store.receiveMessages(ref("q.fifo"), at(late, 1));
      const max = 12 * 3600 * SECOND;
      const outcomes = await store.changeVisibility(
        ref("q.fifo"),
        [
          { seq: a1.seq, receiveCount: 1, visibleUntil: late + 100 },
          { seq: b1.seq, receiveCount: 1, visibleUntil: late + 100 },
          { seq: a1.seq, receiveCount: 2, visibleUntil: late + 100 },
          { seq: a1.seq, receiveCount: 2, visibleUntil: late + max + 1 },
        ],
        late,
        max,
      );
      assert.deepEqual(outcomes, ["expired", "expired", "changed", "limit"]);
    });

    test("counts visible, in-flight and delayed messages, leaving expired ones out", async ({ store }) => {
      await createQueues(store, "q", "other");
      await store.sendMessages(ref("q"), [
        message("m1"),
        message("m2"),
        message("m3"),
        message("delayed", { visibleAt: T0 + 100 }),
        message("expired", { expiresAt: T0 + 50 }),
        message("expired-delayed", { visibleAt: T0 + 100, expiresAt: T0 + 50 }),
      ]);
      await store.sendMessages(ref("other"), [message("x1")]);
      assert.deepEqual(await store.countMessages(ref("q"), T0), { visible: 4, inFlight: 0, delayed: 2 });
      await store.receiveMessages(ref("q"), at(T0, 2));
      assert.deepEqual(await store.countMessages(ref("q"), T0 + 50), { visible: 1, inFlight: 2, delayed: 1 });
      assert.deepEqual(await store.countMessages(ref("q"), T0 + VISIBILITY * 10), {
        visible: 4,
        inFlight: 0,
        delayed: 0,
      });
      assert.deepEqual(await store.countMessages(ref("ghost"), T0), { visible: 0, inFlight: 0, delayed: 0 });
    });

    test("purges every message of a queue, whatever its state", async ({ store }) => {
      await createQueues(store, "q", "other");
      await store.sendMessages(ref("q"), [
        message("m1"),
        message("m2"),
        message("delayed", { visibleAt: T0 + 9 }),
      ]);
      await store.sendMessages(ref("other"), [message("x1")]);
      const [m1] = await store.receiveMessages(ref("q"), at(T0, 1));
      assert.equal(await store.purgeQueue(ref("q"), 10), 3);
      assert.deepEqual(await store.countMessages(ref("q"), T0), { visible: 0, inFlight: 0, delayed: 0 });
      assert.deepEqual(await store.deleteMessages(ref("q"), [{ seq: m1?.seq ?? 0, receiveCount: 1 }], T0), [
        "gone",
      ]);
      assert.deepEqual(await receiveIds(store, "other"), ["x1"]);
      assert.equal(await store.purgeQueue(ref("ghost"), 10), 0);
      await store.sendMessages(ref("q"), [message("m4")]);
      assert.deepEqual(await receiveIds(store, "q"), ["m4"], "the queue takes messages again");
    });

    test("purges at most the limit it is given, oldest first", async ({ store }) => {
      await createQueues(store, "q");
      await store.sendMessages(ref("q"), [message("m1"), message("m2"), message("m3")]);
      await store.sendMessages(ref("q"), [message("m4", { expiresAt: T0 })]);
      assert.equal(await store.purgeQueue(ref("q"), 2), 2);
      assert.deepEqual(await receiveIds(store, "q"), ["m3"]);
      assert.equal(await store.purgeQueue(ref("q"), 2), 2, "an expired message is purged too");
      assert.equal(await store.purgeQueue(ref("q"), 2), 0);
    });

    test("deletes expired messages and reports expired ones gone before that", async ({ store }) => {
      await createQueues(store, "q", "other");
      await store.sendMessages(ref("q"), [
        message("m1", { expiresAt: T0 + 10 }),
        message("m2", { expiresAt: T0 + 20 }),
        message("m3", { expiresAt: T0 + 30 }),
      ]);
      await store.sendMessages(ref("other"), [message("x1", { expiresAt: T0 + 10 })]);
      const [m1] = await store.receiveMessages(ref("q"), at(T0, 1));
      assert.ok(m1 !== undefined);
      assert.deepEqual(await store.deleteMessages(ref("q"), [{ seq: m1.seq, receiveCount: 1 }], T0 + 10), [
        "gone",
      ]);
      const change = { seq: m1.seq, receiveCount: 1, visibleUntil: T0 + 15 };
      assert.deepEqual(await store.changeVisibility(ref("q"), [change], T0 + 10, DAY), ["gone"]);
      assert.deepEqual(await sweep(store, T0 + 20), { deleted: 3, steps: 1 });
      assert.deepEqual(await receiveIds(store, "q", at(T0)), ["m3"]);
      assert.equal((await sweep(store, T0 + 20)).deleted, 0);
    });

    test("keeps a message expired by a lowered retention expired when the retention is raised again", async ({
      store,
    }) => {
      const withRetention = (seconds: number, at: number) =>
        queue("lowered", {
          attributes: { VisibilityTimeout: "30", MessageRetentionPeriod: String(seconds) },
          lastModifiedAt: at,
        });
      assert.equal(await store.createQueue(withRetention(600, T0)), true);
      await store.sendMessages(ref("lowered"), [
        message("old", { expiresAt: T0 + 600 * SECOND }),
        message("young", { sentAt: T0 + 190 * SECOND, expiresAt: T0 + 790 * SECOND }),
      ]);
      // Lowered to 120 s at T0 + 200 s: "old" (200 s old) is gone; raised at once, before any sweep.
      assert.equal(await store.updateQueue(withRetention(120, T0 + 200 * SECOND)), true);
      assert.equal(await store.updateQueue(withRetention(1_209_600, T0 + 201 * SECOND)), true);
      const now = T0 + 202 * SECOND;
      assert.deepEqual(await store.countMessages(ref("lowered"), now), {
        visible: 1,
        inFlight: 0,
        delayed: 0,
      });
      assert.deepEqual(await receiveIds(store, "lowered", at(now)), ["young"]);
      assert.deepEqual(await sweep(store, now), { deleted: 1, steps: 1 }, "old is swept");
      // Raised, the young one lives on by the new retention.
      assert.deepEqual(await store.countMessages(ref("lowered"), T0 + 86_400 * SECOND), {
        visible: 1,
        inFlight: 0,
        delayed: 0,
      });
    });

    test("applies a changed MessageRetentionPeriod to the messages already queued, both ways", async ({
      store,
    }) => {
      // SQS: a retention change "will impact existing messages in the queue". Each message's expiry is
      // its retention's start plus the queue's retention of the moment.
      const withRetention = (name: string, seconds: number) =>
        queue(name, { attributes: { VisibilityTimeout: "30", MessageRetentionPeriod: String(seconds) } });
      for (const q of [withRetention("up", 120), withRetention("down", 600), withRetention("dlq", 120)])
        assert.equal(await store.createQueue(q), true);
      await store.sendMessages(ref("up"), [message("old-up", { expiresAt: T0 + 120 * SECOND })]);
      await store.sendMessages(ref("down"), [
        message("old-down", { expiresAt: T0 + 600 * SECOND }),
        message("young-down", { sentAt: T0 + 150 * SECOND, expiresAt: T0 + 750 * SECOND }),
        message("to-dlq", { sentAt: T0 + 110 * SECOND, expiresAt: T0 + 710 * SECOND }),
      ]);
      const [oldDown] = await store.receiveMessages(ref("down"), at(T0, 1, { visibleUntil: T0 + 1 }));
      assert.equal(oldDown?.id, "old-down");

      assert.equal(await store.updateQueue(withRetention("up", 300)), true);
      assert.equal(await store.updateQueue(withRetention("down", 120)), true);
      assert.equal(await store.updateQueue(withRetention("dlq", 300)), true);
      const now = T0 + 200 * SECOND;
      // Raised: kept past its old expiry (T0 + 120 s), with the new one.
      const [up] = await store.receiveMessages(ref("up"), at(now));
      assert.equal(up?.id, "old-up");
      assert.equal(up.expiresAt, T0 + 300 * SECOND);
      assert.deepEqual(await store.countMessages(ref("up"), now), { visible: 0, inFlight: 1, delayed: 0 });
      // Lowered: a message older than the new retention is gone, by every operation, and swept.
      assert.deepEqual(await store.countMessages(ref("down"), now), { visible: 2, inFlight: 0, delayed: 0 });
      assert.deepEqual(
        await store.deleteMessages(ref("down"), [{ seq: oldDown.seq, receiveCount: 1 }], now),
        ["gone"],
      );
      const change = { seq: oldDown.seq, receiveCount: 1, visibleUntil: now + 1 };
      assert.deepEqual(await store.changeVisibility(ref("down"), [change], now, DAY), ["gone"]);
      assert.deepEqual(await receiveIds(store, "down", at(now, 10, { visibleUntil: now + 1 })), [
        "young-down",
        "to-dlq",
      ]);
      // Messages moved to a dead-letter queue whose retention changed expire by its current retention,
      // counted from their send.
      const redrive = {
        maxReceiveCount: 1,
        deadLetterQueue: ref("dlq"),
        sourceArn: queueArn("down"),
        deadLetterRetentionMs: 300 * SECOND,
      };
      const later = now + 1;
      assert.deepEqual(await receiveIds(store, "down", at(later, 10, { redrive })), []);
      const moved = await store.receiveMessages(ref("dlq"), at(later));
      assert.deepEqual(
        moved.map((m) => [m.id, m.expiresAt]),
        [
          ["young-down", T0 + 450 * SECOND],
          ["to-dlq", T0 + 410 * SECOND],
        ],
      );
      assert.deepEqual(await sweep(store, later), { deleted: 1, steps: 1 }, "old-down is swept");
      assert.deepEqual(await store.countMessages(ref("up"), T0 + 300 * SECOND), {
        visible: 0,
        inFlight: 0,
        delayed: 0,
      });
      assert.deepEqual(
        await sweep(store, T0 + 300 * SECOND),
        { deleted: 1, steps: 1 },
        "old-up at its new expiry",
      );
    });

    test("sweeps in steps that each look at no more than their limit, across queues", async ({ store }) => {
      await createQueues(store, "a", "b", "c");
      // Expired and unexpired messages interleaved in each queue; 13 in all, 7 expired at T0 + 20.
      const batch = (prefix: string, n: number) =>
        Array.from({ length: n }, (_, i) =>
          message(`${prefix}${i}`, { expiresAt: i % 2 === 0 ? T0 + 10 : T0 + DAY }),
        );
      await store.sendMessages(ref("a"), batch("a", 5));
      await store.sendMessages(ref("b"), batch("b", 2));
      await store.sendMessages(ref("c"), batch("c", 6));
      assert.deepEqual(await sweep(store, T0 + 20, 2), { deleted: 7, steps: 7 }, "13 messages, 2 a step");
      assert.deepEqual(await receiveIds(store, "a", at(T0 + 20)), ["a1", "a3"]);
      assert.deepEqual(await receiveIds(store, "b", at(T0 + 20)), ["b1"]);
      assert.deepEqual(await receiveIds(store, "c", at(T0 + 20)), ["c1", "c3", "c5"]);
      assert.deepEqual(await sweep(store, T0 + 20, 4), { deleted: 0, steps: 2 }, "6 left, 4 a step");
      assert.deepEqual(
        await sweep(store, T0 + 20, 6),
        { deleted: 0, steps: 2 },
        "a full last step needs one more",
      );
      assert.deepEqual(await sweep(store, T0 + DAY, 100), { deleted: 6, steps: 1 });
      await assert.rejects(store.sweepExpiredMessages(T0, 0), /scanLimit/);
      await assert.rejects(store.sweepExpiredMessages(T0, 10, "not a cursor"), /not a cursor/);
    });
  });
}
