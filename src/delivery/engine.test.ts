/**
 * The delivery engine when the store fails to record outcomes: a real SQLite store whose
 * `completeDeliveries` fails (as a failed fsync would) the first times it is called, a real webhook
 * invoker and a real loopback receiver. The engine must neither lose the completion nor invoke the
 * target again: it logs, keeps the completions, and writes them once the store works again. And,
 * with the same parts, what becomes of a removed rule's metric series.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { RuleRegistry } from "../buses/index.js";
import { createLogger } from "../log/index.js";
import { Metrics } from "../metrics/index.js";
import { DEFAULT_PATTERN_LIMITS } from "../patterns/index.js";
import { QueueService } from "../queues/index.js";
import {
  openSqliteStoreInThread,
  type IngestRecord,
  type PendingDelivery,
  type Store,
} from "../store/index.js";
import { DeliveryEngine } from "./engine.js";
import { createWebhookInvoker, parseAllowedNetworks } from "./http/index.js";
import { DeadLetters, QueueTargetInvoker } from "./queue-target.js";

const ACCOUNT = "000000000000";
/** Another account with a bus, rule and target of the same names. */
const OTHER = "111111111111";
/** A third account, whose targets hang too (the slots shared between two heavy accounts). */
const THIRD = "222222222222";
const BUS = "default";

/**
 * The store, with `completeDeliveries` failing (after `failDelayMs`) while `failures` is above 0, the walk of pending
 * deliveries (`listDueDeliveries`) while `scanFailures` is, and `sendMessages` while `sendFailures` is
 * (the store's failure as it reaches the main thread, with `sendFailureStatus`: 500 or a full disk's 503).
 */
function failingStore(store: Store): {
  store: Store;
  failures: number;
  calls: number;
  scanFailures: number;
  sendFailures: number;
  sendFailureStatus: 500 | 503;
  /** The calls of `sendMessages`, failed or not. */
  sendCalls: number;
  failDelayMs: number;
  rescheduleFailures: number;
  /** The number of changes in each call of `rescheduleDeliveries`. */
  rescheduleCalls: number[];
} {
  const state = {
    store: undefined as unknown as Store,
    failures: 0,
    failDelayMs: 0,
    rescheduleFailures: 0,
    rescheduleCalls: [] as number[],
    calls: 0,
    scanFailures: 0,
    sendFailures: 0,
    sendFailureStatus: 500 as 500 | 503,
    sendCalls: 0,
  };
  state.store = {
    ...store,
    sendMessages: async (...args) => {
      state.sendCalls++;
      if (state.sendFailures > 0) {
        state.sendFailures--;
        const full = state.sendFailureStatus === 503;
        throw Object.assign(
          new Error(`The store failed: ${full ? "SQLITE_FULL" : "SQLITE_IOERR"} (injected)`),
          {
            name: "StoreFailureError",
            awsType: full ? "ServiceUnavailableException" : "InternalException",
            httpStatus: state.sendFailureStatus,
          },
        );
      }
      return store.sendMessages(...args);
    },
    listDueDeliveries: async (...args) => {
      if (state.scanFailures > 0) {
        state.scanFailures--;
        throw new Error("database or disk is full (injected)");
      }
      return store.listDueDeliveries(...args);
    },
    completeDeliveries: async (refs) => {
      state.calls++;
      if (state.failures > 0) {
        state.failures--;
        // A write that takes a while to fail, as a large one does on a full disk.
        if (state.failDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.failDelayMs));
        throw new Error("disk I/O error (injected: the log's fsync failed)");
      }
      return store.completeDeliveries(refs);
    },
    rescheduleDeliveries: async (changes) => {
      state.rescheduleCalls.push(changes.length);
      if (state.rescheduleFailures > 0) {
        state.rescheduleFailures--;
        if (state.failDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.failDelayMs));
        throw new Error("database or disk is full (injected)");
      }
      return store.rescheduleDeliveries(changes);
    },
  };
  return state;
}

/** The `Invocations` series of an account's rule "r" on its default bus, as /metrics shows it (undefined when gone). */
async function invocationsOfRule(metrics: Metrics, account = ACCOUNT): Promise<string | undefined> {
  return (await metrics.text())
    .split("\n")
    .find((l) => l.startsWith(`Invocations{account="${account}",bus="default",rule="r"`));
}

