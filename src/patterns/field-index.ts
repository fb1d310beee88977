/**
 * The index of every condition that leads out of one matcher state on one field path: given an event
 * leaf, it finds the next states whose condition the leaf satisfies without testing conditions one by
 * one (hash lookups per value, per affix length, per CIDR length, a segment tree for ranges).
 */
import { LeafKind, type Leaf } from "./leaf.js";
import { conditionKey, conditionMatches, excluded, type Condition, type Exclusion } from "./conditions.js";
import { AffixMap, listOf, MultiMap, multiAdd, multiRemove, type OneOrMany } from "./multimap.js";
import { IntervalIndex } from "./interval-index.js";
import { foldKey, isFoldRegular } from "./case-fold.js";
import { literalPrefix } from "./wildcard.js";
import { mixedBits } from "./ip.js";

/** Something a condition leads to; `mark` lets one lookup report each target once. */
export interface Target {
  mark: number;
}

interface Checked<T> {
  readonly condition: Condition;
  readonly target: T;
}

interface AnythingBut<T> {
  readonly not: Exclusion;
  readonly target: T;
  mark: number;
}

let stampCounter = 0;

// Per-call state of FieldIndex.match, at module level (matching is not re-entrant): writing it into
// each index object would dirty cold cache lines on every lookup.
let curStamp = 0;
let curOut: Target[] = [];
let curLeaf: Leaf | undefined;
/** The work of the checked conditions tried during the match under way (see FieldIndex.match). */
let curWork = 0;
/** A checked condition costs one step per this many characters of the value it reads, beyond its first. */
const CHARS_PER_STEP = 32;
/**
 * Prefix and suffix lookups cost one step per this many characters hashed: one lookup per length in
 * use, so 300 rules of different prefix lengths near 2,000 hashed 600,000 characters per long value.
 */
const AFFIX_CHARS_PER_STEP = 128;

/** Counts the characters an affix lookup hashed into the match's work. */
function probed(chars: number | undefined): void {
  if (chars !== undefined) curWork += Math.floor(chars / AFFIX_CHARS_PER_STEP);
}

function pushTargets(targets: OneOrMany<Target>): void {
  const stamp = curStamp;
  if (!Array.isArray(targets)) {
    const t = targets as Target;
    if (t.mark !== stamp) {
      t.mark = stamp;
      curOut.push(t);
    }
    return;
  }
  const list = targets as readonly Target[];
  for (let i = 0; i < list.length; i++) {
    const t = list[i] as Target;
    if (t.mark !== stamp) {
      t.mark = stamp;
      curOut.push(t);
    }
  }
}

function confirmOne(x: Checked<Target>): void {
  if (x.target.mark === curStamp) return;
  const leaf = curLeaf as Leaf;
  curWork += 1 + Math.floor(leaf.text.length / CHARS_PER_STEP);
  if (conditionMatches(x.condition, leaf)) {
    x.target.mark = curStamp;
    curOut.push(x.target);
  }
}

function confirmChecked(candidates: OneOrMany<Checked<Target>>): void {
  if (!Array.isArray(candidates)) {
    confirmOne(candidates as Checked<Target>);
    return;
  }
  const list = candidates as ReadonlyArray<Checked<Target>>;
  for (let i = 0; i < list.length; i++) confirmOne(list[i] as Checked<Target>);
}

/** Bits of {@link FieldIndex.flags}: which structures hold anything. */
const Has = {
  Exact: 1,
  Prefix: 2,
  Suffix: 4,
  Ip: 8,
  FoldedEquals: 16,
  FoldedPrefix: 32,
  FoldedSuffix: 64,
  Wildcard: 128,
  ExactNumber: 256,
  Range: 512,
  NumberText: 1024,
  Literal: 2048,
  Scanned: 4096,
  Exists: 8192,
  AnythingBut: 16384,
} as const;

