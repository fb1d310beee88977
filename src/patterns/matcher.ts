/**
 * The compiled matcher: every rule of a bus in one state machine, so the cost of matching an event
 * follows the conditions it can satisfy, not the number of rules.
 *
 * Each rule's sub-patterns (conjunctions of field conditions sorted by path) are threaded through a
 * trie of states; sub-patterns that share their first conditions share states. Out of each state, the
 * conditions of all its edges on one path sit in one {@link FieldIndex}, so finding the next states for
 * an event leaf is a handful of hash lookups. Matching walks the trie from the start state with the
 * event's leaves, keeping the array membership of the leaves used so far so that fields of one array
 * are only combined from the same element (event-ruler's array consistency).
 * @see event-ruler GenericMachine.java, ACFinder.java
 */
import { compilePattern, type CompiledPattern, type FieldCondition, type SubPattern } from "./compile.js";
import { MatchLimitExceededError } from "./errors.js";
import { EventScanner } from "./event-scanner.js";
import { FieldIndex, type Target } from "./field-index.js";
import { consistent, mergeTrails, type Leaf, type Trail } from "./leaf.js";
import { DEFAULT_PATTERN_LIMITS, type PatternLimits } from "./limits.js";
import { PathTrie, type PathNode } from "./path-trie.js";

interface RuleRecord<K> {
  readonly id: K;
  /**
   * The edges each sub-pattern walks, kept for removal. The compiled pattern itself is not kept: rules
   * that share conditions share edges, so a rule costs little beyond what it adds to the machine.
   */
  readonly paths: Edge[][];
  mark: number;
}

interface Edge {
  /** Key in the matcher's edge map. */
  readonly key: string;
  readonly from: State;
  readonly field: FieldCondition;
  readonly node: PathNode;
  readonly child: State;
  refs: number;
}

interface Absence {
  readonly node: PathNode;
  readonly targets: State[];
}

// Most states have no transitions of some kind: they share these empty lists (replaced, never mutated,
// when a state gains an entry), which keeps large rule sets small and cache-friendly.
const NO_TRANSITIONS: ReadonlyArray<PathNode | FieldIndex<State>> = Object.freeze([]);
const NO_ABSENCES: readonly Absence[] = Object.freeze([]);
const NO_ENDS: ReadonlyArray<RuleRecord<unknown>> = Object.freeze([]);

/** States with more value transitions than this also index them in a Map (else: a short list scan). */
const FIELD_MAP_THRESHOLD = 8;

/**
 * Most steps (states visited plus leaves tried) one event's match may take: 50 to 250 ms on the
 * project's machines, depending on the steps. Ordinary events take a few hundred; only many conditions
 * that nearly every element of a long array of objects meets come near it (docs/pattern-semantics.md).
 */
export const MAX_MATCH_STEPS = 1_000_000;

/** Leaves a path keeps for reuse between events (see Matcher.trimPools). */
const POOLED_LEAVES = 1024;

/**
 * Leaves at one path above which the walk looks up the leaves of the array element its trail is in,
 * rather than trying each leaf: fields that must come from the same element of a long array would
 * otherwise cost the product of their leaf counts.
 */
const ELEMENT_INDEX_MIN_LEAVES = 32;

const NO_LEAVES: readonly number[] = Object.freeze([]);

let stateIds = 0;

class State implements Target {
  mark = 0;
  readonly id = ++stateIds;
  /** Value transitions by path node, only for states with many of them (see FIELD_MAP_THRESHOLD). */
  fields: Map<PathNode, FieldIndex<State>> | null = null;
  /** The same, as parallel lists for iteration. */
  /**
   * The same, interleaved in one list — [node, index, node, index, …] — so that visiting a state
   * touches one list rather than two.
   */
  transitions = NO_TRANSITIONS;
  /** `exists: false` transitions. */
  absences = NO_ABSENCES;
  /** Rules whose sub-pattern ends here (a rule may appear more than once). */
  ends = NO_ENDS;
  /** The match (stamp) in which this state was last visited without a trail. */
  plainStamp = 0;
  /** The match in which it was last visited with a trail, and the trails it was visited with then. */
  seenStamp = 0;
  seen: Set<string> | null = null;
  /** The arrays of the current match whose positions still matter below this state (see project). */
  relevantStamp = 0;
  relevant: Set<number> | null = null;
}

