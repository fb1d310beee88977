/**
 * BUSBAR_MAX_RULE_CONDITIONS on a real `busbar serve`: the field conditions one account's rules may
 * hold in all, over every `$or` combination, enforced by PutRule (LimitExceededException), counted
 * again from the store at start-up.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DisableRuleCommand,
  PutRuleCommand,
  TestEventPatternCommand,
  type EventBridgeClient,
} from "@aws-sdk/client-eventbridge";
import {
  eventBridgeClient,
  removeDataDir,
  startBusbar,
  type BusbarProcess,
} from "./support/busbar-process.js";
import { printedJson, runBusbar } from "./support/index.js";

const LIMIT = 10;
let server: BusbarProcess;
let eb: EventBridgeClient;

/** A pattern of `n` field conditions (`$or` combinations each count their own). */
const fields = (n: number): string =>
  JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, ["x"]])));

const start = async (dataDir?: string): Promise<void> => {
  server = await startBusbar({
    env: { BUSBAR_MAX_RULE_CONDITIONS: String(LIMIT) },
    ...(dataDir !== undefined && { dataDir }),
  });
  eb = eventBridgeClient(server.url);
};

before(() => start());

after(async () => {
  eb.destroy();
  await server.stop();
  removeDataDir(server.dataDir);
});

const refused = (name: string, pattern: string, busName?: string) =>
  assert.rejects(
    eb.send(new PutRuleCommand({ Name: name, EventPattern: pattern, EventBusName: busName })),
    (e: Error) => {
      assert.equal(e.name, "LimitExceededException", e.message);
      assert.match(
        e.message,
        /would hold \d+ field conditions in all .*more than the limit of 10 \(BUSBAR_MAX_RULE_CONDITIONS\)/,
      );
      return true;
    },
  );

describe("BUSBAR_MAX_RULE_CONDITIONS", () => {
  it("refuses a rule that would take an account's rules past it, over all its buses, disabled rules too", async () => {
    await eb.send(new PutRuleCommand({ Name: "four", EventPattern: fields(4) }));
    await eb.send(new CreateEventBusCommand({ Name: "other" }));
    await eb.send(new PutRuleCommand({ Name: "three", EventPattern: fields(3), EventBusName: "other" }));
    await eb.send(new DisableRuleCommand({ Name: "three", EventBusName: "other" }));
    // 4 + 3 held: 4 more would be 11.
    await refused("more", fields(4));
    // $or combinations count their own fields: 2 combinations of 2 fields.
    await refused("or", JSON.stringify({ a: ["x"], $or: [{ b: ["y"] }, { c: ["z"] }] }));
    await eb.send(new PutRuleCommand({ Name: "exactly", EventPattern: fields(3) }));
    // A rule replaced counts once: "four" down to one frees three.
    await eb.send(new PutRuleCommand({ Name: "four", EventPattern: fields(1) }));
    await eb.send(new PutRuleCommand({ Name: "more", EventPattern: fields(3) }));
    await refused("one", fields(1));
  });

  it("gives back what a deleted rule or bus held, and counts each account apart", async () => {
    await eb.send(new DeleteRuleCommand({ Name: "more" }));
    await eb.send(new PutRuleCommand({ Name: "again", EventPattern: fields(3) }));
    await eb.send(new DeleteEventBusCommand({ Name: "other" }));
    await eb.send(new PutRuleCommand({ Name: "freed", EventPattern: fields(3) }));
    // Held now: four 1 + exactly 3 + again 3 + freed 3 = 10.
    await refused("over", fields(1));
    const b = printedJson<{ accessKeyId: string; secretAccessKey: string }>(
      runBusbar(["accounts", "create", "--data-dir", server.dataDir]),
    );
    const other = eventBridgeClient(server.url, b);
    await other.send(new PutRuleCommand({ Name: "theirs", EventPattern: fields(10) }));
    other.destroy();
  });

  it("counts the rules in the store again when it starts", async () => {
    const dataDir = server.dataDir;
    eb.destroy();
    await server.stop();
    await start(dataDir);
    await refused("over", fields(1));
  });
});

