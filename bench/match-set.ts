/**
 * One rule set of `npm run bench:match`, run in a process of its own (as JMH forks per benchmark) so
 * that no set inherits another's JIT state or heap. Prints one JSON row on stdout.
 *
 *   node --expose-gc --import tsx bench/match-set.ts SET
 */
import { Matcher } from "../src/patterns/index.js";
import { countsAgree, loadCorpus, loadExpected, loadRuleSets } from "./citylots.js";

const name = process.argv[2] ?? "";
const passes = Number(process.env.BENCH_PASSES ?? 3);
const expected = loadExpected();
const patterns = loadRuleSets()[name];
if (patterns === undefined) throw new Error(`no rule set ${name}`);
const corpus = loadCorpus(expected);
const gc = (globalThis as { gc?: () => void }).gc;

gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const matcher = new Matcher<number>();
const texts = patterns.map((p) => JSON.stringify(p));
const t0 = performance.now();
texts.forEach((t, i) => matcher.add(i, t));
const addMs = performance.now() - t0;
gc?.();
const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;

// Warm-up pass, untimed, which also checks every rule's match count.
const counts = new Array<number>(patterns.length).fill(0);
for (const e of corpus) for (const id of matcher.matchJson(e)) counts[id] = (counts[id] ?? 0) + 1;
const countsOk = countsAgree(counts, expected.counts[name] ?? []);

const rates: number[] = [];
for (let p = 0; p < passes; p++) {
  let sink = 0;
  const start = performance.now();
  for (const e of corpus) sink += matcher.matchJson(e).length;
  const seconds = (performance.now() - start) / 1000;
  if (sink < 0) console.error(sink);
  rates.push(corpus.length / seconds);
}
const sorted = [...rates].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)] as number;
process.stdout.write(
  JSON.stringify({
    set: name,
    rules: patterns.length,
    countsOk,
    eventsPerSecond: Math.round(median),
    passes: rates.map(Math.round),
    addMs: Number(addMs.toFixed(1)),
    heapMB: Number(heapMB.toFixed(1)),
  }) + "\n",
);
