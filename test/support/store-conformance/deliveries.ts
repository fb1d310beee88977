/**
 * The conformance tests of the delivery engine's calls: reading the events of a batch, walking the due
 * deliveries page by page, counting them, and completing and rescheduling them in batches.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import type { IngestRecord, PendingDelivery, Store } from "../../../src/store/index.js";
import { ACCOUNT as ACCOUNT_ID, T0, byId, delivery, event, record } from "./fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/**
 * Walks the deliveries due by `dueBy`, `limit` at a time, each page after the last delivery of the one
 * before; `onPage` runs on each page before the next is read.
 */
async function walkDue(
  store: Store,
  dueBy: number,
  limit: number,
  onPage: (page: readonly PendingDelivery[]) => Promise<void> = () => Promise.resolve(),
): Promise<PendingDelivery[]> {
  const seen: PendingDelivery[] = [];
  let after: PendingDelivery | undefined;
  for (;;) {
    const page = await store.listDueDeliveries(dueBy, limit, after);
    assert.ok(page.length <= limit, `a page of ${page.length} deliveries exceeds the limit ${limit}`);
    if (page.length === 0) return seen;
    seen.push(...page);
    await onPage(page);
    after = page[page.length - 1];
    assert.ok(seen.length <= 10_000, "the walk does not end");
  }
}

/** `<eventId>/<n>` of each delivery. */
const ids = (deliveries: readonly PendingDelivery[]): string[] => deliveries.map((d) => d.id);

/** Asserts that deliveries are in `dueAt` order. */
function assertDueOrder(deliveries: readonly PendingDelivery[]): void {
  deliveries.forEach((d, i) => {
    const before = deliveries[i - 1];
    assert.ok(before === undefined || before.dueAt <= d.dueAt, `${d.id} comes before an earlier dueAt`);
  });
}

/**
 * Events `e0`…`e<count-1>`, appended in two batches, each with three deliveries: two due at T0 (so
 * that many deliveries of several events share a due time) and one at `T0 + 10 + n % 3`.
 */
async function appendEqualDueTimes(store: Store, count: number): Promise<IngestRecord[]> {
  const records = Array.from({ length: count }, (_, n) => record(`e${n}`, T0, [T0, T0, T0 + 10 + (n % 3)]));
  const half = Math.ceil(count / 2);
  await store.appendEvents(records.slice(half));
  await store.appendEvents(records.slice(0, half));
  return records;
}

