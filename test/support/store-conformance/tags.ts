/**
 * The conformance tests of resource tags.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import { bus, busArn, byKey, rule } from "./fixtures.js";
import { queue } from "./queue-fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/**
 * Registers the tests of resource tags. `open` is called once per test.
 */
export function tagTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("tags", () => {
    const arn = busArn("orders");

    test("returns no tags for an untagged resource", async ({ store }) => {
      assert.deepEqual(await store.getTags(arn), []);
    });

    test("adds tags and overwrites the value of an existing key", async ({ store }) => {
      await store.tagResource(arn, [
        { key: "team", value: "a" },
        { key: "env", value: "prod" },
      ]);
      await store.tagResource(arn, [
        { key: "team", value: "b" },
        { key: "cost", value: "1" },
      ]);
      assert.deepEqual(byKey(await store.getTags(arn)), [
        { key: "cost", value: "1" },
        { key: "env", value: "prod" },
        { key: "team", value: "b" },
      ]);
    });

    test("removes tags by key, ignoring keys it does not have", async ({ store }) => {
      await store.tagResource(arn, [
        { key: "team", value: "a" },
        { key: "env", value: "prod" },
      ]);
      await store.untagResource(arn, ["team", "nope"]);
      assert.deepEqual(await store.getTags(arn), [{ key: "env", value: "prod" }]);
    });

    test("creates a bus, a rule or a queue with its tags, and leaves tags alone when it creates nothing", async ({
      store,
    }) => {
      const tags = [{ key: "team", value: "a" }];
      assert.equal(await store.createBus(bus("orders"), tags), true);
      assert.equal(await store.createBus(bus("orders"), [{ key: "team", value: "b" }]), false);
      assert.deepEqual(await store.getTags(arn), tags);
      await store.putRule(rule("orders", "r1"), tags);
      assert.deepEqual(await store.getTags(rule("orders", "r1").arn), tags);
      assert.equal(await store.createQueue(queue("q"), tags), true);
      assert.equal(await store.createQueue(queue("q"), [{ key: "team", value: "b" }]), false);
      assert.deepEqual(await store.getTags(queue("q").arn), tags);
    });

    test("keeps the tags of different ARNs apart", async ({ store }) => {
      await store.tagResource(arn, [{ key: "team", value: "a" }]);
      await store.tagResource(busArn("other"), [{ key: "team", value: "b" }]);
      await store.untagResource(busArn("other"), ["team"]);
      assert.deepEqual(await store.getTags(arn), [{ key: "team", value: "a" }]);
    });
  });
}
