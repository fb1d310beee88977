/**
 * At-least-once across a crash: sustained PutEvents load on a rule with two slow webhook targets, the
 * server killed with SIGKILL in the middle, restarted on the same data directory. Deliveries must still
 * be pending at the kill (the restarted server resumes at least those); every event that got an
 * EventId must reach both targets; repeats are bounded by what was in flight, carry the same
 * webhook-id (so receivers can drop them), and are at most the deliveries the restarted server counted
 * as resumed.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PutEventsCommand, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import {
  eventBridgeClient,
  metric,
  removeDataDir,
  startBusbar,
  type BusbarProcess,
} from "./support/index.js";

const ENV = {
  BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8",
  BUSBAR_DELIVERY_TARGET_CONCURRENCY: "16",
  BUSBAR_RETRY_BASE_MS: "50",
  BUSBAR_RETRY_MAX_MS: "500",
};
const TARGET_CONCURRENCY = 16;

let receiver: Server;
const servers: BusbarProcess[] = [];

after(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  for (const s of servers) removeDataDir(s.dataDir);
});

describe("delivery across SIGKILL", () => {
  it("reaches every target with every accepted event, with bounded, identifiable repeats", async () => {
    // target path → event id → webhook-ids seen
    const seen = new Map<string, Map<string, string[]>>([
      ["/a", new Map()],
      ["/b", new Map()],
    ]);
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        // A slow target: deliveries pile up in flight when the server dies.
        setTimeout(() => {
          const id = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id: string }).id;
          const byEvent = seen.get(req.url ?? "") as Map<string, string[]>;
          byEvent.set(id, [...(byEvent.get(id) ?? []), String(req.headers["webhook-id"])]);
          res.writeHead(200).end();
        }, 20);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    const first = await startBusbar({ env: ENV });
    servers.push(first);
    const eb = eventBridgeClient(first.url);
    await eb.send(new PutRuleCommand({ Name: "crash", EventPattern: '{"source":["crash.test"]}' }));
    await eb.send(
      new PutTargetsCommand({
        Rule: "crash",
        Targets: [
          { Id: "a", Arn: `${base}/a` },
          { Id: "b", Arn: `${base}/b` },
        ],
      }),
    );

    const accepted = new Set<string>();
    let killed = false;
    const entries = Array.from({ length: 10 }, (_, i) => ({
      Source: "crash.test",
      DetailType: "t",
      Detail: JSON.stringify({ i, pad: "x".repeat(200) }),
    }));
    const worker = async () => {
      while (!killed) {
        try {
          const r = await eb.send(new PutEventsCommand({ Entries: entries }));
          for (const e of r.Entries ?? []) if (e.EventId !== undefined) accepted.add(e.EventId);
        } catch {
          return; // the server died under this request: its events may or may not be stored
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    /** The (target, accepted event) pairs no delivery has reached yet. */
    const missing = () =>
      [...seen.values()].reduce((n, byEvent) => n + [...accepted].filter((id) => !byEvent.has(id)).length, 0);
    while (accepted.size < 2000) await new Promise((resolve) => setTimeout(resolve, 20));
    killed = true;
    await first.kill();
    // Counted once the process is gone: what is missing now was not acknowledged by the receiver before
    // the kill, so it is still pending in the store, and only the restarted server can deliver it.
    const backlog = missing();
    await Promise.all(workers);
    eb.destroy();
    assert.ok(backlog > 0, "deliveries were still pending at the kill");

    const second = await startBusbar({ dataDir: first.dataDir, env: ENV });
    servers.push(second);
    try {
      const deadline = Date.now() + 60_000;
      while (missing() > 0) {
        assert.ok(Date.now() < deadline, `${missing()} accepted deliveries never arrived`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Let the last deliveries of the restarted server finish before counting repeats.
      await new Promise((resolve) => setTimeout(resolve, 500));
      let repeats = 0;
      for (const byEvent of seen.values()) {
        for (const ids of byEvent.values()) {
          repeats += ids.length - 1;
          assert.equal(new Set(ids).size, 1, "a repeated delivery carries the same webhook-id");
        }
      }
      const resumed = await metric(second.url, "busbar_deliveries_resumed_total");
      assert.ok(
        resumed >= backlog,
        `${backlog} deliveries were pending at the kill, but only ${resumed} were resumed`,
      );
      assert.ok(repeats <= resumed, `${repeats} repeats, but only ${resumed} deliveries were resumed`);
      // What can repeat: attempts in flight at the kill, and acknowledged ones whose completion was not yet written.
      const bound = 2 * TARGET_CONCURRENCY * 4;
      assert.ok(repeats <= bound, `${repeats} repeats, more than ${bound}`);
      console.log(
        `accepted ${accepted.size} events; ${backlog} deliveries pending at the kill; ${repeats} repeated deliveries; ${resumed} resumed`,
      );
    } finally {
      await second.stop();
    }
  });
});
