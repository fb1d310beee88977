/**
 * The conformance suite of the {@link Store} contract, written once and run against every
 * implementation (the embedded SQLite store, the NATS JetStream store). It tests only what the contract
 * in src/store/types.ts promises, never how a store keeps its data.
 *
 * Beyond the JSDoc of the contract, it expects what the list operations of the EventBridge API need:
 * pages in name order of at most `limit` items (default and maximum 100), a `nextToken` exactly when
 * more items follow the page, `prefix` taken literally (no wildcards), and an unissued `nextToken`
 * rejected with an error named `InvalidNextTokenError`.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type {
  AccessKey,
  Account,
  EventBus,
  IngestRecord,
  Page,
  PendingDelivery,
  Rule,
  Store,
  StoredEvent,
  Tag,
  Target,
} from "../../src/store/index.js";

/** An implementation under test, opened on fresh, empty storage. */
export interface StoreUnderTest {
  readonly store: Store;
  /**
   * Opens the same storage again, after the suite has closed `store`. Without it the durability tests
   * are skipped.
   */
  readonly reopen?: () => Promise<Store>;
  /** Removes the storage; called after the suite has closed the last store it opened. */
  readonly cleanup: () => Promise<void>;
}

/** What a test body gets: the open store, and a way to close and reopen it. */
interface Session {
  readonly store: Store;
  /** Closes the store and opens its storage again; returns (and becomes) the new store. */
  reopen(): Promise<Store>;
}

const ACCOUNT = "111111111111";
const OTHER_ACCOUNT = "222222222222";
const T0 = 1_700_000_000_000;
const TARGET_ARN = "arn:aws:sqs:us-east-1:111111111111:orders";
const OTHER_TARGET_ARN = "arn:aws:lambda:us-east-1:111111111111:function:audit";

function busArn(name: string, accountId = ACCOUNT): string {
  return `arn:aws:events:us-east-1:${accountId}:event-bus/${name}`;
}

function bus(name: string, extra: Partial<EventBus> = {}, accountId = ACCOUNT): EventBus {
  return { accountId, name, arn: busArn(name, accountId), createdAt: T0, lastModifiedAt: T0, ...extra };
}

function rule(busName: string, name: string, extra: Partial<Rule> = {}, accountId = ACCOUNT): Rule {
  return {
    accountId,
    busName,
    name,
    arn: `arn:aws:events:us-east-1:${accountId}:rule/${busName}/${name}`,
    eventPattern: JSON.stringify({ source: ["shop"] }),
    state: "ENABLED",
    createdBy: accountId,
    createdAt: T0,
    lastModifiedAt: T0,
    ...extra,
  };
}

function target(id: string, arn = TARGET_ARN): Target {
  return {
    id,
    arn,
    spec: {
      Id: id,
      Arn: arn,
      InputTransformer: { InputPathsMap: { total: "$.detail.total" }, InputTemplate: '{"t": <total>}' },
      RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      SqsParameters: { MessageGroupId: "g" },
      Enabled: true,
    },
  };
}

function event(id: string, ingestedAt = T0, busName = "default"): StoredEvent {
  const envelope = { version: "0", id, "detail-type": "OrderPlaced", source: "shop", account: ACCOUNT };
  const json = JSON.stringify({
    ...envelope,
    time: new Date(T0).toISOString(),
    detail: { id, pad: "x".repeat(64) },
  });
  return { id, accountId: ACCOUNT, busName, time: T0, ingestedAt, json };
}

function delivery(id: string, eventId: string, dueAt: number, ruleName = "orders"): PendingDelivery {
  return {
    id,
    eventId,
    accountId: ACCOUNT,
    busName: "default",
    ruleName,
    targetId: "t1",
    dueAt,
    attempts: 0,
  };
}

/** An event with one delivery per due time, ids `<eventId>/<n>`. */
function record(eventId: string, ingestedAt = T0, dueAts: readonly number[] = [T0]): IngestRecord {
  const deliveries = dueAts.map((dueAt, n) => delivery(`${eventId}/${n}`, eventId, dueAt));
  return { event: event(eventId, ingestedAt), deliveries };
}

