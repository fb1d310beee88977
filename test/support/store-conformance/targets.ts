/**
 * The conformance tests of the targets of rules.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import type { Store, Target } from "../../../src/store/index.js";
import {
  ACCOUNT,
  TARGET_ARN,
  OTHER_TARGET_ARN,
  bus,
  rule,
  target,
  allPages,
  INVALID_TOKEN,
  invalidToken,
} from "./fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/**
 * Registers the tests of targets and of listing rule names by target ARN. `open` is called once per test.
 */
export function targetTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("targets", () => {
    async function withRule(store: Store, ...names: string[]): Promise<void> {
      await store.createBus(bus("orders"));
      for (const n of names) await store.putRule(rule("orders", n));
    }

    test("lists the targets of a rule in id order with their whole spec", async ({ store }) => {
      await withRule(store, "r1", "r2");
      await store.putTargets(ACCOUNT, "orders", "r1", [
        target("t3"),
        target("t1"),
        target("t2", OTHER_TARGET_ARN),
      ]);
      await store.putTargets(ACCOUNT, "orders", "r2", [target("t9")]);
      assert.deepEqual(await store.listTargets(ACCOUNT, "orders", "r1"), [
        target("t1"),
        target("t2", OTHER_TARGET_ARN),
        target("t3"),
      ]);
      assert.deepEqual(await store.listTargets(ACCOUNT, "orders", "ghost"), []);
    });

    test("replaces targets by id and keeps the others", async ({ store }) => {
      await withRule(store, "r1");
      await store.putTargets(ACCOUNT, "orders", "r1", [target("t1"), target("t2")]);
      const replaced: Target = {
        id: "t2",
        arn: OTHER_TARGET_ARN,
        spec: { Id: "t2", Arn: OTHER_TARGET_ARN },
      };
      await store.putTargets(ACCOUNT, "orders", "r1", [replaced]);
      assert.deepEqual(await store.listTargets(ACCOUNT, "orders", "r1"), [target("t1"), replaced]);
    });

    test("removes targets and returns only the ids that existed", async ({ store }) => {
      await withRule(store, "r1");
      await store.putTargets(ACCOUNT, "orders", "r1", [target("t1"), target("t2"), target("t3")]);
      const removed = await store.removeTargets(ACCOUNT, "orders", "r1", ["t2", "t9", "t3"]);
      assert.deepEqual([...removed].sort(), ["t2", "t3"]);
      assert.deepEqual(await store.listTargets(ACCOUNT, "orders", "r1"), [target("t1")]);
      assert.deepEqual(await store.removeTargets(ACCOUNT, "orders", "r1", ["t2"]), []);
    });

    test("lists the names of the rules of a bus with a target ARN, once each, in name order", async ({
      store,
    }) => {
      await withRule(store, "r3", "r1", "r2", "r4");
      await store.createBus(bus("other"));
      await store.putRule(rule("other", "r0"));
      await store.putTargets(ACCOUNT, "orders", "r3", [target("t1")]);
      await store.putTargets(ACCOUNT, "orders", "r1", [target("t1")]);
      await store.putTargets(ACCOUNT, "orders", "r2", [target("t1"), target("t2")]);
      await store.putTargets(ACCOUNT, "orders", "r4", [target("t1", OTHER_TARGET_ARN)]);
      await store.putTargets(ACCOUNT, "other", "r0", [target("t1")]);
      const page = await store.listRuleNamesByTarget(ACCOUNT, "orders", TARGET_ARN);
      assert.deepEqual(page.items, ["r1", "r2", "r3"]);
      assert.equal(page.nextToken, undefined);
      assert.deepEqual((await store.listRuleNamesByTarget(ACCOUNT, "orders", OTHER_TARGET_ARN)).items, [
        "r4",
      ]);
      assert.deepEqual((await store.listRuleNamesByTarget(ACCOUNT, "orders", "arn:none")).items, []);
    });

    test("pages the rule names of a target ARN with limit and nextToken", async ({ store }) => {
      const names = ["r1", "r2", "r3", "r4", "r5"];
      await withRule(store, ...names);
      for (const n of names) await store.putTargets(ACCOUNT, "orders", n, [target("a"), target("b")]);
      const pages = await allPages(2, (nextToken) =>
        store.listRuleNamesByTarget(
          ACCOUNT,
          "orders",
          TARGET_ARN,
          nextToken === undefined ? { limit: 2 } : { limit: 2, nextToken },
        ),
      );
      assert.ok(pages.length >= 3);
      assert.deepEqual(pages.flat(), names);
    });

    test("rejects an invalid nextToken when listing rule names by target", async ({ store }) => {
      await withRule(store, "r1");
      await assert.rejects(
        store.listRuleNamesByTarget(ACCOUNT, "orders", TARGET_ARN, { nextToken: INVALID_TOKEN }),
        invalidToken,
      );
    });
  });
}
