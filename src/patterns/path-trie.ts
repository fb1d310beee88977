/**
 * The field paths that a matcher's patterns name, as a trie the event scanner walks: a key of the event
 * leads to a child node only if some pattern path continues that way, so the scanner skips (validates
 * but does not materialise) everything no pattern can look at. Paths are dotted names, as event-ruler
 * flattens them: `{"a": {"b": 1}}` and `{"a.b": 1}` both give the path `a.b`.
 */
import type { Leaf } from "./leaf.js";

/** A node of the path trie; also the per-event bucket of the leaves found at its path. */
export class PathNode {
  /** Child nodes by event key; null when no pattern path continues below this node. */
  children: Map<string, PathNode> | null = null;
  /** The same children as a list of keys and nodes (probed in place by the scanner when short). */
  childKeys: string[] = [];
  childNodes: PathNode[] = [];
  /** Whether leaves at this exact path are wanted by some pattern. */
  wantedBy = 0;
  /** Patterns' paths at or below this node. */
  refs = 0;
  /** Per-event bucket: valid only while `stamp` equals the scan's stamp. */
  stamp = 0;
  count = 0;
  leaves: Leaf[] = [];
  /**
   * The bucket's leaves by array element, built by the matcher when it first needs it for an event
   * (valid while `elementStamp` equals the scan's stamp): array id → element index → leaf positions.
   */
  elementStamp = 0;
  byElement: Map<number, Map<number, number[]>> = new Map();
  /**
   * With `byElement`: the arrays whose element, named by a trail, holds every leaf that can be
   * consistent with that trail (see Matcher.candidates).
   */
  narrowing: Set<number> = new Set();

  constructor(readonly path: string) {}

  /** Refreshes the child lists after the map changed. */
  syncChildren(): void {
    this.childKeys = this.children === null ? [] : [...this.children.keys()];
    this.childNodes = this.children === null ? [] : [...this.children.values()];
  }
}

/** The trie of every path in use, reference-counted as patterns come and go. */
export class PathTrie {
  readonly root = new PathNode("");
  private readonly nodes = new Map<string, PathNode>([["", this.root]]);

  /** The node of a path, if any pattern uses it. */
  get(path: string): PathNode | undefined {
    return this.nodes.get(path);
  }

  /** Registers one use of a path and returns its node. */
  acquire(path: string): PathNode {
    const segments = path.split(".");
    const prefixes = [""];
    for (let j = 1; j <= segments.length; j++) prefixes.push(segments.slice(0, j).join("."));
    for (let j = 1; j <= segments.length; j++) {
      const full = prefixes[j] as string;
      let node = this.nodes.get(full);
      if (node === undefined) {
        node = new PathNode(full);
        this.nodes.set(full, node);
        // Every dotted run of keys from an ancestor reaches this node.
        for (let i = 0; i < j; i++) {
          const parent = this.nodes.get(prefixes[i] as string) as PathNode;
          (parent.children ??= new Map()).set(segments.slice(i, j).join("."), node);
          parent.syncChildren();
        }
      }
      node.refs++;
    }
    this.root.refs++;
    const node = this.nodes.get(path) as PathNode;
    node.wantedBy++;
    return node;
  }

  /** Releases one use of a path acquired before. */
  release(path: string): void {
    const segments = path.split(".");
    const prefixes = [""];
    for (let j = 1; j <= segments.length; j++) prefixes.push(segments.slice(0, j).join("."));
    const node = this.nodes.get(path);
    if (node === undefined) return;
    node.wantedBy--;
    this.root.refs--;
    for (let j = segments.length; j >= 1; j--) {
      const full = prefixes[j] as string;
      const n = this.nodes.get(full) as PathNode;
      if (--n.refs === 0) {
        this.nodes.delete(full);
        for (let i = 0; i < j; i++) {
          const parent = this.nodes.get(prefixes[i] as string);
          const children = parent?.children;
          if (parent === undefined || children == null) continue;
          children.delete(segments.slice(i, j).join("."));
          if (children.size === 0) parent.children = null;
          parent.syncChildren();
        }
      }
    }
  }
}