/** Conditions on one path out of one state, indexed for lookup by leaf. */
export class FieldIndex<T extends Target> {
  /** Which structures below hold anything ({@link Has} bits): one read decides what to look at. */
  private flags = 0;
  private count = 0;
  /** Exact strings: a plain Map (one memory access fewer than a MultiMap on the hottest path). */
  private exactStrings: Map<string, T | T[]> | undefined;
  private exactNumbers: MultiMap<number, T> | undefined;
  private exactNumberTexts: MultiMap<string, T> | undefined;
  private literals: MultiMap<string, T> | undefined;
  private ips: MultiMap<string, T> | undefined;
  private ipLengths: Map<number, Map<number, number>> | undefined; // family -> prefix length -> count
  private prefixes: AffixMap<T> | undefined;
  private suffixes: AffixMap<T> | undefined;
  /** Checked conditions found through a key, then confirmed with {@link conditionMatches}. */
  private foldedPrefixes: AffixMap<Checked<T>> | undefined;
  private foldedSuffixes: AffixMap<Checked<T>> | undefined;
  private foldedEquals: MultiMap<string, Checked<T>> | undefined;
  private wildcards: AffixMap<Checked<T>> | undefined;
  /** Conditions with no index: tested one by one (rare case-folding corner cases). */
  private scanned: Checked<T>[] | undefined;
  private ranges: IntervalIndex<T> | undefined;
  private exists: T[] | undefined;
  private anythingButs: AnythingBut<T>[] | undefined;
  private exclusions: ExclusionIndex<AnythingBut<T>> | undefined;

  /** Number of (condition, target) pairs held. */
  get size(): number {
    return this.count;
  }

  /** Adds a (condition, target) pair. */
  add(c: Condition, target: T): void {
    this.addEntry(c, target);
    this.refreshFlags();
  }

  /** Removes a (condition, target) pair added before. */
  remove(c: Condition, target: T): void {
    this.removeEntry(c, target);
    this.refreshFlags();
  }

  private addEntry(c: Condition, target: T): void {
    this.count++;
    switch (c.kind) {
      case "exact-string":
        multiAdd((this.exactStrings ??= new Map()), c.value, target);
        return;
      case "exact-number":
        if (c.key !== undefined) (this.exactNumbers ??= new MultiMap()).add(c.key, target);
        else (this.exactNumberTexts ??= new MultiMap()).add(c.text, target);
        return;
      case "literal":
        (this.literals ??= new MultiMap()).add(c.value, target);
        return;
      case "ip": {
        const b = c.block;
        (this.ips ??= new MultiMap()).add(`${b.family}:${b.bits.slice(0, b.prefixLength)}`, target);
        this.ipLengths ??= new Map();
        const lengths = this.ipLengths.get(b.family) ?? new Map<number, number>();
        lengths.set(b.prefixLength, (lengths.get(b.prefixLength) ?? 0) + 1);
        this.ipLengths.set(b.family, lengths);
        return;
      }
      case "prefix":
      case "suffix":
        // An operand with a quote can match across the value's frame: tested one by one (rare).
        if (c.value.includes('"')) (this.scanned ??= []).push({ condition: c, target });
        else if (c.kind === "prefix") (this.prefixes ??= new AffixMap(false)).add(c.value, target);
        else (this.suffixes ??= new AffixMap(true)).add(c.value, target);
        return;
      case "prefix-ignore-case":
      case "suffix-ignore-case":
      case "equals-ignore-case":
        if (!isFoldRegular(c.value) || c.value.includes('"'))
          (this.scanned ??= []).push({ condition: c, target });
        else if (c.kind === "equals-ignore-case") {
          (this.foldedEquals ??= new MultiMap()).add(foldKey(c.value), { condition: c, target });
        } else if (c.kind === "prefix-ignore-case") {
          (this.foldedPrefixes ??= new AffixMap(false)).add(foldKey(c.value), { condition: c, target });
        } else {
          (this.foldedSuffixes ??= new AffixMap(true)).add(foldKey(c.value), { condition: c, target });
        }
        return;
      case "wildcard":
        (this.wildcards ??= new AffixMap(false)).add(literalPrefix(c.wildcard), { condition: c, target });
        return;
      case "numeric":
        if (c.low === c.high) (this.exactNumbers ??= new MultiMap()).add(c.low, target);
        else (this.ranges ??= new IntervalIndex()).add({ ...c, target });
        return;
      case "exists":
        (this.exists ??= []).push(target);
        return;
      case "absent":
        throw new Error("absent conditions are not value conditions");
      case "anything-but": {
        const entry: AnythingBut<T> = { not: c.not, target, mark: 0 };
        (this.anythingButs ??= []).push(entry);
        (this.exclusions ??= new ExclusionIndex()).add(c.not, entry);
        return;
      }
    }
  }