function accessKey(accessKeyId: string, accountId = ACCOUNT, extra: Partial<AccessKey> = {}): AccessKey {
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "events:*" }],
  });
  return {
    accessKeyId,
    secretAccessKey: `secret-${accessKeyId}`,
    accountId,
    root: false,
    policies: [policy],
    createdAt: T0,
    ...extra,
  };
}

function byKey(tags: readonly Tag[]): Tag[] {
  return [...tags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function byId<T extends { readonly id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Reads every page of a listing, asserting that none is larger than `limit`. */
async function allPages<T>(limit: number, list: (nextToken?: string) => Promise<Page<T>>): Promise<T[][]> {
  const pages: T[][] = [];
  let token: string | undefined;
  do {
    const page = await list(token);
    assert.ok(page.items.length <= limit, `a page of ${page.items.length} items exceeds the limit ${limit}`);
    pages.push([...page.items]);
    token = page.nextToken;
    assert.ok(pages.length <= 100, "the listing does not end");
  } while (token !== undefined);
  return pages;
}

const INVALID_TOKEN = "*** not a token ***";
const invalidToken = { name: "InvalidNextTokenError" };

/**
 * Registers the conformance tests of the {@link Store} contract under `describe(name)`. `open` is
 * called once per test and must give a store on fresh, empty storage.
 */
export function storeConformance(name: string, open: () => Promise<StoreUnderTest>): void {
  function test(title: string, body: (session: Session) => Promise<void>, needsReopen = false): void {
    it(title, async (t) => {
      const opened = await open();
      let current = opened.store;
      try {
        if (needsReopen && opened.reopen === undefined) {
          t.skip("the implementation cannot reopen its storage");
          return;
        }
        const session: Session = {
          get store() {
            return current;
          },
          async reopen() {
            if (opened.reopen === undefined) throw new Error("reopen is not supported");
            await current.close();
            current = await opened.reopen();
            return current;
          },
        };
        await body(session);
      } finally {
        await current.close();
        await opened.cleanup();
      }
    });
  }

  describe(name, () => {
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
        assert.deepEqual(Object.keys(read).sort(), [
          "accountId",
          "arn",
          "createdAt",
          "lastModifiedAt",
          "name",
        ]);
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
          store.listRules(
            ACCOUNT,
            "orders",
            nextToken === undefined ? { limit: 3 } : { limit: 3, nextToken },
          ),
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

      test("deletes a rule with its targets", async ({ store }) => {
        await store.createBus(bus("orders"));
        await store.putRule(rule("orders", "r1"));
        await store.putRule(rule("orders", "r2"));
        await store.putTargets(ACCOUNT, "orders", "r1", [target("t1")]);
        await store.putTargets(ACCOUNT, "orders", "r2", [target("t1")]);
        assert.equal(await store.deleteRule(ACCOUNT, "orders", "r1"), true);
        assert.equal(await store.getRule(ACCOUNT, "orders", "r1"), undefined);
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
        await store.appendEvents([
          record("e1", T0, [T0 + 30, T0 + 10]),
          record("e2", T0, [T0 + 20, T0 + 40]),
        ]);
        const due = async (dueBy: number, limit: number) =>
          (await store.listDueDeliveries(dueBy, limit)).map((d) => d.dueAt - T0);
        assert.deepEqual(await due(T0 + 30, 10), [10, 20, 30]);
        assert.deepEqual(await due(T0 + 100, 2), [10, 20]);
        assert.deepEqual(await due(T0 + 9, 10), []);
        const [first] = await store.listDueDeliveries(T0 + 10, 1);
        assert.deepEqual(first, delivery("e1/1", "e1", T0 + 10));
      });

      test("deletes the events ingested before a time and returns how many", async ({ store }) => {
        await store.appendEvents([record("e1", T0), record("e2", T0 + 1), record("e3", T0 + 2)]);
        assert.equal(await store.deleteEventsBefore(T0 + 2), 2);
        assert.equal(await store.getEvent("e1"), undefined);
        assert.equal(await store.getEvent("e2"), undefined);
        assert.deepEqual(await store.getEvent("e3"), event("e3", T0 + 2));
        assert.equal(await store.countEvents(), 1);
        assert.equal(await store.deleteEventsBefore(T0), 0);
      });
    });

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
  });
}
