/**
 * `npm run bench:deliver`: the time from the PutEvents reply to the HTTP target receiving the event,
 * at steady rates, for one rule with one webhook target and for fan-out to 10 webhook targets (two
 * rules of five targets: EventBridge allows five targets per rule), and the highest rate sustained.
 *
 * A real `busbar serve` delivers signed webhooks to a loopback receiver in this process (it answers
 * 200 at once and records when each event arrived); a separate load process sends PutEvents of 10
 * ~1 KB entries at a steady rate and reports when each EventId was acknowledged. Each step's load
 * process warms up first (BENCH_WARMUP_SECONDS at a fifth of the step's rate, not measured), so that
 * its own start-up, on the same two cores, is not counted against the server. Latency is receive
 * time minus reply time, per delivery (both clocks are this machine's; a delivery that lands before
 * its reply is read counts as 0 ms, and how many did is printed). A step is sustained when every
 * delivery arrived and the last one came within 1 s of the end of the load.
 * Prints a table, writes bench/results/deliver.json.
 *
 *   npm run bench:deliver
 *   BENCH_SECONDS (default 8), BENCH_WARMUP_SECONDS (default 2; 0 for none),
 *   BENCH_SINGLE_RATES (events/s, default 2500,5000,10000,15000,20000),
 *   BENCH_FANOUT_RATES (events/s, default 500,1000,2000,3000,5000; either list empty skips its scenario),
 *   BENCH_ROUNDS (default 3: every step once a round; the table gives medians, and each round's rate
 *   and p99, since one run's p99 on a shared two-core host can be ten times another's)
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { cpuMs, perUnit } from "./cpu.js";
import { removeDataDir, startBusbar, TEST_ROOT } from "../test/support/index.js";
import { median, percentile } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
/** Extra settings of the server, e.g. BENCH_SERVER_ENV="BUSBAR_HTTP_THREADS=0" (URL query syntax). */
const serverEnv = (): Record<string, string> =>
  Object.fromEntries(new URLSearchParams(process.env.BENCH_SERVER_ENV ?? ""));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
/** Each step's load generator first sends at a fifth of the step's rate for this long, unmeasured. */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
/** A list of rates; an empty one (BENCH_SINGLE_RATES=) skips its scenario. */
const rates = (name: string, def: string): number[] =>
  (process.env[name] ?? def)
    .split(",")
    .filter((rate) => rate.trim() !== "")
    .map(Number);
const SINGLE_RATES = rates("BENCH_SINGLE_RATES", "2500,5000,10000,15000,20000");
const FANOUT_RATES = rates("BENCH_FANOUT_RATES", "500,1000,2000,3000,5000");
/** Rounds of every step; the table gives each figure's median over them. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const now = (): number => performance.timeOrigin + performance.now();

interface Step {
  scenario: "single" | "fanout";
  targets: number;
  offeredEventsPerSecond: number;
  acceptedEvents: number;
  deliveries: number;
  delivered: number;
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  beforeReply: number;
  drainMs: number;
  sustained: boolean;
  /** CPU time of the server per delivery, in µs: accepting the events included. */
  cpuUsPerDelivery: number | undefined;
  /** The part of it on the server's main thread (the engine, HTTP requests, the API), in µs. */
  mainCpuUsPerDelivery: number | undefined;
}

// The receiver: arrival time of each (path, event id).
const arrivals = new Map<string, number>();
let arrivalCount = 0;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const at = now();
    const body = Buffer.concat(chunks).toString("utf8");
    // The envelope starts {"version":"0","id":"<uuid>": no need to parse the whole event.
    const id = body.slice(21, 57);
    arrivals.set(`${req.url}\u0000${id}`, at);
    arrivalCount++;
    res.writeHead(200, { "content-length": "0" }).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

