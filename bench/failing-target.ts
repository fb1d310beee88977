/**
 * `npm run bench:failing-target`: what a target that keeps failing costs the rest of a node. A real
 * `busbar serve` whose one rule sends every event to a webhook target; a separate load process keeps
 * BENCH_CONCURRENCY (default 8) signed PutEvents requests of 10 ~1 KB entries in flight for
 * BENCH_SECONDS (default 30), so that a backlog for the target builds up. Three settings, side by side
 * in one run (BENCH_ROUNDS rounds each, default 1, alternating; medians):
 *
 * - `answers`: the target answers 200 (a receiver in this process);
 * - `refuses, held`: nothing listens on the target's port (every attempt refused at once), the
 *   default BUSBAR_TARGET_HOLD_AFTER_FAILURES (10): the target is held, one attempt at a time;
 * - `refuses, not held`: the same with BUSBAR_TARGET_HOLD_AFTER_FAILURES=0, each event retried on its
 *   own schedule (what every build before the hold did).
 *
 * For each: the PutEvents rate and latency, the server's CPU per event accepted, the attempts made, and
 * for the refusing ones, once the load ends, how long the backlog takes to reach a receiver started on
 * the port. Prints a table, writes bench/results/failing-target.json.
 *
 *   npm run bench:failing-target      (BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_ROUNDS)
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { cpuMs, perUnit } from "./cpu.js";
import { metric, removeDataDir, startBusbar, TEST_ROOT } from "../test/support/index.js";
import { median } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** How long a backlog may take to drain before the run gives up on it. */
const DRAIN_LIMIT_MS = 300_000;

type Setting = "answers" | "refuses, held" | "refuses, not held";
const SETTINGS: readonly Setting[] = ["answers", "refuses, held", "refuses, not held"];

interface Run {
  setting: Setting;
  events: number;
  eventsPerSecond: number;
  p50: number;
  p99: number;
  /** The server's CPU time per event accepted, in µs. */
  cpuUsPerEvent: number | undefined;
  /** Attempts to invoke the target during the load. */
  attempts: number;
  /** Deliveries pending when the load ended. */
  pendingAtEnd: number;
  /** From the receiver's start to the last event's arrival, for the refusing settings; null if it did not drain. */
  drainSeconds: number | null;
}

/** A receiver that answers 200 on `port` (0: any), counting the distinct events it got. */
async function receiver(port: number): Promise<{ server: Server; port: number; got: Set<string> }> {
  const got = new Set<string>();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      got.add((JSON.parse(body) as { id: string }).id);
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, got };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const { server, port } = await receiver(0);
  await close(server);
  return port;
}

/** Runs bench/ingest-load.ts in its own process (this one's event loop keeps serving the receiver). */
function load(url: string): Promise<{ events: number; eventsPerSecond: number; p50: number; p99: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(here, "ingest-load.ts"),
        url,
        String(CONCURRENCY),
        String(SECONDS),
        TEST_ROOT.accessKeyId,
        TEST_ROOT.secretAccessKey,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out.trim()) as never) : reject(new Error(`load exited ${code}`)),
    );
  });
}

