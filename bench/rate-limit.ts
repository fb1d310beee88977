/**
 * `npm run bench:rate-limit`: what a receiver sees of an API destination's
 * `InvocationRateLimitPerSecond`. A real `busbar serve` delivers to a loopback receiver in this
 * process, which records when each call arrived; for each rate, a fresh destination (a new connection
 * pool, as after a start) gets `BENCH_RATE_SECONDS` × rate events put at once, and the table gives
 * the most calls the receiver counted in any window of 1,000 ms of its own (the limit is kept for
 * the turns the calls are given; arrivals can bunch by connection set-up and scheduling), the most in
 * the first such window, and how long the calls took from the first to the last.
 * Prints a table, writes bench/results/rate-limit.json.
 *
 *   npm run build && npm run bench:rate-limit
 *   BENCH_RATES (default 10,50,300), BENCH_RATE_SECONDS (default 4), BENCH_ROUNDS (default 3)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { removeDataDir, startBusbar, TEST_ROOT } from "../test/support/index.js";
import { median } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
const RATES = (process.env.BENCH_RATES ?? "10,50,300").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Arrival times (ms) by request path: one path per destination. */
const arrivals = new Map<string, number[]>();
const receiver = createServer((req, res) => {
  const at = performance.now();
  const list = arrivals.get(req.url ?? "") ?? [];
  list.push(at);
  arrivals.set(req.url ?? "", list);
  req.resume();
  req.on("end", () => res.end("ok"));
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

/** The most arrivals within any window [t, t + 1000). */
function busiestSecond(sorted: readonly number[]): number {
  let most = 0;
  for (let end = 0, start = 0; end < sorted.length; end++) {
    while ((sorted[start] as number) <= (sorted[end] as number) - 1000) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

interface Run {
  rate: number;
  round: number;
  events: number;
  received: number;
  busiestSecond: number;
  firstSecond: number;
  spanMs: number;
}

const server = await startBusbar({ env: { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8" } });
const runs: Run[] = [];
try {
  const eb = new EventBridgeClient({ endpoint: server.url, region: "us-east-1", credentials: TEST_ROOT });
  const connection = await eb.send(
    new CreateConnectionCommand({
      Name: "bench",
      AuthorizationType: "API_KEY",
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "bench" } },
    }),
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const rate of RATES) {
      const name = `r${rate}-${round}`;
      const destination = await eb.send(
        new CreateApiDestinationCommand({
          Name: name,
          ConnectionArn: connection.ConnectionArn,
          InvocationEndpoint: `${base}/${name}`,
          HttpMethod: "POST",
          InvocationRateLimitPerSecond: rate,
        }),
      );
      await eb.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify({ source: [name] }) }));
      await eb.send(
        new PutTargetsCommand({
          Rule: name,
          Targets: [
            { Id: "t", Arn: destination.ApiDestinationArn, RoleArn: "arn:aws:iam::000000000000:role/bench" },
          ],
        }),
      );
      const events = rate * SECONDS;
      const puts = [];
      for (let i = 0; i < events; i += 10) {
        const entries = Array.from({ length: Math.min(10, events - i) }, (_, j) => ({
          Source: name,
          DetailType: "bench",
          Detail: JSON.stringify({ i: i + j }),
        }));
        puts.push(eb.send(new PutEventsCommand({ Entries: entries })));
      }
      await Promise.all(puts);
      const got = (): number => arrivals.get(`/${name}`)?.length ?? 0;
      const deadline = performance.now() + SECONDS * 1000 + 15_000;
      while (got() < events && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const sorted = [...(arrivals.get(`/${name}`) ?? [])].sort((a, b) => a - b);
      const first = sorted[0] ?? 0;
      runs.push({
        rate,
        round,
        events,
        received: sorted.length,
        busiestSecond: busiestSecond(sorted),
        firstSecond: sorted.filter((t) => t < first + 1000).length,
        spanMs: Math.round((sorted.at(-1) ?? first) - first),
      });
    }
  }
} finally {
  await server.stop();
  removeDataDir(server.dataDir);
  receiver.close();
}

console.log(
  "\nrate limit | events | received | busiest second (rounds) | first second (median) | span ms (median)",
);
for (const rate of RATES) {
  const mine = runs.filter((r) => r.rate === rate);
  console.log(
    [
      rate,
      mine[0]?.events,
      mine.map((r) => r.received).join(" / "),
      mine.map((r) => r.busiestSecond).join(" / "),
      median(mine.map((r) => r.firstSecond)),
      median(mine.map((r) => r.spanMs)),
    ].join(" | "),
  );
}
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(
  join(here, "results", "rate-limit.json"),
  JSON.stringify(
    { date: new Date().toISOString(), cpus: os.cpus().length, seconds: SECONDS, runs },
    null,
    2,
  ) + "\n",
);
