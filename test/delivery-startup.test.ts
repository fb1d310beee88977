/**
 * A server started on a backlog of pending deliveries listens at once: the start-up walk of the
 * store goes on in the background. It used to keep the port closed until the walk ended: with healthy
 * targets, until most of the backlog was delivered (here ~2,000 of 6,000; 100,000 took 8.6 s).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DescribeRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { callAwsJson, eventBridgeClient, removeDataDir, startBusbar, TEST_ROOT } from "./support/index.js";

const EVENTS = 6_000;

/** A loopback webhook receiver that answers 200 and counts the requests it got. */
async function countingReceiver(): Promise<{ receiver: Server; url: string; received: () => number }> {
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  return { receiver, url, received: () => received };
}

describe("start-up with pending deliveries", () => {
  it("listens while the backlog is walked in and delivered, and delivers all of it", async () => {
    const { receiver, url, received } = await countingReceiver();
    const env = { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8" };
    const first = await startBusbar({ env: { ...env, BUSBAR_DELIVERY: "off" } });
    try {
      const eb = eventBridgeClient(first.url);
      await eb.send(new PutRuleCommand({ Name: "r", EventPattern: '{"source":["s"]}' }));
      await eb.send(new PutTargetsCommand({ Rule: "r", Targets: [{ Id: "t", Arn: url }] }));
      for (let i = 0; i < EVENTS; i += 10) {
        const put = await eb.send(
          new PutEventsCommand({
            Entries: Array.from({ length: 10 }, () => ({ Source: "s", DetailType: "d", Detail: "{}" })),
          }),
        );
        assert.equal(put.FailedEntryCount, 0);
      }
      eb.destroy();
      assert.equal(await first.stop(), 0);

      const second = await startBusbar({ dataDir: first.dataDir, env });
      try {
        const atListen = received();
        assert.ok(atListen < 500, `${atListen} of ${EVENTS} delivered before the server listened`);
        const deadline = Date.now() + 60_000;
        while (received() < EVENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.equal(received(), EVENTS, "every pending delivery delivered");
        assert.match(second.output(), /start-up walk of the pending deliveries done/);
      } finally {
        await second.stop();
      }
    } finally {
      removeDataDir(first.dataDir);
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  it("delivers what a stored rule that a newer limit refuses had matched, and matches nothing new with it", async () => {
    const { receiver, url, received } = await countingReceiver();
    const env = { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8" };
    const put = async (eb: ReturnType<typeof eventBridgeClient>): Promise<void> => {
      const r = await eb.send(
        new PutEventsCommand({
          Entries: Array.from({ length: 5 }, () => ({ Source: "s", DetailType: "d", Detail: "{}" })),
        }),
      );
      assert.equal(r.FailedEntryCount, 0);
    };
    const first = await startBusbar({ env: { ...env, BUSBAR_DELIVERY: "off" } });
    try {
      const eb = eventBridgeClient(first.url);
      await eb.send(new PutRuleCommand({ Name: "old", EventPattern: '{"source":["s"]}' }));
      await eb.send(new PutTargetsCommand({ Rule: "old", Targets: [{ Id: "t", Arn: url }] }));
      await put(eb);
      eb.destroy();
      assert.equal(await first.stop(), 0);
      // What an earlier Busbar let be stored: a field path of 70 segments (the limit is now 64).
      const pattern = JSON.stringify({ source: ["s"], detail: { [Array(70).fill("k").join(".")]: ["v"] } });
      const db = new Database(join(first.dataDir, "busbar.db"));
      db.prepare("UPDATE rules SET event_pattern = ? WHERE name = 'old'").run(pattern);
      db.close();

      const second = await startBusbar({ dataDir: first.dataDir, env });
      const again = eventBridgeClient(second.url);
      try {
        const deadline = Date.now() + 20_000;
        while (received() < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.equal(received(), 5, "the deliveries pending from before were made");
        assert.match(
          second.output(),
          /"rule":"arn:aws:events:[^"]*:rule\/old".*rule pattern no longer compiles/,
        );
        await put(again);
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(received(), 5, "no new event matched it");
        const rule = await again.send(new DescribeRuleCommand({ Name: "old" }));
        assert.equal(rule.EventPattern, pattern);
        // Mended, it matches again.
        await again.send(new PutRuleCommand({ Name: "old", EventPattern: '{"source":["s"]}' }));
        await put(again);
        while (received() < 10 && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 50));
        assert.equal(received(), 10);
      } finally {
        again.destroy();
        await second.stop();
      }
    } finally {
      removeDataDir(first.dataDir);
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  it("gives a webhook target added under the id of one whose removal a crash cut short a secret of its own", async () => {
    const env = { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8" };
    const first = await startBusbar({ env });
    try {
      const secrets = async (url: string): Promise<string[]> => {
        const r = await callAwsJson(
          url,
          "AWSEvents.DescribeTargetSigningSecrets",
          { Rule: "signed", TargetId: "t" },
          TEST_ROOT,
        );
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return (r.body.Secrets as Array<{ Secret: string }>).map((x) => x.Secret);
      };
      const eb = eventBridgeClient(first.url);
      await eb.send(new PutRuleCommand({ Name: "signed", EventPattern: '{"source":["s"]}' }));
      await eb.send(
        new PutTargetsCommand({ Rule: "signed", Targets: [{ Id: "t", Arn: "http://127.0.0.1:9/old" }] }),
      );
      const before = await secrets(first.url);
      eb.destroy();
      assert.equal(await first.stop(), 0);
      // A RemoveTargets whose removal of the target was committed, the SIGKILL before its secret went.
      const db = new Database(join(first.dataDir, "busbar.db"));
      assert.equal(db.prepare("DELETE FROM targets WHERE rule_name = 'signed'").run().changes, 1);
      db.close();

      const second = await startBusbar({ dataDir: first.dataDir, env });
      const again = eventBridgeClient(second.url);
      try {
        await again.send(
          new PutTargetsCommand({ Rule: "signed", Targets: [{ Id: "t", Arn: "http://127.0.0.1:9/new" }] }),
        );
        const after = await secrets(second.url);
        assert.equal(after.length, 1);
        assert.ok(
          !before.includes(after[0] ?? ""),
          "the new target does not sign with the removed one's secret",
        );
      } finally {
        again.destroy();
        await second.stop();
      }
    } finally {
      removeDataDir(first.dataDir);
    }
  });
});
