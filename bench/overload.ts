/**
 * `npm run bench:overload`: what a node does when far more request bytes come at once than it should
 * hold. BENCH_REQUESTS (default 384) signed PutEvents of BENCH_BODY_MB MiB each (default 4, the largest
 * body a node takes) are sent at once, each on its own connection; each carries one entry over the
 * 256 KB an entry may have, so a request that is let in is read, its signature verified, parsed and
 * refused with ValidationException (400), the most work a body of that size can cost. Meanwhile a
 * separate process asks `/healthz` every 50 ms, and the server's resident memory is read from /proc.
 *
 * Two runs, side by side in one invocation: the default bound on the request bodies held at once
 * (BUSBAR_MAX_BYTES_IN_FLIGHT, 128 MiB; past it a request waits unread up to 10 s, then gets 503), and
 * the bound lifted (1 TiB: every body is taken as it comes). Prints a table, writes
 * bench/results/overload.json.
 *
 *   npm run bench:overload      (BENCH_REQUESTS, BENCH_BODY_MB)
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { removeDataDir, signedHeaders, startBusbar, TEST_ROOT } from "../test/support/index.js";
import { percentile } from "./stats.js";

const here = dirname(fileURLToPath(import.meta.url));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 384);
const BODY_MB = Number(process.env.BENCH_BODY_MB ?? 4);

interface Run {
  setting: string;
  requests: number;
  /** Answered by the operation (400: the entry is too large). */
  served: number;
  /** Refused for want of room (503). */
  busy: number;
  /** Any other status, or a failure without one. */
  other: number;
  seconds: number;
  peakRssMb: number;
  healthzP50Ms: number;
  healthzP99Ms: number;
  healthzMaxMs: number;
}

/** A process that asks `url` every 50 ms until killed, printing each latency (ms) on its own line. */
function prober(url: string) {
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const http = require("node:http");
       const ask = () => { const t = performance.now();
         http.get(process.argv[1], { agent: false }, (res) => { res.resume(); res.on("end", () => {
           process.stdout.write((performance.now() - t).toFixed(1) + "\\n"); setTimeout(ask, 50); }); })
           .on("error", () => setTimeout(ask, 50)); };
       ask();`,
      `${url}/healthz`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  return {
    stop(): number[] {
      child.kill();
      return out
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map(Number)
        .sort((a, b) => a - b);
    },
  };
}

async function run(setting: string, env: Record<string, string>): Promise<Run> {
  const server = await startBusbar({ env });
  try {
    const u = new URL(server.url);
    const detail = JSON.stringify({ pad: "x".repeat(BODY_MB * 1024 * 1024 - 200) });
    const body = JSON.stringify({ Entries: [{ Source: "overload", DetailType: "big", Detail: detail }] });
    const headers = signedHeaders(u.host, "AWSEvents.PutEvents", body, TEST_ROOT);
    const rss = (): number =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, "utf8"))?.[1] ?? 0) /
      1024;
    let peak = rss();
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
    const probe = prober(server.url);
    const dispatcher = new Agent({ connections: REQUESTS, headersTimeout: 0, bodyTimeout: 0 });
    const counts = { served: 0, busy: 0, other: 0 };
    const started = performance.now();
    await Promise.all(
      Array.from({ length: REQUESTS }, async () => {
        try {
          const r = await request(server.url, { method: "POST", headers, body, dispatcher });
          await r.body.text();
          if (r.statusCode === 400) counts.served++;
          else if (r.statusCode === 503) counts.busy++;
          else counts.other++;
        } catch {
          counts.other++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const latencies = probe.stop();
    await dispatcher.close();
    return {
      setting,
      requests: REQUESTS,
      ...counts,
      seconds,
      peakRssMb: peak,
      healthzP50Ms: percentile(latencies, 0.5),
      healthzP99Ms: percentile(latencies, 0.99),
      healthzMaxMs: latencies.at(-1) ?? 0,
    };
  } finally {
    await server.stop();
    removeDataDir(server.dataDir);
  }
}

const runs = [
  await run("bounded (default 128 MiB)", {}),
  await run("unbounded", { BUSBAR_MAX_BYTES_IN_FLIGHT: String(2 ** 40) }),
];

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const rows = [
  [
    "bytes in flight",
    "requests",
    "400",
    "503",
    "other",
    "seconds",
    "peak RSS MB",
    "healthz p50",
    "p99",
    "max ms",
  ],
  ...runs.map((r) => [
    r.setting,
    fmt(r.requests),
    fmt(r.served),
    fmt(r.busy),
    fmt(r.other),
    fmt(r.seconds, 1),
    fmt(r.peakRssMb),
    fmt(r.healthzP50Ms, 1),
    fmt(r.healthzP99Ms, 1),
    fmt(r.healthzMaxMs),
  ]),
];
const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
for (const r of rows)
  console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  "));
console.log(
  `\n${REQUESTS} signed PutEvents of ${BODY_MB} MiB at once (400: let in, read, verified, parsed, its entry refused as too large; 503: no room within 10 s); /healthz asked every 50 ms from another process`,
);
mkdirSync(join(here, "results"), { recursive: true });
const file = join(here, "results", "overload.json");
writeFileSync(
  file,
  JSON.stringify(
    {
      command: "npm run bench:overload",
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      bodyMb: BODY_MB,
      runs,
    },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${file}`);