function load(
  url: string,
  source: string,
  rate: number,
  seconds: number,
  warmupSeconds: number,
): Promise<{ replies: Array<[string, number]>; warmupEvents: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        "--import",
        "tsx",
        join(here, "deliver-load.ts"),
        url,
        source,
        String(rate),
        String(seconds),
        TEST_ROOT.accessKeyId,
        TEST_ROOT.secretAccessKey,
        String(warmupSeconds),
      ],
      { encoding: "utf8", maxBuffer: 1 << 30 },
      (err, stdout) => {
        if (err !== null) reject(new Error(`the load generator failed: ${err.message}`, { cause: err }));
        else resolve(JSON.parse(stdout.trim()) as { replies: Array<[string, number]>; warmupEvents: number });
      },
    );
  });
}

async function step(
  server: { url: string; child: { pid?: number | undefined } },
  scenario: "single" | "fanout",
  rate: number,
  seconds = SECONDS,
  warmupSeconds = WARMUP_SECONDS,
): Promise<Step> {
  const paths = scenario === "single" ? ["/single"] : Array.from({ length: 10 }, (_, i) => `/fan${i}`);
  arrivals.clear();
  arrivalCount = 0;
  const cpuBefore = cpuMs(server.child.pid);
  const mainCpuBefore = cpuMs(server.child.pid, true);
  const { replies, warmupEvents } = await load(server.url, `bench.${scenario}`, rate, seconds, warmupSeconds);
  const loadEnd = now();
  const expected = replies.length * paths.length;
  // Arrivals counts the warm-up's deliveries too.
  const expectedArrivals = (replies.length + warmupEvents) * paths.length;
  // Drain: wait until everything arrived, or 10 s without progress.
  let last = arrivalCount;
  let quietSince = now();
  while (arrivalCount < expectedArrivals && now() - quietSince < 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (arrivalCount !== last) {
      last = arrivalCount;
      quietSince = now();
    }
  }
  const latencies: number[] = [];
  let beforeReply = 0;
  let lastArrival = 0;
  let firstReply = Infinity;
  for (const [id, repliedAt] of replies) {
    firstReply = Math.min(firstReply, repliedAt);
    for (const p of paths) {
      const at = arrivals.get(`${p}\u0000${id}`);
      if (at === undefined) continue;
      lastArrival = Math.max(lastArrival, at);
      const ms = at - repliedAt;
      if (ms < 0) beforeReply++;
      latencies.push(Math.max(0, ms));
    }
  }
  const deliveries = latencies.length + warmupEvents * paths.length; // the warm-up's took CPU too
  const cpuUsPerDelivery = perUnit(cpuBefore, cpuMs(server.child.pid), deliveries);
  const mainCpuUsPerDelivery = perUnit(mainCpuBefore, cpuMs(server.child.pid, true), deliveries);
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => percentile(latencies, p);
  const drainMs = Math.max(0, lastArrival - loadEnd);
  return {
    scenario,
    targets: paths.length,
    offeredEventsPerSecond: rate,
    acceptedEvents: replies.length,
    deliveries: expected,
    delivered: latencies.length,
    deliveriesPerSecond: latencies.length / ((lastArrival - firstReply) / 1000),
    p50: pct(0.5),
    p99: pct(0.99),
    max: latencies[latencies.length - 1] ?? 0,
    beforeReply,
    drainMs,
    sustained: latencies.length === expected && drainMs <= 1000,
    cpuUsPerDelivery,
    mainCpuUsPerDelivery,
  };
}

