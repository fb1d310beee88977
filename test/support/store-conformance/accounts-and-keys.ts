/**
 * The conformance tests of accounts and of access keys.
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import type { Account } from "../../../src/store/index.js";
import {
  ACCOUNT,
  INVALID_TOKEN,
  OTHER_ACCOUNT,
  T0,
  accessKey,
  allPages,
  byId,
  invalidToken,
} from "./fixtures.js";
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
      assert.deepEqual(await store.listAccounts(), { items: [] });
      const accounts = [OTHER_ACCOUNT, ACCOUNT].map((id) => ({ id, name: `n${id}`, createdAt: T0 }));
      for (const account of accounts) await store.putAccount(account);
      assert.deepEqual((await store.listAccounts()).items, byId(accounts));
    });

    test("pages accounts in id order with limit, nextToken and prefix", async ({ store }) => {
      const ids = Array.from({ length: 7 }, (_, i) => `10000000000${i}`).concat(["200000000000"]);
      for (const id of [...ids].reverse()) await store.putAccount({ id, name: id, createdAt: T0 });
      const pages = await allPages(3, (nextToken) =>
        store.listAccounts(nextToken === undefined ? { limit: 3 } : { limit: 3, nextToken }),
      );
      assert.deepEqual(
        pages.map((page) => page.length),
        [3, 3, 2],
      );
      assert.deepEqual(
        pages.flat().map((a) => a.id),
        ids,
      );
      const prefixed = await store.listAccounts({ prefix: "1000000000", limit: 100 });
      assert.deepEqual(
        prefixed.items.map((a) => a.id),
        ids.slice(0, 7),
      );
    });

    test("returns at most 100 accounts per page", async ({ store }) => {
      const ids = Array.from({ length: 101 }, (_, i) => String(300000000000 + i));
      for (const id of ids) await store.putAccount({ id, name: id, createdAt: T0 });
      const first = await store.listAccounts({ limit: 500 });
      assert.equal(first.items.length, 100);
      const rest = await store.listAccounts({ nextToken: first.nextToken as string });
      assert.deepEqual(
        [...first.items, ...rest.items].map((a) => a.id),
        ids,
      );
      assert.equal(rest.nextToken, undefined);
    });

    test("rejects a nextToken it did not issue, or issued by the key listing", async ({ store }) => {
      for (const id of [ACCOUNT, OTHER_ACCOUNT]) await store.putAccount({ id, name: id, createdAt: T0 });
      for (const id of ["AKIA1", "AKIA2"]) await store.putAccessKey(accessKey(id));
      const keyToken = (await store.listAccessKeys(undefined, { limit: 1 })).nextToken as string;
      await assert.rejects(store.listAccounts({ nextToken: INVALID_TOKEN }), invalidToken);
      await assert.rejects(store.listAccounts({ nextToken: keyToken }), invalidToken);
      const accountToken = (await store.listAccounts({ limit: 1 })).nextToken as string;
      await assert.rejects(store.listAccessKeys(ACCOUNT, { nextToken: accountToken }), invalidToken);
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
      assert.equal((await store.listAccessKeys()).items.length, 1);
    });

    test("returns undefined for an unknown key", async ({ store }) => {
      assert.equal(await store.getAccessKey("AKIAUNKNOWN"), undefined);
    });

    test("lists the keys of one account, or of all accounts", async ({ store }) => {
      const keys = [accessKey("AKIA3"), accessKey("AKIA1"), accessKey("AKIA2", OTHER_ACCOUNT)];
      for (const key of keys) await store.putAccessKey(key);
      const ids = async (accountId?: string) =>
        (await store.listAccessKeys(accountId)).items.map((k) => k.accessKeyId);
      assert.deepEqual(await ids(ACCOUNT), ["AKIA1", "AKIA3"]);
      assert.deepEqual(await ids(OTHER_ACCOUNT), ["AKIA2"]);
      assert.deepEqual(await ids(), ["AKIA1", "AKIA2", "AKIA3"]);
    });

    test("pages keys, of one account or of all, in id order", async ({ store }) => {
      const ofAccount = ["AKIA01", "AKIA02", "AKIA03", "AKIA04", "AKIA05"];
      const ofOther = ["AKIA00", "AKIA035", "AKIA99"];
      for (const id of [...ofAccount].reverse()) await store.putAccessKey(accessKey(id, ACCOUNT));
      for (const id of ofOther) await store.putAccessKey(accessKey(id, OTHER_ACCOUNT));
      const paged = async (accountId: string | undefined, limit: number) =>
        (
          await allPages(limit, (nextToken) =>
            store.listAccessKeys(accountId, nextToken === undefined ? { limit } : { limit, nextToken }),
          )
        ).map((page) => page.map((k) => k.accessKeyId));
      assert.deepEqual(await paged(ACCOUNT, 2), [["AKIA01", "AKIA02"], ["AKIA03", "AKIA04"], ["AKIA05"]]);
      assert.deepEqual((await paged(undefined, 3)).flat(), [...ofAccount, ...ofOther].sort());
      assert.deepEqual(
        (await store.listAccessKeys(ACCOUNT, { prefix: "AKIA0" })).items.map((k) => k.accessKeyId),
        ofAccount,
      );
    });

    test("deletes a key and reports whether it existed", async ({ store }) => {
      await store.putAccessKey(accessKey("AKIA1"));
      assert.equal(await store.deleteAccessKey("AKIA1"), true);
      assert.equal(await store.getAccessKey("AKIA1"), undefined);
      assert.equal(await store.deleteAccessKey("AKIA1"), false);
    });
  });
}
