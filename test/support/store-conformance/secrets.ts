/**
 * The conformance tests of secrets: opaque text by key, created or replaced, read and deleted.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import { sessionTest, type OpenStore } from "./session.js";

/** Registers the tests; `open` is called once per test. */
export function secretTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("secrets", () => {
    test("puts a secret and reads it back; a missing key has none", async ({ store }) => {
      await store.putSecret("webhook/t1", "sealed:one");
      await store.putSecret("webhook/t2", "sealed:two");
      assert.equal(await store.getSecret("webhook/t1"), "sealed:one");
      assert.equal(await store.getSecret("webhook/t2"), "sealed:two");
      assert.equal(await store.getSecret("webhook/t3"), undefined);
      assert.equal(await store.getSecret("webhook/"), undefined, "keys are not prefixes");
    });

    test("replaces the secret of a key", async ({ store }) => {
      await store.putSecret("k", "old");
      await store.putSecret("k", "new");
      assert.equal(await store.getSecret("k"), "new");
    });

    test("deletes a secret, and returns false when there was none", async ({ store }) => {
      await store.putSecret("k", "v");
      await store.putSecret("keep", "v");
      assert.equal(await store.deleteSecret("k"), true);
      assert.equal(await store.getSecret("k"), undefined);
      assert.equal(await store.deleteSecret("k"), false);
      assert.equal(await store.deleteSecret("never"), false);
      assert.equal(await store.getSecret("keep"), "v");
      await store.putSecret("k", "again");
      assert.equal(await store.getSecret("k"), "again");
    });

    test(
      "keeps secrets after reopening",
      async (session) => {
        await session.store.putSecret("k", "v".repeat(10_000));
        const store = await session.reopen();
        assert.equal(await store.getSecret("k"), "v".repeat(10_000));
      },
      true,
    );
  });
}
