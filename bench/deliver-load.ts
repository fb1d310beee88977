/**
 * The load generator of `bench:deliver`, run in its own process: sends signed PutEvents of 10 ~1 KB
 * entries at a steady rate (open loop, at most 512 requests in flight) for `seconds`, and prints one
 * JSON line: the reply time of every accepted event (epoch milliseconds, fractional), and what it sent.
 *
 *   node --import tsx bench/deliver-load.ts URL SOURCE EVENTS_PER_SECOND SECONDS KEY_ID SECRET
 */
import { Pool } from "undici";
import { postSigned, presigned, type SignedRequest } from "./sigv4-presign.js";

const [
  url = "",
  source = "bench.single",
  rateText = "5000",
  secondsText = "5",
  accessKeyId = "",
  secretAccessKey = "",
] = process.argv.slice(2);
const eventsPerSecond = Number(rateText);
const seconds = Number(secondsText);
const target = new URL(url);
const MAX_IN_FLIGHT = 512;
/** 64 keep-alive connections, one request in flight on each; further requests wait for a free one. */
const pool = new Pool(target.origin, { connections: 64, pipelining: 1 });
const now = (): number => performance.timeOrigin + performance.now();

// Signed once and replayed: event ids come from the server, so identical bodies still make distinct events.
const bodies: Array<() => SignedRequest> = Array.from({ length: 16 }, (_, b) => {
  const entries = Array.from({ length: 10 }, (_, i) => ({
    Source: source,
    DetailType: "Order Placed",
    Detail: JSON.stringify({ order: b * 10 + i, note: "x".repeat(900) }),
  }));
  const body = JSON.stringify({ Entries: entries });
  return presigned(target, "AWSEvents.PutEvents", body, { accessKeyId, secretAccessKey });
});

const replies: Array<[string, number]> = [];
let inFlight = 0;
let sent = 0;
let failed = 0;
const requestsPerSecond = eventsPerSecond / 10;
const started = now();
const end = started + seconds * 1000;

async function send(k: number): Promise<void> {
  const request = (bodies[k % bodies.length] as () => SignedRequest)();
  inFlight++;
  try {
    const out = (await postSigned(pool, request)) as { Entries: Array<{ EventId?: string }> };
    const at = now();
    for (const e of out.Entries) if (e.EventId !== undefined) replies.push([e.EventId, at]);
  } catch {
    failed++;
  } finally {
    inFlight--;
  }
}

await new Promise<void>((resolve) => {
  const tick = setInterval(() => {
    const t = now();
    const due = Math.floor(((Math.min(t, end) - started) / 1000) * requestsPerSecond);
    while (sent < due && inFlight < MAX_IN_FLIGHT) void send(sent++);
    if (t >= end) {
      clearInterval(tick);
      const wait = setInterval(() => {
        if (inFlight === 0) {
          clearInterval(wait);
          resolve();
        }
      }, 5);
    }
  }, 2);
});
const elapsed = (now() - started) / 1000;
process.stdout.write(
  JSON.stringify({ offeredPerSecond: (sent * 10) / seconds, requests: sent, failed, elapsed, replies }) +
    "\n",
);
await pool.destroy();
