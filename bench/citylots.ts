/**
 * Loads the city-lots benchmark corpus and rule sets from ../shared/bench/citylots (or
 * BUSBAR_CITYLOTS_DIR), generating the corpus once into bench/.cache and checking its md5.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** Folder holding gen.mjs, rulesets.mjs and expected.json. */
export const CITYLOTS_DIR = resolve(
  process.env.BUSBAR_CITYLOTS_DIR ?? join(here, "../../shared/bench/citylots"),
);
const CACHE_DIR = join(here, ".cache");

/** Expected counts: per rule, or totals for the largest sets. */
export type ExpectedCounts = number[] | { total: number; weighted: number };

/** The parts of expected.json the benchmark uses. */
export interface Expected {
  corpus: { events: number; md5: string };
  counts: Record<string, ExpectedCounts>;
  reference: { note: string; eventsPerSecond: Record<string, Record<string, number>> };
}

/** Reads expected.json. */
export function loadExpected(): Expected {
  return JSON.parse(readFileSync(join(CITYLOTS_DIR, "expected.json"), "utf8")) as Expected;
}

/** The corpus as one JSON text per event, generated into the cache on first use. */
export function loadCorpus(expected: Expected): string[] {
  mkdirSync(CACHE_DIR, { recursive: true });
  const file = join(CACHE_DIR, "citylots.jsonl");
  if (!existsSync(file)) {
    const out = execFileSync(process.execPath, [join(CITYLOTS_DIR, "gen.mjs")], {
      maxBuffer: 512 * 1024 * 1024,
    });
    writeFileSync(file, out);
  }
  const bytes = readFileSync(file);
  const md5 = createHash("md5").update(bytes).digest("hex");
  if (md5 !== expected.corpus.md5)
    throw new Error(`corpus md5 ${md5} differs from expected ${expected.corpus.md5}`);
  // One flat string per line (slices of one big string would keep it alive and read slower).
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 10) {
      lines.push(bytes.toString("utf8", start, i));
      start = i + 1;
    }
  }
  return lines;
}

/** The rule sets: name to list of patterns. */
export function loadRuleSets(): Record<string, unknown[]> {
  const out = execFileSync(process.execPath, [join(CITYLOTS_DIR, "rulesets.mjs")], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(out.toString("utf8")) as Record<string, unknown[]>;
}

/** Whether measured per-rule counts agree with the expected ones. */
export function countsAgree(counts: number[], expected: ExpectedCounts): boolean {
  if (Array.isArray(expected))
    return counts.length === expected.length && counts.every((c, i) => c === expected[i]);
  let total = 0;
  let weighted = 0;
  counts.forEach((c, i) => {
    total += c;
    weighted += c * (i + 1);
  });
  return total === expected.total && weighted === expected.weighted;
}
