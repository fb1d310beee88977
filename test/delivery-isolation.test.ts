/**
 * Targets that fail or hang must not hold back the others: a real `busbar serve` with small delivery
 * limits (memory and concurrency), real loopback receivers. A target answering 429 with an hour's
 * Retry-After fills memory with its retries, which must leave for the store so that another rule's
 * events still arrive; targets that never answer fill every slot, which must be shared in turns.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  type EventBridgeClient,
} from "@aws-sdk/client-eventbridge";
import {
  eventBridgeClient,
  metric,
  removeDataDir,
  startBusbar,
  type BusbarProcess,
} from "./support/index.js";

/** A loopback receiver: counts requests by path, answers as `answer` says (or never). */
class Receiver {
  readonly count = new Map<string, number>();
  private readonly server: Server;

  constructor(
    answer: (path: string) => { status: number; headers?: Record<string, string>; delayMs?: number } | "hang",
  ) {
    this.server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const path = req.url ?? "/";
        this.count.set(path, (this.count.get(path) ?? 0) + 1);
        const a = answer(path);
        if (a === "hang") return;
        setTimeout(() => res.writeHead(a.status, a.headers ?? {}).end(), a.delayMs ?? 0).unref();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  got(path: string): number {
    return this.count.get(path) ?? 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function until(what: string, done: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Date.now() - start;
}

/** How long the slow target takes to answer. */
let slowMs = 2_000;
let server: BusbarProcess;
let events: EventBridgeClient;
let receiver: Receiver;
let base: string;

before(async () => {
  receiver = new Receiver((path) => {
    if (path.startsWith("/later")) return { status: 429, headers: { "retry-after": "3600" } };
    if (path.startsWith("/hang")) return "hang";
    if (path === "/slow") return { status: 200, delayMs: slowMs };
    return { status: 200 };
  });
  base = await receiver.listen();
  server = await startBusbar({
    env: {
      BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8",
      BUSBAR_DELIVERY_MAX_IN_MEMORY: "200",
      BUSBAR_DELIVERY_CONCURRENCY: "8",
      BUSBAR_TARGET_TIMEOUT_MS: "1500",
    },
  });
  events = eventBridgeClient(server.url);
});

after(async () => {
  events.destroy();
  await server.stop();
  await receiver.close();
  removeDataDir(server.dataDir);
});

async function rule(name: string, path: string, retries?: number, client = events): Promise<void> {
  await client.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify({ source: [name] }) }));
  const r = await client.send(
    new PutTargetsCommand({
      Rule: name,
      Targets: [
        {
          Id: "t",
          Arn: `${base}${path}`,
          ...(retries !== undefined && { RetryPolicy: { MaximumRetryAttempts: retries } }),
        },
      ],
    }),
  );
  assert.equal(r.FailedEntryCount, 0, JSON.stringify(r.FailedEntries));
}

async function put(source: string, n: number, client = events): Promise<void> {
  for (let i = 0; i < n; i += 10) {
    const r = await client.send(
      new PutEventsCommand({
        Entries: Array.from({ length: Math.min(10, n - i) }, () => ({
          Source: source,
          DetailType: "t",
          Detail: "{}",
        })),
      }),
    );
    assert.equal(r.FailedEntryCount, 0);
  }
}

