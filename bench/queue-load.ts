/**
 * The load generator of `bench:queue`, run in its own process: producers send batches of 10 messages
 * of ~1 KB (SendMessageBatch), consumers long-poll batches of 10 (ReceiveMessage) and delete them
 * (DeleteMessageBatch), for `seconds`. At most BACKLOG messages are sent and not yet received, so that
 * the figures measure a steady flow, not a growing queue. With BENCH_RATE set, producers instead pace
 * themselves to that many messages per second in all (the latency then excludes queueing behind a
 * backlog). Prints one JSON line: messages received and deleted, their rate, and the latency from
 * just before the send to the receive reply (p50, p99).
 *
 *   node --import tsx bench/queue-load.ts URL QUEUE_URL PRODUCERS CONSUMERS SECONDS KEY_ID SECRET
 */
import http from "node:http";
import { postJson, signedHeaders } from "./sigv4-presign.js";

const [url = "", queueUrl = "", p = "4", c = "4", s = "5", accessKeyId = "", secretAccessKey = ""] =
  process.argv.slice(2);
const producers = Number(p);
const consumers = Number(c);
const seconds = Number(s);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 2000);
const RATE = process.env.BENCH_RATE === undefined ? undefined : Number(process.env.BENCH_RATE);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: producers + consumers });
const credentials = { accessKeyId, secretAccessKey };

/** Request latencies (ms) by operation, for the diagnostics in the output. */
const opLatencies = new Map<string, number[]>();

async function call(op: string, input: unknown): Promise<Record<string, unknown>> {
  const body = JSON.stringify(input);
  const at = performance.now();
  try {
    return await postJson(
      target,
      agent,
      signedHeaders(target.host, `AmazonSQS.${op}`, body, credentials),
      body,
    );
  } catch (e) {
    throw new Error(`${op}: ${(e as Error).message}`, { cause: e });
  } finally {
    const list = opLatencies.get(op) ?? [];
    list.push(performance.now() - at);
    opLatencies.set(op, list);
  }
}

const filler = "x".repeat(1000);
const latencies: number[] = [];
let sent = 0;
let received = 0;
let deleted = 0;
const deadline = performance.now() + seconds * 1000;
const waiting: Array<() => void> = [];
const release = () => {
  for (const w of waiting.splice(0)) w();
};

async function produce(_: unknown, index: number): Promise<void> {
  // Paced: each producer sends its batch of 10 every 10 × producers / RATE seconds, staggered.
  const interval = RATE === undefined ? 0 : (10 * producers * 1000) / RATE;
  let next = performance.now() + (interval * index) / producers;
  while (performance.now() < deadline) {
    if (RATE !== undefined) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next += interval;
    }
    if (sent - received >= BACKLOG) {
      await new Promise<void>((r) => waiting.push(r));
      continue;
    }
    const at = performance.now(); // producers and consumers share this process's clock
    const entries = Array.from({ length: 10 }, (_, k) => ({ Id: `m${k}`, MessageBody: `${at}|${filler}` }));
    const r = await call("SendMessageBatch", { QueueUrl: queueUrl, Entries: entries });
    const ok = (r.Successful as unknown[] | undefined)?.length ?? 0;
    if (ok !== 10) throw new Error(`send failed: ${JSON.stringify(r.Failed)}`);
    sent += ok;
  }
}

async function consume(): Promise<void> {
  while (performance.now() < deadline) {
    const r = await call("ReceiveMessage", {
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
    });
    const messages = (r.Messages as Array<{ Body: string; ReceiptHandle: string }> | undefined) ?? [];
    if (messages.length === 0) continue;
    const now = performance.now();
    for (const m of messages) latencies.push(now - Number(m.Body.slice(0, m.Body.indexOf("|"))));
    received += messages.length;
    release();
    const d = await call("DeleteMessageBatch", {
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
    });
    const ok = (d.Successful as unknown[] | undefined)?.length ?? 0;
    if (ok !== messages.length) throw new Error(`delete failed: ${JSON.stringify(d.Failed)}`);
    deleted += ok;
  }
}

const started = performance.now();
const timer = setInterval(release, 50); // producers blocked on the backlog re-check the deadline
await Promise.all([
  ...Array.from({ length: producers }, produce),
  ...Array.from({ length: consumers }, consume),
]);
clearInterval(timer);
const elapsed = (performance.now() - started) / 1000;
const percentile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
latencies.sort((a, b) => a - b);
const pct = (q: number): number => percentile(latencies, q);
const ops = Object.fromEntries(
  [...opLatencies].map(([op, list]) => {
    list.sort((a, b) => a - b);
    return [op, { requests: list.length, p50: percentile(list, 0.5), p99: percentile(list, 0.99) }];
  }),
);
process.stdout.write(
  JSON.stringify({
    producers,
    consumers,
    seconds: elapsed,
    sent,
    received,
    deleted,
    messagesPerSecond: deleted / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    ops,
  }) + "\n",
);
agent.destroy();
