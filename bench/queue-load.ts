/**
 * The load generator of `bench:queue`, run in its own process: producers send batches of 10 messages
 * of ~1 KB (SendMessageBatch), consumers long-poll batches of 10 (ReceiveMessage) and delete them
 * (DeleteMessageBatch), for `seconds`. At most BACKLOG messages are sent and not yet received, so that
 * the figures measure a steady flow, not a growing queue. With BENCH_RATE set, producers instead pace
 * themselves to that many messages per second in all (the latency then excludes queueing behind a
 * backlog). Prints one JSON line: messages received and deleted, their rate, and the latency from
 * just before the send to the receive reply (p50, p99).
 *
 * Each producer and consumer has its own keep-alive connection with one request in flight. The
 * SendMessageBatch bodies (a few) and the ReceiveMessage body are constant, signed once and replayed;
 * only DeleteMessageBatch, which carries receipt handles, is signed per request. A message's send time
 * is therefore kept here by MessageId (from the SendMessageBatch reply), not in its body.
 *
 *   node --import tsx bench/queue-load.ts URL QUEUE_URL PRODUCERS CONSUMERS SECONDS KEY_ID SECRET
 */
import type { Client } from "undici";
import { connect, postSigned, presigned, signRequest, type SignedRequest } from "./sigv4-presign.js";
import { percentile } from "./stats.js";

const [url = "", queueUrl = "", p = "4", c = "4", s = "5", accessKeyId = "", secretAccessKey = ""] =
  process.argv.slice(2);
const producers = Number(p);
const consumers = Number(c);
const seconds = Number(s);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 2000);
const RATE = process.env.BENCH_RATE === undefined ? undefined : Number(process.env.BENCH_RATE);
const target = new URL(url);
const credentials = { accessKeyId, secretAccessKey };

/** Request latencies (ms) by operation, for the diagnostics in the output. */
const opLatencies = new Map<string, number[]>();

async function call(client: Client, op: string, request: SignedRequest): Promise<Record<string, unknown>> {
  const at = performance.now();
  try {
    return await postSigned(client, request);
  } catch (e) {
    throw new Error(`${op}: ${(e as Error).message}`, { cause: e });
  } finally {
    const list = opLatencies.get(op) ?? [];
    list.push(performance.now() - at);
    opLatencies.set(op, list);
  }
}

const filler = "x".repeat(1000);
// A few distinct batches of ten ~1 KB messages, and the long poll for up to ten.
const sendBatches = Array.from({ length: 16 }, (_, b) => {
  const entries = Array.from({ length: 10 }, (_, k) => ({ Id: `m${k}`, MessageBody: `${b}.${k}|${filler}` }));
  const body = JSON.stringify({ QueueUrl: queueUrl, Entries: entries });
  return presigned(target, "AmazonSQS.SendMessageBatch", body, credentials);
});
const receive = presigned(
  target,
  "AmazonSQS.ReceiveMessage",
  JSON.stringify({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  credentials,
);
let batches = 0;

const latencies: number[] = [];
/** When each message in the queue was sent (just before its SendMessageBatch), by MessageId. */
const sentAt = new Map<string, number>();
/** When messages were received whose SendMessageBatch reply had not come back yet, by MessageId. */
const receivedEarly = new Map<string, number>();
let sent = 0;
let received = 0;
let deleted = 0;
const deadline = performance.now() + seconds * 1000;
const waiting: Array<() => void> = [];
const release = () => {
  for (const w of waiting.splice(0)) w();
};

async function produce(client: Client, index: number): Promise<void> {
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
    const batch = (sendBatches[batches++ % sendBatches.length] as () => SignedRequest)();
    const at = performance.now(); // producers and consumers share this process's clock
    const r = await call(client, "SendMessageBatch", batch);
    const successful = (r.Successful as Array<{ MessageId: string }> | undefined) ?? [];
    if (successful.length !== 10) throw new Error(`send failed: ${JSON.stringify(r.Failed)}`);
    for (const { MessageId: id } of successful)
      meet(id, at, sentAt, receivedEarly, (receivedAt) => receivedAt - at);
    sent += successful.length;
  }
}

/**
 * Records one end of a message's trip (its send or its receive, at `at`): the latency once the other
 * end was seen (`latency` of the other's time), else this end in `own` until the other comes.
 */
function meet(
  id: string,
  at: number,
  own: Map<string, number>,
  other: Map<string, number>,
  latency: (otherAt: number) => number,
): void {
  const otherAt = other.get(id);
  if (otherAt === undefined) own.set(id, at);
  else {
    other.delete(id);
    latencies.push(latency(otherAt));
  }
}

async function consume(client: Client): Promise<void> {
  while (performance.now() < deadline) {
    const r = await call(client, "ReceiveMessage", receive());
    const messages = (r.Messages as Array<{ MessageId: string; ReceiptHandle: string }> | undefined) ?? [];
    if (messages.length === 0) continue;
    const now = performance.now();
    for (const { MessageId: id } of messages) meet(id, now, receivedEarly, sentAt, (at) => now - at);
    received += messages.length;
    release();
    const entries = messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle }));
    const d = await call(
      client,
      "DeleteMessageBatch",
      signRequest(
        target,
        "AmazonSQS.DeleteMessageBatch",
        JSON.stringify({ QueueUrl: queueUrl, Entries: entries }),
        credentials,
      ),
    );
    const ok = (d.Successful as unknown[] | undefined)?.length ?? 0;
    if (ok !== messages.length) throw new Error(`delete failed: ${JSON.stringify(d.Failed)}`);
    deleted += ok;
  }
}

const producerClients = Array.from({ length: producers }, () => connect(target));
const consumerClients = Array.from({ length: consumers }, () => connect(target));
const started = performance.now();
const timer = setInterval(release, 50); // producers blocked on the backlog re-check the deadline
await Promise.all([...producerClients.map(produce), ...consumerClients.map(consume)]);
clearInterval(timer);
const elapsed = (performance.now() - started) / 1000;
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
await Promise.all([...producerClients, ...consumerClients].map((client) => client.destroy()));
