/**
 * The load generator of `bench:ingest`, run in its own process: `concurrency` clients, each with its own
 * keep-alive connection and one PutEvents request in flight at a time, for `seconds`; prints one JSON
 * line with the accepted events, requests and latencies.
 *
 *   node --import tsx bench/ingest-load.ts URL CONCURRENCY SECONDS KEY_ID SECRET
 */
import type { Client } from "undici";
import { connect, postSigned, presigned, type SignedRequest } from "./sigv4-presign.js";
import { percentile } from "./stats.js";

const [url = "", concurrencyText = "16", secondsText = "5", accessKeyId = "", secretAccessKey = ""] =
  process.argv.slice(2);
const concurrency = Number(concurrencyText);
const seconds = Number(secondsText);
const target = new URL(url);

// Ten ~1 KB entries per request; a few distinct bodies so that events differ, signed once and replayed.
const bodies: Array<() => SignedRequest> = Array.from({ length: 16 }, (_, b) => {
  const entries = Array.from({ length: 10 }, (_, i) => ({
    Source: "bench.orders",
    DetailType: "Order Placed",
    Detail: JSON.stringify({ order: b * 10 + i, customer: `c-${(b * 7 + i) % 100}`, note: "x".repeat(900) }),
  }));
  const body = JSON.stringify({ Entries: entries });
  return presigned(target, "AWSEvents.PutEvents", body, { accessKeyId, secretAccessKey });
});

async function send(client: Client, k: number): Promise<{ ok: number; ms: number }> {
  const request = (bodies[k % bodies.length] as () => SignedRequest)();
  const start = performance.now();
  const out = (await postSigned(client, request)) as { FailedEntryCount: number };
  return { ok: 10 - out.FailedEntryCount, ms: performance.now() - start };
}

const latencies: number[] = [];
let events = 0;
let counter = 0;
const clients = Array.from({ length: concurrency }, () => connect(target));
const deadline = performance.now() + seconds * 1000;
const started = performance.now();
await Promise.all(
  clients.map(async (client) => {
    while (performance.now() < deadline) {
      const r = await send(client, counter++);
      events += r.ok;
      latencies.push(r.ms);
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number): number => percentile(latencies, p);
process.stdout.write(
  JSON.stringify({
    concurrency,
    seconds: elapsed,
    requests: latencies.length,
    events,
    eventsPerSecond: events / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
  }) + "\n",
);
await Promise.all(clients.map((client) => client.destroy()));
