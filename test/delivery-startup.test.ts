/**
 * A server started on a backlog of pending deliveries listens at once: the start-up walk of the
 * store goes on in the background. It used to keep the port closed until the walk ended: with healthy
 * targets, until most of the backlog was delivered (here ~2,000 of 6,000; 100,000 took 8.6 s).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PutEventsCommand, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { eventBridgeClient, removeDataDir, startBusbar } from "./support/index.js";

const EVENTS = 6_000;

describe("start-up with pending deliveries", () => {
  it("listens while the backlog is walked in and delivered, and delivers all of it", async () => {
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
        const atListen = received;
        assert.ok(atListen < 500, `${atListen} of ${EVENTS} delivered before the server listened`);
        const deadline = Date.now() + 60_000;
        while (received < EVENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.equal(received, EVENTS, "every pending delivery delivered");
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
});
