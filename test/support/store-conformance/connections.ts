/**
 * The conformance tests of connections and API destinations: create, read, update, delete, and list
 * (paged, by prefix, filtered by a connection's state or an API destination's connection).
 */
import { describe } from "node:test";
import assert from "node:assert/strict";
import type { ApiDestination, Connection, Page } from "../../../src/store/index.js";
import { ACCOUNT, OTHER_ACCOUNT, T0, INVALID_TOKEN, allPages, invalidToken } from "./fixtures.js";
import { sessionTest, type OpenStore } from "./session.js";

/** A connection of an account, authorized, with API-key parameters, and `extra` merged in. */
function connection(name: string, extra: Partial<Connection> = {}, accountId = ACCOUNT): Connection {
  return {
    accountId,
    name,
    arn: connectionArn(name, accountId),
    authorizationType: "API_KEY",
    state: "AUTHORIZED",
    authParameters: `sealed:${name}`,
    createdAt: T0,
    lastModifiedAt: T0,
    ...extra,
  };
}

/** The ARN of connection `name` of an account. */
function connectionArn(name: string, accountId = ACCOUNT): string {
  return `arn:aws:events:us-east-1:${accountId}:connection/${name}/0b9c1f52-5c6e-4d7b-9a43-2f1e0d6c7b8a`;
}

/** An API destination of an account through connection `c1`, and `extra` merged in. */
function destination(name: string, extra: Partial<ApiDestination> = {}, accountId = ACCOUNT): ApiDestination {
  return {
    accountId,
    name,
    arn: `arn:aws:events:us-east-1:${accountId}:api-destination/${name}/7d3e5a10-8f2b-4c61-b0e9-5a4d3c2b1f00`,
    connectionArn: connectionArn("c1", accountId),
    invocationEndpoint: `https://example.com/hooks/${name}`,
    httpMethod: "POST",
    invocationRateLimitPerSecond: 300,
    state: "ACTIVE",
    createdAt: T0,
    lastModifiedAt: T0,
    ...extra,
  };
}

/** The names of every item of a listing read `limit` at a time. */
async function pagedNames<T extends { readonly name: string }>(
  limit: number,
  list: (options: { limit: number; nextToken?: string }) => Promise<Page<T>>,
): Promise<string[]> {
  const pages = await allPages(limit, (nextToken) =>
    list(nextToken === undefined ? { limit } : { limit, nextToken }),
  );
  return pages.flat().map((item) => item.name);
}

