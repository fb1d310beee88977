/**
 * The conformance tests of event buses.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import {
  ACCOUNT,
  OTHER_ACCOUNT,
  T0,
  TARGET_ARN,
  busArn,
  bus,
  rule,
  target,
  allPages,
  INVALID_TOKEN,
  invalidToken,
} from "./fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/**
 * Registers the tests of buses: create, read, update, list, page, filter and delete. `open` is called
 * once per test.
 */
export function busTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("buses", () => {
    test("creates a bus and reads it back with every optional field", async ({ store }) => {
      const full = bus("orders", {
        description: "Orders",
        kmsKeyIdentifier: "alias/orders",
        deadLetterArn: "arn:aws:sqs:us-east-1:111111111111:dlq",
        policy: JSON.stringify({ Version: "2012-10-17", Statement: [] }),
      });
      assert.equal(await store.createBus(full), true);
      assert.deepEqual(await store.getBus(ACCOUNT, "orders"), full);
    });

    test("leaves absent optional fields absent", async ({ store }) => {
      await store.createBus(bus("orders"));
      const read = await store.getBus(ACCOUNT, "orders");
      assert.ok(read !== undefined);
      assert.deepEqual(Object.keys(read).sort(), ["accountId", "arn", "createdAt", "lastModifiedAt", "name"]);
    });

    test("refuses a duplicate bus name in the same account, keeping the first", async ({ store }) => {
      await store.createBus(bus("orders", { description: "first" }));
      assert.equal(await store.createBus(bus("orders", { description: "second" })), false);
      assert.equal((await store.getBus(ACCOUNT, "orders"))?.description, "first");
    });

    test("keeps buses of different accounts apart", async ({ store }) => {
      assert.equal(await store.createBus(bus("orders")), true);
      assert.equal(await store.createBus(bus("orders", {}, OTHER_ACCOUNT)), true);
      assert.deepEqual(await store.getBus(OTHER_ACCOUNT, "orders"), bus("orders", {}, OTHER_ACCOUNT));
      assert.deepEqual(
        (await store.listBuses(OTHER_ACCOUNT)).items.map((b) => b.accountId),
        [OTHER_ACCOUNT],
      );
      assert.equal(await store.getBus(ACCOUNT, "missing"), undefined);
    });

    test("updates an existing bus, including removing optional fields", async ({ store }) => {
      await store.createBus(bus("orders", { description: "old", policy: "{}" }));
      const updated = bus("orders", { kmsKeyIdentifier: "alias/new", lastModifiedAt: T0 + 5 });
      assert.equal(await store.updateBus(updated), true);
      assert.deepEqual(await store.getBus(ACCOUNT, "orders"), updated);
    });

    test("returns false when updating a bus that does not exist, and creates none", async ({ store }) => {
      assert.equal(await store.updateBus(bus("ghost")), false);
      assert.equal(await store.getBus(ACCOUNT, "ghost"), undefined);
    });

    test("lists the buses of an account in name order", async ({ store }) => {
      for (const n of ["payments", "default", "orders", "audit"]) await store.createBus(bus(n));
      await store.createBus(bus("zzz", {}, OTHER_ACCOUNT));
      const page = await store.listBuses(ACCOUNT);
      assert.deepEqual(
        page.items.map((b) => b.name),
        ["audit", "default", "orders", "payments"],
      );
      assert.equal(page.nextToken, undefined);
      assert.deepEqual(page.items[0], bus("audit"));
    });

    test("pages buses with limit and nextToken", async ({ store }) => {
      const names = ["b1", "b2", "b3", "b4", "b5"];
      for (const n of [...names].reverse()) await store.createBus(bus(n));
      const first = await store.listBuses(ACCOUNT, { limit: 2 });
      assert.deepEqual(
        first.items.map((b) => b.name),
        ["b1", "b2"],
      );
      assert.ok(first.nextToken !== undefined, "a token when more buses follow");
      const pages = await allPages(2, (nextToken) =>
        store.listBuses(ACCOUNT, nextToken === undefined ? { limit: 2 } : { limit: 2, nextToken }),
      );
      assert.deepEqual(
        pages.flat().map((b) => b.name),
        names,
      );
    });

    test("returns at most 100 buses per page by default and for a larger limit", async ({ store }) => {
      const names = Array.from({ length: 105 }, (_, i) => `bus-${String(i).padStart(3, "0")}`);
      for (const n of names) await store.createBus(bus(n));
      for (const options of [{}, { limit: 500 }]) {
        const first = await store.listBuses(ACCOUNT, options);
        assert.equal(first.items.length, 100);
        assert.ok(first.nextToken !== undefined);
        const rest = await store.listBuses(ACCOUNT, { ...options, nextToken: first.nextToken });
        assert.deepEqual(
          [...first.items, ...rest.items].map((b) => b.name),
          names,
        );
        assert.equal(rest.nextToken, undefined);
      }
    });

    test("filters buses by a literal name prefix", async ({ store }) => {
      for (const n of ["a_b", "axb", "a%c", "a%%", "b_a", "a"]) await store.createBus(bus(n));
      const names = async (prefix: string) =>
        (await store.listBuses(ACCOUNT, { prefix })).items.map((b) => b.name);
      assert.deepEqual(await names("a_"), ["a_b"]);
      assert.deepEqual(await names("a%"), ["a%%", "a%c"]);
      assert.deepEqual(await names("a"), ["a", "a%%", "a%c", "a_b", "axb"]);
      assert.deepEqual(await names("c"), []);
    });

    test("rejects an invalid nextToken", async ({ store }) => {
      await store.createBus(bus("orders"));
      await assert.rejects(store.listBuses(ACCOUNT, { nextToken: INVALID_TOKEN }), invalidToken);
    });

    test("deletes a bus with its rules, their targets and the tags of both", async ({ store }) => {
      await store.createBus(bus("orders"));
      await store.createBus(bus("keep"));
      await store.putRule(rule("orders", "r1"));
      await store.putRule(rule("keep", "r1"));
      await store.putTargets(ACCOUNT, "orders", "r1", [target("t1")]);
      await store.putTargets(ACCOUNT, "keep", "r1", [target("t1")]);
      await store.tagResource(busArn("orders"), [{ key: "team", value: "a" }]);
      await store.tagResource(rule("orders", "r1").arn, [{ key: "team", value: "a" }]);
      assert.equal(await store.deleteBus(ACCOUNT, "orders"), true);
      assert.equal(await store.getBus(ACCOUNT, "orders"), undefined);
      assert.equal(await store.getRule(ACCOUNT, "orders", "r1"), undefined);
      assert.deepEqual(await store.getTags(busArn("orders")), []);
      assert.deepEqual(await store.getTags(rule("orders", "r1").arn), []);
      assert.deepEqual((await store.listRuleNamesByTarget(ACCOUNT, "orders", TARGET_ARN)).items, []);
      assert.deepEqual(
        (await store.listAllRules()).map((r) => r.busName),
        ["keep"],
      );
      assert.equal(await store.createBus(bus("orders")), true, "the name is free again");
      assert.deepEqual((await store.listRules(ACCOUNT, "orders")).items, []);
      await store.putRule(rule("orders", "r1"));
      assert.deepEqual(await store.listTargets(ACCOUNT, "orders", "r1"), [], "old targets are gone");
      assert.deepEqual(await store.listTargets(ACCOUNT, "keep", "r1"), [target("t1")]);
    });

    test("returns false when deleting a bus that does not exist", async ({ store }) => {
      assert.equal(await store.deleteBus(ACCOUNT, "ghost"), false);
    });
  });
}