describe("BUSBAR_MAX_RULES_PER_BUS, BUSBAR_MAX_BUSES_PER_ACCOUNT and BUSBAR_MAX_PATTERN_LENGTH", () => {
  let quotas: BusbarProcess;
  let client: EventBridgeClient;
  before(async () => {
    quotas = await startBusbar({
      env: {
        BUSBAR_MAX_RULES_PER_BUS: "3",
        BUSBAR_MAX_BUSES_PER_ACCOUNT: "2",
        BUSBAR_MAX_PATTERN_LENGTH: "4096",
      },
    });
    client = eventBridgeClient(quotas.url);
  });
  after(async () => {
    client.destroy();
    await quotas.stop();
    removeDataDir(quotas.dataDir);
  });

  const limited = (call: Promise<unknown>, quota: RegExp) =>
    assert.rejects(call, (e: Error) => {
      assert.equal(e.name, "LimitExceededException", e.message);
      assert.match(e.message, quota);
      return true;
    });

  it("takes patterns up to BUSBAR_MAX_PATTERN_LENGTH characters (EventBridge's quota raised), in rules and tests", async () => {
    const padded = (length: number) => {
      const head = '{"source":["';
      const tail = '"]}';
      return head + "s".repeat(length - head.length - tail.length) + tail;
    };
    await client.send(new PutRuleCommand({ Name: "long", EventPattern: padded(4096) }));
    await client.send(new DeleteRuleCommand({ Name: "long" }));
    const tested = await client.send(
      new TestEventPatternCommand({
        EventPattern: padded(3000),
        Event: JSON.stringify({
          id: "1",
          account: "000000000000",
          source: "s".repeat(3000 - 15),
          time: "2026-01-01T00:00:00Z",
          region: "us-east-1",
          resources: [],
          "detail-type": "t",
          detail: {},
        }),
      }),
    );
    assert.equal(tested.Result, true);
  });

  it("refuses a rule past the bus's limit, but not a rule replaced, and counts each bus apart", async () => {
    for (const name of ["r1", "r2", "r3"])
      await client.send(new PutRuleCommand({ Name: name, EventPattern: fields(1) }));
    await limited(
      client.send(new PutRuleCommand({ Name: "r4", EventPattern: fields(1) })),
      /event bus default has 3 rules, and the limit is 3 \(BUSBAR_MAX_RULES_PER_BUS\)/,
    );
    await client.send(new PutRuleCommand({ Name: "r3", EventPattern: fields(2) }));
    await client.send(new DeleteRuleCommand({ Name: "r1" }));
    await client.send(new PutRuleCommand({ Name: "r4", EventPattern: fields(1) }));
  });

  it("refuses a bus past the account's limit, its default bus counted, until one is deleted", async () => {
    await client.send(new CreateEventBusCommand({ Name: "second" }));
    await limited(
      client.send(new CreateEventBusCommand({ Name: "third" })),
      /has 2 event buses, its default bus included, and the limit is 2 \(BUSBAR_MAX_BUSES_PER_ACCOUNT\)/,
    );
    await assert.rejects(client.send(new CreateEventBusCommand({ Name: "second" })), {
      name: "ResourceAlreadyExistsException",
    });
    await client.send(
      new PutRuleCommand({ Name: "on-second", EventPattern: fields(1), EventBusName: "second" }),
    );
    await client.send(new DeleteRuleCommand({ Name: "on-second", EventBusName: "second" }));
    await client.send(new DeleteEventBusCommand({ Name: "second" }));
    await client.send(new CreateEventBusCommand({ Name: "third" }));
  });

  it("counts the default bus of an account made while the server runs", async () => {
    const made = printedJson<{ accessKeyId: string; secretAccessKey: string }>(
      runBusbar(["accounts", "create", "--data-dir", quotas.dataDir]),
    );
    const other = eventBridgeClient(quotas.url, made);
    try {
      await other.send(new CreateEventBusCommand({ Name: "second" }));
      await limited(
        other.send(new CreateEventBusCommand({ Name: "third" })),
        /has 2 event buses, its default bus included/,
      );
    } finally {
      other.destroy();
    }
  });

  it("names the count, not the limit, when a restart lowered the limit below what a bus holds", async () => {
    client.destroy();
    await quotas.stop();
    quotas = await startBusbar({
      dataDir: quotas.dataDir,
      env: { BUSBAR_MAX_RULES_PER_BUS: "1", BUSBAR_MAX_BUSES_PER_ACCOUNT: "1" },
    });
    client = eventBridgeClient(quotas.url);
    await limited(
      client.send(new PutRuleCommand({ Name: "r5", EventPattern: fields(1) })),
      /event bus default has 3 rules, and the limit is 1 \(BUSBAR_MAX_RULES_PER_BUS\)/,
    );
    // A rule it holds can still be changed.
    await client.send(new PutRuleCommand({ Name: "r2", EventPattern: fields(2) }));
    await limited(
      client.send(new CreateEventBusCommand({ Name: "fourth" })),
      /has 2 event buses, its default bus included, and the limit is 1 \(BUSBAR_MAX_BUSES_PER_ACCOUNT\)/,
    );
  });
});