  private removeEntry(c: Condition, target: T): void {
    this.count--;
    const key = conditionKey(c);
    const sameChecked = (x: Checked<T>): boolean => x.target === target && conditionKey(x.condition) === key;
    const removeChecked = (list: readonly Checked<T>[] | undefined, drop: (x: Checked<T>) => void): void => {
      const found = list?.find(sameChecked);
      if (found !== undefined) drop(found);
    };
    switch (c.kind) {
      case "exact-string":
        if (this.exactStrings !== undefined) multiRemove(this.exactStrings, c.value, target);
        return;
      case "exact-number":
        if (c.key !== undefined) this.exactNumbers?.remove(c.key, target);
        else this.exactNumberTexts?.remove(c.text, target);
        return;
      case "literal":
        this.literals?.remove(c.value, target);
        return;
      case "ip": {
        const b = c.block;
        this.ips?.remove(`${b.family}:${b.bits.slice(0, b.prefixLength)}`, target);
        const lengths = this.ipLengths?.get(b.family);
        const n = (lengths?.get(b.prefixLength) ?? 1) - 1;
        if (n === 0) lengths?.delete(b.prefixLength);
        else lengths?.set(b.prefixLength, n);
        return;
      }
      case "prefix":
      case "suffix":
      case "prefix-ignore-case":
      case "suffix-ignore-case":
      case "equals-ignore-case": {
        if (
          c.value.includes('"') ||
          (c.kind !== "prefix" && c.kind !== "suffix" && !isFoldRegular(c.value))
        ) {
          const at = this.scanned?.findIndex(sameChecked) ?? -1;
          if (at !== -1) this.scanned?.splice(at, 1);
          return;
        }
        if (c.kind === "prefix") {
          this.prefixes?.remove(c.value, target);
          return;
        }
        if (c.kind === "suffix") {
          this.suffixes?.remove(c.value, target);
          return;
        }
        const k = foldKey(c.value);
        if (c.kind === "equals-ignore-case") {
          removeChecked(listOf(this.foldedEquals?.get(k)), (x) => this.foldedEquals?.remove(k, x));
        } else {
          const affix = c.kind === "prefix-ignore-case" ? this.foldedPrefixes : this.foldedSuffixes;
          const holder: Checked<T>[] = [];
          affix?.forEachAffix(k, (values) => holder.push(...listOf(values)));
          removeChecked(holder, (x) => affix?.remove(k, x));
        }
        return;
      }
      case "wildcard": {
        const k = literalPrefix(c.wildcard);
        const holder: Checked<T>[] = [];
        this.wildcards?.forEachAffix(k, (values) => holder.push(...listOf(values)));
        removeChecked(holder, (x) => this.wildcards?.remove(k, x));
        return;
      }
      case "numeric":
        if (c.low === c.high) this.exactNumbers?.remove(c.low, target);
        else
          this.ranges?.remove(
            (i) =>
              i.target === target &&
              i.low === c.low &&
              i.high === c.high &&
              i.lowOpen === c.lowOpen &&
              i.highOpen === c.highOpen,
          );
        return;
      case "exists": {
        const at = this.exists?.indexOf(target) ?? -1;
        if (at !== -1) this.exists?.splice(at, 1);
        return;
      }
      case "absent":
        return;
      case "anything-but": {
        const list = this.anythingButs;
        const at =
          list?.findIndex(
            (e) => e.target === target && conditionKey({ kind: "anything-but", not: e.not }) === key,
          ) ?? -1;
        if (at === -1 || list === undefined) return;
        const [entry] = list.splice(at, 1);
        if (entry !== undefined) this.exclusions?.remove(entry.not, entry);
        return;
      }
    }
  }

