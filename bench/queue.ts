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
 * The two run side by side, step by step, for BENCH_ROUNDS rounds (default 3; each goes first in
 * every other round), and the table gives each figure's median over the rounds with every round's
 * rate: on a shared host whose speed drifts, one run of each, one system after the other, favoured
 * whichever ran in the faster minutes. Prints a table, writes bench/results/queue.json.
 *
 *   npm run bench:queue        (BENCH_SECONDS per step, default 5; BENCH_CLIENTS, default "2,4,8,16";
 *                               BENCH_ROUNDS, default 3; BENCH_RATE, default 2000, 0 for no paced step)
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
import { median, percentile } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = (process.env.BENCH_CLIENTS ?? "2,4,8,16").split(",").map(Number);
/** Rounds of every step for each system, side by side; the table gives the medians. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RATE = Number(process.env.BENCH_RATE ?? 2000);
if (!(RATE >= 0))
  throw new Error(
    `BENCH_RATE must be a number of messages/s, 0 for no paced step: ${process.env.BENCH_RATE}`,
  );
/** The paced step: 4 producers and 4 consumers at RATE messages/s; none when BENCH_RATE is 0. */
const PACED = RATE > 0 ? ({ clients: 4, rate: RATE } as const) : undefined;
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

/** A running Busbar for the Busbar steps, and an SQS client of it. */
interface BusbarUnderTest {
  readonly server: Awaited<ReturnType<typeof startBusbar>>;
  readonly sqs: ReturnType<typeof sqsClient>;
  queues: number;
}

async function busbarStep(b: BusbarUnderTest, n: number, rate?: number): Promise<Step> {
  const { server, sqs } = b;
  // Each step on a queue of its own, so that none starts with another's leftovers.
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-${b.queues++}` }));
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
        ...(rate !== undefined && { BENCH_RATE: String(rate) }),
      },
    },
  );
  const after = cpuMs(server.child.pid);
  const mainAfter = cpuMs(server.child.pid, true);
  const r = JSON.parse(out.trim()) as Pick<Step, "messagesPerSecond" | "p50" | "p99" | "ops"> & {
    deleted: number;
  };
  return {
    clients: n,
    ...(rate !== undefined && { rate }),
    messages: r.deleted,
    messagesPerSecond: r.messagesPerSecond,
    p50: r.p50,
    p99: r.p99,
    cpuUsPerUnit: perUnit(before, after, r.deleted),
    mainCpuUsPerUnit: perUnit(mainBefore, mainAfter, r.deleted),
    ops: r.ops,
  };
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

// Extra server settings, e.g. BENCH_SERVER_ENV="BUSBAR_HTTP_THREADS=0" (URL query syntax).
const server = await startBusbar({
  env: Object.fromEntries(new URLSearchParams(process.env.BENCH_SERVER_ENV ?? "")),
  nodeArgs: (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""),
});
const configs: Array<{ clients: number; rate?: number }> = [
  ...CLIENTS.map((clients) => ({ clients })),
  ...(PACED === undefined ? [] : [{ clients: PACED.clients, rate: PACED.rate }]),
];
/** Per config, each round's step of each system. */
const busbar: Step[][] = configs.map(() => []);
const rabbit: Step[][] = configs.map(() => []);
const rabbitVm = rabbitPid();
try {
  const b: BusbarUnderTest = { server, sqs: sqsClient(server.url), queues: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, { clients, rate }] of configs.entries()) {
      const runBusbar = async () => busbar[i]?.push(await busbarStep(b, clients, rate));
      const runRabbit = async () =>
        rabbit[i]?.push(
          await withCpu(
            rabbitVm,
            (r: Step) => r.messages,
            () => rabbitStep(clients, rate),
          ),
        );
      // Side by side, each going first in every other round: a host that speeds up or slows down
      // during the run favours neither.
      for (const run of round % 2 === 0 ? [runBusbar, runRabbit] : [runRabbit, runBusbar]) await run();
    }
  }
  b.sqs.destroy();
} finally {
  await server.stop();
  removeDataDir(server.dataDir);
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const perMsg = (xs: ReadonlyArray<number | undefined>) =>
  xs.some((x) => x === undefined) ? "—" : median(xs as number[]).toFixed(0);
const rates = (steps: readonly Step[]) =>
  steps.map((s) => (s.messagesPerSecond / 1000).toFixed(1)).join(" / ");
console.log(
  `| prod+cons | Busbar msgs/s (median) | each round (k) | p50 ms | p99 ms | CPU µs/msg | main µs/msg | RabbitMQ msgs/s (median) | each round (k) | p50 ms | p99 ms | CPU µs/msg | ratio (median) |`,
);
console.log("|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|");
const rows = configs.map(({ clients, rate }, i) => {
  const bs = busbar[i] as Step[];
  const rs = rabbit[i] as Step[];
  const ratios = bs.map((s, k) => s.messagesPerSecond / (rs[k] as Step).messagesPerSecond);
  const ratio = median(ratios);
  const b = median(bs.map((s) => s.messagesPerSecond));
  const r = median(rs.map((s) => s.messagesPerSecond));
  console.log(
    `| ${clients}+${clients}${rate === undefined ? "" : ` @${rate}/s`} | ${fmt(b)} | ${rates(bs)} | ${median(bs.map((s) => s.p50)).toFixed(1)} | ${median(bs.map((s) => s.p99)).toFixed(1)} | ${perMsg(bs.map((s) => s.cpuUsPerUnit))} | ${perMsg(bs.map((s) => s.mainCpuUsPerUnit))} | ${fmt(r)} | ${rates(rs)} | ${median(rs.map((s) => s.p50)).toFixed(1)} | ${median(rs.map((s) => s.p99)).toFixed(1)} | ${perMsg(rs.map((s) => s.cpuUsPerUnit))} | ${ratio.toFixed(2)} |`,
  );
  return {
    producers: clients,
    consumers: clients,
    ...(rate !== undefined && { rate }),
    busbarMessagesPerSecond: Math.round(b),
    rabbitmqMessagesPerSecond: Math.round(r),
    ratio: Number(ratio.toFixed(2)),
    busbar: bs,
    rabbitmq: rs,
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
      rounds: ROUNDS,
      backlog: BACKLOG,
      rows,
    },
    null,
    2,
  ) + "\n",
);
console.log(
  `\n${ROUNDS} rounds of ${SECONDS} s steps, Busbar and RabbitMQ side by side (each first in every other round), medians; ` +
    `1 KB messages, batches of 10, end to end (sent, received, deleted); backlog at most ${BACKLOG}; ` +
    (PACED === undefined
      ? "no paced row (BENCH_RATE=0)"
      : `the last row is paced at ${PACED.rate} messages/s`) +
    `; cpu µs/msg: the server's CPU time (all threads) ` +
    `per message, main µs/msg the part on Busbar's main thread; wrote ${file}`,
);