describe("delivery isolation", () => {
  it("leaves retries due in an hour in the store when memory is full, so other targets still get events", async () => {
    await rule("later", "/later");
    await rule("healthy", "/healthy");
    // 300 events to a target asking for an hour, with room in memory for 200 deliveries: each gets its
    // first attempt only if the retries waiting an hour leave memory for the deliveries due now.
    await put("later", 300);
    await until("the first attempt of all 300", () => receiver.got("/later") === 300, 20_000);
    await put("healthy", 5);
    await until("another rule's 5 events", () => receiver.got("/healthy") === 5, 5_000);
  });

  it("counts in InvocationsDropped every delivery a removal drops, those that waited in the store too", async () => {
    await rule("removed-later", "/later-removed");
    await put("removed-later", 300);
    await until("the first attempt of all 300", () => receiver.got("/later-removed") === 300, 20_000);
    // Their retries wait an hour: some in memory (200 fit), the rest in the store.
    await events.send(new RemoveTargetsCommand({ Rule: "removed-later", Ids: ["t"] }));
    const dropped = await metric(server.url, "InvocationsDropped", {
      rule: "removed-later",
      reason: "TARGET_REMOVED",
    });
    assert.equal(dropped, 300);
  });

  it("lets a slow target's backlog go back to the store when memory is full, for other targets' events", async () => {
    // Each answer takes 2 s and 8 slots serve all targets: 300 events to it hold all 200 places in
    // memory. Another rule's events wait for no more than a slot (the backlog would take 25 s to halve).
    await rule("slow", "/slow");
    await rule("prompt", "/prompt");
    await put("slow", 300);
    await until("the slow target's first requests", () => receiver.got("/slow") >= 8, 5_000);
    await put("prompt", 5);
    const ms = await until("another rule's 5 events", () => receiver.got("/prompt") === 5, 10_000);
    assert.ok(ms < 5_000, `another rule's events waited ${ms} ms`);
    // Once it answers at once, the backlog left in the store comes back: nothing was lost.
    slowMs = 0;
    await until("every slow event in the end", () => receiver.got("/slow") >= 300, 30_000);
  });

  it("shares the delivery slots in turns among targets that never answer and one that does", async () => {
    // 8 slots overall; two targets hold 40 deliveries each that time out after 1.5 s. Taken a target
    // at a time, the slots would serve the healthy target after ten rounds of time-outs (15 s).
    await rule("hang-a", "/hang-a", 0);
    await rule("hang-b", "/hang-b", 0);
    await rule("quick", "/quick");
    await put("hang-a", 40);
    await put("hang-b", 40);
    await until("the hanging targets to hold every slot", () => receiver.got("/hang-a") >= 8, 5_000);
    await put("quick", 3);
    const ms = await until("the healthy target's 3 events", () => receiver.got("/quick") === 3, 10_000);
    assert.ok(ms < 4_000, `the healthy target waited ${ms} ms, more than two rounds of time-outs`);
    // Now that the hanging targets have held slots for seconds and it for milliseconds, every slot
    // that frees up goes to it while it has events: 20 more within a round (in turns with the two
    // hanging targets they would take seven).
    await put("quick", 20);
    const more = await until("20 more", () => receiver.got("/quick") === 23, 15_000);
    assert.ok(more < 2_500, `20 more events to the healthy target took ${more} ms`);
  });

  it("takes memory from many targets with a backlog each, none of them a large share, for another's events", async () => {
    // 20 targets that never answer, 12 deliveries each: memory (200) is full, 40 wait in the store,
    // and each target holds a twentieth (less than 1/16 of memory: none stands out by itself).
    for (let i = 0; i < 20; i++) await rule(`many-${i}`, `/hang-many-${i}`, 0);
    for (let i = 0; i < 20; i++) await put(`many-${i}`, 12);
    await rule("among-many", "/among-many");
    await put("among-many", 2);
    // In memory, its events get slots after the 20 targets that have not had one yet (a round or two
    // of 1.5 s time-outs on 8 slots); left in the store, they waited until memory halved (~19 s).
    const ms = await until("another rule's 2 events", () => receiver.got("/among-many") === 2, 20_000);
    assert.ok(ms < 8_000, `another rule's events waited ${ms} ms`);
  });
});

describe("reserved delivery slots", () => {
  let own: BusbarProcess;
  let client: EventBridgeClient;

  before(async () => {
    // 64 slots: the last 8 are kept for targets with no attempt running.
    own = await startBusbar({
      env: {
        BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8",
        BUSBAR_DELIVERY_CONCURRENCY: "64",
        BUSBAR_TARGET_TIMEOUT_MS: "3000",
      },
    });
    client = eventBridgeClient(own.url);
  });

  after(async () => {
    client.destroy();
    await own.stop();
    removeDataDir(own.dataDir);
  });

  it("keeps slots for targets with no attempt running while targets that never answer hold the rest", async () => {
    // Two targets that never answer, 40 deliveries each: they may hold 56 of the 64 slots. A target
    // with no attempt running gets one of the other 8 at once, not after a round of 3 s time-outs.
    await rule("hang-e", "/hang-e", 0, client);
    await rule("hang-f", "/hang-f", 0, client);
    await rule("instant", "/instant", undefined, client);
    await put("hang-e", 40, client);
    await put("hang-f", 40, client);
    const held = () => receiver.got("/hang-e") + receiver.got("/hang-f");
    await until("the hanging targets to hold 56 slots", () => held() >= 56, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(held(), 56, "the last 8 slots stay free");
    for (let i = 1; i <= 5; i++) {
      await put("instant", 1, client);
      const ms = await until(`the healthy target's event ${i}`, () => receiver.got("/instant") === i, 5_000);
      assert.ok(ms < 1_000, `the healthy target's event ${i} waited ${ms} ms`);
    }
  });
});