/**
 * A set of rules, each an event pattern under an id, compiled into one matcher. Not thread-safe (one
 * call at a time), which is all a JS event loop needs.
 */
export class Matcher<K = string> {
  private readonly start = new State();
  private readonly trie = new PathTrie();
  private readonly rules = new Map<K, RuleRecord<K>>();
  /** Trie edges of all states, by state id, path and condition-list key. */
  private readonly edges = new Map<string, Edge>();
  private readonly scanner = new EventScanner();
  private readonly scratch: State[][] = [];
  private stamp = 0;
  private found: K[] = [];
  /** The states whose `seen` set the match under way made. */
  private readonly seenStates: State[] = [];

  constructor(private readonly limits: PatternLimits = DEFAULT_PATTERN_LIMITS) {}

  /** Number of rules held. */
  get size(): number {
    return this.rules.size;
  }

  /** Whether a rule with this id is held. */
  has(id: K): boolean {
    return this.rules.has(id);
  }

  /**
   * Adds a rule, replacing any rule with the same id. Throws `InvalidEventPatternError` for an invalid
   * pattern, leaving the matcher unchanged.
   */
  add(id: K, pattern: string | CompiledPattern): void {
    const compiled = typeof pattern === "string" ? compilePattern(pattern, this.limits) : pattern;
    this.remove(id);
    this.forgetWalkCaches();
    const record: RuleRecord<K> = { id, paths: [], mark: 0 };
    this.rules.set(id, record);
    for (const sub of compiled.subPatterns) record.paths.push(this.addSubPattern(sub, record));
  }

  /** Removes a rule; returns whether it was present. */
  remove(id: K): boolean {
    const record = this.rules.get(id);
    if (record === undefined) return false;
    this.forgetWalkCaches();
    this.rules.delete(id);
    for (const path of record.paths) this.removeSubPattern(path, record);
    return true;
  }

  /**
   * Ids of the rules that match an event given as JSON text. Throws `InvalidEventJsonError`.
   * `valid`: the caller has already validated the text as JSON (see `EventScanner.scan`); nesting
   * deeper than `MAX_EVENT_DEPTH` still throws.
   */
  matchJson(eventJson: string, valid = false): K[] {
    const stamp = ++this.stamp;
    this.work = 0;
    try {
      this.scanner.scan(eventJson, this.trie.root, stamp, valid);
      this.found = [];
      this.visit(this.start, null, 0, stamp);
      return this.found;
    } finally {
      this.trimPools();
    }
  }

  /**
   * Lets go of what a large event left in the buckets of the paths it filled (their leaves, reused from
   * event to event, and the index of them by array element): each bus's matcher would otherwise keep
   * the most any one event ever needed, tens of megabytes after a 256 KB event of small values.
   */
  private trimPools(): void {
    // Made anew by each match that needs them (see visit): up to a key per step of the walk.
    for (const state of this.seenStates) state.seen = null;
    this.seenStates.length = 0;
    for (const node of this.scanner.touched) {
      if (node.leaves.length > POOLED_LEAVES) node.leaves.length = POOLED_LEAVES;
      if (node.byElement.size > POOLED_LEAVES) {
        node.byElement = new Map();
        node.narrowing = new Set();
        node.elementStamp = 0;
      }
    }
  }

  /** Steps (states visited, leaves tried) of the match under way, against {@link MAX_MATCH_STEPS}. */
  private work = 0;

  /** The steps the last match took (until it stopped, when it threw). */
  get steps(): number {
    return this.work;
  }

  private spend(steps: number): void {
    this.work += steps;
    if (this.work > MAX_MATCH_STEPS) throw new MatchLimitExceededError(MAX_MATCH_STEPS);
  }

  /** Ids of the rules that match an event given as a parsed JSON value. */
  matchEvent(event: unknown): K[] {
    return this.matchJson(JSON.stringify(event));
  }