  /**
   * Appends to `out` every target (once) whose condition `leaf` satisfies; returns the work of the
   * conditions it had to try one by one (wildcards, case-folded values that need a full comparison,
   * quoted prefixes…), a step each and one more per 32 characters of the value, for the matcher's
   * budget: 84 wildcards that never match, each searching a 250 KB value, cost 111 ms and counted 1.
   */
  match(leaf: Leaf, out: T[]): number {
    curStamp = ++stampCounter;
    curWork = 0;
    curOut = out;
    curLeaf = leaf;
    const flags = this.flags;
    const kind = leaf.kind;
    const text = leaf.text;
    const push = pushTargets as (targets: OneOrMany<T>) => void;
    const confirm = confirmChecked as (candidates: OneOrMany<Checked<T>>) => void;
    if (kind === LeafKind.String) {
      if ((flags & Has.Exact) !== 0) {
        const t = (this.exactStrings as Map<string, T | T[]>).get(text);
        if (t !== undefined) push(t);
      }
      if ((flags & 0xfe) !== 0) {
        if ((flags & Has.Prefix) !== 0) probed(this.prefixes?.forEachAffix(text, push));
        if ((flags & Has.Suffix) !== 0) probed(this.suffixes?.forEachAffix(text, push));
        if ((flags & Has.Ip) !== 0) this.matchIp(leaf);
        if ((flags & Has.FoldedEquals) !== 0) {
          const list = this.foldedEquals?.get(foldKey(text));
          if (list !== undefined) confirm(list);
        }
        if ((flags & Has.FoldedPrefix) !== 0)
          probed(this.foldedPrefixes?.forEachAffix(text, confirm, foldKey));
        if ((flags & Has.FoldedSuffix) !== 0)
          probed(this.foldedSuffixes?.forEachAffix(text, confirm, foldKey));
        if ((flags & Has.Wildcard) !== 0) probed(this.wildcards?.forEachAffix(text, confirm));
      }
    } else if (kind === LeafKind.Number) {
      const key = leaf.key;
      if (key === key) {
        if ((flags & Has.ExactNumber) !== 0) {
          const t = this.exactNumbers?.get(key);
          if (t !== undefined) push(t);
        }
        if ((flags & Has.Range) !== 0) this.ranges?.query(key, push);
      }
      if ((flags & Has.NumberText) !== 0) {
        const t = this.exactNumberTexts?.get(text);
        if (t !== undefined) push(t);
      }
    } else if ((flags & Has.Literal) !== 0) {
      const t = this.literals?.get(text);
      if (t !== undefined) push(t);
    }
    if ((flags & Has.Scanned) !== 0 && this.scanned !== undefined) confirm(this.scanned);
    if ((flags & Has.Exists) !== 0 && this.exists !== undefined) push(this.exists);
    if ((flags & Has.AnythingBut) !== 0) this.matchAnythingBut(leaf);
    return curWork;
  }

  /** Recomputes {@link flags} from the structures (after any change). */
  private refreshFlags(): void {
    let f = 0;
    if (this.exactStrings !== undefined && this.exactStrings.size > 0) f |= Has.Exact;
    if (this.prefixes !== undefined && !this.prefixes.empty) f |= Has.Prefix;
    if (this.suffixes !== undefined && !this.suffixes.empty) f |= Has.Suffix;
    if (this.ips !== undefined && this.ips.size > 0) f |= Has.Ip;
    if (this.foldedEquals !== undefined && this.foldedEquals.size > 0) f |= Has.FoldedEquals;
    if (this.foldedPrefixes !== undefined && !this.foldedPrefixes.empty) f |= Has.FoldedPrefix;
    if (this.foldedSuffixes !== undefined && !this.foldedSuffixes.empty) f |= Has.FoldedSuffix;
    if (this.wildcards !== undefined && !this.wildcards.empty) f |= Has.Wildcard;
    if (this.exactNumbers !== undefined && this.exactNumbers.size > 0) f |= Has.ExactNumber;
    if (this.ranges !== undefined && this.ranges.size > 0) f |= Has.Range;
    if (this.exactNumberTexts !== undefined && this.exactNumberTexts.size > 0) f |= Has.NumberText;
    if (this.literals !== undefined && this.literals.size > 0) f |= Has.Literal;
    if (this.scanned !== undefined && this.scanned.length > 0) f |= Has.Scanned;
    if (this.exists !== undefined && this.exists.length > 0) f |= Has.Exists;
    if (this.anythingButs !== undefined && this.anythingButs.length > 0) f |= Has.AnythingBut;
    this.flags = f;
  }

  /** IP blocks holding the leaf's address (docs/pattern-semantics.md R33 for mixed families). */
  private matchIp(leaf: Leaf): void {
    const ip = leaf.ip();
    if (ip === undefined) return;
    const sameFamily = this.ipLengths?.get(ip.family);
    if (sameFamily !== undefined) {
      for (const len of sameFamily.keys()) this.pushIp(`${ip.family}:${ip.bits.slice(0, len)}`);
    }
    if (ip.family === 6) {
      // An IPv6 address against IPv4 blocks: by its first 32 bits.
      const v4 = this.ipLengths?.get(4);
      if (v4 !== undefined) for (const len of v4.keys()) this.pushIp(`4:${ip.bits.slice(0, len)}`);
    } else {
      // An IPv4 address against IPv6 blocks whose prefix is shorter than 32 bits.
      const v6 = this.ipLengths?.get(6);
      if (v6 !== undefined) {
        for (const len of v6.keys()) {
          if (len < 32 && mixedBits(ip.bits, len)) this.pushIp(`6:${ip.bits.slice(0, len)}`);
        }
      }
    }
  }