const server = await startBusbar({
  env: { BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8", ...serverEnv() },
  nodeArgs: (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""),
});
const steps: Step[] = [];
try {
  const eb = new EventBridgeClient({ endpoint: server.url, region: "us-east-1", credentials: TEST_ROOT });
  await eb.send(new PutRuleCommand({ Name: "single", EventPattern: '{"source":["bench.single"]}' }));
  await eb.send(new PutTargetsCommand({ Rule: "single", Targets: [{ Id: "t", Arn: `${base}/single` }] }));
  for (const r of [0, 1]) {
    await eb.send(new PutRuleCommand({ Name: `fanout-${r}`, EventPattern: '{"source":["bench.fanout"]}' }));
    await eb.send(
      new PutTargetsCommand({
        Rule: `fanout-${r}`,
        Targets: Array.from({ length: 5 }, (_, i) => ({ Id: `t${i}`, Arn: `${base}/fan${r * 5 + i}` })),
      }),
    );
  }
  eb.destroy();
  // Unmeasured warm-up of each scenario (JIT, connection pools): 3 s at a modest rate.
  await step(server, "single", 1000, 3, 0);
  await step(server, "fanout", 200, 3, 0);
  // Every step once per round, the rounds one after the other: the table gives each step's median.
  for (let round = 0; round < ROUNDS; round++) {
    for (const rate of SINGLE_RATES) steps.push(await step(server, "single", rate));
    for (const rate of FANOUT_RATES) steps.push(await step(server, "fanout", rate));
  }
} finally {
  await server.stop();
  removeDataDir(server.dataDir);
  receiver.closeAllConnections();
  receiver.close();
}

const fmt = (n: number, d = 0): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
/** The rounds of each (scenario, rate), in the order first run. */
const groups = new Map<string, Step[]>();
for (const s of steps) {
  const key = `${s.scenario} ${s.offeredEventsPerSecond}`;
  groups.set(key, [...(groups.get(key) ?? []), s]);
}
console.log(
  `\nbench:deliver — ${os.cpus().length} CPUs, ${ROUNDS} round(s) of ${SECONDS} s steps (each after ${WARMUP_SECONDS} s at a fifth of its rate), after a 3 s warm-up per scenario; latency = target receive − PutEvents reply; medians over the rounds, with each round's figure where shown\n`,
);
console.log(
  "| scenario | offered events/s | delivered/s | each round (k) | p50 ms | p99 ms | each round p99 ms | max ms | before reply | drain ms | sustained | server CPU µs/delivery | main thread µs/delivery |",
);
console.log("|---|---:|---:|---|---:|---:|---|---:|---:|---:|---|---:|---:|");
const cpuOf = (xs: ReadonlyArray<number | undefined>): string =>
  xs.some((x) => x === undefined) ? "—" : fmt(median(xs as number[]));
for (const group of groups.values()) {
  const s = group[0] as Step;
  const m = (f: (s: Step) => number): number => median(group.map(f));
  console.log(
    `| ${s.scenario === "single" ? "1 rule, 1 target" : "fan-out, 10 targets"} | ${fmt(s.offeredEventsPerSecond)} | ${fmt(m((x) => x.deliveriesPerSecond))} | ${group.map((x) => fmt(x.deliveriesPerSecond / 1000, 1)).join(" / ")} | ${fmt(
      m((x) => x.p50),
      1,
    )} | ${fmt(
      m((x) => x.p99),
      1,
    )} | ${group.map((x) => fmt(x.p99, 1)).join(" / ")} | ${fmt(m((x) => x.max))} | ${fmt(m((x) => x.beforeReply))} | ${fmt(m((x) => x.drainMs))} | ${group.filter((x) => x.sustained).length}/${group.length} | ${cpuOf(group.map((x) => x.cpuUsPerDelivery))} | ${cpuOf(group.map((x) => x.mainCpuUsPerDelivery))} |`,
  );
}
/** A rate counts as sustained when most of its rounds were (every delivery arrived, drained within 1 s). */
const best = (scenario: string) =>
  [...groups.values()]
    .filter((g) => g[0]?.scenario === scenario && g.filter((x) => x.sustained).length * 2 > g.length)
    .reduce((best, g) => Math.max(best, median(g.map((x) => x.deliveriesPerSecond))), 0);
console.log(
  `\nhighest sustained (in most rounds; median rate): 1 target ${fmt(best("single"))} deliveries/s; fan-out ${fmt(best("fanout"))} deliveries/s`,
);
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(
  join(here, "results", "deliver.json"),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      cpus: os.cpus().length,
      seconds: SECONDS,
      rounds: ROUNDS,
      warmupSeconds: WARMUP_SECONDS,
      steps,
    },
    null,
    2,
  ) + "\n",
);
