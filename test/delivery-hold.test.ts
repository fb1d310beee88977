/**
 * A failing target is held: a real `busbar serve` delivers to a loopback address where nothing
 * listens (every attempt refused), then to a real receiver started on that port. While the target
 * fails, its deliveries wait and one attempt at a time is made (the node is not kept busy retrying
 * each event); once it answers, every event arrives. And BUSBAR_TARGET_HOLD_AFTER_FAILURES=0 turns
 * the hold off.
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

const started: BusbarProcess[] = [];
const servers: Server[] = [];

after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  for (const b of started) {
    await b.stop();
    removeDataDir(b.dataDir);
  }
});

/** A loopback port nothing listens on (taken, then let go). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function until(what: string, done: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A server whose rule "r" sends source "app" to http://127.0.0.1:<port>/in, and `count` events put. */
async function failingTarget(port: number, count: number, env: Record<string, string> = {}) {
  const server = await startBusbar({
    env: {
      BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8",
      BUSBAR_RETRY_BASE_MS: "100",
      BUSBAR_RETRY_MAX_MS: "400",
      ...env,
    },
  });
  started.push(server);
  const events = eventBridgeClient(server.url);
  await events.send(new PutRuleCommand({ Name: "r", EventPattern: JSON.stringify({ source: ["app"] }) }));
  const put = await events.send(
    new PutTargetsCommand({ Rule: "r", Targets: [{ Id: "hook", Arn: `http://127.0.0.1:${port}/in` }] }),
  );
  assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.FailedEntries));
  const ids: string[] = [];
  for (let i = 0; i < count; i += 10) {
    const r = await events.send(
      new PutEventsCommand({
        Entries: Array.from({ length: 10 }, (_, j) => ({
          Source: "app",
          DetailType: "t",
          Detail: JSON.stringify({ n: i + j }),
        })),
      }),
    );
    assert.equal(r.FailedEntryCount, 0);
    for (const e of r.Entries ?? []) ids.push(e.EventId as string);
  }
  events.destroy();
  return { server, ids };
}

/** Attempts made to the target in `ms`. */
async function attemptsIn(server: BusbarProcess, ms: number): Promise<number> {
  const before = await metric(server.url, "InvocationAttempts");
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await metric(server.url, "InvocationAttempts")) - before;
}

describe("a target that fails again and again", () => {
  it("is held: one attempt at a time while it refuses, every event delivered once it answers", async () => {
    const port = await freePort();
    const { server, ids } = await failingTarget(port, 200);
    await until("the target to be held", async () => (await metric(server.url, "busbar_targets_held")) === 1);
    assert.equal(await metric(server.url, "busbar_target_holds_total", { rule: "r", target: "hook" }), 1);
    await until(
      "the deliveries to wait for it",
      async () => (await metric(server.url, "busbar_deliveries_waiting_for_held_targets")) > 100,
    );
    // One attempt each 100 ms, 200, then 400 (BUSBAR_RETRY_MAX_MS): each event on its own schedule
    // would be retried every 200-400 ms, 500-1,000 attempts a second.
    const attempts = await attemptsIn(server, 2_000);
    assert.ok(attempts >= 2 && attempts <= 12, `${attempts} attempts in 2 s while held`);
    const line = server
      .output()
      .split("\n")
      .find((l) => l.includes("target failing: its deliveries are held"));
    assert.ok(line !== undefined, "the hold logged");
    const logged = JSON.parse(line) as Record<string, unknown>;
    assert.equal(logged.level, 40, "warn");
    assert.equal(logged.rule, "r");
    assert.equal(logged.target, "hook");
    assert.equal(typeof logged.code, "string");

    // The target comes up on its port.
    const got = new Set<string>();
    const receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString("utf8")));
      req.on("end", () => {
        got.add((JSON.parse(body) as { id: string }).id);
        res.writeHead(200).end();
      });
    });
    servers.push(receiver);
    await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", resolve));
    await until("every event delivered", () => got.size === ids.length);
    assert.deepEqual([...got].sort(), [...ids].sort());
    assert.equal(await metric(server.url, "busbar_targets_held"), 0);
    assert.equal(await metric(server.url, "FailedInvocations"), 0);
    assert.ok(server.output().includes("target answers again"), "the hold's end logged");
  });

  it("is retried event by event with BUSBAR_TARGET_HOLD_AFTER_FAILURES=0", async () => {
    const port = await freePort();
    const { server } = await failingTarget(port, 50, { BUSBAR_TARGET_HOLD_AFTER_FAILURES: "0" });
    await until("retries", async () => (await metric(server.url, "RetryInvocationAttempts")) > 100);
    const attempts = await attemptsIn(server, 1_000);
    assert.ok(attempts > 60, `${attempts} attempts in 1 s: each event retried on its own schedule`);
    assert.equal(await metric(server.url, "busbar_targets_held"), 0);
    assert.equal(await metric(server.url, "busbar_target_holds_total"), 0);
  });
});
