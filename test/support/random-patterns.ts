/**
 * Seeded generators of event patterns and events over a small vocabulary, so that random pairs match
 * often enough to exercise every operator, arrays of objects, `$or`, and number/string edge cases.
 */

/** mulberry32: a tiny deterministic PRNG. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const KEYS = ["a", "b", "c"];
const STRINGS = [
  "x",
  "xy",
  "Xy",
  "yx",
  "xyz",
  "",
  "é",
  "É",
  "ß",
  "SS",
  "ΟΔΟΣ",
  "οδος",
  "😀",
  'x"',
  '"y',
  "10.0.0.1",
  "10.0.1.7",
  "::1",
  "::ffff:a00:1",
  "a00::1",
  "x*y",
  "a\\b",
];
/** Number literals as written in event text (the text matters for some comparisons). */
const NUMBER_TEXTS = ["0", "1", "-1", "1.5", "100", "1e2", "100.0", "5000000001", "0.0000001", "-0", "3"];
const PATTERN_NUMBERS = [0, 1, -1, 1.5, 100, 3, 5000000001];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function condition(rng: Rng): Json {
  const s = (): string => rng.pick(STRINGS.filter((x) => x !== ""));
  const n = (): number => rng.pick([0, 1, -1, 1.5, 100, 3]);
  switch (rng.int(17)) {
    case 0:
      return rng.pick(STRINGS);
    case 1:
      return rng.pick(PATTERN_NUMBERS);
    case 2:
      return rng.pick([true, false, null]);
    case 3:
      return { prefix: rng.pick(["x", "X", "10.", "", 'x"', "ο"]) };
    case 4:
      return { suffix: rng.pick(["y", "z", "1", "Y", '"y', "Σ"]) };
    case 5:
      return { "equals-ignore-case": rng.pick(["XY", "xy", "é", "É", "ß", "ss", "οδοσ", "😀"]) };
    case 6:
      return {
        [rng.pick(["prefix", "suffix"])]: {
          "equals-ignore-case": rng.pick(["X", "y", "XY", "s", "ß", 'x"']),
        },
      };
    case 7:
      return { wildcard: rng.pick(["x*", "*y", "x*y*", "*", "\\*", "x\\*y", "*.0.*"]) };
    case 8:
      return { "anything-but": rng.chance(0.5) ? s() : [s(), s()] };
    case 9:
      return { "anything-but": rng.chance(0.5) ? n() : [n(), n()] };
    case 10:
      return { "anything-but": { [rng.pick(["prefix", "suffix"])]: rng.pick(["x", "y", "1"]) } };
    case 11:
      return { "anything-but": { "equals-ignore-case": rng.chance(0.5) ? "XY" : ["XY", "É"] } };
    case 12:
      return { "anything-but": { wildcard: rng.chance(0.5) ? "x*" : ["*y", "10.*"] } };
    case 13: {
      const a = n();
      return rng.pick([
        { numeric: ["=", a] },
        { numeric: [rng.pick(["<", "<=", ">", ">="]), a] },
        { numeric: [">", -1, "<=", rng.pick([1.5, 3, 100])] },
        { numeric: [">=", 0, "<", 100] },
      ]);
    }
    case 14:
      return { exists: rng.chance(0.5) };
    case 15:
      return { cidr: rng.pick(["10.0.0.0/24", "10.0.0.0/8", "::0/64", "::/1", "a00::/16"]) };
    default:
      return { exact: s() };
  }
}

function patternObject(rng: Rng, depth: number, allowOr: boolean): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  const keys = KEYS.filter(() => rng.chance(0.5));
  if (keys.length === 0) keys.push(rng.pick(KEYS));
  for (const k of keys) {
    if (depth < 2 && rng.chance(0.35)) out[k] = patternObject(rng, depth + 1, allowOr);
    else out[k] = Array.from({ length: 1 + rng.int(3) }, () => condition(rng));
  }
  if (allowOr && rng.chance(0.15)) {
    out.$or = [patternObject(rng, depth, false), patternObject(rng, depth, false)];
  }
  return out;
}

/** A random (usually valid) event pattern. */
export function randomPattern(rng: Rng): Json {
  return patternObject(rng, 0, true);
}

/** How many elements a random array at `depth` gets. */
export type ArrayLength = (rng: Rng, depth: number) => number;

const SHORT_ARRAYS: ArrayLength = (rng) => rng.int(4);

function eventValue(rng: Rng, depth: number, length: ArrayLength): string {
  const r = rng.int(10);
  if (depth < 3 && r === 0) return eventObject(rng, depth + 1, length);
  if (depth < 3 && r === 1) {
    const items = Array.from({ length: length(rng, depth) }, () => eventValue(rng, depth + 1, length));
    return `[${items.join(",")}]`;
  }
  if (r <= 4) return JSON.stringify(rng.pick(STRINGS));
  if (r <= 7) return rng.pick(NUMBER_TEXTS);
  return rng.pick(["true", "false", "null"]);
}

function eventObject(rng: Rng, depth: number, length: ArrayLength): string {
  const keys = KEYS.filter(() => rng.chance(0.6));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${eventValue(rng, depth, length)}`).join(",")}}`;
}

/** A random event as JSON text (numbers written in several ways); arrays of up to 3 elements by default. */
export function randomEventJson(rng: Rng, length: ArrayLength = SHORT_ARRAYS): string {
  return eventObject(rng, 0, length);
}

/**
 * A random event whose keys mostly hold long arrays of objects (30 to 60 elements, some of them
 * arrays of such arrays, some elements scalars), so that many leaves lie at one path: what the
 * matcher's lookup of leaves by array element is for.
 */
export function randomArrayHeavyEventJson(rng: Rng): string {
  const element = (): string =>
    rng.chance(0.9) ? eventObject(rng, 1, SHORT_ARRAYS) : eventValue(rng, 2, SHORT_ARRAYS);
  const long = (): string => `[${Array.from({ length: 30 + rng.int(31) }, element).join(",")}]`;
  const value = (): string => {
    const r = rng.int(6);
    if (r === 0) return `[${Array.from({ length: 1 + rng.int(4) }, long).join(",")}]`;
    if (r === 1) return eventValue(rng, 1, SHORT_ARRAYS);
    if (r === 2) return `{${KEYS.map((k) => `${JSON.stringify(k)}:${long()}`).join(",")}}`;
    return long();
  };
  return `{${KEYS.map((k) => `${JSON.stringify(k)}:${value()}`).join(",")}}`;
}
