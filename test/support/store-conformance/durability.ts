/**
 * The conformance tests of durability: what a store keeps after it is closed and reopened.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import type { Account } from "../../../src/store/index.js";
import { ACCOUNT, T0, busArn, bus, rule, target, record, accessKey } from "./fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/**
 * Registers the tests that data survives closing and reopening the storage; they are skipped when
 * the implementation cannot reopen it. `open` is called once per test.
 */
export function durabilityTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("durability", () => {
    test(
      "keeps accounts, keys, buses, rules, targets and tags after reopening",
      async (session) => {
        const s = session.store;
        const account: Account = { id: ACCOUNT, name: "main", createdAt: T0 };
        await s.putAccount(account);
        await s.putAccessKey(accessKey("AKIA1"));
        await s.createBus(bus("orders", { description: "d" }));
        await s.putRule(rule("orders", "r1"));
        await s.putTargets(ACCOUNT, "orders", "r1", [target("t1")]);
        await s.tagResource(busArn("orders"), [{ key: "team", value: "a" }]);
        const store = await session.reopen();
        assert.deepEqual(await store.getAccount(ACCOUNT), account);
        assert.deepEqual(await store.getAccessKey("AKIA1"), accessKey("AKIA1"));
        assert.deepEqual(await store.getBus(ACCOUNT, "orders"), bus("orders", { description: "d" }));
        assert.deepEqual(await store.getRule(ACCOUNT, "orders", "r1"), rule("orders", "r1"));
        assert.deepEqual(await store.listTargets(ACCOUNT, "orders", "r1"), [target("t1")]);
        assert.deepEqual(await store.getTags(busArn("orders")), [{ key: "team", value: "a" }]);
      },
      true,
    );

    test(
      "keeps appended events and their deliveries after reopening",
      async (session) => {
        const records = Array.from({ length: 50 }, (_, i) => record(`e${i}`, T0 + i, [T0 + i]));
        await session.store.appendEvents(records);
        const store = await session.reopen();
        assert.equal(await store.countEvents(), 50);
        assert.deepEqual(await store.getEvent("e7"), records[7]?.event);
        assert.deepEqual(await store.listDeliveriesOfEvent("e7"), records[7]?.deliveries);
        assert.equal((await store.listDueDeliveries(T0 + 100, 100)).length, 50);
        await store.appendEvents([record("e50")]);
        assert.equal(await store.countEvents(), 51, "the reopened store accepts new events");
      },
      true,
    );
  });
}