async function until(what: string, done: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("DeliveryEngine, when the store fails to record outcomes", () => {
  let dataDir: string;
  let receiver: Server;
  let url: string;
  const received: string[] = [];
  /** Responses to `/hang`, held until a test ends them. */
  const hanging: Array<{ end(): void }> = [];
  /** What reached the receiver, in order: `hang`, or a webhook id. */
  const arrivals: string[] = [];
  /** How `/flaky` answers: `status` (and `headers`) while `down`, else 200; `calls` counts its requests. */
  const flaky = { down: true, status: 500, headers: {} as Record<string, string>, calls: 0 };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "busbar-engine-"));
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        arrivals.push(req.url?.startsWith("/hang") === true ? "hang" : String(req.headers["webhook-id"]));
        if (req.url === "/flaky") {
          flaky.calls++;
          if (flaky.down) return void res.writeHead(flaky.status, flaky.headers).end();
        }
        if (req.url === "/hang") return void hanging.push({ end: () => res.writeHead(200).end() });
        if (req.url === "/hang-fail") return void hanging.push({ end: () => res.writeHead(500).end() });
        received.push(String(req.headers["webhook-id"]));
        // "Try again in an hour."
        if (req.url === "/unavailable") res.writeHead(503, { "retry-after": "3600" }).end();
        // A failure no retry fixes.
        else if (req.url === "/refused") res.writeHead(400).end();
        else if (req.url === "/fail") res.writeHead(500).end();
        else res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });

  after(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A real store, registry (rule "r" → webhook "hook"), webhook invoker and engine; the log's lines. */
  function openEngine(
    options: {
      failures?: number;
      forgetMetricsAfterMs?: number;
      maxInMemoryBytes?: number;
      targetUrl?: string;
      concurrency?: number;
      targetConcurrency?: number;
      now?: () => number;
      maxTargetsPerAccount?: number;
      heldWhileLowMs?: number;
    } = {},
  ) {
    const target = options.targetUrl ?? url;
    const sqlite = openSqliteStoreInThread({ dataDir });
    const faulty = failingStore(sqlite);
    faulty.failures = options.failures ?? 0;
    const lines: string[] = [];
    const log = createLogger({
      level: "info",
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString("utf8"));
          callback();
        },
      }),
    });
    const registry = new RuleRegistry(DEFAULT_PATTERN_LIMITS);
    const now = Date.now();
    /** Makes rule "r" of `accountId` and its target "hook", as the API would (again, after a deletion). */
    const makeRule = (accountId: string): void => {
      registry.setRule({
        accountId,
        busName: BUS,
        name: "r",
        arn: `arn:aws:events:us-east-1:${accountId}:rule/r`,
        eventPattern: '{"source":["t"]}',
        state: "ENABLED",
        createdBy: accountId,
        createdAt: now,
        lastModifiedAt: now,
      });
      registry.setTargets(accountId, BUS, "r", [
        { id: "hook", arn: target, spec: { Id: "hook", Arn: target } },
      ]);
    };
    for (const accountId of [ACCOUNT, OTHER, THIRD]) {
      registry.setBus({
        accountId,
        name: BUS,
        arn: `arn:aws:events:us-east-1:${accountId}:event-bus/${BUS}`,
        createdAt: now,
        lastModifiedAt: now,
      });
      makeRule(accountId);
    }
    const webhooks = createWebhookInvoker({
      allowedNetworks: parseAllowedNetworks("127.0.0.0/8"),
      signingSecrets: () => [],
    });
    const queues = new QueueService({ store: faulty.store, region: "us-east-1", receiptKey: "k".repeat(32) });
    const queueInvoker = new QueueTargetInvoker(queues);
    const metrics = new Metrics({
      processMetrics: false,
      ...(options.maxTargetsPerAccount !== undefined && {
        maxTargetsPerAccount: options.maxTargetsPerAccount,
      }),
    });
    const engine = new DeliveryEngine({
      store: faulty.store,
      registry,
      invokerFor: (arn) =>
        arn.startsWith("http") ? webhooks : arn.startsWith("arn:aws:sqs:") ? queueInvoker : undefined,
      deadLetters: new DeadLetters(queues, (arn) => arn),
      metrics,
      log,
      backoff: { baseMs: 10, maxMs: 100 },
      ...(options.forgetMetricsAfterMs !== undefined && {
        forgetMetricsAfterMs: options.forgetMetricsAfterMs,
      }),
      ...(options.maxInMemoryBytes !== undefined && { maxInMemoryBytes: options.maxInMemoryBytes }),
      ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
      ...(options.targetConcurrency !== undefined && { targetConcurrency: options.targetConcurrency }),
      ...(options.now !== undefined && { now: options.now }),
      ...(options.heldWhileLowMs !== undefined && { heldWhileLowMs: options.heldWhileLowMs }),
    });
    return {
      sqlite,
      faulty,
      lines,
      metrics,
      engine,
      registry,
      queues,
      makeRule,
      /** Accepted events of these ids, each with one delivery to "hook" of rule "r" (of `accountId`). */
      records: (
        ids: readonly string[],
        detail: Record<string, unknown> = {},
        accountId = ACCOUNT,
      ): IngestRecord[] =>
        ids.map((id) => ({
          event: {
            id,
            accountId,
            busName: BUS,
            time: now,
            ingestedAt: now,
            json: JSON.stringify({ version: "0", id, source: "t", "detail-type": "d", detail }),
          },
          deliveries: [
            {
              id: `${id}-d`,
              eventId: id,
              accountId,
              busName: BUS,
              ruleName: "r",
              targetId: "hook",
              dueAt: now,
              attempts: 0,
            },
          ],
        })),
      close: async (): Promise<void> => {
        await engine.close();
        await webhooks.close();
        await sqlite.close();
      },
    };
  }

  /** Delivers one event per id while `completeDeliveries` fails `failures` times; checks the outcome. */
  async function deliverThroughFailures(ids: readonly string[], failures: number): Promise<void> {
    received.length = 0;
    const { sqlite, faulty, lines, engine, records: recordsOf, close } = openEngine({ failures });
    try {
      await engine.start();
      const records = recordsOf(ids);
      await sqlite.appendEvents(records);
      engine.dispatch(records);
      await until("the deliveries", () => received.length === ids.length);
      await until("the completions to be written", async () => (await sqlite.countDeliveries()) === 0);
      assert.equal(faulty.failures, 0, "every injected failure was met");
      assert.ok(
        faulty.calls > failures,
        `completeDeliveries was called again after failing (${faulty.calls} calls)`,
      );
      assert.deepEqual(
        received.toSorted(),
        ids.map((id) => `${id}-d`),
        "each target invoked once, no more",
      );
      // The first failure logged; those after it (a second apart) within the minute only counted, and
      // the recovery logged with the count.
      const logged = lines.filter((line) => line.includes("recording delivery outcomes failed"));
      assert.equal(logged.length, 1, "the first failure logged, not each");
      assert.match(logged[0] ?? "", /disk I\/O error \(injected/);
      // The store's reads see the commit before its fsync, after which the engine hears of it.
      const recoveredLine = (line: string): boolean =>
        line.includes("recording delivery outcomes works again");
      await until("the recovery's line", () => lines.some(recoveredLine));
      const recovered = lines.filter(recoveredLine);
      assert.equal(recovered.length, 1, lines.join("\n"));
      assert.equal((JSON.parse(recovered[0] ?? "{}") as { failures?: number }).failures, failures);
      await until("nothing left in memory (after the completions' fsync)", () => engine.held === 0);
      assert.equal(engine.lanes, 0, "no lane left either");
    } finally {
      await close();
    }
  }

  /**
   * An engine of four slots and one attempt per target, where ACCOUNT's rule sends to eight targets that
   * do not answer until told to (more lanes than slots) and OTHER's to the receiver. `dispatch` stores
   * and dispatches records; `hangEvent` dispatches one event of ACCOUNT's to all eight; `close` ends
   * what hangs, then the engine.
   */
  async function sharedSlots(
    options: { concurrency?: number; targets?: number; thirdTargets?: number } = {},
  ) {
    received.length = 0;
    const hang = url.replace(/\/hook$/, "/hang");
    const opened = openEngine({ concurrency: options.concurrency ?? 4, targetConcurrency: 1 });
    const { sqlite, engine, registry, records } = opened;
    const ids = Array.from({ length: options.targets ?? 8 }, (_, i) => `h${i + 1}`);
    registry.setTargets(
      ACCOUNT,
      BUS,
      "r",
      ids.map((id) => ({ id, arn: hang, spec: { Id: id, Arn: hang } })),
    );
    const thirdIds = Array.from({ length: options.thirdTargets ?? 0 }, (_, i) => `t${i + 1}`);
    if (thirdIds.length > 0)
      registry.setTargets(
        THIRD,
        BUS,
        "r",
        thirdIds.map((id) => ({ id, arn: hang, spec: { Id: id, Arn: hang } })),
      );
    registry.setTargets(OTHER, BUS, "r", [
      { id: "hook", arn: url, spec: { Id: "hook", Arn: url } },
      { id: "h", arn: hang, spec: { Id: "h", Arn: hang } },
    ]);
    await engine.start();
    const dispatch = async (batch: IngestRecord[]): Promise<void> => {
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
    };
    return {
      records,
      dispatch,
      /** A delivery of OTHER's to a target of its own that hangs. */
      hangOther: (eventId: string): Promise<void> => {
        const [first] = records([eventId], {}, OTHER);
        assert.ok(first !== undefined);
        const delivery = { ...(first.deliveries[0] as PendingDelivery), id: `${eventId}-h`, targetId: "h" };
        return dispatch([{ event: first.event, deliveries: [delivery] }]);
      },
      hangEvent: (eventId: string, account = ACCOUNT): Promise<void> => {
        const [first] = records([eventId], {}, account);
        assert.ok(first !== undefined);
        const deliveries = (account === THIRD ? thirdIds : ids).map((targetId) => ({
          ...(first.deliveries[0] as PendingDelivery),
          id: `${eventId}-${targetId}`,
          targetId,
        }));
        return dispatch([{ event: first.event, deliveries }]);
      },
      close: async (): Promise<void> => {
        while (hanging.length > 0 || engine.held > 0) {
          for (const h of hanging.splice(0)) h.end();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await opened.close();
      },
    };
  }

  it("gives a slot to another account's waiting delivery before more to an account holding half of them", async () => {
    const { records, dispatch, hangEvent, close } = await sharedSlots();
    try {
      await hangEvent("busy");
      await until("every slot held by ACCOUNT's hanging targets", () => hanging.length === 4);
      // OTHER's delivery waits, behind four of ACCOUNT's lanes that came first.
      await dispatch(records(["other"], {}, OTHER));
      arrivals.length = 0;
      hanging.shift()?.end();
      await until("OTHER's delivery, on the slot given back", () => received.includes("other-d"), 5_000);
      // The slot given back went to OTHER, not to one of ACCOUNT's lanes waiting ahead of it (once
      // OTHER waits no more, ACCOUNT may take slots again).
      assert.equal(arrivals[0], "other-d", arrivals.join(", "));
    } finally {
      await close();
    }
  });

  it("keeps the last half of the reserved slots from an account holding as many, another account idle or not", async () => {
    // 16 slots, 2 reserved: the last one for accounts holding fewer than one.
    const { records, dispatch, hangEvent, hangOther, close } = await sharedSlots({
      concurrency: 16,
      targets: 20,
    });
    try {
      // OTHER has delivered nothing: ACCOUNT still leaves the last slot free.
      await hangEvent("busy-1");
      await until("ACCOUNT's hanging targets holding all but the last slot", () => hanging.length === 15);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(hanging.length, 15, "the last slot stays free");
      await dispatch(records(["first"], {}, OTHER));
      await until("OTHER's first delivery, on the last slot", () => received.includes("first-d"), 5_000);
      assert.equal(hanging.length, 15);
      // Held by OTHER (one of its own hangs on it), the last slot is no longer free, to either.
      await hangOther("other-hangs");
      await until("OTHER's hanging delivery", () => hanging.length === 16);
    } finally {
      await close();
    }
  });

  it("leaves most of the last reserved slots free when a second account's burst comes after the first's", async () => {
    // 128 slots, 16 reserved: ACCOUNT alone takes 120 and leaves the last 8; THIRD's burst, which came
    // after, takes one of them (it may hold fewer than an eighth of those free), not all 8.
    const { records, dispatch, hangEvent, close } = await sharedSlots({
      concurrency: 128,
      targets: 130,
      thirdTargets: 20,
    });
    try {
      await hangEvent("busy-a");
      await until("ACCOUNT's hanging targets holding all but the last 8 slots", () => hanging.length === 120);
      await hangEvent("busy-t", THIRD);
      await until("THIRD's hanging targets on the last slots", () => hanging.length > 120);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(hanging.length, 121, "the other 7 stay free");
      // OTHER, which has delivered nothing yet, finds one at once.
      await dispatch(records(["idle"], {}, OTHER));
      await until("OTHER's delivery, on one of the last slots", () => received.includes("idle-d"), 5_000);
      assert.equal(hanging.length, 121);
    } finally {
      await close();
    }
  });

  it("keeps the reserved slots from an account holding half of them while another account delivers", async () => {
    const { records, dispatch, hangEvent, close } = await sharedSlots();
    try {
      // OTHER delivers first: within the minute after, the reserved slot (1 of 4) is kept from ACCOUNT.
      await dispatch(records(["warm"], {}, OTHER));
      await until("OTHER's first delivery", () => received.includes("warm-d"));
      await hangEvent("busy-2");
      await until("ACCOUNT's hanging targets holding the unreserved slots", () => hanging.length === 3);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(hanging.length, 3, "the reserved slot stays free");
      // OTHER's next event takes it at once, no attempt of ACCOUNT's having ended.
      await dispatch(records(["next"], {}, OTHER));
      await until("OTHER's next delivery, on the reserved slot", () => received.includes("next-d"), 5_000);
      assert.equal(hanging.length, 3);
    } finally {
      await close();
    }
  });

  it("walks the store again after a walk that failed: pending deliveries are not stranded until a restart", async () => {
    received.length = 0;
    const { sqlite, faulty, lines, engine, records, close } = openEngine();
    try {
      // Pending in the store from before the start, as after a restart; the start-up walk fails.
      const ids = ["stranded-1", "stranded-2", "stranded-3"];
      await sqlite.appendEvents(records(ids));
      faulty.scanFailures = 1_000;
      await engine.start();
      const failed = () => lines.filter((line) => line.includes("scan of pending deliveries failed")).length;
      assert.equal(failed(), 1);
      assert.equal(received.length, 0);
      // Events delivered meanwhile: their completions' flushes leave the walk to the periodic check,
      // rather than walking (and failing, and logging) again at each.
      const fresh = records(["fresh-1", "fresh-2", "fresh-3", "fresh-4"]);
      await sqlite.appendEvents(fresh);
      engine.dispatch(fresh);
      await until("the fresh deliveries", () => received.length === fresh.length);
      await until("their completions", async () => (await sqlite.countDeliveries()) === ids.length);
      assert.equal(failed(), 1, "no walk per flush after a failed one");
      faulty.scanFailures = 0;
      await until(
        "the deliveries, by the next walk",
        () => received.length === ids.length + fresh.length,
        15_000,
      );
      assert.deepEqual(
        received.filter((r) => r.startsWith("stranded")).toSorted(),
        ids.map((id) => `${id}-d`),
      );
    } finally {
      await close();
    }
  });

  it("holds no more deliveries than their events' weight allows, and delivers the rest from the store", async () => {
    received.length = 0;
    const { sqlite, engine, records, close } = openEngine({ maxInMemoryBytes: 500_000 });
    try {
      await engine.start();
      const ids = Array.from({ length: 20 }, (_, i) => `big-${i}`);
      const batch = records(ids, { pad: "x".repeat(100_000) });
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
      // Five events of ~100 KB reach 500 KB: the other fifteen wait in the store.
      assert.equal(engine.held, 5);
      await until("every delivery", () => received.length === ids.length, 20_000);
      assert.deepEqual(received.toSorted(), ids.map((id) => `${id}-d`).toSorted());
      await until("the completions to be written", async () => (await sqlite.countDeliveries()) === 0);
      // The store answers a read before the fsync that makes the completions durable (and lets the
      // engine drop them): the count may reach 0 a moment before the engine does.
      await until("the engine to let go of them", () => engine.held === 0);
    } finally {
      await close();
    }
  });

  it("holds a delivery once when its commit is acknowledged after a walk took it", async () => {
    arrivals.length = 0;
    const { sqlite, engine, records, close } = openEngine({ targetUrl: url.replace(/\/hook$/, "/hang") });
    try {
      const batch = records(["late-ack-1", "late-ack-2", "late-ack-3"]);
      await sqlite.appendEvents(batch);
      // The walk finds them (a store that answered it before their commit was acknowledged), and
      // their attempts hang; then the commit's acknowledgement hands them to the engine again.
      await engine.start();
      await until("the three attempts", () => arrivals.length === 3);
      engine.dispatch(batch);
      assert.equal(engine.held, 3);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(arrivals.length, 3, "no second attempt of a delivery already in flight");
      for (const h of hanging.splice(0)) h.end();
      await until("the engine to let go of them", () => engine.held === 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(arrivals.length, 3, "each delivered once");
    } finally {
      for (const h of hanging.splice(0)) h.end();
      await close();
    }
  });

  it("sends a dead letter the store failed to take again a moment later, holding the delivery meanwhile", async () => {
    const { faulty, engine, registry, queues, metrics, records, close } = openEngine();
    try {
      const dlq = await queues.createQueue(ACCOUNT, "dlq-later", {}, []);
      const refused = url.replace(/\/hook$/, "/refused");
      registry.setTargets(ACCOUNT, BUS, "r", [
        { id: "hook", arn: refused, spec: { Id: "hook", Arn: refused, DeadLetterConfig: { Arn: dlq.arn } } },
      ]);
      await engine.start();
      faulty.sendFailures = 1;
      const batch = records(["dead-letter-later"]);
      await faulty.store.appendEvents(batch);
      engine.dispatch(batch);
      await until("the dead letter the store refused", () => faulty.sendFailures === 0);
      assert.equal(engine.held, 1, "held while its dead letter waits");
      const received = async () =>
        queues.receive(dlq, { max: 10, systemAttributeNames: [], messageAttributeNames: ["All"] });
      let messages: Awaited<ReturnType<typeof received>> = [];
      await until("the dead letter", async () => (messages = await received()).length === 1, 5_000);
      assert.equal((JSON.parse(messages[0]?.Body ?? "{}") as { id?: string }).id, "dead-letter-later");
      await until("the engine to let go of it", () => engine.held === 0);
      const text = await metrics.text();
      assert.match(text, /^InvocationsSentToDlq\{[^}]*\} 1$/m);
      assert.doesNotMatch(text, /^InvocationsFailedToBeSentToDlq\{/m);
    } finally {
      await close();
    }
  });

  it("holds a delivery to a queue while the store's disk is full, spending no attempt, and sends it once there is room", async () => {
    const { faulty, engine, registry, queues, metrics, records, close } = openEngine();
    try {
      const queue = await queues.createQueue(ACCOUNT, "full-disk-later", {}, []);
      // No retries: a failure that counted as an attempt would drop the event.
      registry.setTargets(ACCOUNT, BUS, "r", [
        {
          id: "hook",
          arn: queue.arn,
          spec: { Id: "hook", Arn: queue.arn, RetryPolicy: { MaximumRetryAttempts: 0 } },
        },
      ]);
      await engine.start();
      faulty.sendFailureStatus = 503;
      faulty.sendFailures = 1;
      const batch = records(["full-disk"]);
      await faulty.store.appendEvents(batch);
      engine.dispatch(batch);
      await until("the send the full disk refused", () => faulty.sendFailures === 0);
      assert.equal(engine.held, 1, "held while the disk is full");
      const received = async () =>
        queues.receive(queue, { max: 10, systemAttributeNames: [], messageAttributeNames: [] });
      let messages: Awaited<ReturnType<typeof received>> = [];
      await until("the message", async () => (messages = await received()).length === 1, 10_000);
      assert.equal((JSON.parse(messages[0]?.Body ?? "{}") as { id?: string }).id, "full-disk");
      await until("the engine to let go of it", () => engine.held === 0);
      const text = await metrics.text();
      assert.match(text, /^Invocations\{[^}]*\} 1$/m);
      assert.match(text, /^InvocationAttempts\{[^}]*\} 1$/m, "the refused send was no attempt");
      assert.doesNotMatch(
        text,
        /^(FailedInvocations|InvocationsDropped|RetryInvocationAttempts)\{[^}]*\} [1-9]/m,
      );
    } finally {
      await close();
    }
  });

  it("tries one delivery held for the full disk each hold for all of them, and the rest at once when it goes through", async () => {
    const HOLD = 400;
    const { faulty, engine, registry, queues, records, close } = openEngine({ heldWhileLowMs: HOLD });
    try {
      const queue = await queues.createQueue(ACCOUNT, "full-disk-gate", {}, []);
      registry.setTargets(ACCOUNT, BUS, "r", [
        { id: "hook", arn: queue.arn, spec: { Id: "hook", Arn: queue.arn } },
      ]);
      await engine.start();
      faulty.sendFailureStatus = 503;
      faulty.sendFailures = Infinity;
      // The engine's own writes fail on the full disk too: their retries wait 1 s, 2 s, 4 s …
      faulty.rescheduleFailures = Infinity;
      faulty.failures = Infinity;
      const ids = Array.from({ length: 40 }, (_, i) => `gate-${i}`);
      const batch = records(ids);
      await faulty.store.appendEvents(batch);
      engine.dispatch(batch);
      await until("each delivery's first attempt", () => faulty.sendCalls === ids.length);
      // Ten holds: each delivery tried on its own would make 400 more sends; one for all makes ~10.
      await new Promise((resolve) => setTimeout(resolve, 10 * HOLD));
      const tries = faulty.sendCalls - ids.length;
      assert.ok(tries >= 5 && tries <= 13, `${tries} sends in ten holds with 40 deliveries held`);
      assert.equal(engine.held, ids.length, "every delivery still held");
      // The disk has room again: the next try goes through, and the others follow at once.
      faulty.sendFailures = 0;
      faulty.rescheduleFailures = 0;
      faulty.failures = 0;
      const started = Date.now();
      await until("every message", async () => {
        const counts = await faulty.store.countMessages(
          { accountId: ACCOUNT, name: "full-disk-gate" },
          Date.now(),
        );
        return counts.visible === ids.length;
      });
      assert.ok(Date.now() - started < 3 * HOLD + 1000, `${Date.now() - started} ms to deliver the rest`);
      // Their outcomes are written then too, not at the failed write's retry (seconds later).
      await until("the engine to let go of them", () => engine.held === 0);
      assert.ok(Date.now() - started < 3 * HOLD + 1000, `${Date.now() - started} ms to let go of them`);
    } finally {
      await close();
    }
  });

  it("holds dead letters the full disk refuses, one tried each hold for all, and sends the rest at once when it takes one", async () => {
    const HOLD = 400;
    const { faulty, engine, registry, queues, metrics, records, close } = openEngine({
      heldWhileLowMs: HOLD,
    });
    try {
      const dlq = await queues.createQueue(ACCOUNT, "dlq-full-disk", {}, []);
      const refused = url.replace(/\/hook$/, "/refused");
      registry.setTargets(ACCOUNT, BUS, "r", [
        { id: "hook", arn: refused, spec: { Id: "hook", Arn: refused, DeadLetterConfig: { Arn: dlq.arn } } },
      ]);
      await engine.start();
      faulty.sendFailureStatus = 503;
      faulty.sendFailures = Infinity;
      const ids = Array.from({ length: 40 }, (_, i) => `dlq-gate-${i}`);
      const batch = records(ids);
      await faulty.store.appendEvents(batch);
      engine.dispatch(batch);
      await until("each dead letter's first send", () => faulty.sendCalls === ids.length);
      // Ten holds: each dead letter on its own backoff (1 s, 2 s, …) would make ~80 more sends; one
      // for all makes ~10.
      await new Promise((resolve) => setTimeout(resolve, 10 * HOLD));
      const tries = faulty.sendCalls - ids.length;
      assert.ok(tries >= 5 && tries <= 13, `${tries} sends in ten holds with 40 dead letters held`);
      assert.equal(engine.held, ids.length, "every delivery held while its dead letter waits");
      // The disk has room again: the next try goes through, and the others follow at once.
      faulty.sendFailures = 0;
      const started = Date.now();
      await until("every dead letter", async () => {
        const counts = await faulty.store.countMessages(
          { accountId: ACCOUNT, name: "dlq-full-disk" },
          Date.now(),
        );
        return counts.visible === ids.length;
      });
      assert.ok(Date.now() - started < 3 * HOLD + 1000, `${Date.now() - started} ms to send the rest`);
      await until("the engine to let go of them", () => engine.held === 0);
      const text = await metrics.text();
      assert.match(text, /^InvocationsSentToDlq\{[^}]*\} 40$/m);
      assert.doesNotMatch(text, /^InvocationsFailedToBeSentToDlq\{/m);
    } finally {
      await close();
    }
  });

  it("drops a removed target's retries waiting for their time at once, not when they fall due", async () => {
    received.length = 0;
    const { sqlite, metrics, engine, records, close } = openEngine({
      targetUrl: url.replace(/\/hook$/, "/unavailable"),
    });
    const dropped = async (): Promise<string | undefined> =>
      (await metrics.text())
        .split("\n")
        .find((l) => l.startsWith("InvocationsDropped{") && l.includes('reason="TARGET_REMOVED"'));
    try {
      await engine.start();
      const batch = records(["r1", "r2"]);
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
      await until("the first attempts", () => received.length === 2);
      // Both wait an hour (Retry-After) for their next attempt: held in memory meanwhile.
      await until("the retries to be scheduled", async () =>
        (await metrics.text()).includes("busbar_invocations_in_flight 0"),
      );
      assert.equal(engine.held, 2);
      engine.forget({ accountId: ACCOUNT, busName: BUS, ruleName: "r", targetIds: ["hook"] });
      assert.match((await dropped()) ?? "", / 2$/);
      await until("the engine to let go of them", () => engine.held === 0 && engine.lanes === 0);
      assert.equal(await sqlite.countDeliveries(), 0, "their rows completed");
      assert.equal(received.length, 2, "not attempted again");
    } finally {
      await close();
    }
  });

  it("counts an attempt in flight when its target is removed as an attempt, once the call was made, and as dropped once", async () => {
    arrivals.length = 0;
    const { metrics, engine, records, sqlite, close } = openEngine({
      targetUrl: url.replace(/\/hook$/, "/hang-fail"),
    });
    const series = async (name: string): Promise<string[]> =>
      (await metrics.text()).split("\n").filter((l) => l.startsWith(`${name}{`));
    try {
      await engine.start();
      const batch = records(["cut"]);
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
      await until("the call to arrive", () => arrivals.includes("hang"));
      engine.forget({ accountId: ACCOUNT, busName: BUS, ruleName: "r", targetIds: ["hook"] });
      // The target answers 500 after its removal: no retry, and the call it had counts.
      for (const h of hanging.splice(0)) h.end();
      await until("the engine to let go of it", () => engine.held === 0);
      assert.deepEqual(await series("InvocationAttempts"), [
        'InvocationAttempts{account="000000000000",bus="default",rule="r",target="hook"} 1',
      ]);
      assert.deepEqual(await series("InvocationsDropped"), [
        'InvocationsDropped{account="000000000000",bus="default",rule="r",target="hook",reason="TARGET_REMOVED"} 1',
      ]);
    } finally {
      await close();
    }
  });

  it("leaves a delivery it finds in the store for a target just removed to the removal's sweep, uncounted", async () => {
    const { metrics, engine, registry, makeRule, records, sqlite, close } = openEngine();
    try {
      await engine.start();
      // Pending in the store, not held: a retry parked there, say.
      await sqlite.appendEvents(records(["parked"]));
      registry.setTargets(ACCOUNT, BUS, "r", []);
      engine.forget({ accountId: ACCOUNT, busName: BUS, ruleName: "r", targetIds: ["hook"] });
      // A walk of the store finds it before the removal's sweep drops (and counts) its row.
      await engine.scan();
      await until("the engine to let go of it", () => engine.held === 0);
      assert.doesNotMatch(await metrics.text(), /InvocationsDropped\{/, "counted by the sweep, not here too");
      assert.equal(await sqlite.countDeliveries(), 1, "its row is the sweep's to drop");
      await sqlite.dropDeliveries(
        { accountId: ACCOUNT, busName: BUS, ruleName: "r", targetIds: ["hook"] },
        1000,
      );
    } finally {
      makeRule(ACCOUNT);
      await close();
    }
  });

  it("lets go of a removed rule's metric series after a while; a rule of the same name counts afresh", async () => {
    received.length = 0;
    const { sqlite, metrics, engine, registry, makeRule, records, close } = openEngine({
      forgetMetricsAfterMs: 100,
    });
    const invocations = (): Promise<string | undefined> => invocationsOfRule(metrics);
    try {
      await engine.start();
      for (const [ids, expected] of [
        [["m1", "m2"], 'Invocations{account="000000000000",bus="default",rule="r",target="hook"} 2'],
        [["m3"], 'Invocations{account="000000000000",bus="default",rule="r",target="hook"} 1'],
      ] as const) {
        makeRule(ACCOUNT);
        const batch = records(ids);
        await sqlite.appendEvents(batch);
        engine.dispatch(batch);
        await until("the deliveries", () => received.length === ids.length);
        await until("the invocations counted", async () => (await invocations()) === expected);
        received.length = 0;
        await until("the lane to go once its deliveries are done", () => engine.lanes === 0);
        // The rule is deleted (and, for the second round, it had been made again with the same name).
        registry.deleteRule(ACCOUNT, BUS, "r");
        engine.forget({ accountId: ACCOUNT, busName: BUS, ruleName: "r" });
        assert.equal(await invocations(), expected, "kept a while: the last counts can still be read");
        await until("the series to go", async () => (await invocations()) === undefined);
      }
    } finally {
      await close();
    }
  });

  it("keeps a target's metric series when it only drops what a removal left (a target id being added)", async () => {
    received.length = 0;
    const { sqlite, metrics, engine, records, close } = openEngine({ forgetMetricsAfterMs: 100 });
    try {
      await engine.start();
      const batch = records(["k1", "k2"]);
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
      const expected = 'Invocations{account="000000000000",bus="default",rule="r",target="hook"} 2';
      await until("the invocations counted", async () => (await invocationsOfRule(metrics)) === expected);
      engine.forget(
        { accountId: ACCOUNT, busName: BUS, ruleName: "r", targetIds: ["hook"] },
        { keepMetrics: true },
      );
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(await invocationsOfRule(metrics), expected, "the series stays, with its counts");
    } finally {
      await close();
    }
  });

  it("keeps the series of a target removed and made again under the same id before they were to go: it counts on in them", async () => {
    received.length = 0;
    const { sqlite, metrics, engine, registry, makeRule, records, close } = openEngine({
      forgetMetricsAfterMs: 100,
    });
    const deliver = async (ids: string[], expected: number): Promise<void> => {
      const batch = records(ids);
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
      const line = `Invocations{account="000000000000",bus="default",rule="r",target="hook"} ${expected}`;
      await until(`${expected} invocations counted`, async () => (await invocationsOfRule(metrics)) === line);
    };
    try {
      await engine.start();
      await deliver(["a1", "a2"], 2);
      // RemoveTargets, then PutTargets with the same id at once (which drops what the removal left).
      registry.setTargets(ACCOUNT, BUS, "r", []);
      engine.forget({ accountId: ACCOUNT, busName: BUS, ruleName: "r", targetIds: ["hook"] });
      makeRule(ACCOUNT);
      engine.forget(
        { accountId: ACCOUNT, busName: BUS, ruleName: "r", targetIds: ["hook"] },
        { keepMetrics: true },
      );
      await deliver(["a3"], 3);
      // Past the removal's forgetting: the series of the target made again stays, and counts on.
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(
        await invocationsOfRule(metrics),
        'Invocations{account="000000000000",bus="default",rule="r",target="hook"} 3',
      );
      await deliver(["a4"], 4);
    } finally {
      await close();
    }
  });

  it("counts every metric of a target under the place its lane got, when a place frees meanwhile", async () => {
    received.length = 0;
    hanging.length = 0;
    const { sqlite, metrics, engine, registry, records, close } = openEngine({
      forgetMetricsAfterMs: 10,
      maxTargetsPerAccount: 1,
    });
    const base = url.replace(/\/hook$/, "");
    const series = async (name: string): Promise<string[]> =>
      (await metrics.text())
        .split("\n")
        .filter((l) => l.startsWith(`${name}{account="${ACCOUNT}"`))
        .map((l) => /rule="([^"]*)",target="([^"]*)"/.exec(l)?.slice(1).join("/") ?? l);
    try {
      await engine.start();
      // "hook" takes the account's one place.
      const first = records(["p1"]);
      await sqlite.appendEvents(first);
      engine.dispatch(first);
      await until("the first delivery", () => received.length === 1);
      // "late" (no retries) starts its attempt past the budget, and hangs.
      registry.setTargets(ACCOUNT, BUS, "r", [
        { id: "hook", arn: url, spec: { Id: "hook", Arn: url } },
        {
          id: "late",
          arn: `${base}/hang-fail`,
          spec: { Id: "late", Arn: `${base}/hang-fail`, RetryPolicy: { MaximumRetryAttempts: 0 } },
        },
      ]);
      const [late] = records(["p2"]);
      const record = {
        ...late!,
        deliveries: late!.deliveries.map((d) => ({ ...d, id: "p2-late", targetId: "late" })),
      };
      await sqlite.appendEvents([record]);
      engine.dispatch([record]);
      await until("the late attempt to hang", () => hanging.length === 1);
      // "hook" is removed: its series, and its place, go.
      registry.setTargets(ACCOUNT, BUS, "r", [
        {
          id: "late",
          arn: `${base}/hang-fail`,
          spec: { Id: "late", Arn: `${base}/hang-fail`, RetryPolicy: { MaximumRetryAttempts: 0 } },
        },
      ]);
      engine.forget({ accountId: ACCOUNT, busName: BUS, ruleName: "r", targetIds: ["hook"] });
      await until("hook's series to go", async () => !(await series("Invocations")).includes("r/hook"));
      hanging.shift()?.end(); // "late" fails for good
      await until("the failure counted", async () => (await series("FailedInvocations")).length === 1);
      assert.deepEqual(await series("FailedInvocations"), ["*/*"], "where its attempts count");
      assert.deepEqual(await series("InvocationAttempts"), ["*/*"]);
      assert.deepEqual(await series("Invocations"), ["*/*"]);
    } finally {
      for (const h of hanging.splice(0)) h.end();
      await close();
    }
  });

  it("counts the drops of a target no longer there under *, leaving the account's places to targets that are", async () => {
    received.length = 0;
    const { sqlite, metrics, engine, records, close } = openEngine({ maxTargetsPerAccount: 1 });
    try {
      await engine.start();
      // A delivery to a target removed long ago (found in the store after a restart, say).
      const [ghost] = records(["g1"]);
      const record = {
        ...ghost!,
        deliveries: ghost!.deliveries.map((d) => ({ ...d, id: "g1-ghost", targetId: "ghost" })),
      };
      await sqlite.appendEvents([record]);
      engine.dispatch([record]);
      await until("the drop counted", async () => (await metrics.text()).includes("TARGET_NOT_FOUND"));
      const dropped = (await metrics.text()).split("\n").find((l) => l.includes("TARGET_NOT_FOUND"));
      assert.match(dropped ?? "", /rule="\*",target="\*"/);
      // The one place is still free for "hook".
      const batch = records(["g2"]);
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
      await until("the delivery", () => received.length === 1);
      await until(
        "hook counted in its own series",
        async () => (await invocationsOfRule(metrics))?.endsWith('rule="r",target="hook"} 1') === true,
      );
    } finally {
      await close();
    }
  });

  it("keeps counting another account's same-named rule after one account's rule is deleted", async () => {
    received.length = 0;
    const { sqlite, metrics, engine, registry, records, close } = openEngine({ forgetMetricsAfterMs: 100 });
    const deliver = async (batch: IngestRecord[]): Promise<void> => {
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
    };
    const line = (account: string, n: number): string =>
      `Invocations{account="${account}",bus="default",rule="r",target="hook"} ${n}`;
    try {
      await engine.start();
      await deliver(records(["mine"]));
      await deliver(records(["o1"], {}, OTHER));
      await until(
        "both accounts' first invocations counted, apart",
        async () =>
          (await invocationsOfRule(metrics)) === line(ACCOUNT, 1) &&
          (await invocationsOfRule(metrics, OTHER)) === line(OTHER, 1),
      );
      registry.deleteRule(ACCOUNT, BUS, "r");
      engine.forget({ accountId: ACCOUNT, busName: BUS, ruleName: "r" });
      await until(
        "the deleted rule's series to go",
        async () => (await invocationsOfRule(metrics)) === undefined,
      );
      assert.equal(
        await invocationsOfRule(metrics, OTHER),
        line(OTHER, 1),
        "the other account's series stays",
      );
      await deliver(records(["o2"], {}, OTHER));
      await until(
        "the other account's invocations counted on",
        async () => (await invocationsOfRule(metrics, OTHER)) === line(OTHER, 2),
      );
    } finally {
      await close();
    }
  });

  it("logs at most 10 failures of a target a minute, and says in its next line how many it did not", async () => {
    // Ahead of the records' times (taken as the engine is made), so that they are due.
    let clock = Date.now() + 1_000;
    const { sqlite, metrics, lines, engine, records, close } = openEngine({
      targetUrl: url.replace(/\/hook$/, "/refused"),
      now: () => clock,
    });
    const dropped = () => lines.filter((l) => l.includes("no dead-letter queue, event dropped"));
    try {
      await engine.start();
      const batch = records(Array.from({ length: 30 }, (_, i) => `refused-${i}`));
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
      await until("the deliveries to end", async () => (await sqlite.countDeliveries()) === 0);
      assert.equal(dropped().length, 10, dropped().join(""));
      assert.match(
        await metrics.text(),
        /InvocationsDropped\{account="000000000000",bus="default",rule="r",target="hook",reason="NO_DEAD_LETTER_QUEUE"\} 30/,
      );
      // A minute on, the next failure is logged, with the count of those that were not.
      clock += 60_000;
      const later = records(["refused-later"]);
      await sqlite.appendEvents(later);
      engine.dispatch(later);
      await until("the delivery to end", async () => (await sqlite.countDeliveries()) === 0);
      assert.equal(dropped().length, 11);
      assert.match(dropped()[10] ?? "", /"failuresNotLogged":20/);
    } finally {
      await close();
    }
  });

  /** `name`'s sample in the metrics' text (the first series when it has labels), or undefined. */
  async function sample(metrics: Metrics, name: string): Promise<number | undefined> {
    const line = (await metrics.text())
      .split("\n")
      .find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
  }

  /**
   * An engine whose rule "r" sends to `/flaky` (down, answering `status`), with `spec`'s fields on the
   * target; its records stored and dispatched, and the target held.
   */
  async function heldTarget(
    ids: readonly string[],
    spec: Record<string, unknown> = {},
    options: { now?: () => number; status?: number; headers?: Record<string, string> } = {},
  ) {
    Object.assign(flaky, {
      down: true,
      status: options.status ?? 500,
      headers: options.headers ?? {},
      calls: 0,
    });
    received.length = 0;
    const flakyUrl = url.replace(/\/hook$/, "/flaky");
    const opened = openEngine({
      targetUrl: flakyUrl,
      ...(options.now !== undefined && { now: options.now }),
    });
    const { sqlite, engine, registry, metrics, records } = opened;
    registry.setTargets(ACCOUNT, BUS, "r", [
      { id: "hook", arn: flakyUrl, spec: { Id: "hook", Arn: flakyUrl, ...spec } },
    ]);
    await engine.start();
    const batch = records(ids);
    await sqlite.appendEvents(batch);
    engine.dispatch(batch);
    await until("the target to be held", async () => (await sample(metrics, "busbar_targets_held")) === 1);
    // The attempts that started before the hold end (the HTTP client's pool had queued most of them).
    await until(
      "one attempt at a time",
      async () => ((await sample(metrics, "busbar_invocations_in_flight")) ?? 0) <= 1,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    return opened;
  }

  it("holds a target failing again and again: what comes due waits, spending no attempt, while one attempt at a time is made", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `held-${i}`);
    // Six attempts each: with the backoff of 10 ms doubling to 100 ms, a second of failures would
    // spend them all (the events dropped) if each event kept its own schedule.
    const { sqlite, metrics, lines, engine, close } = await heldTarget(ids, {
      RetryPolicy: { MaximumRetryAttempts: 5 },
    });
    try {
      const before = flaky.calls;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const during = flaky.calls - before;
      // One attempt at a time, after 10 ms, 20, 40, then every 100 ms (the retries' longest wait).
      assert.ok(during >= 3 && during <= 25, `${during} attempts in 1.5 s while held`);
      assert.ok(((await sample(metrics, "busbar_deliveries_waiting_for_held_targets")) ?? 0) > 50);
      assert.equal(engine.held, 100, "every delivery still held");
      const failing = lines.filter((l) => l.includes("target failing: its deliveries are held"));
      assert.equal(failing.length, 1, failing.join(""));
      assert.match(failing[0] ?? "", /"target":"hook"/);
      assert.match(failing[0] ?? "", /"code":"HTTP_500"|"code":"[A-Z_0-9]+"/);

      flaky.down = false;
      await until("every event delivered", () => new Set(received).size === ids.length);
      await until("the deliveries to end", async () => (await sqlite.countDeliveries()) === 0);
      assert.equal(await sample(metrics, "busbar_targets_held"), 0);
      assert.equal(await sample(metrics, "busbar_target_holds_total"), 1);
      const text = await metrics.text();
      assert.doesNotMatch(text, /^(FailedInvocations|InvocationsDropped)\{/m, "nothing failed for good");
      assert.ok(
        lines.some((l) => l.includes("target answers again")),
        "the hold's end logged",
      );
    } finally {
      await close();
    }
  });

  it("ends a held target's hold when it answers with a failure no retry fixes: the rest go at once", async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `answers-${i}`);
    const { sqlite, metrics, close } = await heldTarget(ids);
    try {
      // "Bad request": the target is up, and says so for each event.
      flaky.status = 400;
      await until("the deliveries to end", async () => (await sqlite.countDeliveries()) === 0, 5_000);
      assert.equal(await sample(metrics, "busbar_targets_held"), 0);
      assert.match(await metrics.text(), /^InvocationsDropped\{[^}]*reason="NO_DEAD_LETTER_QUEUE"\} 40$/m);
    } finally {
      await close();
    }
  });

  it("waits for a held target's Retry-After before its next attempt", async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `later-${i}`);
    const { sqlite, metrics, close } = await heldTarget(
      ids,
      {},
      { status: 503, headers: { "retry-after": "1" } },
    );
    try {
      const before = flaky.calls;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const during = flaky.calls - before;
      // Each event on its own schedule would try again every second: ~125 calls.
      assert.ok(during >= 1 && during <= 4, `${during} attempts in 2.5 s while held with Retry-After: 1`);
      assert.equal(await sample(metrics, "busbar_targets_held"), 1);
      // Its next attempt, a second on at most, ends the hold (and leaves nothing for the next test).
      flaky.down = false;
      await until("the deliveries to end", async () => (await sqlite.countDeliveries()) === 0, 5_000);
    } finally {
      flaky.down = false;
      await close();
    }
  });

  it("ends a target's hold when the target is changed (a new endpoint): what waits goes to it, not after the hold's wait", async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `changed-${i}`);
    const { sqlite, engine, registry, lines, close } = await heldTarget(ids);
    try {
      // "Come back in an hour": once an attempt of the held target fails so, the next waits that long.
      Object.assign(flaky, { status: 503, headers: { "retry-after": "3600" } });
      const calls = flaky.calls;
      await until("an attempt answered so", () => flaky.calls > calls);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Put again as it was, beside a new target (new Target objects, the same spec): still held, past
      // the 5 s after which a hold looks at its target again.
      const flakyUrl = url.replace(/\/hook$/, "/flaky");
      registry.setTargets(ACCOUNT, BUS, "r", [
        { id: "hook", arn: flakyUrl, spec: { Id: "hook", Arn: flakyUrl } },
        { id: "other", arn: url, spec: { Id: "other", Arn: url } },
      ]);
      const callsBefore = flaky.calls;
      await new Promise((resolve) => setTimeout(resolve, 5_500));
      assert.equal(flaky.calls, callsBefore, "no attempt at the held target");
      assert.equal(received.length, 0);
      registry.setTargets(ACCOUNT, BUS, "r", [{ id: "hook", arn: url, spec: { Id: "hook", Arn: url } }]);
      // All but the events whose own retry was set an hour ahead by that answer (one, or two if an
      // attempt was in flight), within the 5 s a hold is looked at.
      await until(
        "the events waiting to reach the new endpoint",
        () => received.length >= ids.length - 2,
        8_000,
      );
      assert.ok(
        lines.some((l) => l.includes("target changed while held")),
        lines.join(""),
      );
    } finally {
      flaky.down = false;
      // What waits an hour goes with the rule, rather than being left in the store for the next test.
      engine.forget({ accountId: ACCOUNT, busName: BUS, ruleName: "r" });
      await until("the store to be empty", async () => (await sqlite.countDeliveries()) === 0);
      await close();
    }
  });

  it("logs a target's hold once a minute, however often its lane comes and goes (a flapping target)", async () => {
    const { sqlite, engine, metrics, lines, records, close } = await heldTarget(
      Array.from({ length: 20 }, (_, i) => `flap-${i}`),
    );
    const failing = () => lines.filter((l) => l.includes("target failing: its deliveries are held"));
    const ended = () => lines.filter((l) => l.includes("target answers again"));
    try {
      for (let round = 1; round <= 3; round++) {
        flaky.down = false;
        await until("the deliveries to end", async () => (await sqlite.countDeliveries()) === 0);
        await until("the lane to go", () => engine.lanes === 0);
        if (round === 3) break;
        flaky.down = true;
        const batch = records(Array.from({ length: 20 }, (_, i) => `flap-${round}-${i}`));
        await sqlite.appendEvents(batch);
        engine.dispatch(batch);
        await until(
          "the target held again",
          async () => (await sample(metrics, "busbar_target_holds_total")) === round + 1,
        );
      }
      assert.equal(failing().length, 1, failing().join(""));
      assert.equal(ended().length, 1, "the end of the hold logged, not of those not logged");
    } finally {
      flaky.down = false;
      await close();
    }
  });

  it("ends the events held for a failing target at their MaximumEventAgeInSeconds, in its dead-letter queue with the target's last failure", async () => {
    let offset = 1_000;
    const ids = Array.from({ length: 20 }, (_, i) => `aged-${i}`);
    const dlqName = "held-dlq";
    // The queue is made before the target names it: heldTarget sets the target.
    const { queues, sqlite, metrics, close } = await heldTarget(
      ids,
      {
        RetryPolicy: { MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${dlqName}` },
      },
      { now: () => Date.now() + offset },
    );
    try {
      const dlq = await queues.createQueue(ACCOUNT, dlqName, {}, []);
      offset += 61_000;
      await until("the deliveries to end", async () => (await sqlite.countDeliveries()) === 0, 10_000);
      const messages: Awaited<ReturnType<QueueService["receive"]>> = [];
      for (
        let batch;
        (batch = await queues.receive(dlq, {
          max: 10,
          systemAttributeNames: [],
          messageAttributeNames: ["All"],
        })).length > 0;
      )
        messages.push(...batch);
      assert.equal(messages.length, ids.length, "every event in the dead-letter queue");
      const attribute = (m: (typeof messages)[number], name: string): string | undefined =>
        m.MessageAttributes?.[name]?.StringValue;
      for (const m of messages)
        assert.equal(attribute(m, "EXHAUSTED_RETRY_CONDITION"), "MaximumEventAgeInSeconds");
      const held = messages.filter((m) =>
        /^Held while its target failed/.test(attribute(m, "ERROR_MESSAGE") ?? ""),
      );
      assert.ok(held.length > 0, "the events waiting for the held target ended by its hold");
      for (const m of held) {
        assert.match(attribute(m, "ERROR_MESSAGE") ?? "", /the target's last failure: .*500/);
        assert.notEqual(attribute(m, "ERROR_CODE"), "EVENT_EXPIRED");
      }
      assert.equal(await sample(metrics, "busbar_targets_held"), 0);
    } finally {
      await close();
    }
  });

  it("fails an event older than MaximumEventAgeInSeconds when its attempt is due, as EVENT_EXPIRED, uncalled", async () => {
    received.length = 0;
    const { sqlite, metrics, lines, engine, records, close } = openEngine();
    try {
      await engine.start();
      // Accepted two days ago (the default age is a day), while delivery was off, say.
      const batch = records(["old"]).map((r) => ({
        ...r,
        event: { ...r.event, ingestedAt: r.event.ingestedAt - 2 * 86_400_000 },
      }));
      await sqlite.appendEvents(batch);
      engine.dispatch(batch);
      await until("the delivery to end", async () => (await sqlite.countDeliveries()) === 0);
      assert.deepEqual(received, [], "the target was not called");
      assert.match(
        await metrics.text(),
        /FailedInvocations\{account="000000000000",bus="default",rule="r",target="hook",code="EVENT_EXPIRED"\} 1/,
      );
      const line = lines.find((l) => l.includes('"eventId":"old"')) ?? "";
      assert.match(line, /"code":"EVENT_EXPIRED"/);
      assert.match(line, /"exhausted":"MaximumEventAgeInSeconds"/);
    } finally {
      await close();
    }
  });

  it("keeps the completions, logs, and writes them with later ones, without invoking the targets again", async () => {
    await deliverThroughFailures(["e1", "e2", "e3"], 2);
  });

  it("writes completions that failed on their own after a pause (nothing else to write)", async () => {
    await deliverThroughFailures(["lone"], 1);
  });

  it("tries failed outcome writes again less and less often, one write at a time, and stops at once while they fail", async () => {
    received.length = 0;
    const { sqlite, faulty, lines, engine, records: recordsOf, close } = openEngine({ failures: Infinity });
    faulty.failDelayMs = 50;
    try {
      await engine.start();
      // Completions come one by one while writes fail slowly: each used to wait for a write of its own.
      const ids = Array.from({ length: 40 }, (_, i) => `full${i}`);
      const records = recordsOf(ids);
      await sqlite.appendEvents(records);
      for (const record of records) {
        engine.dispatch([record]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await until("the deliveries", () => received.length === ids.length);
      const calls = faulty.calls;
      await new Promise((resolve) => setTimeout(resolve, 3500));
      // Tries 1 s, 2 s, 4 s apart after the first failures; back to back, 3.5 s held ~70.
      const writes = faulty.calls - calls;
      assert.ok(writes <= 4, `${writes} writes of outcomes in 3.5 s while the store failed`);
      const started = Date.now();
      const closed = await Promise.race([
        engine.close().then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 3000)),
      ]);
      assert.ok(closed, "closed within 3 s");
      assert.ok(Date.now() - started < 1000, `closed in ${Date.now() - started} ms`);
      const stopped = faulty.calls;
      await new Promise((resolve) => setTimeout(resolve, 1200));
      assert.equal(faulty.calls, stopped, "no write of outcomes after the stop");
      assert.equal(await sqlite.countDeliveries(), ids.length, "the deliveries stay pending in the store");
      assert.equal(lines.filter((l) => l.includes("recording delivery outcomes failed")).length, 1);
    } finally {
      await close();
    }
  });

  it("keeps to the retries' pace while failing targets ask for writes, naming each delivery once, and writes what waits once the store works", async () => {
    received.length = 0;
    const {
      sqlite,
      faulty,
      engine,
      records: recordsOf,
      close,
    } = openEngine({
      targetUrl: url.replace(/\/hook$/, "/fail"),
    });
    faulty.rescheduleFailures = Infinity;
    faulty.failDelayMs = 50;
    try {
      await engine.start();
      const ids = Array.from({ length: 20 }, (_, i) => `retry${i}`);
      const records = recordsOf(ids);
      await sqlite.appendEvents(records);
      // With those an earlier test left pending in the same store (resumed by the start-up walk).
      const pending = await sqlite.countDeliveries();
      engine.dispatch(records);
      // Retries 10-100 ms apart (the engine's backoff here), each asking for its new time's write.
      await until("retries", () => received.length >= 5 * ids.length);
      const calls = faulty.rescheduleCalls.length;
      await new Promise((resolve) => setTimeout(resolve, 3500));
      const writes = faulty.rescheduleCalls.length - calls;
      assert.ok(writes <= 4, `${writes} writes of retries' times in 3.5 s while the store failed`);
      const largest = Math.max(...faulty.rescheduleCalls);
      assert.ok(largest <= pending, `a write named ${largest} changes for ${pending} deliveries`);
      // The store works again: the next try writes them, and later retries' times follow.
      faulty.rescheduleFailures = 0;
      const before = faulty.rescheduleCalls.length;
      await until(
        "writes after the store works again",
        () => faulty.rescheduleCalls.length >= before + 3,
        20_000,
      );
    } finally {
      await close();
    }
  });
});
