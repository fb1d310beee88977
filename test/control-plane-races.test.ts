/**
 * Control-plane calls racing each other on a real server: each outcome must be one that some serial
 * order of the calls gives (found by the concurrency review: a DisableRule undid a PutRule's new
 * pattern, a PutTargets was acknowledged for a rule a DeleteRule removed, ten PutTargets at once left a
 * rule ten targets).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  ListTargetsByRuleCommand,
  PutPermissionCommand,
  DescribeEventBusCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type EventBridgeClient,
} from "@aws-sdk/client-eventbridge";
import { eventBridgeClient, removeDataDir, startBusbar, type BusbarProcess } from "./support/index.js";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PutEventsCommand, RemoveTargetsCommand } from "@aws-sdk/client-eventbridge";
import { openSqliteStore } from "../src/store/index.js";

let server: BusbarProcess;
let events: EventBridgeClient;

before(async () => {
  server = await startBusbar();
  events = eventBridgeClient(server.url);
});

after(async () => {
  events.destroy();
  await server.stop();
  removeDataDir(server.dataDir);
});

/** The call's outcome: its error's name, or "ok". */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "ok",
    (e: Error) => e.name,
  );

const TRIALS = 20;

describe("control-plane calls at the same time", () => {
  it("keep a rule's targets within the limit of five", async () => {
    await events.send(new PutRuleCommand({ Name: "five", EventPattern: '{"source":["s"]}' }));
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        outcome(
          events.send(
            new PutTargetsCommand({
              Rule: "five",
              Targets: [{ Id: `t${i}`, Arn: `https://example.com/${i}` }],
            }),
          ),
        ),
      ),
    );
    assert.equal(results.filter((r) => r === "ok").length, 5, results.join(" "));
    assert.equal(results.filter((r) => r === "LimitExceededException").length, 5, results.join(" "));
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule: "five" }));
    assert.equal(listed.Targets?.length, 5);
  });

  it("never lose a PutRule's new pattern to a DisableRule, nor bring back a deleted rule", async () => {
    for (let i = 0; i < TRIALS; i++) {
      const name = `pattern-${i}`;
      await events.send(new PutRuleCommand({ Name: name, EventPattern: '{"source":["old"]}' }));
      const [put, disable] = await Promise.all([
        outcome(events.send(new PutRuleCommand({ Name: name, EventPattern: '{"source":["new"]}' }))),
        outcome(events.send(new DisableRuleCommand({ Name: name }))),
      ]);
      assert.deepEqual([put, disable], ["ok", "ok"]);
      const rule = await events.send(new DescribeRuleCommand({ Name: name }));
      assert.equal(rule.EventPattern, '{"source":["new"]}', `trial ${i}`);

      const gone = `deleted-${i}`;
      await events.send(new PutRuleCommand({ Name: gone, EventPattern: '{"source":["x"]}' }));
      const State = i % 2 === 0 ? EnableRuleCommand : DisableRuleCommand;
      const [deleted] = await Promise.all([
        outcome(events.send(new DeleteRuleCommand({ Name: gone }))),
        outcome(events.send(new State({ Name: gone }))),
      ]);
      assert.equal(deleted, "ok");
      assert.equal(
        await outcome(events.send(new DescribeRuleCommand({ Name: gone }))),
        "ResourceNotFoundException",
      );
    }
  });

  it("never acknowledge a PutTargets whose rule a DeleteRule removes", async () => {
    for (let i = 0; i < TRIALS; i++) {
      const name = `targets-${i}`;
      await events.send(new PutRuleCommand({ Name: name, EventPattern: '{"source":["x"]}' }));
      const [put, deleted] = await Promise.all([
        outcome(
          events.send(
            new PutTargetsCommand({ Rule: name, Targets: [{ Id: "t", Arn: "https://example.com/" }] }),
          ),
        ),
        outcome(events.send(new DeleteRuleCommand({ Name: name }))),
      ]);
      const exists = await outcome(events.send(new DescribeRuleCommand({ Name: name })));
      // PutTargets first: the rule keeps its target and refuses the delete. DeleteRule first: no rule.
      if (put === "ok") {
        assert.equal(deleted, "ValidationException", `trial ${i}: ${put} ${deleted}`);
        assert.equal(exists, "ok");
      } else {
        assert.deepEqual(
          [put, deleted, exists],
          ["ResourceNotFoundException", "ok", "ResourceNotFoundException"],
        );
      }
    }
  });

  it("keep every PutPermission's statement", async () => {
    const accounts = Array.from({ length: 8 }, (_, i) => `11112222333${i}`);
    await Promise.all(
      accounts.map((Principal, i) =>
        events.send(
          new PutPermissionCommand({ Action: "events:PutEvents", Principal, StatementId: `account-${i}` }),
        ),
      ),
    );
    const bus = await events.send(new DescribeEventBusCommand({}));
    const policy = JSON.parse(bus.Policy ?? "{}") as { Statement?: { Sid: string }[] };
    assert.deepEqual(
      policy.Statement?.map((s) => s.Sid).sort(),
      accounts.map((_, i) => `account-${i}`).sort(),
    );
  });
});

