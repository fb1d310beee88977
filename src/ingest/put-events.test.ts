import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RuleRegistry } from "../buses/index.js";
import { DEFAULT_PATTERN_LIMITS } from "../patterns/index.js";
import type { EventBus } from "../store/index.js";
import type { GroupCommitter } from "./group-commit.js";
import { putEvents, YIELD_AFTER_MATCH_STEPS } from "./put-events.js";

const ACCOUNT = "000000000000";

/** A registry holding ACCOUNT's default bus. */
function defaultBus(): RuleRegistry {
  const registry = new RuleRegistry(DEFAULT_PATTERN_LIMITS);
  const bus: EventBus = {
    accountId: ACCOUNT,
    name: "default",
    arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`,
    createdAt: 0,
    lastModifiedAt: 0,
  };
  registry.setBus(bus);
  return registry;
}

describe("putEvents", () => {
  it("lets other work run between the entries of a request once their matching grows costly", async () => {
    const registry = defaultBus();
    // 700 wildcards that start with a star: each reads the whole of a value (a step per 32 characters).
    for (let r = 0; r < 10; r++) {
      const stars = Array.from({ length: 70 }, (_, k) => ({ wildcard: `*ab*${r}_${k}*x` }));
      registry.setRule({
        accountId: ACCOUNT,
        busName: "default",
        name: `wild-${r}`,
        arn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/wild-${r}`,
        eventPattern: JSON.stringify({ detail: { d: stars } }),
        state: "ENABLED",
        createdBy: ACCOUNT,
        createdAt: 0,
        lastModifiedAt: 0,
      });
    }
    const order: string[] = [];
    const ctx = {
      registry,
      committer: { commit: () => Promise.resolve() } as unknown as GroupCommitter,
      region: "us-east-1",
      accountId: ACCOUNT,
      mayPut: () => {
        order.push("entry");
        return true;
      },
    };
    const entry = (d: string) => ({ Source: "s", DetailType: "t", Detail: JSON.stringify({ d }) });
    const run = async (d: string): Promise<string[]> => {
      order.length = 0;
      setImmediate(() => order.push("other work"));
      const results = await putEvents(ctx, [entry(d), entry(d), entry(d)]);
      assert.ok(results.every((r) => "EventId" in r));
      await new Promise((resolve) => setImmediate(resolve));
      return [...order];
    };
    // Cheap entries: the request is taken whole, in one turn.
    assert.deepEqual(await run("short"), ["entry", "entry", "entry", "other work"]);
    // Each of these takes some 300,000 steps, more than YIELD_AFTER_MATCH_STEPS: a turn after each.
    assert.ok(700 * (14_000 / 32) > YIELD_AFTER_MATCH_STEPS);
    const costly = await run("a".repeat(14_000));
    assert.deepEqual(costly.slice(0, 3), ["entry", "other work", "entry"]);
  });

  it("reads a Time without an offset as UTC, whatever the server's time zone", async () => {
    const registry = defaultBus();
    const committed: { event: { json: string } }[] = [];
    const ctx = {
      registry,
      committer: {
        commit: (records: typeof committed) => {
          committed.push(...records);
          return Promise.resolve();
        },
      } as unknown as GroupCommitter,
      region: "us-east-1",
      accountId: ACCOUNT,
      mayPut: () => true,
    };
    const zone = process.env["TZ"];
    process.env["TZ"] = "Asia/Tokyo";
    try {
      const times = [
        "2024-01-02T03:04:05",
        "2024-01-02 03:04:05",
        "2024-01-02T03:04:05.250",
        "2024-01-02T03:04:05Z",
      ];
      const results = await putEvents(
        ctx,
        times.map((Time) => ({ Source: "s", DetailType: "t", Detail: "{}", Time })),
      );
      assert.ok(results.every((r) => "EventId" in r));
      assert.deepEqual(
        committed.map((r) => (JSON.parse(r.event.json) as { time: string }).time),
        times.map(() => "2024-01-02T03:04:05Z"),
      );
    } finally {
      if (zone === undefined) delete process.env["TZ"];
      else process.env["TZ"] = zone;
    }
  });
});
