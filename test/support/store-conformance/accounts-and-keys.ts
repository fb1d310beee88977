/**
 * The conformance tests of accounts and of access keys.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import type { Account } from "../../../src/store/index.js";
import { ACCOUNT, OTHER_ACCOUNT, T0, accessKey, byId } from "./fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/**
 * Registers the tests of accounts and access keys. `open` is called once per test.
 */
export function accountsAndKeysTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("accounts", () => {
    test("creates an account and reads it back", async ({ store }) => {
      const account: Account = { id: ACCOUNT, name: "main", createdAt: T0 };
      assert.equal(await store.putAccount(account), true);
      assert.deepEqual(await store.getAccount(ACCOUNT), account);
    });

    test("refuses to create an account whose id exists, keeping the first", async ({ store }) => {
      await store.putAccount({ id: ACCOUNT, name: "first", createdAt: T0 });
      assert.equal(await store.putAccount({ id: ACCOUNT, name: "second", createdAt: T0 + 1 }), false);
      assert.deepEqual(await store.getAccount(ACCOUNT), { id: ACCOUNT, name: "first", createdAt: T0 });
    });

    test("returns undefined for an unknown account", async ({ store }) => {
      assert.equal(await store.getAccount("999999999999"), undefined);
    });

    test("lists every account", async ({ store }) => {
      assert.deepEqual(await store.listAccounts(), []);
      const accounts = [OTHER_ACCOUNT, ACCOUNT].map((id) => ({ id, name: `n${id}`, createdAt: T0 }));
      for (const account of accounts) await store.putAccount(account);
      assert.deepEqual(byId(await store.listAccounts()), byId(accounts));
    });
  });

  describe("access keys", () => {
    test("stores a key with its policies and reads it back", async ({ store }) => {
      const key = accessKey("AKIAEXAMPLE1", ACCOUNT, { root: true, policies: ["{}", '{"a":1}'] });
      await store.putAccessKey(key);
      assert.deepEqual(await store.getAccessKey("AKIAEXAMPLE1"), key);
    });

    test("replaces a key with the same id", async ({ store }) => {
      await store.putAccessKey(accessKey("AKIAEXAMPLE1"));
      const replaced = accessKey("AKIAEXAMPLE1", ACCOUNT, { secretAccessKey: "rotated", policies: [] });
      await store.putAccessKey(replaced);
      assert.deepEqual(await store.getAccessKey("AKIAEXAMPLE1"), replaced);
      assert.equal((await store.listAccessKeys()).length, 1);
    });

    test("returns undefined for an unknown key", async ({ store }) => {
      assert.equal(await store.getAccessKey("AKIAUNKNOWN"), undefined);
    });

    test("lists the keys of one account, or of all accounts", async ({ store }) => {
      const keys = [accessKey("AKIA3"), accessKey("AKIA1"), accessKey("AKIA2", OTHER_ACCOUNT)];
      for (const key of keys) await store.putAccessKey(key);
      const ofAccount = await store.listAccessKeys(ACCOUNT);
      assert.deepEqual(ofAccount.map((k) => k.accessKeyId).sort(), ["AKIA1", "AKIA3"]);
      assert.deepEqual(
        (await store.listAccessKeys(OTHER_ACCOUNT)).map((k) => k.accessKeyId),
        ["AKIA2"],
      );
      const all = await store.listAccessKeys();
      assert.deepEqual(all.map((k) => k.accessKeyId).sort(), ["AKIA1", "AKIA2", "AKIA3"]);
    });

    test("deletes a key and reports whether it existed", async ({ store }) => {
      await store.putAccessKey(accessKey("AKIA1"));
      assert.equal(await store.deleteAccessKey("AKIA1"), true);
      assert.equal(await store.getAccessKey("AKIA1"), undefined);
      assert.equal(await store.deleteAccessKey("AKIA1"), false);
    });
  });
}