  private addSubPattern(sub: SubPattern, record: RuleRecord<K>): Edge[] {
    let state = this.start;
    const walked: Edge[] = [];
    for (const field of sub) {
      const key = `${state.id}\u0000${field.path}\u0000${field.key}`;
      let edge = this.edges.get(key);
      if (edge === undefined) {
        edge = { key, from: state, field, node: this.trie.acquire(field.path), child: new State(), refs: 0 };
        this.edges.set(key, edge);
        this.link(state, edge);
      } else {
        this.trie.acquire(field.path);
      }
      edge.refs++;
      walked.push(edge);
      state = edge.child;
    }
    if (state.ends === NO_ENDS) state.ends = [record];
    else (state.ends as Array<RuleRecord<unknown>>).push(record);
    return walked;
  }

  private removeSubPattern(walked: readonly Edge[], record: RuleRecord<K>): void {
    const last = walked[walked.length - 1];
    if (last !== undefined) {
      const state = last.child;
      const at = state.ends.indexOf(record);
      if (at !== -1) state.ends = state.ends.length === 1 ? NO_ENDS : state.ends.filter((_, i) => i !== at);
    }
    for (const edge of walked) {
      this.trie.release(edge.field.path);
      if (--edge.refs === 0) {
        this.edges.delete(edge.key);
        this.unlink(edge.from, edge);
      }
    }
  }

  private link(state: State, edge: Edge): void {
    for (const c of edge.field.conditions) {
      if (c.kind === "absent") {
        let a = state.absences.find((x) => x.node === edge.node);
        if (a === undefined) {
          a = { node: edge.node, targets: [] };
          state.absences = [...state.absences, a];
        }
        a.targets.push(edge.child);
        continue;
      }
      let index = indexFor(state, edge.node);
      if (index === undefined) {
        index = new FieldIndex();
        state.transitions = [...state.transitions, edge.node, index];
        if (state.fields !== null) state.fields.set(edge.node, index);
        else if (state.transitions.length / 2 > FIELD_MAP_THRESHOLD) {
          const fields = new Map<PathNode, FieldIndex<State>>();
          for (let i = 0; i < state.transitions.length; i += 2) {
            fields.set(state.transitions[i] as PathNode, state.transitions[i + 1] as FieldIndex<State>);
          }
          state.fields = fields;
        }
      }
      index.add(c, edge.child);
    }
  }

  private unlink(state: State, edge: Edge): void {
    for (const c of edge.field.conditions) {
      if (c.kind === "absent") {
        const a = state.absences.find((x) => x.node === edge.node);
        if (a === undefined) continue;
        a.targets.splice(a.targets.indexOf(edge.child), 1);
        if (a.targets.length === 0) state.absences = state.absences.filter((x) => x !== a);
        continue;
      }
      const index = indexFor(state, edge.node);
      if (index === undefined) continue;
      index.remove(c, edge.child);
      if (index.size === 0) {
        state.fields?.delete(edge.node);
        if (state.fields !== null && state.fields.size <= FIELD_MAP_THRESHOLD) state.fields = null;
        const at = state.transitions.indexOf(edge.node);
        state.transitions = state.transitions.filter((_, i) => i !== at && i !== at + 1);
      }
    }
  }