/** A loopback receiver that counts the requests to each path, answering 500 to those under /fail. */
async function receiver(): Promise<{ server: Server; url: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      hits.set(req.url ?? "", (hits.get(req.url ?? "") ?? 0) + 1);
      res.writeHead(req.url?.startsWith("/fail") === true ? 500 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const LOOPBACK = { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8" };

describe("a target removed, then added again under its id", () => {
  it("gets none of the events accepted while the removal ran", async () => {
    const hooks = await receiver();
    const node = await startBusbar({
      env: { ...LOOPBACK, BUSBAR_RETRY_BASE_MS: "20", BUSBAR_RETRY_MAX_MS: "50" },
    });
    const eb = eventBridgeClient(node.url);
    try {
      await eb.send(new PutRuleCommand({ Name: "window", EventPattern: '{"source":["window"]}' }));
      for (let cycle = 0; cycle < 8; cycle++) {
        await eb.send(
          new PutTargetsCommand({
            Rule: "window",
            Targets: [{ Id: "t", Arn: `${hooks.url}/fail/${cycle}` }],
          }),
        );
        // Events accepted before, during and after the removal: none may reach the target added next.
        const puts = Array.from({ length: 40 }, (_, i) =>
          new Promise((r) => setTimeout(r, i % 8)).then(() =>
            eb.send(
              new PutEventsCommand({
                Entries: [{ Source: "window", DetailType: "t", Detail: `{"i":${i}}` }],
              }),
            ),
          ),
        );
        await new Promise((r) => setTimeout(r, 3));
        await eb.send(new RemoveTargetsCommand({ Rule: "window", Ids: ["t"] }));
        await Promise.all(puts);
        await eb.send(
          new PutTargetsCommand({ Rule: "window", Targets: [{ Id: "t", Arn: `${hooks.url}/new/${cycle}` }] }),
        );
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(hooks.hits.get(`/new/${cycle}`) ?? 0, 0, `cycle ${cycle}`);
        await eb.send(new RemoveTargetsCommand({ Rule: "window", Ids: ["t"] }));
      }
    } finally {
      eb.destroy();
      await node.stop();
      removeDataDir(node.dataDir);
      hooks.server.close();
    }
  });

  it("gets none of the deliveries a removal cut short by a crash left behind", async () => {
    const hooks = await receiver();
    // Failed deliveries wait a minute for their retry: they are still pending at the next start.
    const env = { ...LOOPBACK, BUSBAR_RETRY_BASE_MS: "60000" };
    let node = await startBusbar({ env });
    const { dataDir } = node;
    let eb = eventBridgeClient(node.url);
    try {
      await eb.send(new PutRuleCommand({ Name: "crash", EventPattern: '{"source":["crash"]}' }));
      await eb.send(
        new PutTargetsCommand({ Rule: "crash", Targets: [{ Id: "t", Arn: `${hooks.url}/fail/old` }] }),
      );
      for (let i = 0; i < 10; i++)
        await eb.send(
          new PutEventsCommand({ Entries: [{ Source: "crash", DetailType: "t", Detail: "{}" }] }),
        );
      eb.destroy();
      await node.stop();
      // What a crash between the store's removal of the target and the drop of its deliveries leaves.
      const store = openSqliteStore({ dataDir });
      assert.equal(await store.countDeliveries(), 10);
      await store.removeTargets("000000000000", "default", "crash", ["t"]);
      await store.close();
      node = await startBusbar({ dataDir, env });
      eb = eventBridgeClient(node.url);
      await eb.send(
        new PutTargetsCommand({ Rule: "crash", Targets: [{ Id: "t", Arn: `${hooks.url}/new` }] }),
      );
      eb.destroy();
      await node.stop();
      const after = openSqliteStore({ dataDir });
      assert.equal(
        await after.countDeliveries(),
        0,
        "the left deliveries went with the new target's arrival",
      );
      await after.close();
      assert.equal(hooks.hits.get("/new") ?? 0, 0);
    } finally {
      eb.destroy();
      await node.stop();
      removeDataDir(dataDir);
      hooks.server.close();
    }
  });
});