async function run(setting: Setting): Promise<Run> {
  const answering = setting === "answers" ? await receiver(0) : undefined;
  const port = answering?.port ?? (await freePort());
  const server = await startBusbar({
    env: {
      BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8",
      ...(setting === "refuses, not held" && { BUSBAR_TARGET_HOLD_AFTER_FAILURES: "0" }),
    },
  });
  let late: Awaited<ReturnType<typeof receiver>> | undefined;
  try {
    const eb = new EventBridgeClient({ endpoint: server.url, region: "us-east-1", credentials: TEST_ROOT });
    await eb.send(
      new PutRuleCommand({ Name: "r", EventPattern: JSON.stringify({ source: ["bench.orders"] }) }),
    );
    await eb.send(
      new PutTargetsCommand({ Rule: "r", Targets: [{ Id: "hook", Arn: `http://127.0.0.1:${port}/in` }] }),
    );
    eb.destroy();
    const cpuBefore = cpuMs(server.child.pid);
    const attemptsBefore = await metric(server.url, "InvocationAttempts");
    const result = await load(server.url);
    const cpuAfter = cpuMs(server.child.pid);
    const attempts = (await metric(server.url, "InvocationAttempts")) - attemptsBefore;
    const pendingAtEnd = result.events - (await metric(server.url, "SuccessfulInvocationAttempts"));
    let drainSeconds: number | null = null;
    if (answering === undefined) {
      late = await receiver(port);
      const started = performance.now();
      while (late.got.size < result.events && performance.now() - started < DRAIN_LIMIT_MS)
        await new Promise((resolve) => setTimeout(resolve, 100));
      if (late.got.size >= result.events) drainSeconds = (performance.now() - started) / 1000;
    }
    return {
      setting,
      events: result.events,
      eventsPerSecond: result.eventsPerSecond,
      p50: result.p50,
      p99: result.p99,
      cpuUsPerEvent: perUnit(cpuBefore, cpuAfter, result.events),
      attempts,
      pendingAtEnd,
      drainSeconds,
    };
  } finally {
    await server.stop();
    removeDataDir(server.dataDir);
    if (answering !== undefined) await close(answering.server);
    if (late !== undefined) await close(late.server);
  }
}

const runs: Run[] = [];
for (let round = 0; round < ROUNDS; round++) for (const setting of SETTINGS) runs.push(await run(setting));

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const med = (rs: Run[], f: (r: Run) => number | undefined | null): number | null => {
  const v = rs.map(f).filter((x): x is number => typeof x === "number");
  return v.length === rs.length ? median(v) : null;
};
console.log(
  `${"target".padEnd(18)} ${"PutEvents ev/s".padStart(14)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"cpu µs/ev".padStart(10)} ${"attempts/s".padStart(11)} ${"pending at end".padStart(15)} ${"drain s".padStart(8)}`,
);
const rows = SETTINGS.map((setting) => {
  const rs = runs.filter((r) => r.setting === setting);
  const row = {
    setting,
    eventsPerSecond: med(rs, (r) => r.eventsPerSecond),
    p50: med(rs, (r) => r.p50),
    p99: med(rs, (r) => r.p99),
    cpuUsPerEvent: med(rs, (r) => r.cpuUsPerEvent),
    attemptsPerSecond: med(rs, (r) => r.attempts / SECONDS),
    pendingAtEnd: med(rs, (r) => r.pendingAtEnd),
    drainSeconds: setting === "answers" ? null : med(rs, (r) => r.drainSeconds),
    rounds: rs,
  };
  const n = (v: number | null, digits = 0) => (v === null ? "—" : digits === 0 ? fmt(v) : v.toFixed(digits));
  console.log(
    `${setting.padEnd(18)} ${n(row.eventsPerSecond).padStart(14)} ${n(row.p50, 1).padStart(7)} ${n(row.p99, 1).padStart(7)} ${n(row.cpuUsPerEvent).padStart(10)} ${n(row.attemptsPerSecond).padStart(11)} ${n(row.pendingAtEnd).padStart(15)} ${n(row.drainSeconds, 1).padStart(8)}`,
  );
  return row;
});
const file = join(here, "results", "failing-target.json");
mkdirSync(dirname(file), { recursive: true });
writeFileSync(
  file,
  JSON.stringify(
    {
      command: "npm run bench:failing-target",
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "unknown", node: process.version },
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      rows,
    },
    null,
    2,
  ) + "\n",
);
console.log(
  `\n${CONCURRENCY} PutEvents of 10 ~1 KB entries in flight for ${SECONDS} s; one rule, one webhook target; medians of ${ROUNDS} round(s); wrote ${file}`,
);