/** Registers the tests; `open` is called once per test. */
export function deliveryTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("deliveries", () => {
    test("reads the stored events of a list of ids, each once, skipping unknown ids", async ({ store }) => {
      await store.appendEvents([record("e1"), record("e2"), record("e3")]);
      assert.deepEqual(byId(await store.getEvents(["e2", "e404", "e1", "e2"])), [event("e1"), event("e2")]);
      assert.deepEqual(await store.getEvents(["e404"]), []);
      assert.deepEqual(await store.getEvents([]), []);
    });

    test("walks every due delivery exactly once with `after`, whatever the page size", async ({ store }) => {
      const records = await appendEqualDueTimes(store, 7);
      const due = records.flatMap((r) => r.deliveries).filter((d) => d.dueAt <= T0 + 11);
      assert.equal(due.length, 19);
      const whole = await store.listDueDeliveries(T0 + 11, 100);
      assert.deepEqual(byId(whole), byId(due));
      assertDueOrder(whole);
      for (const limit of [1, 2, 3, 5, 19, 100]) {
        const walked = await walkDue(store, T0 + 11, limit);
        assert.deepEqual(ids(walked), ids(whole), `pages of ${limit} follow the same order`);
      }
    });

    test("walks on after the deliveries of each page are completed", async ({ store }) => {
      const records = await appendEqualDueTimes(store, 6);
      const all = records.flatMap((r) => r.deliveries);
      const walked = await walkDue(store, T0 + 100, 4, async (page) => {
        assert.equal(await store.completeDeliveries(page), page.length);
      });
      assert.deepEqual(byId(walked), byId(all));
      assert.equal(await store.countDeliveries(), 0);
    });

    test("walks on when the last page's event was completed and swept from the log", async ({ store }) => {
      // Retention 0 sweeps an event once its deliveries are done, which may fall between two pages.
      const records = await appendEqualDueTimes(store, 6);
      const completed = new Set<string>();
      let pages = 0;
      const walked = await walkDue(store, T0 + 100, 4, async (page) => {
        if (++pages > 2) return; // the first two pages' last events, while many are due at T0
        const last = page[page.length - 1] as PendingDelivery;
        const ofLast = await store.listDeliveriesOfEvent(last.eventId);
        assert.equal(await store.completeDeliveries(ofLast), ofLast.length);
        for (const d of ofLast) completed.add(d.id);
        await store.sweepEventsBefore(T0 + 1, 1000);
        assert.deepEqual(await store.getEvents([last.eventId]), [], "the page's last event is gone");
      });
      // Every delivery not completed ahead of its turn is walked (those walked already may come again).
      const left = records.flatMap((r) => r.deliveries).filter((d) => !completed.has(d.id));
      assert.ok(left.length > 0);
      const seen = new Set(ids(walked));
      assert.deepEqual(
        left.filter((d) => !seen.has(d.id)).map((d) => d.id),
        [],
        "deliveries the walk skipped",
      );
    });

    test("counts the pending deliveries", async ({ store }) => {
      assert.equal(await store.countDeliveries(), 0);
      await store.appendEvents([record("e1", T0, [T0, T0 + 1]), record("e2", T0 + 1, [])]);
      await store.appendEvents([record("e3", T0 + 2, [T0])]);
      assert.equal(await store.countDeliveries(), 3);
      await store.completeDeliveries([{ eventId: "e1", id: "e1/1" }]);
      assert.equal(await store.countDeliveries(), 2);
    });

    test("completes deliveries by reference and ignores unknown ones", async ({ store }) => {
      await store.appendEvents([record("e1", T0, [T0, T0 + 1]), record("e2", T0, [T0])]);
      const completed = await store.completeDeliveries([
        { eventId: "e1", id: "e1/0" },
        { eventId: "e2", id: "e2/0" },
        { eventId: "e1", id: "e1/0" },
        { eventId: "e1", id: "e2/0" },
        { eventId: "e404", id: "e1/1" },
      ]);
      assert.equal(completed, 2, "each existing delivery once; a wrong event or id finds nothing");
      assert.deepEqual(await store.listDeliveriesOfEvent("e1"), [delivery("e1/1", "e1", T0 + 1)]);
      assert.deepEqual(await store.listDeliveriesOfEvent("e2"), []);
      assert.deepEqual(await store.getEvent("e2"), event("e2"), "the event stays");
      assert.equal(await store.countDeliveries(), 1);
      assert.equal(await store.completeDeliveries([{ eventId: "e1", id: "e1/0" }]), 0);
      assert.equal(await store.completeDeliveries([]), 0);
    });

    test("reschedules deliveries out of and back into the due window", async ({ store }) => {
      await store.appendEvents([record("e1", T0, [T0, T0]), record("e2", T0, [T0])]);
      const changed = await store.rescheduleDeliveries([
        { eventId: "e1", id: "e1/0", dueAt: T0 + 500, attempts: 1 },
        { eventId: "e404", id: "e1/1", dueAt: T0 + 500, attempts: 1 },
        { eventId: "e1", id: "nope", dueAt: T0 + 500, attempts: 1 },
      ]);
      assert.equal(changed, 1, "unknown deliveries are ignored");
      assert.deepEqual(ids(await store.listDueDeliveries(T0 + 499, 10)).sort(), ["e1/1", "e2/0"]);
      const [moved] = await store.listDueDeliveries(T0 + 500, 1, (await store.listDueDeliveries(T0, 2))[1]);
      assert.deepEqual(moved, { ...delivery("e1/0", "e1", T0 + 500), attempts: 1 });

      assert.equal(
        await store.rescheduleDeliveries([{ eventId: "e1", id: "e1/0", dueAt: T0 - 5, attempts: 2 }]),
        1,
      );
      const [first] = await store.listDueDeliveries(T0, 10);
      assert.deepEqual(first, { ...delivery("e1/0", "e1", T0 - 5), attempts: 2 }, "now due first");
      assert.deepEqual(await store.listDeliveriesOfEvent("e2"), [delivery("e2/0", "e2", T0)]);
      assert.equal(await store.countDeliveries(), 3);
      assert.equal(await store.rescheduleDeliveries([]), 0);
    });

    test("completes and reschedules concurrent batches, every one of them", async ({ store }) => {
      const records = Array.from({ length: 40 }, (_, n) => record(`e${n}`, T0, [T0, T0]));
      await store.appendEvents(records);
      const counts = await Promise.all(
        records.map((r, n) =>
          n % 2 === 0
            ? store.completeDeliveries(r.deliveries)
            : store.rescheduleDeliveries(r.deliveries.map((d) => ({ ...d, dueAt: T0 + 60, attempts: 1 }))),
        ),
      );
      assert.deepEqual(counts, Array<number>(40).fill(2));
      assert.equal(await store.countDeliveries(), 40);
      assert.deepEqual(await store.listDueDeliveries(T0 + 59, 100), []);
      const later = await store.listDueDeliveries(T0 + 60, 100);
      assert.equal(later.length, 40);
      assert.ok(later.every((d) => d.attempts === 1 && Number(d.eventId.slice(1)) % 2 === 1));
    });

    test("drops the deliveries of a bus, a rule or some targets, in steps, and no others", async ({
      store,
    }) => {
      // Events on bus "default": rule "orders" → t1 and t2, rule "audit" → t1; as many on bus "other"
      // (rule "orders" → t1), and on "default" of another account.
      const records: IngestRecord[] = Array.from({ length: 12 }, (_, n): IngestRecord[] => {
        const d = delivery(`e${n}/0`, `e${n}`, T0);
        const other = { ...delivery(`o${n}/3`, `o${n}`, T0), busName: "other" };
        const foreign = { ...delivery(`f${n}/4`, `f${n}`, T0), accountId: "123456789012" };
        return [
          {
            event: event(`e${n}`),
            deliveries: [
              d,
              { ...d, id: `e${n}/1`, targetId: "t2" },
              { ...d, id: `e${n}/2`, ruleName: "audit" },
            ],
          },
          { event: event(`o${n}`, T0, "other"), deliveries: [other] },
          { event: { ...event(`f${n}`), accountId: "123456789012" }, deliveries: [foreign] },
        ];
      }).flat();
      await store.appendEvents(records);
      const left = async (): Promise<string[]> =>
        (await walkDue(store, T0, 100)).map((d) => d.id.slice(d.id.indexOf("/"))).sort();
      // Runs a drop to its end, 7 deliveries a step: what each step deleted.
      const drop = async (scope: Parameters<Store["dropDeliveries"]>[0]): Promise<number[]> => {
        const steps: number[] = [];
        let cursor: string | undefined;
        do {
          const step = await store.dropDeliveries(scope, 7, cursor);
          steps.push(step.deleted);
          if (step.next !== undefined) assert.notEqual(step.next, cursor, "a step must move on");
          cursor = step.next;
        } while (cursor !== undefined);
        return steps;
      };
      const sum = (steps: number[]): number => steps.reduce((a, b) => a + b, 0);
      const count = (suffix: string, n: number): string[] => Array<string>(n).fill(suffix);
      // 60 pending: each drop reads them once, 7 a step (9 steps), whatever it deletes.
      const targets = await drop({
        accountId: ACCOUNT_ID,
        busName: "default",
        ruleName: "orders",
        targetIds: ["t2"],
      });
      assert.equal(targets.length, 9);
      assert.equal(sum(targets), 12);
      assert.deepEqual(await left(), [
        ...count("/0", 12),
        ...count("/2", 12),
        ...count("/3", 12),
        ...count("/4", 12),
      ]);
      // 48 left: 7 steps.
      const rule = await drop({ accountId: ACCOUNT_ID, busName: "default", ruleName: "audit" });
      assert.equal(rule.length, 7);
      assert.equal(sum(rule), 12);
      assert.deepEqual(await left(), [...count("/0", 12), ...count("/3", 12), ...count("/4", 12)]);
      assert.equal(sum(await drop({ accountId: ACCOUNT_ID, busName: "default" })), 12);
      assert.deepEqual(await left(), [...count("/3", 12), ...count("/4", 12)]);
      assert.deepEqual(await drop({ accountId: ACCOUNT_ID, busName: "nope" }), [0, 0, 0, 0]);
      assert.equal(await store.countDeliveries(), 24);
      // The events stay (retention removes them once no delivery of theirs is pending).
      assert.equal((await store.getEvents(records.map((r) => r.event.id))).length, 36);
    });

    test("refuses a drop step with a scan limit below 1 or a cursor it did not give", async ({ store }) => {
      const scope = { accountId: ACCOUNT_ID, busName: "default" };
      await assert.rejects(store.dropDeliveries(scope, 0), /scanLimit must be a positive integer/);
      await assert.rejects(store.dropDeliveries(scope, 5, "nope"), /is not a cursor/);
    });
  });
}