  private visit(state: State, given: Trail, depth: number, stamp: number): void {
    this.spend(1);
    // What lies below a state depends only on it and on the positions, in the trail, of the arrays
    // whose leaves are still to be read below it: the rest of the trail is dropped, and a state met
    // again with the same remainder is not walked twice. Without this, conditions on fields of several
    // arrays of objects would walk every combination of their elements.
    const trail = given === null ? null : this.project(state, given, stamp);
    if (trail === null) {
      if (state.plainStamp === stamp) return;
      state.plainStamp = stamp;
    } else {
      const key = trail.join(",");
      if (state.seenStamp !== stamp) {
        state.seenStamp = stamp;
        state.seen = new Set([key]);
        this.seenStates.push(state);
      } else if ((state.seen as Set<string>).has(key)) return;
      else (state.seen as Set<string>).add(key);
    }
    const ends = state.ends;
    for (let i = 0; i < ends.length; i++) {
      const r = ends[i] as RuleRecord<K>;
      if (r.mark !== stamp) {
        r.mark = stamp;
        this.found.push(r.id);
      }
    }
    const touched = this.scanner.touched;
    const transitions = state.transitions;
    if (transitions.length <= 2 * touched.length || state.fields === null) {
      for (let f = 0; f < transitions.length; f += 2) {
        const node = transitions[f] as PathNode;
        if (node.stamp === stamp)
          this.step(node, transitions[f + 1] as FieldIndex<State>, trail, depth, stamp);
      }
    } else {
      // Many transitions, few event paths: look the event's paths up instead.
      const fields = state.fields;
      for (let f = 0; f < touched.length; f++) {
        const node = touched[f] as PathNode;
        const index = fields.get(node);
        if (index !== undefined) this.step(node, index, trail, depth, stamp);
      }
    }
    const absences = state.absences;
    for (let a = 0; a < absences.length; a++) {
      const { node, targets } = absences[a] as Absence;
      if (!this.present(node, trail, stamp)) {
        for (const child of targets) this.visit(child, trail, depth + 1, stamp);
      }
    }
  }

  /** Drops what the walk derives from the rule set (futureOf, edgesByState): the rules changed. */
  private forgetWalkCaches(): void {
    this.futures = null;
    this.byState = null;
  }

  /** Per state, the path nodes of the transitions below it (its own included); reset by rule changes. */
  private futures: Map<State, ReadonlySet<PathNode>> | null = null;

  /** The path nodes whose leaves the walk below `state` may still read (its transitions and absences, and below). */
  private futureOf(state: State): ReadonlySet<PathNode> {
    if (this.futures === null) this.futures = new Map();
    const known = this.futures.get(state);
    if (known !== undefined) return known;
    const nodes = new Set<PathNode>();
    // Depth-first over the edges out of each state (grouped once per rule change by edgesByState).
    const out = this.edgesByState();
    const pending = [state];
    const walked = new Set<State>([state]);
    while (pending.length > 0) {
      const s = pending.pop() as State;
      for (const edge of out.get(s) ?? []) {
        nodes.add(edge.node);
        if (!walked.has(edge.child)) {
          walked.add(edge.child);
          pending.push(edge.child);
        }
      }
    }
    this.futures.set(state, nodes);
    return nodes;
  }

  /** The edges out of each state; rebuilt after rule changes. */
  private byState: Map<State, Edge[]> | null = null;

  private edgesByState(): Map<State, Edge[]> {
    if (this.byState === null) {
      const map = new Map<State, Edge[]>();
      for (const edge of this.edges.values()) {
        const list = map.get(edge.from);
        if (list === undefined) map.set(edge.from, [edge]);
        else list.push(edge);
      }
      this.byState = map;
    }
    return this.byState;
  }

  /** `trail` without the arrays none of whose leaves the walk below `state` can read in this event. */
  private project(state: State, trail: readonly number[], stamp: number): Trail {
    if (state.relevantStamp !== stamp) {
      state.relevantStamp = stamp;
      const arrays = new Set<number>();
      for (const node of this.futureOf(state)) {
        if (node.stamp !== stamp) continue;
        this.spend(node.count);
        for (let k = 0; k < node.count; k++) {
          const t = (node.leaves[k] as Leaf).trail;
          if (t !== null) for (let i = 0; i < t.length; i += 2) arrays.add(t[i] as number);
        }
      }
      state.relevant = arrays;
    }
    const relevant = state.relevant as Set<number>;
    let kept: number[] | null = null;
    for (let i = 0; i < trail.length; i += 2) {
      if (!relevant.has(trail[i] as number)) continue;
      (kept ??= []).push(trail[i] as number, trail[i + 1] as number);
    }
    return kept;
  }

