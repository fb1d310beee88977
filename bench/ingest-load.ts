/**
 * The load generator of `bench:ingest`, run in its own process: keeps `concurrency` PutEvents requests
 * in flight over keep-alive connections for `seconds`, and prints one JSON line with the accepted
 * events, requests and latencies.
 *
 *   node --import tsx bench/ingest-load.ts URL CONCURRENCY SECONDS KEY_ID SECRET
 */
import http from "node:http";
import { postJson, signedHeaders } from "./sigv4-presign.js";

const [url = "", concurrencyText = "16", secondsText = "5", accessKeyId = "", secretAccessKey = ""] =
  process.argv.slice(2);
const concurrency = Number(concurrencyText);
const seconds = Number(secondsText);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

// Ten ~1 KB entries per request; a few distinct bodies so that events differ.
const bodies = Array.from({ length: 16 }, (_, b) => {
  const entries = Array.from({ length: 10 }, (_, i) => ({
    Source: "bench.orders",
    DetailType: "Order Placed",
    Detail: JSON.stringify({ order: b * 10 + i, customer: `c-${(b * 7 + i) % 100}`, note: "x".repeat(900) }),
  }));
  const body = JSON.stringify({ Entries: entries });
  return {
    body,
    headers: signedHeaders(target.host, "AWSEvents.PutEvents", body, { accessKeyId, secretAccessKey }),
  };
});

async function send(k: number): Promise<{ ok: number; ms: number }> {
  const { body, headers } = bodies[k % bodies.length] as (typeof bodies)[number];
  const start = performance.now();
  const out = (await postJson(target, agent, headers, body)) as { FailedEntryCount: number };
  return { ok: 10 - out.FailedEntryCount, ms: performance.now() - start };
}

const latencies: number[] = [];
let events = 0;
let counter = 0;
const deadline = performance.now() + seconds * 1000;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const r = await send(counter++);
      events += r.ok;
      latencies.push(r.ms);
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
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
agent.destroy();
