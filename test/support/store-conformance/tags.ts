/**
 * The conformance tests of resource tags.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import { busArn, byKey } from "./fixtures.js";
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

    test("keeps the tags of different ARNs apart", async ({ store }) => {
      await store.tagResource(arn, [{ key: "team", value: "a" }]);
      await store.tagResource(busArn("other"), [{ key: "team", value: "b" }]);
      await store.untagResource(busArn("other"), ["team"]);
      assert.deepEqual(await store.getTags(arn), [{ key: "team", value: "a" }]);
    });
  });
}