  private pushIp(key: string): void {
    const t = this.ips?.get(key);
    if (t !== undefined) pushTargets(t);
  }

  private matchAnythingBut(leaf: Leaf): void {
    // Mark the entries whose exclusion names this leaf, then take every other entry.
    const stamp = curStamp;
    this.exclusions?.mark(leaf, stamp);
    this.take(this.anythingButs, stamp);
  }

  private take(list: readonly AnythingBut<T>[] | undefined, stamp: number): void {
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as AnythingBut<T>;
      if (e.mark !== stamp && e.target.mark !== stamp) {
        e.target.mark = stamp;
        curOut.push(e.target);
      }
    }
  }
}

/** Finds the anything-but entries whose exclusion names a leaf, by the kind of exclusion. */
class ExclusionIndex<E extends { mark: number; readonly not: Exclusion }> {
  private readonly strings = new MultiMap<string, E>();
  private readonly numbers = new MultiMap<number, E>();
  private readonly prefixes = new AffixMap<E>(false);
  private readonly suffixes = new AffixMap<E>(true);
  /** equals-ignore-case exclusions by folded value, confirmed with the exact predicate. */
  private readonly folded = new MultiMap<string, E>();
  /** Exclusions tested one by one: wildcards and irregular case-folding values. */
  private readonly checked: E[] = [];
  private leaf: Leaf | undefined;
  private stamp = 0;

  add(not: Exclusion, e: E): void {
    this.each(not, e, true);
  }

  remove(not: Exclusion, e: E): void {
    this.each(not, e, false);
  }

  private each(not: Exclusion, e: E, adding: boolean): void {
    const put = <K>(m: MultiMap<K, E> | AffixMap<E>, k: K & string): void => {
      if (adding) m.add(k, e);
      else m.remove(k, e);
    };
    switch (not.kind) {
      case "strings":
        for (const v of new Set(not.values)) put(this.strings, v);
        return;
      case "numbers":
        for (const k of new Set(not.keys)) {
          if (adding) this.numbers.add(k, e);
          else this.numbers.remove(k, e);
        }
        return;
      case "prefix":
      case "suffix":
        if (not.values.some((v) => v.includes('"'))) break; // can match across the frame: checked
        for (const v of new Set(not.values)) put(not.kind === "prefix" ? this.prefixes : this.suffixes, v);
        return;
      case "equals-ignore-case":
        if (not.values.every(isFoldRegular)) {
          for (const v of new Set(not.values.map(foldKey))) put(this.folded, v);
          return;
        }
        break;
      case "wildcard":
        break;
    }
    if (adding) this.checked.push(e);
    else {
      const at = this.checked.indexOf(e);
      if (at !== -1) this.checked.splice(at, 1);
    }
  }

  /** Sets `mark` to `stamp` on every entry whose exclusion names `leaf`. */
  mark(leaf: Leaf, stamp: number): void {
    this.leaf = leaf;
    this.stamp = stamp;
    if (leaf.kind === LeafKind.String) {
      const text = leaf.text;
      const exact = this.strings.get(text);
      if (exact !== undefined) this.set(exact);
      if (!this.prefixes.empty) probed(this.prefixes.forEachAffix(text, this.set));
      if (!this.suffixes.empty) probed(this.suffixes.forEachAffix(text, this.set));
      if (this.folded.size > 0) {
        const candidates = this.folded.get(foldKey(text));
        if (candidates !== undefined) this.confirmAll(candidates);
      }
    } else if (leaf.kind === LeafKind.Number && leaf.key === leaf.key) {
      const n = this.numbers.get(leaf.key);
      if (n !== undefined) this.set(n);
    }
    if (this.checked.length > 0) this.confirmAll(this.checked);
  }

  private readonly set = (entries: OneOrMany<E>): void => {
    if (!Array.isArray(entries)) {
      (entries as E).mark = this.stamp;
      return;
    }
    const list = entries as readonly E[];
    for (let i = 0; i < list.length; i++) (list[i] as E).mark = this.stamp;
  };

  private confirmAll(entries: OneOrMany<E>): void {
    const leaf = this.leaf as Leaf;
    const list = Array.isArray(entries) ? (entries as readonly E[]) : null;
    const n = list === null ? 1 : list.length;
    for (let i = 0; i < n; i++) {
      const e = list === null ? (entries as E) : (list[i] as E);
      if (e.mark === this.stamp) continue;
      curWork += 1 + Math.floor(leaf.text.length / CHARS_PER_STEP);
      if (excluded(e.not, leaf)) e.mark = this.stamp;
    }
  }
}
