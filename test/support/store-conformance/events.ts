/**
 * The conformance tests of stored events and their pending deliveries.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import { SWEEP_SCAN_LIMIT, sweepInSteps, type IngestRecord, type Store } from "../../../src/store/index.js";
import { T0, event, delivery, record, byId } from "./fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/** The events ingested before `before` with no pending delivery, deleted by a whole sweep; how many. */
const sweepEvents = (store: Store, before: number): Promise<number> =>
  sweepInSteps((cursor) => store.sweepEventsBefore(before, SWEEP_SCAN_LIMIT, cursor));

/**
 * Registers the tests of events and their pending deliveries. `open` is called once per test.
 */
export function eventTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("events", () => {
    test("appends events with their deliveries and reads them back", async ({ store }) => {
      const a = record("e1", T0, [T0, T0 + 10]);
      await store.appendEvents([a, record("e2")]);
      assert.deepEqual(await store.getEvent("e1"), a.event);
      assert.deepEqual(byId(await store.listDeliveriesOfEvent("e1")), byId(a.deliveries));
      assert.equal(await store.getEvent("e404"), undefined);
      assert.deepEqual(await store.listDeliveriesOfEvent("e404"), []);
    });

    test("counts the stored events", async ({ store }) => {
      assert.equal(await store.countEvents(), 0);
      await store.appendEvents([record("e1"), record("e2", T0, [])]);
      await store.appendEvents([record("e3")]);
      assert.equal(await store.countEvents(), 3);
    });

    test("accepts an empty batch", async ({ store }) => {
      await store.appendEvents([]);
      assert.equal(await store.countEvents(), 0);
    });

    test("commits concurrent batches, every one of them", async ({ store }) => {
      const batches = Array.from({ length: 5 }, (_, b) =>
        Array.from({ length: 20 }, (_, i) => record(`e${b}-${i}`, T0 + i)),
      );
      await Promise.all(batches.map((batch) => store.appendEvents(batch)));
      assert.equal(await store.countEvents(), 100);
      assert.equal((await store.listDueDeliveries(T0, 1000)).length, 100);
    });

    test("rejects a batch repeating an event id and stores none of its records", async ({ store }) => {
      await assert.rejects(store.appendEvents([record("e1"), record("e2"), record("e1", T0, [T0 + 1])]));
      assert.equal(await store.countEvents(), 0);
      assert.equal(await store.getEvent("e1"), undefined);
      assert.equal(await store.getEvent("e2"), undefined);
      assert.deepEqual(await store.listDeliveriesOfEvent("e2"), []);
      assert.deepEqual(await store.listDueDeliveries(T0 + 100, 100), []);
    });

    test("rejects a batch with an id already stored and keeps the stored event as it was", async ({
      store,
    }) => {
      const stored = record("e1");
      await store.appendEvents([stored]);
      const clash: IngestRecord = {
        event: { ...event("e1"), json: "{}" },
        deliveries: [delivery("x", "e1", T0)],
      };
      await assert.rejects(store.appendEvents([record("e2"), clash]));
      assert.equal(await store.countEvents(), 1);
      assert.equal(await store.getEvent("e2"), undefined);
      assert.deepEqual(await store.getEvent("e1"), stored.event);
      assert.deepEqual(await store.listDeliveriesOfEvent("e1"), stored.deliveries);
    });

    test("lists due deliveries oldest first, up to dueBy inclusive and limit", async ({ store }) => {
      await store.appendEvents([record("e1", T0, [T0 + 30, T0 + 10]), record("e2", T0, [T0 + 20, T0 + 40])]);
      const due = async (dueBy: number, limit: number) =>
        (await store.listDueDeliveries(dueBy, limit)).map((d) => d.dueAt - T0);
      assert.deepEqual(await due(T0 + 30, 10), [10, 20, 30]);
      assert.deepEqual(await due(T0 + 100, 2), [10, 20]);
      assert.deepEqual(await due(T0 + 9, 10), []);
      const [first] = await store.listDueDeliveries(T0 + 10, 1);
      assert.deepEqual(first, delivery("e1/1", "e1", T0 + 10));
    });

    test("deletes the events ingested before a time and returns how many", async ({ store }) => {
      await store.appendEvents([record("e1", T0, []), record("e2", T0 + 1, []), record("e3", T0 + 2, [])]);
      assert.equal(await sweepEvents(store, T0 + 2), 2);
      assert.equal(await store.getEvent("e1"), undefined);
      assert.equal(await store.getEvent("e2"), undefined);
      assert.deepEqual(await store.getEvent("e3"), event("e3", T0 + 2));
      assert.equal(await store.countEvents(), 1);
      assert.equal(await sweepEvents(store, T0), 0);
    });

    test("keeps an old event while a delivery of it is pending", async ({ store }) => {
      await store.appendEvents([record("e1", T0, [T0, T0]), record("e2", T0, [])]);
      assert.equal(await sweepEvents(store, T0 + 1), 1, "only the event without deliveries");
      assert.deepEqual(await store.getEvent("e1"), event("e1", T0));
      assert.equal(await store.countDeliveries(), 2);
      await store.completeDeliveries([{ eventId: "e1", id: "e1/0" }]);
      assert.equal(await sweepEvents(store, T0 + 1), 0, "one delivery is still pending");
      await store.completeDeliveries([{ eventId: "e1", id: "e1/1" }]);
      assert.equal(await sweepEvents(store, T0 + 1), 1);
      assert.equal(await store.getEvent("e1"), undefined);
    });

    test("sweeps old events in steps that each look at no more than their limit", async ({ store }) => {
      // Seven old events, oldest first; e2 and e5 have a delivery pending; e8 is not old.
      await store.appendEvents([
        record("e1", T0, []),
        record("e2", T0 + 1, [T0]),
        record("e3", T0 + 1, []),
        record("e4", T0 + 2, []),
        record("e5", T0 + 3, [T0]),
        record("e6", T0 + 4, []),
        record("e7", T0 + 4, []),
        record("e8", T0 + 10, []),
      ]);
      let steps = 0;
      const deleted = await sweepInSteps(async (cursor) => {
        const step = await store.sweepEventsBefore(T0 + 10, 2, cursor);
        assert.ok(step.deleted <= 2);
        steps++;
        return step;
      });
      assert.equal(deleted, 5);
      assert.equal(steps, 4, "seven old events, two a step");
      assert.deepEqual(
        (await store.getEvents(["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"])).map((e) => e.id),
        ["e2", "e5", "e8"],
      );
      await assert.rejects(store.sweepEventsBefore(T0, 0), /scanLimit/);
      await assert.rejects(store.sweepEventsBefore(T0, 10, "1:x"), /not a cursor/);
    });
  });
}
