/**
 * `npm run bench:ingest`: durable PutEvents throughput and latency of a real `busbar serve`, beside
 * RabbitMQ doing the equivalent durable work on the same machine in the same run.
 *
 * Busbar: the default bus holds 100 rules (each with one target), so every event matches one rule and
 * commits one pending delivery with it. A separate load process keeps N signed PutEvents requests of
 * 10 ~1 KB entries in flight over keep-alive connections, for several N.
 * RabbitMQ: a durable topic exchange with 100 bindings to 100 durable queues; persistent ~1 KB messages
 * published in groups of 10 on a confirm channel, each group awaited (publisher confirms) like one
 * PutEvents reply, N groups in flight.
 * Prints a table, writes bench/results/ingest.json.
 *
 *   npm run bench:ingest        (BENCH_SECONDS per step, default 5)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import amqp from "amqplib";
import { rabbitPid, withCpu } from "./cpu.js";
import { removeDataDir, startBusbar, TEST_ROOT } from "../test/support/index.js";
import { percentile } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY ?? "4,16,64,256").split(",").map(Number);
const RULES = 100;
const AMQP_URL = process.env.BENCH_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

interface Step {
  concurrency: number;
  events: number;
  eventsPerSecond: number;
  p50: number;
  p99: number;
  /** CPU time of the server (Busbar's process, RabbitMQ's Erlang VM) per event, in µs. */
  cpuUsPerUnit: number | undefined;
}

async function busbarSteps(): Promise<Step[]> {
  // Accept-only (BUSBAR_DELIVERY=off): the deliveries stay pending, as RabbitMQ's messages stay queued
  // with no consumer; this measures durable acceptance, not delivery (that is bench:deliver).
  const server = await startBusbar({
    env: {
      BUSBAR_DELIVERY: "off",
      ...Object.fromEntries(new URLSearchParams(process.env.BENCH_SERVER_ENV ?? "")),
    },
    nodeArgs: (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""),
  });
  try {
    const eb = new EventBridgeClient({ endpoint: server.url, region: "us-east-1", credentials: TEST_ROOT });
    for (let i = 0; i < RULES; i++) {
      await eb.send(
        new PutRuleCommand({
          Name: `r${i}`,
          EventPattern: JSON.stringify({ source: ["bench.orders"], detail: { customer: [`c-${i}`] } }),
        }),
      );
      await eb.send(
        new PutTargetsCommand({ Rule: `r${i}`, Targets: [{ Id: "t", Arn: `https://example.com/${i}` }] }),
      );
    }
    eb.destroy();
    const steps: Step[] = [];
    for (const c of CONCURRENCIES) {
      const step = await withCpu(
        server.child.pid,
        (r: Omit<Step, "cpuUsPerUnit">) => r.events,
        () => {
          const out = execFileSync(
            process.execPath,
            [
              "--import",
              "tsx",
              join(here, "ingest-load.ts"),
              server.url,
              String(c),
              String(SECONDS),
              TEST_ROOT.accessKeyId,
              TEST_ROOT.secretAccessKey,
            ],
            { encoding: "utf8" },
          );
          return JSON.parse(out.trim()) as Omit<Step, "cpuUsPerUnit">;
        },
      );
      steps.push(step);
    }
    return steps;
  } finally {
    await server.stop();
    removeDataDir(server.dataDir);
  }
}

async function rabbitSteps(): Promise<Step[]> {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  const exchange = "busbar.bench";
  await ch.assertExchange(exchange, "topic", { durable: true });
  const queues: string[] = [];
  for (let i = 0; i < RULES; i++) {
    const q = `busbar.bench.q${i}`;
    await ch.assertQueue(q, { durable: true });
    await ch.purgeQueue(q);
    await ch.bindQueue(q, exchange, `orders.c-${i}`);
    queues.push(q);
  }
  const payload = (k: number) =>
    Buffer.from(JSON.stringify({ order: k, customer: `c-${k % 100}`, note: "x".repeat(900) }));
  /** One step: `c` publishers, each publishing 10 persistent messages and awaiting their confirms. */
  const rabbitStep = async (c: number): Promise<Omit<Step, "cpuUsPerUnit">> => {
    const latencies: number[] = [];
    let messages = 0;
    let counter = 0;
    const deadline = performance.now() + SECONDS * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: c }, async () => {
        while (performance.now() < deadline) {
          const start = performance.now();
          const confirms: Array<Promise<void>> = [];
          for (let i = 0; i < 10; i++) {
            const k = counter++;
            confirms.push(
              new Promise<void>((resolve, reject) =>
                ch.publish(exchange, `orders.c-${k % 100}`, payload(k), { persistent: true }, (err) =>
                  err ? reject(err as Error) : resolve(),
                ),
              ),
            );
          }
          await Promise.all(confirms);
          messages += 10;
          latencies.push(performance.now() - start);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => percentile(latencies, p);
    return {
      concurrency: c,
      events: messages,
      eventsPerSecond: messages / elapsed,
      p50: pct(0.5),
      p99: pct(0.99),
    };
  };
  const steps: Step[] = [];
  const pid = rabbitPid();
  try {
    for (const c of CONCURRENCIES) {
      steps.push(
        await withCpu(
          pid,
          (r) => r.events,
          () => rabbitStep(c),
        ),
      );
      for (const q of queues) await ch.purgeQueue(q);
    }
  } finally {
    for (const q of queues) await ch.deleteQueue(q);
    await ch.deleteExchange(exchange);
    await ch.close();
    await conn.close();
  }
  return steps;
}

const busbar = await busbarSteps();
const rabbit = await rabbitSteps();
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const cpu = (s: Step) => (s.cpuUsPerUnit === undefined ? "—" : s.cpuUsPerUnit.toFixed(0));
console.log(
  `${"in flight".padStart(9)} ${"busbar ev/s".padStart(12)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"cpu µs/ev".padStart(10)} ${"rabbit msg/s".padStart(13)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"cpu µs/msg".padStart(11)} ${"ratio".padStart(6)}`,
);
const rows = busbar.map((b, i) => {
  const r = rabbit[i] as Step;
  const ratio = b.eventsPerSecond / r.eventsPerSecond;
  console.log(
    `${String(b.concurrency).padStart(9)} ${fmt(b.eventsPerSecond).padStart(12)} ${b.p50.toFixed(1).padStart(7)} ${b.p99.toFixed(1).padStart(7)} ${cpu(b).padStart(10)} ${fmt(r.eventsPerSecond).padStart(13)} ${r.p50.toFixed(1).padStart(7)} ${r.p99.toFixed(1).padStart(7)} ${cpu(r).padStart(11)} ${ratio.toFixed(2).padStart(6)}`,
  );
  return { concurrency: b.concurrency, busbar: b, rabbitmq: r, ratio: Number(ratio.toFixed(2)) };
});
const file = join(here, "results", "ingest.json");
mkdirSync(dirname(file), { recursive: true });
writeFileSync(
  file,
  JSON.stringify(
    {
      command: "npm run bench:ingest",
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "unknown", node: process.version },
      seconds: SECONDS,
      rules: RULES,
      rows,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nrequests of 10 entries of ~1 KB; latency per request (10 events); wrote ${file}`);
