/**
 * `npm run bench:queue`: end-to-end throughput and latency of Busbar's SQS-compatible queues, beside
 * RabbitMQ doing the same durable work on the same machine in the same run.
 *
 * Busbar: a real `busbar serve`; a separate load process runs P producers (SendMessageBatch of 10
 * messages of ~1 KB, each reply durable) and C consumers (ReceiveMessage of up to 10 with long
 * polling, then DeleteMessageBatch), with at most BACKLOG messages sent and not yet received.
 * RabbitMQ: a durable queue; producers publish persistent ~1 KB messages 10 at a time on a confirm
 * channel and await the confirms; consumers on their own channels with prefetch 10 and manual acks;
 * the same backlog bound. Latency: from just before the send to the message's arrival at a consumer.
 * Each system runs flat out (bounded backlog) at several client counts, then paced at BENCH_RATE
 * messages/s in all (default 2000) with 4 producers and 4 consumers, for latency without queueing.
 * Prints a table, writes bench/results/queue.json.
 *
 *   npm run bench:queue        (BENCH_SECONDS per step, default 5; BENCH_CLIENTS, default "2,4,8,16")
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateQueueCommand } from "@aws-sdk/client-sqs";
import amqp from "amqplib";
import { cpuMs, perUnit, rabbitPid, withCpu } from "./cpu.js";
import { removeDataDir, sqsClient, startBusbar, TEST_ROOT } from "../test/support/index.js";
import { percentile } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = (process.env.BENCH_CLIENTS ?? "2,4,8,16").split(",").map(Number);
const RATE = Number(process.env.BENCH_RATE ?? 2000);
/** The paced step: 4 producers and 4 consumers at RATE messages/s. */
const PACED = { clients: 4, rate: RATE } as const;
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 2000);
const AMQP_URL = process.env.BENCH_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

interface Step {
  clients: number;
  /** Set for the paced step. */
  rate?: number;
  /** Messages through end to end (Busbar: deleted; RabbitMQ: acknowledged). */
  messages: number;
  messagesPerSecond: number;
  p50: number;
  p99: number;
  /** CPU time of the server (Busbar's process, RabbitMQ's Erlang VM) per message, in µs. */
  cpuUsPerUnit?: number | undefined;
  /** Busbar: the part of it on the main thread (the event loop), in µs per message. */
  mainCpuUsPerUnit?: number | undefined;
  /** Busbar: request latencies by operation, as the load generator saw them. */
  ops?: Record<string, { requests: number; p50: number; p99: number }> | undefined;
}

