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
