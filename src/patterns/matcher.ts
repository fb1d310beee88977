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
import { conditionMatches } from "./conditions.js";
import { EventScanner } from "./event-scanner.js";
import { FieldIndex, type Target } from "./field-index.js";
import { consistent, mergeTrails, type Leaf, type Trail } from "./leaf.js";
import { DEFAULT_PATTERN_LIMITS, type PatternLimits } from "./limits.js";
import { PathTrie, type PathNode } from "./path-trie.js";

interface RuleRecord<K> {
  readonly id: K;
  readonly pattern: CompiledPattern;
  mark: number;
}

interface Edge {
  readonly field: FieldCondition;
  readonly node: PathNode;
  readonly child: State;
  refs: number;
}

interface Absence {
  readonly node: PathNode;
  readonly targets: State[];
}

class State implements Target {
  mark = 0;
  /** Value transitions, by path node (allocated on first use: most states are leaves of the trie). */
  fields: Map<PathNode, FieldIndex<State>> | null = null;
  /** The same, as a list for iteration. */
  fieldList: Array<readonly [PathNode, FieldIndex<State>]> = [];
  /** `exists: false` transitions. */
  absences: Absence[] = [];
  /** Trie edges, by path and condition-list key. */
  edges: Map<string, Edge> | null = null;
  /** Rules whose sub-pattern ends here (a rule may appear more than once). */
  ends: Array<RuleRecord<unknown>> = [];
}

/**
 * A set of rules, each an event pattern under an id, compiled into one matcher. Not thread-safe (one
 * call at a time), which is all a JS event loop needs.
 */
export class Matcher<K = string> {
  private readonly start = new State();
  private readonly trie = new PathTrie();
  private readonly rules = new Map<K, RuleRecord<K>>();
  private readonly scanner = new EventScanner();
  private readonly scratch: State[][] = [];
  private stamp = 0;
  private found: K[] = [];

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
    const record: RuleRecord<K> = { id, pattern: compiled, mark: 0 };
    this.rules.set(id, record);
    for (const sub of compiled.subPatterns) this.addSubPattern(sub, record);
  }

  /** Removes a rule; returns whether it was present. */
  remove(id: K): boolean {
    const record = this.rules.get(id);
    if (record === undefined) return false;
    this.rules.delete(id);
    for (const sub of record.pattern.subPatterns) this.removeSubPattern(sub, record);
    return true;
  }

  /** Ids of the rules that match an event given as JSON text. Throws `InvalidEventJsonError`. */
  matchJson(eventJson: string): K[] {
    const stamp = ++this.stamp;
    this.scanner.scan(eventJson, this.trie.root, stamp);
    this.found = [];
    this.visit(this.start, null, 0, stamp);
    return this.found;
  }

  /** Ids of the rules that match an event given as a parsed JSON value. */
  matchEvent(event: unknown): K[] {
    return this.matchJson(JSON.stringify(event));
  }

  private addSubPattern(sub: SubPattern, record: RuleRecord<K>): void {
    let state = this.start;
    for (const field of sub) {
      const node = this.trie.acquire(field.path);
      const edgeKey = `${field.path}\u0000${field.key}`;
      let edge = state.edges?.get(edgeKey);
      if (edge === undefined) {
        edge = { field, node, child: new State(), refs: 0 };
        (state.edges ??= new Map()).set(edgeKey, edge);
        this.link(state, edge);
      }
      edge.refs++;
      state = edge.child;
    }
    state.ends.push(record);
  }

  private removeSubPattern(sub: SubPattern, record: RuleRecord<K>): void {
    let state = this.start;
    const walked: Array<readonly [State, string, Edge]> = [];
    for (const field of sub) {
      const edgeKey = `${field.path}\u0000${field.key}`;
      const edge = state.edges?.get(edgeKey);
      if (edge === undefined) throw new Error(`matcher state lost an edge for ${field.path}`);
      walked.push([state, edgeKey, edge]);
      state = edge.child;
    }
    const at = state.ends.indexOf(record);
    if (at !== -1) state.ends.splice(at, 1);
    for (const [from, edgeKey, edge] of walked) {
      this.trie.release(edge.field.path);
      if (--edge.refs === 0) {
        from.edges?.delete(edgeKey);
        if (from.edges?.size === 0) from.edges = null;
        this.unlink(from, edge);
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
      let index = state.fields?.get(edge.node);
      if (index === undefined) {
        index = new FieldIndex();
        (state.fields ??= new Map()).set(edge.node, index);
        state.fieldList = [...state.fieldList, [edge.node, index]];
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
      const index = state.fields?.get(edge.node);
      if (index === undefined) continue;
      index.remove(c, edge.child);
      if (index.size === 0) {
        state.fields?.delete(edge.node);
        if (state.fields?.size === 0) state.fields = null;
        state.fieldList = state.fieldList.filter(([n]) => n !== edge.node);
      }
    }
  }

  private visit(state: State, trail: Trail, depth: number, stamp: number): void {
    const ends = state.ends;
    for (let i = 0; i < ends.length; i++) {
      const r = ends[i] as RuleRecord<K>;
      if (r.mark !== stamp) {
        r.mark = stamp;
        this.found.push(r.id);
      }
    }
    const touched = this.scanner.touched;
    const fields = state.fields;
    if (fields === null) {
      // No value transitions out of this state.
    } else if (state.fieldList.length <= touched.length) {
      const list = state.fieldList;
      for (let f = 0; f < list.length; f++) {
        const [node, index] = list[f] as readonly [PathNode, FieldIndex<State>];
        if (node.stamp === stamp) this.step(node, index, trail, depth, stamp);
      }
    } else {
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

  private step(node: PathNode, index: FieldIndex<State>, trail: Trail, depth: number, stamp: number): void {
    const out = (this.scratch[depth] ??= []);
    for (let k = 0; k < node.count; k++) {
      const leaf = node.leaves[k] as Leaf;
      if (trail !== null && leaf.trail !== null && !consistent(trail, leaf.trail)) continue;
      out.length = 0;
      index.match(leaf, out);
      if (out.length === 0) continue;
      const next = mergeTrails(trail, leaf.trail);
      // Copy: visiting children reuses deeper scratch lists but may re-enter this depth's via siblings.
      const children = out.length === 1 ? [out[0] as State] : out.slice();
      for (const child of children) this.visit(child, next, depth + 1, stamp);
    }
  }

  /** Whether the event has a leaf at `node` that is array-consistent with `trail`. */
  private present(node: PathNode, trail: Trail, stamp: number): boolean {
    if (node.stamp !== stamp) return false;
    if (trail === null) return node.count > 0;
    for (let k = 0; k < node.count; k++) {
      if (consistent(trail, (node.leaves[k] as Leaf).trail)) return true;
    }
    return false;
  }
}

/** Whether one leaf satisfies a field's conditions (used by tests and diagnostics). */
export function fieldMatches(field: FieldCondition, leaf: Leaf): boolean {
  return field.conditions.some((c) => conditionMatches(c, leaf));
}