async function busbarSteps(): Promise<Step[]> {
  // Extra server settings, e.g. BENCH_SERVER_ENV="BUSBAR_HTTP_THREADS=0" (URL query syntax).
  const server = await startBusbar({
    env: Object.fromEntries(new URLSearchParams(process.env.BENCH_SERVER_ENV ?? "")),
    nodeArgs: (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""),
  });
  try {
    const sqs = sqsClient(server.url);
    const steps: Step[] = [];
    for (const [i, n] of [...CLIENTS, PACED.clients].entries()) {
      const paced = i === CLIENTS.length;
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-${i}` }));
      // BENCH_RATE paces the load generator: only for the paced step, whatever the caller's environment.
      const { BENCH_RATE: _rate, ...env } = process.env;
      const before = cpuMs(server.child.pid);
      const mainBefore = cpuMs(server.child.pid, true);
      const out = execFileSync(
        process.execPath,
        [
          "--import",
          "tsx",
          join(here, "queue-load.ts"),
          server.url,
          QueueUrl as string,
          String(n),
          String(n),
          String(SECONDS),
          TEST_ROOT.accessKeyId,
          TEST_ROOT.secretAccessKey,
        ],
        {
          encoding: "utf8",
          env: {
            ...env,
            BENCH_BACKLOG: String(BACKLOG),
            ...(paced && { BENCH_RATE: String(PACED.rate) }),
          },
        },
      );
      const after = cpuMs(server.child.pid);
      const mainAfter = cpuMs(server.child.pid, true);
      const r = JSON.parse(out.trim()) as Pick<Step, "messagesPerSecond" | "p50" | "p99" | "ops"> & {
        deleted: number;
      };
      steps.push({
        clients: n,
        ...(paced && { rate: PACED.rate }),
        messages: r.deleted,
        messagesPerSecond: r.messagesPerSecond,
        p50: r.p50,
        p99: r.p99,
        cpuUsPerUnit: perUnit(before, after, r.deleted),
        mainCpuUsPerUnit: perUnit(mainBefore, mainAfter, r.deleted),
        ops: r.ops,
      });
    }
    sqs.destroy();
    return steps;
  } finally {
    await server.stop();
    removeDataDir(server.dataDir);
  }
}

async function rabbitStep(n: number, rate?: number): Promise<Step> {
  const conn = await amqp.connect(AMQP_URL);
  const queue = `busbar.bench.queue.${n}`;
  const admin = await conn.createChannel();
  await admin.assertQueue(queue, { durable: true });
  await admin.purgeQueue(queue);
  const filler = "x".repeat(1000);
  const latencies: number[] = [];
  let sent = 0;
  let received = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  const consumerChannels = await Promise.all(Array.from({ length: n }, () => conn.createChannel()));
  for (const ch of consumerChannels) {
    await ch.prefetch(10);
    await ch.consume(
      queue,
      (msg) => {
        if (msg === null) return;
        const body = msg.content.toString();
        latencies.push(performance.now() - Number(body.slice(0, body.indexOf("|"))));
        received++;
        ch.ack(msg);
      },
      { noAck: false },
    );
  }
  await Promise.all(
    Array.from({ length: n }, async (_, index) => {
      const ch = await conn.createConfirmChannel();
      const interval = rate === undefined ? 0 : (10 * n * 1000) / rate;
      let next = performance.now() + (interval * index) / n;
      while (performance.now() < deadline) {
        if (rate !== undefined) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          next += interval;
        }
        if (sent - received >= BACKLOG) {
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        const at = performance.now();
        await Promise.all(
          Array.from(
            { length: 10 },
            () =>
              new Promise<void>((resolve, reject) =>
                ch.sendToQueue(queue, Buffer.from(`${at}|${filler}`), { persistent: true }, (err) =>
                  err ? reject(err as Error) : resolve(),
                ),
              ),
          ),
        );
        sent += 10;
      }
      await ch.close();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const done = received;
  for (const ch of consumerChannels) await ch.close();
  await admin.deleteQueue(queue);
  await admin.close();
  await conn.close();
  latencies.sort((a, b) => a - b);
  const pct = (q: number): number => percentile(latencies, q);
  return {
    clients: n,
    ...(rate !== undefined && { rate }),
    messages: done,
    messagesPerSecond: done / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
  };
}

const busbar = await busbarSteps();
const rabbit: Step[] = [];
const rabbitVm = rabbitPid();
const rabbitMeasured = (n: number, rate?: number) =>
  withCpu(
    rabbitVm,
    (r: Step) => r.messages,
    () => rabbitStep(n, rate),
  );
for (const n of CLIENTS) rabbit.push(await rabbitMeasured(n));
rabbit.push(await rabbitMeasured(PACED.clients, PACED.rate));
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const cpu = (s: Step) => (s.cpuUsPerUnit === undefined ? "—" : s.cpuUsPerUnit.toFixed(0));
const mainCpu = (s: Step) => (s.mainCpuUsPerUnit === undefined ? "—" : s.mainCpuUsPerUnit.toFixed(0));
console.log(
  `${"prod+cons".padStart(9)} ${"busbar msg/s".padStart(13)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"cpu µs/msg".padStart(11)} ${"main µs/msg".padStart(12)} ${"rabbit msg/s".padStart(13)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"cpu µs/msg".padStart(11)} ${"ratio".padStart(6)}`,
);
const rows = busbar.map((b, i) => {
  const r = rabbit[i] as Step;
  const ratio = b.messagesPerSecond / r.messagesPerSecond;
  console.log(
    `${(`${b.clients}+${b.clients}` + (b.rate === undefined ? "" : ` @${b.rate}/s`)).padStart(9)} ${fmt(b.messagesPerSecond).padStart(13)} ${b.p50.toFixed(1).padStart(7)} ${b.p99.toFixed(1).padStart(7)} ${cpu(b).padStart(11)} ${mainCpu(b).padStart(12)} ${fmt(r.messagesPerSecond).padStart(13)} ${r.p50.toFixed(1).padStart(7)} ${r.p99.toFixed(1).padStart(7)} ${cpu(r).padStart(11)} ${ratio.toFixed(2).padStart(6)}`,
  );
  return {
    producers: b.clients,
    consumers: b.clients,
    busbar: b,
    rabbitmq: r,
    ratio: Number(ratio.toFixed(2)),
  };
});
const file = join(here, "results", "queue.json");
mkdirSync(dirname(file), { recursive: true });
writeFileSync(
  file,
  JSON.stringify(
    {
      command: "npm run bench:queue",
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "unknown", node: process.version },
      seconds: SECONDS,
      backlog: BACKLOG,
      rows,
    },
    null,
    2,
  ) + "\n",
);
console.log(
  `\n1 KB messages, batches of 10, end to end (sent, received, deleted); backlog at most ${BACKLOG}; ` +
    `the last row is paced at ${PACED.rate} messages/s; cpu µs/msg: the server's CPU time (all threads) ` +
    `per message, main µs/msg the part on Busbar's main thread; wrote ${file}`,
);