/** Registers the tests; `open` is called once per test. */
export function connectionTests(open: OpenStore): void {
  const test = sessionTest(open);

  describe("connections", () => {
    test("creates a connection and reads it back, optional fields present or absent", async ({ store }) => {
      const full = connection("full", {
        description: "Partner API",
        authorizationType: "OAUTH_CLIENT_CREDENTIALS",
        state: "DEAUTHORIZED",
        stateReason: "token endpoint returned 401",
        lastModifiedAt: T0 + 1,
        lastAuthorizedAt: T0 + 2,
      });
      assert.equal(await store.createConnection(full), true);
      assert.deepEqual(await store.getConnection(ACCOUNT, "full"), full);
      await store.createConnection(connection("bare"));
      const bare = await store.getConnection(ACCOUNT, "bare");
      assert.deepEqual(bare, connection("bare"));
      assert.ok(bare !== undefined && !("description" in bare) && !("lastAuthorizedAt" in bare));
      assert.equal(await store.getConnection(ACCOUNT, "missing"), undefined);
    });

    test("refuses a duplicate connection name in an account, keeping the first; accounts are apart", async ({
      store,
    }) => {
      await store.createConnection(connection("c1", { description: "first" }));
      assert.equal(await store.createConnection(connection("c1", { description: "second" })), false);
      assert.equal((await store.getConnection(ACCOUNT, "c1"))?.description, "first");
      assert.equal(await store.createConnection(connection("c1", {}, OTHER_ACCOUNT)), true);
      assert.deepEqual(await store.getConnection(OTHER_ACCOUNT, "c1"), connection("c1", {}, OTHER_ACCOUNT));
    });

    test("updates a connection, removing optional fields, and refuses a missing one", async ({ store }) => {
      await store.createConnection(connection("c1", { description: "old", lastAuthorizedAt: T0 }));
      const updated = connection("c1", {
        authorizationType: "BASIC",
        state: "DEAUTHORIZING",
        authParameters: "sealed:new",
        lastModifiedAt: T0 + 5,
      });
      assert.equal(await store.updateConnection(updated), true);
      assert.deepEqual(await store.getConnection(ACCOUNT, "c1"), updated);
      assert.equal(await store.updateConnection(connection("ghost")), false);
      assert.equal(await store.getConnection(ACCOUNT, "ghost"), undefined);
    });

    test("deletes a connection, and returns false for a missing one", async ({ store }) => {
      await store.createConnection(connection("c1"));
      await store.createConnection(connection("c2"));
      assert.equal(await store.deleteConnection(ACCOUNT, "c1"), true);
      assert.equal(await store.getConnection(ACCOUNT, "c1"), undefined);
      assert.equal(await store.deleteConnection(ACCOUNT, "c1"), false);
      assert.equal(await store.deleteConnection(OTHER_ACCOUNT, "c2"), false);
      assert.deepEqual(await store.getConnection(ACCOUNT, "c2"), connection("c2"));
      assert.equal(await store.createConnection(connection("c1")), true, "the name is free again");
    });

    test("lists the connections of an account in name order, paged, by prefix and state", async ({
      store,
    }) => {
      const names = ["c1", "c2", "c3", "c4", "c5", "d1"];
      for (const n of [...names].reverse()) {
        await store.createConnection(
          connection(n, n === "c2" || n === "c5" ? { state: "DEAUTHORIZED" } : {}),
        );
      }
      await store.createConnection(connection("c0", {}, OTHER_ACCOUNT));
      const all = await store.listConnections(ACCOUNT);
      assert.deepEqual(
        all.items.map((c) => c.name),
        names,
      );
      assert.equal(all.nextToken, undefined);
      assert.deepEqual(all.items[1], connection("c2", { state: "DEAUTHORIZED" }));
      assert.deepEqual(await pagedNames(2, (o) => store.listConnections(ACCOUNT, o)), names);
      assert.deepEqual(await pagedNames(2, (o) => store.listConnections(ACCOUNT, { ...o, prefix: "c" })), [
        "c1",
        "c2",
        "c3",
        "c4",
        "c5",
      ]);
      const authorized = (o: { limit: number; nextToken?: string }) =>
        store.listConnections(ACCOUNT, { ...o, prefix: "c", state: "AUTHORIZED" });
      assert.deepEqual(await pagedNames(1, authorized), ["c1", "c3", "c4"]);
      const deauthorized = await store.listConnections(ACCOUNT, { state: "DEAUTHORIZED" });
      assert.deepEqual(
        deauthorized.items.map((c) => c.name),
        ["c2", "c5"],
      );
      assert.deepEqual((await store.listConnections(ACCOUNT, { state: "CREATING" })).items, []);
      assert.deepEqual((await store.listConnections(ACCOUNT, { prefix: "c_" })).items, []);
      await assert.rejects(store.listConnections(ACCOUNT, { nextToken: INVALID_TOKEN }), invalidToken);
    });

    test(
      "keeps connections after reopening",
      async (session) => {
        const c = connection("c1", { description: "d", lastAuthorizedAt: T0 });
        await session.store.createConnection(c);
        const store = await session.reopen();
        assert.deepEqual(await store.getConnection(ACCOUNT, "c1"), c);
      },
      true,
    );
  });

  describe("API destinations", () => {
    test("creates an API destination and reads it back, description present or absent", async ({ store }) => {
      const full = destination("full", {
        description: "Orders webhook",
        httpMethod: "PUT",
        invocationRateLimitPerSecond: 5,
        state: "INACTIVE",
        lastModifiedAt: T0 + 1,
      });
      assert.equal(await store.createApiDestination(full), true);
      assert.deepEqual(await store.getApiDestination(ACCOUNT, "full"), full);
      await store.createApiDestination(destination("bare"));
      const bare = await store.getApiDestination(ACCOUNT, "bare");
      assert.deepEqual(bare, destination("bare"));
      assert.ok(bare !== undefined && !("description" in bare));
      assert.equal(await store.getApiDestination(ACCOUNT, "missing"), undefined);
    });

    test("refuses a duplicate API destination name in an account, keeping the first", async ({ store }) => {
      await store.createApiDestination(destination("d1", { httpMethod: "GET" }));
      assert.equal(await store.createApiDestination(destination("d1", { httpMethod: "POST" })), false);
      assert.equal((await store.getApiDestination(ACCOUNT, "d1"))?.httpMethod, "GET");
      assert.equal(await store.createApiDestination(destination("d1", {}, OTHER_ACCOUNT)), true);
    });

    test("updates an API destination, removing the description, and refuses a missing one", async ({
      store,
    }) => {
      await store.createApiDestination(destination("d1", { description: "old" }));
      const updated = destination("d1", {
        connectionArn: connectionArn("c2"),
        invocationEndpoint: "https://example.com/v2",
        invocationRateLimitPerSecond: 10,
        lastModifiedAt: T0 + 5,
      });
      assert.equal(await store.updateApiDestination(updated), true);
      assert.deepEqual(await store.getApiDestination(ACCOUNT, "d1"), updated);
      assert.equal(await store.updateApiDestination(destination("ghost")), false);
      assert.equal(await store.getApiDestination(ACCOUNT, "ghost"), undefined);
    });

    test("deletes an API destination, and returns false for a missing one", async ({ store }) => {
      await store.createApiDestination(destination("d1"));
      assert.equal(await store.deleteApiDestination(ACCOUNT, "d1"), true);
      assert.equal(await store.getApiDestination(ACCOUNT, "d1"), undefined);
      assert.equal(await store.deleteApiDestination(ACCOUNT, "d1"), false);
    });

    test("lists the API destinations of an account in name order, paged, by prefix and connection", async ({
      store,
    }) => {
      const names = ["a1", "a2", "a3", "a4", "a5", "b1"];
      for (const n of [...names].reverse()) {
        const through = n === "a2" || n === "a4" || n === "b1" ? connectionArn("c2") : connectionArn("c1");
        await store.createApiDestination(destination(n, { connectionArn: through }));
      }
      await store.createApiDestination(destination("a0", {}, OTHER_ACCOUNT));
      const all = await store.listApiDestinations(ACCOUNT);
      assert.deepEqual(
        all.items.map((d) => d.name),
        names,
      );
      assert.equal(all.nextToken, undefined);
      assert.deepEqual(all.items[0], destination("a1"));
      assert.deepEqual(await pagedNames(2, (o) => store.listApiDestinations(ACCOUNT, o)), names);
      const ofC2 = (o: { limit: number; nextToken?: string }) =>
        store.listApiDestinations(ACCOUNT, { ...o, connectionArn: connectionArn("c2") });
      assert.deepEqual(await pagedNames(1, ofC2), ["a2", "a4", "b1"]);
      const ofC2ByPrefix = (o: { limit: number; nextToken?: string }) =>
        store.listApiDestinations(ACCOUNT, { ...o, prefix: "a", connectionArn: connectionArn("c2") });
      assert.deepEqual(await pagedNames(1, ofC2ByPrefix), ["a2", "a4"]);
      assert.deepEqual(
        await pagedNames(2, (o) => store.listApiDestinations(ACCOUNT, { ...o, prefix: "a" })),
        ["a1", "a2", "a3", "a4", "a5"],
      );
      const none = await store.listApiDestinations(ACCOUNT, { connectionArn: connectionArn("c9") });
      assert.deepEqual(none.items, []);
      await assert.rejects(store.listApiDestinations(ACCOUNT, { nextToken: INVALID_TOKEN }), invalidToken);
    });

    test(
      "keeps API destinations after reopening",
      async (session) => {
        const d = destination("d1", { description: "d" });
        await session.store.createApiDestination(d);
        const store = await session.reopen();
        assert.deepEqual(await store.getApiDestination(ACCOUNT, "d1"), d);
      },
      true,
    );
  });
}
