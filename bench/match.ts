/**
 * `npm run bench:match`: pattern-matching throughput on the city-lots corpus, against the reference
 * figures of AWS event-ruler measured on the same machine class (../shared/bench/citylots).
 *
 * Each rule set is loaded into one Matcher; every event is given as JSON text; one untimed pass warms
 * up and checks every rule's match count against expected.json; then BENCH_PASSES timed passes
 * (default 3) give the median events/s. Also reports heap and time to add the large sets.
 * Prints a table, writes bench/results/match.json, exits 1 if any count differs.
 *
 *   npm run bench:match [-- SET ...]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import os from "node:os";
import { Matcher } from "../src/patterns/index.js";
import { countsAgree, loadCorpus, loadExpected, loadRuleSets } from "./citylots.js";

const passes = Number(process.env.BENCH_PASSES ?? 3);
const expected = loadExpected();
const corpus = loadCorpus(expected);
const sets = loadRuleSets();
const only = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;

interface Row {
  set: string;
  rules: number;
  countsOk: boolean;
  eventsPerSecond: number;
  passes: number[];
  reference: Record<string, number>;
  ratioToBestReference: number;
  addMs: number;
  heapMB: number;
}

const rows: Row[] = [];
for (const [name, patterns] of Object.entries(sets)) {
  if (only.length > 0 && !only.includes(name)) continue;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const matcher = new Matcher<number>();
  const texts = patterns.map((p) => JSON.stringify(p));
  const t0 = performance.now();
  texts.forEach((t, i) => matcher.add(i, t));
  const addMs = performance.now() - t0;
  gc?.();
  const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;

  const counts = new Array<number>(patterns.length).fill(0);
  for (const e of corpus) for (const id of matcher.matchJson(e)) counts[id] = (counts[id] ?? 0) + 1;
  const countsOk = countsAgree(counts, expected.counts[name] ?? []);

  const rates: number[] = [];
  for (let p = 0; p < passes; p++) {
    let sink = 0;
    const start = performance.now();
    for (const e of corpus) sink += matcher.matchJson(e).length;
    const seconds = (performance.now() - start) / 1000;
    if (sink < 0) console.log(sink);
    rates.push(corpus.length / seconds);
  }
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const reference = expected.reference.eventsPerSecond[name] ?? {};
  const best = Math.max(...Object.values(reference));
  rows.push({
    set: name,
    rules: patterns.length,
    countsOk,
    eventsPerSecond: Math.round(median),
    passes: rates.map(Math.round),
    reference,
    ratioToBestReference: Number((median / best).toFixed(2)),
    addMs: Number(addMs.toFixed(1)),
    heapMB: Number(heapMB.toFixed(1)),
  });
  const r = rows[rows.length - 1] as Row;
  console.log(
    [
      r.set.padEnd(26),
      String(r.rules).padStart(6),
      String(r.eventsPerSecond).padStart(9),
      Object.values(reference)
        .map((v) => String(v).padStart(7))
        .join(" "),
      r.ratioToBestReference.toFixed(2).padStart(6),
      r.addMs.toFixed(0).padStart(7),
      r.heapMB.toFixed(1).padStart(7),
      r.countsOk ? "ok" : "COUNTS DIFFER",
    ].join(" "),
  );
}

const scale1 = rows.find((r) => r.set === "SCALE_1");
const scaleMax = rows.find((r) => r.set === "SCALE_100000");
const summary = {
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "unknown", node: process.version },
  passes,
  events: corpus.length,
  rows,
  scaleDrop:
    scale1 && scaleMax ? Number((scale1.eventsPerSecond / scaleMax.eventsPerSecond).toFixed(2)) : null,
};
const out = join(dirname(fileURLToPath(import.meta.url)), "results", "match.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(summary, null, 2) + "\n");
console.log(
  `\nheader: set, rules, events/s (median of ${passes}), reference 1.7.5 / 2.0.1, ratio to best reference, add ms, heap MB`,
);
if (summary.scaleDrop !== null) console.log(`SCALE_1 / SCALE_100000 throughput: ${summary.scaleDrop}x`);
console.log(`wrote ${out}`);
if (rows.some((r) => !r.countsOk)) {
  console.error("FAIL: some rule match counts differ from expected.json");
  process.exit(1);
}
