/**
 * `npm run bench:match`: pattern-matching throughput on the city-lots corpus, against the reference
 * figures of AWS event-ruler measured on the same machine class (../shared/bench/citylots).
 *
 * Each rule set runs in its own process (bench/match-set.ts): all rules of the set in one Matcher,
 * every event given as JSON text, one untimed pass that warms up and checks every rule's match count
 * against expected.json, then BENCH_PASSES timed passes (default 3). The machine is shared and noisy
 * in bursts, so the whole series of sets is run BENCH_RUNS times (default 3), interleaved, and each
 * set's figure is the median over all its timed passes. Also reports the time to add the set's rules
 * and the heap they take. Prints a table, writes bench/results/match.json, and exits 1 if any count
 * differs.
 *
 *   npm run bench:match [-- SET ...]
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCorpus, loadExpected, loadRuleSets } from "./citylots.js";

interface Row {
  set: string;
  rules: number;
  countsOk: boolean;
  eventsPerSecond: number;
  passes: number[];
  addMs: number;
  heapMB: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const expected = loadExpected();
loadCorpus(expected); // generate and check the cached corpus once, before the workers read it
const only = process.argv.slice(2);
const names = Object.keys(loadRuleSets()).filter((n) => only.length === 0 || only.includes(n));

const pad = (s: string | number, n: number): string => String(s).padStart(n);
console.log(
  `${"set".padEnd(26)} ${pad("rules", 6)} ${pad("events/s", 9)} ${pad("ER 1.7.5", 9)} ${pad("ER 2.0.1", 9)} ${pad("ratio", 6)} ${pad("add ms", 7)} ${pad("heap MB", 8)}  counts`,
);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const byName = new Map<string, Row[]>();
for (let run = 0; run < runs; run++) {
  for (const name of names) {
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "--import", "tsx", join(here, "match-set.ts"), name],
      {
        encoding: "utf8",
        env: process.env,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const row = JSON.parse(out.trim().split("\n").pop() ?? "{}") as Row;
    byName.set(name, [...(byName.get(name) ?? []), row]);
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const rows: Array<Row & { reference: Record<string, number>; ratioToBestReference: number }> = [];
for (const name of names) {
  const all = byName.get(name) ?? [];
  const first = all[0] as Row;
  const passes = all.flatMap((r) => r.passes);
  const row: Row = {
    set: name,
    rules: first.rules,
    countsOk: all.every((r) => r.countsOk),
    eventsPerSecond: median(passes),
    passes,
    addMs: median(all.map((r) => r.addMs)),
    heapMB: median(all.map((r) => r.heapMB)),
  };
  const reference = expected.reference.eventsPerSecond[name] ?? {};
  const best = Math.max(...Object.values(reference));
  const ratio = Number((row.eventsPerSecond / best).toFixed(2));
  rows.push({ ...row, reference, ratioToBestReference: ratio });
  console.log(
    `${name.padEnd(26)} ${pad(row.rules, 6)} ${pad(row.eventsPerSecond, 9)} ${pad(reference["event-ruler-1.7.5"] ?? "", 9)} ${pad(reference["event-ruler-2.0.1"] ?? "", 9)} ${pad(ratio.toFixed(2), 6)} ${pad(row.addMs.toFixed(0), 7)} ${pad(row.heapMB.toFixed(1), 8)}  ${row.countsOk ? "ok" : "DIFFER"}`,
  );
}

const rate = (set: string): number | undefined => rows.find((r) => r.set === set)?.eventsPerSecond;
const s1 = rate("SCALE_1");
const sMax = rate("SCALE_100000");
const summary = {
  command: "npm run bench:match",
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "unknown", node: process.version },
  passesPerRun: Number(process.env.BENCH_PASSES ?? 3),
  runs,
  events: expected.corpus.events,
  rows,
  scale1OverScale100000: s1 !== undefined && sMax !== undefined ? Number((s1 / sMax).toFixed(2)) : null,
};
const file = join(here, "results", "match.json");
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, JSON.stringify(summary, null, 2) + "\n");
console.log(
  `\nevents/s: median of ${runs} runs x ${summary.passesPerRun} passes; ratio: over the better event-ruler figure`,
);
if (summary.scale1OverScale100000 !== null) {
  console.log(`SCALE_1 / SCALE_100000 throughput: ${summary.scale1OverScale100000}x`);
}
console.log(`wrote ${file}`);
if (rows.some((r) => !r.countsOk)) {
  console.error("FAIL: some rule match counts differ from expected.json");
  process.exit(1);
}