  /**
   * The positions of the leaves at `node` that can be consistent with `trail`, or `null` to try them
   * all (few leaves, or no array narrows them down). An array narrows them down when every leaf that
   * can be consistent with the trail lies in it: an outermost array holding every leaf at `node`, or an
   * array holding every leaf of the element of the enclosing array it lies in, itself narrowing (a
   * leaf outside an array is consistent with any of its elements). Among those arrays in `trail`,
   * the leaves of the trail's element of the one with the fewest.
   */
  private candidates(node: PathNode, trail: Trail, stamp: number): readonly number[] | null {
    if (trail === null || node.count < ELEMENT_INDEX_MIN_LEAVES) return null;
    if (node.elementStamp !== stamp) this.indexElements(node, stamp);
    let best: readonly number[] | null = null;
    for (let i = 0; i < trail.length; i += 2) {
      const array = trail[i] as number;
      if (!node.narrowing.has(array)) continue;
      const positions = node.byElement.get(array)?.get(trail[i + 1] as number) ?? NO_LEAVES;
      if (best === null || positions.length < best.length) best = positions;
    }
    return best;
  }

  /** Builds `node.byElement` and `node.narrowing` for this event's leaves at `node`. */
  private indexElements(node: PathNode, stamp: number): void {
    node.elementStamp = stamp;
    node.byElement.clear();
    node.narrowing.clear();
    this.spend(node.count);
    const carriers = new Map<number, number>();
    // The element of the enclosing array each array lies in (array ids start at 1; 0: none). A leaf's
    // trail lists its arrays outermost first, so an array's enclosing one is the pair before it.
    const enclosing = new Map<number, readonly [number, number]>();
    for (let k = 0; k < node.count; k++) {
      const t = (node.leaves[k] as Leaf).trail;
      if (t === null) continue;
      for (let i = 0; i < t.length; i += 2) {
        const array = t[i] as number;
        const element = t[i + 1] as number;
        carriers.set(array, (carriers.get(array) ?? 0) + 1);
        let elements = node.byElement.get(array);
        if (elements === undefined) {
          node.byElement.set(array, (elements = new Map<number, number[]>()));
          enclosing.set(array, i === 0 ? [0, 0] : [t[i - 2] as number, t[i - 1] as number]);
        }
        const positions = elements.get(element);
        if (positions === undefined) elements.set(element, [k]);
        else positions.push(k);
      }
    }
    // Enclosing arrays were met first: in insertion order, an array's enclosing one is already decided.
    for (const array of node.byElement.keys()) {
      const [outer, element] = enclosing.get(array) as readonly [number, number];
      const held =
        outer === 0
          ? node.count
          : node.narrowing.has(outer)
            ? (node.byElement.get(outer)?.get(element)?.length ?? -1)
            : -1;
      if (carriers.get(array) === held) node.narrowing.add(array);
    }
  }

  private step(node: PathNode, index: FieldIndex<State>, trail: Trail, depth: number, stamp: number): void {
    const out = (this.scratch[depth] ??= []);
    const only = this.candidates(node, trail, stamp);
    const n = only === null ? node.count : only.length;
    this.spend(n);
    for (let j = 0; j < n; j++) {
      const leaf = node.leaves[only === null ? j : (only[j] as number)] as Leaf;
      if (trail !== null && leaf.trail !== null && !consistent(trail, leaf.trail)) continue;
      out.length = 0;
      this.spend(index.match(leaf, out));
      if (out.length === 0) continue;
      const next = mergeTrails(trail, leaf.trail);
      // Children are visited one level deeper, with scratch lists of their own: `out` stays intact.
      for (let c = 0; c < out.length; c++) this.visit(out[c] as State, next, depth + 1, stamp);
    }
  }

  /** Whether the event has a leaf at `node` that is array-consistent with `trail`. */
  private present(node: PathNode, trail: Trail, stamp: number): boolean {
    if (node.stamp !== stamp) return false;
    if (trail === null) return node.count > 0;
    const only = this.candidates(node, trail, stamp);
    const n = only === null ? node.count : only.length;
    this.spend(n);
    for (let j = 0; j < n; j++) {
      if (consistent(trail, (node.leaves[only === null ? j : (only[j] as number)] as Leaf).trail))
        return true;
    }
    return false;
  }
}

/** The value transitions of a state on one path, if any. */
function indexFor(state: State, node: PathNode): FieldIndex<State> | undefined {
  if (state.fields !== null) return state.fields.get(node);
  const at = state.transitions.indexOf(node);
  return at === -1 ? undefined : (state.transitions[at + 1] as FieldIndex<State>);
}
