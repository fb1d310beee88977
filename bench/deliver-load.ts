/**
 * The load generator of `bench:deliver`, run in its own process: sends signed PutEvents of 10 ~1 KB
 * entries at a steady rate (open loop, at most 512 requests in flight) for `seconds`, and prints one
 * JSON line: the reply time of every accepted event (epoch milliseconds, fractional), and what it sent.
 * With WARMUP_SECONDS, it first sends at a fifth of the rate for that long, unrecorded.
 *
 *   node --import tsx bench/deliver-load.ts URL SOURCE EVENTS_PER_SECOND SECONDS KEY_ID SECRET [WARMUP_SECONDS]
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
  warmupText = "0",
] = process.argv.slice(2);
const warmupSeconds = Number(warmupText);
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
let failed = 0;
/** Events accepted during the warm-up (their deliveries reach the receiver too). */
let warmupEvents = 0;

/**
 * Sends PutEvents at `rate` events/s for `seconds` (open loop); records the reply time of each event
 * when `record` is set. Resolves when every request sent has been answered.
 */
async function drive(rate: number, seconds: number, record: boolean): Promise<number> {
  let sent = 0;
  const send = async (k: number): Promise<void> => {
    const request = (bodies[k % bodies.length] as () => SignedRequest)();
    inFlight++;
    try {
      const out = (await postSigned(pool, request)) as { Entries: Array<{ EventId?: string }> };
      const at = now();
      for (const e of out.Entries) {
        if (e.EventId === undefined) continue;
        if (record) replies.push([e.EventId, at]);
        else warmupEvents++;
      }
    } catch {
      if (record) failed++;
    } finally {
      inFlight--;
    }
  };
  const requestsPerSecond = rate / 10;
  const started = now();
  const end = started + seconds * 1000;
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
  return sent;
}

// Warm-up, not recorded: a process that has just started runs its request path unoptimized and opens
// its connections, and on two cores shared with the server that start-up alone put the server behind
// by a few hundred milliseconds at 5,000 events/s (measured in the ninth session). A fifth of the
// step's rate keeps the warm-up itself from building a backlog.
if (warmupSeconds > 0) await drive(eventsPerSecond / 5, warmupSeconds, false);
const started = now();
const sent = await drive(eventsPerSecond, seconds, true);
const elapsed = (now() - started) / 1000;
process.stdout.write(
  JSON.stringify({
    offeredPerSecond: (sent * 10) / seconds,
    requests: sent,
    failed,
    elapsed,
    warmupEvents,
    replies,
  }) + "\n",
);
await pool.destroy();
