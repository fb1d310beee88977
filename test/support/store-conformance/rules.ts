/**
 * The conformance tests of rules.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import type { Rule } from "../../../src/store/index.js";
import {
  ACCOUNT,
  OTHER_ACCOUNT,
  T0,
  TARGET_ARN,
  bus,
  rule,
  target,
  allPages,
  INVALID_TOKEN,
  invalidToken,
} from "./fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/**
 * Registers the tests of rules: put, read, replace, list, page, filter and delete. `open` is called
 * once per test.
 */
export function ruleTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("rules", () => {
    test("creates a rule and reads it back with every optional field", async ({ store }) => {
      await store.createBus(bus("orders"));
      const full = rule("orders", "r1", {
        scheduleExpression: "rate(5 minutes)",
        state: "DISABLED",
        description: "d",
        roleArn: "arn:aws:iam::111111111111:role/r",
        managedBy: "busbar.example",
        createdBy: OTHER_ACCOUNT,
      });
      await store.putRule(full);
      assert.deepEqual(await store.getRule(ACCOUNT, "orders", "r1"), full);
    });

    test("leaves absent optional fields absent", async ({ store }) => {
      await store.createBus(bus("orders"));
      const bare: Rule = {
        accountId: ACCOUNT,
        busName: "orders",
        name: "r1",
        arn: rule("orders", "r1").arn,
        state: "ENABLED",
        createdBy: ACCOUNT,
        createdAt: T0,
        lastModifiedAt: T0,
      };
      await store.putRule(bare);
      const read = await store.getRule(ACCOUNT, "orders", "r1");
      assert.deepEqual(read, bare);
      assert.deepEqual(Object.keys(read ?? {}).sort(), Object.keys(bare).sort());
    });

    test("returns undefined for an unknown rule", async ({ store }) => {
      await store.createBus(bus("orders"));
      assert.equal(await store.getRule(ACCOUNT, "orders", "ghost"), undefined);
      assert.equal(await store.getRule(ACCOUNT, "ghost", "ghost"), undefined);
    });

    test("replaces a rule and keeps its targets", async ({ store }) => {
      await store.createBus(bus("orders"));
      await store.putRule(rule("orders", "r1", { description: "old" }));
      await store.putTargets(ACCOUNT, "orders", "r1", [target("t1"), target("t2")]);
      const replaced = rule("orders", "r1", {
        eventPattern: '{"source":["billing"]}',
        lastModifiedAt: T0 + 9,
      });
      await store.putRule(replaced);
      assert.deepEqual(await store.getRule(ACCOUNT, "orders", "r1"), replaced);
      assert.deepEqual(await store.listTargets(ACCOUNT, "orders", "r1"), [target("t1"), target("t2")]);
      assert.equal((await store.listRules(ACCOUNT, "orders")).items.length, 1);
    });

    test("lists the rules of one bus in name order", async ({ store }) => {
      await store.createBus(bus("orders"));
      await store.createBus(bus("other"));
      for (const n of ["r3", "r1", "r2"]) await store.putRule(rule("orders", n));
      await store.putRule(rule("other", "r0"));
      const page = await store.listRules(ACCOUNT, "orders");
      assert.deepEqual(
        page.items.map((r) => r.name),
        ["r1", "r2", "r3"],
      );
      assert.deepEqual(page.items[0], rule("orders", "r1"));
      assert.equal(page.nextToken, undefined);
    });

    test("pages rules with limit and nextToken", async ({ store }) => {
      await store.createBus(bus("orders"));
      const names = ["r1", "r2", "r3", "r4", "r5", "r6", "r7"];
      for (const n of [...names].reverse()) await store.putRule(rule("orders", n));
      const pages = await allPages(3, (nextToken) =>
        store.listRules(ACCOUNT, "orders", nextToken === undefined ? { limit: 3 } : { limit: 3, nextToken }),
      );
      assert.ok(pages.length >= 3);
      assert.deepEqual(
        pages.flat().map((r) => r.name),
        names,
      );
    });

    test("filters rules by name prefix, across pages", async ({ store }) => {
      await store.createBus(bus("orders"));
      for (const n of ["a1", "b1", "a3", "a2", "ab"]) await store.putRule(rule("orders", n));
      const pages = await allPages(2, (nextToken) =>
        store.listRules(ACCOUNT, "orders", {
          prefix: "a",
          limit: 2,
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      );
      assert.deepEqual(
        pages.flat().map((r) => r.name),
        ["a1", "a2", "a3", "ab"],
      );
    });

    test("rejects an invalid nextToken", async ({ store }) => {
      await store.createBus(bus("orders"));
      await store.putRule(rule("orders", "r1"));
      await assert.rejects(store.listRules(ACCOUNT, "orders", { nextToken: INVALID_TOKEN }), invalidToken);
    });

    test("lists every rule of every bus and account", async ({ store }) => {
      await store.createBus(bus("orders"));
      await store.createBus(bus("default", {}, OTHER_ACCOUNT));
      const rules = [rule("orders", "r1"), rule("orders", "r2"), rule("default", "r1", {}, OTHER_ACCOUNT)];
      for (const r of rules) await store.putRule(r);
      const key = (r: Rule) => `${r.accountId}/${r.busName}/${r.name}`;
      const all = await store.listAllRules();
      assert.deepEqual(all.map(key).sort(), rules.map(key).sort());
      assert.deepEqual(
        all.find((r) => r.accountId === OTHER_ACCOUNT),
        rules[2],
      );
    });

    test("deletes a rule with its targets and tags", async ({ store }) => {
      await store.createBus(bus("orders"));
      await store.putRule(rule("orders", "r1"), [{ key: "team", value: "a" }]);
      await store.putRule(rule("orders", "r2"));
      await store.putTargets(ACCOUNT, "orders", "r1", [target("t1")]);
      await store.putTargets(ACCOUNT, "orders", "r2", [target("t1")]);
      assert.equal(await store.deleteRule(ACCOUNT, "orders", "r1"), true);
      assert.equal(await store.getRule(ACCOUNT, "orders", "r1"), undefined);
      assert.deepEqual(await store.getTags(rule("orders", "r1").arn), []);
      assert.deepEqual((await store.listRuleNamesByTarget(ACCOUNT, "orders", TARGET_ARN)).items, ["r2"]);
      await store.putRule(rule("orders", "r1"));
      assert.deepEqual(await store.listTargets(ACCOUNT, "orders", "r1"), [], "old targets are gone");
      assert.deepEqual(await store.listTargets(ACCOUNT, "orders", "r2"), [target("t1")]);
    });

    test("returns false when deleting a rule that does not exist", async ({ store }) => {
      await store.createBus(bus("orders"));
      assert.equal(await store.deleteRule(ACCOUNT, "orders", "ghost"), false);
    });
  });
}
