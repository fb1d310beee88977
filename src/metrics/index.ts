/**
 * Prometheus metrics (`GET /metrics`), named as EventBridge names its CloudWatch metrics where one
 * exists, with `bus`, `rule` and `target` labels in place of CloudWatch's dimensions.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
 */
import { once } from "node:events";
import { setImmediate as nextTurn } from "node:timers/promises";
import { createGzip } from "node:zlib";
import { Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** Latency buckets in milliseconds, from sub-millisecond to a day of retries. */
export const LATENCY_BUCKETS_MS = [
  0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000, 3_600_000,
  86_400_000,
];

type TargetLabels = "account" | "bus" | "rule" | "target";
/**
 * The labels of a per-target metric: the account (CloudWatch's metrics are each account's own; two
 * accounts' same-named rules shared one series), then CloudWatch's dimension order (EventBus, Rule,
 * Target).
 */
const TARGET_LABELS: readonly TargetLabels[] = ["account", "bus", "rule", "target"];

/** One label set of a {@link HotCounter}. */
export interface CounterChild {
  /** Adds `by` (1 unless given). */
  inc(by?: number): void;
}

/**
 * Lines written between two turns of the event loop at a scrape: a node with thousands of targets
 * has hundreds of thousands of lines to write, and requests go on meanwhile.
 */
const LINES_PER_TURN = 4_000;

/** A label value as the text format writes it: backslash, double quote and line feed escaped. */
function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** A metric's HELP text as the text format writes it: backslash and line feed escaped. */
function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** A sample value as the text format writes it. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** A label set: its labels by name, and as the text format writes them (`a="x",b="y"`). */
interface LabelSet {
  readonly labels: Readonly<Record<string, string>>;
  readonly text: string;
}

/**
 * The child of a label set (`values`, one per label name, in their order) in `children`, made by
 * `make` the first time it is asked for.
 */
function childOf<C>(
  children: Map<string, C>,
  labelNames: readonly string[],
  values: readonly string[],
  make: (set: LabelSet) => C,
): C {
  if (values.length !== labelNames.length) {
    throw new Error(`expected ${labelNames.length} label values, got ${values.length}`);
  }
  const key = values.join("\u0000");
  let child = children.get(key);
  if (child === undefined) {
    const labels: Record<string, string> = {};
    labelNames.forEach((name, i) => (labels[name] = values[i] as string));
    const text = labelNames.map((name, i) => `${name}="${escapeLabelValue(values[i] as string)}"`).join(",");
    child = make({ labels, text });
    children.set(key, child);
  }
  return child;
}

/**
 * The `rule` and `target` label value of the series that count, summed, an account's targets past its
 * budget (see {@link SeriesBudget}): a name no rule or target can have (their names are
 * `[.\-_A-Za-z0-9]+`).
 */
export const OTHER_TARGETS = "*";

/** The label values of a target past its account's budget: its bus's series with rule and target `*`. */
export function pastBudget(
  values: readonly [string, string, string, string],
): readonly [string, string, string, string] {
  return [values[0], values[1], OTHER_TARGETS, OTHER_TARGETS];
}

/** A target's names, as its series labels give them. */
interface TargetNames {
  readonly bus: string;
  readonly rule: string;
  readonly target: string;
}

/**
 * Which targets get series of their own: each account's first `max` targets (by bus, rule and target
 * id) that a metric counts. Past them, a target counts into its bus's series with `rule` and `target`
 * set to {@link OTHER_TARGETS}. A target keeps its place until its series are forgotten (its removal,
 * its rule's or bus's deletion), which makes room for another. One account with thousands of
 * delivering targets (its quotas let it have 150,000) would otherwise add ~50 series and ~6 KB of
 * scrape text for each, to every tenant's node.
 */
class SeriesBudget {
  /** The targets with series of their own, by account, each by its labels' key. */
  readonly #placed = new Map<string, Map<string, TargetNames>>();

  /** Targets per account with series of their own. */
  max = Number.POSITIVE_INFINITY;

  /**
   * The label values to count under: `values` (account, bus, rule, target, then any others) when the
   * target has or gets its own series, else with its rule and target as {@link OTHER_TARGETS}.
   */
  place(values: readonly string[]): readonly string[] {
    if (values.length < 4) return values; // refused by childOf
    const [account, bus, rule, target] = values as readonly [string, string, string, string];
    if (rule === OTHER_TARGETS && target === OTHER_TARGETS) return values; // placed past the budget already
    let placed = this.#placed.get(account);
    const key = `${bus}\u0000${rule}\u0000${target}`;
    if (placed?.has(key) === true) return values;
    if ((placed?.size ?? 0) < this.max) {
      if (placed === undefined) this.#placed.set(account, (placed = new Map<string, TargetNames>()));
      placed.set(key, { bus, rule, target });
      return values;
    }
    return [account, bus, OTHER_TARGETS, OTHER_TARGETS, ...values.slice(4)];
  }

  /** Makes room: the targets of `account` whose labels `matches` accepts lose their places. */
  forget(account: string, matches: (labels: Readonly<Record<string, string>>) => boolean): void {
    const placed = this.#placed.get(account);
    if (placed === undefined) return;
    for (const [key, labels] of placed) if (matches({ account, ...labels })) placed.delete(key);
    if (placed.size === 0) this.#placed.delete(account);
  }
}

/** Where a scrape's text goes (see {@link Metrics.render}). */
interface Sink {
  push(text: string): void;
  /** Whether a piece's worth of text is waiting for {@link flush}. */
  full(): boolean;
  /** Hands on the text pushed so far. */
  flush(): Promise<void>;
}

/** A metric Busbar writes itself at a scrape (see {@link Metrics.render}). */
interface OwnMetric {
  /**
   * Pushes its HELP, TYPE and series lines, taking turns with other work as it goes; with `account`,
   * only that account's series (none, for a metric without an `account` label).
   */
  write(out: Sink, account?: string): Promise<void>;
}

/** A scrape's text, in pieces, or compressed (gzip). */
export type RenderedMetrics =
  | { readonly contentType: string; readonly pieces: readonly string[]; readonly gzipped?: undefined }
  | { readonly contentType: string; readonly gzipped: Buffer; readonly pieces?: undefined };

/**
 * What a scraper sent as HTTP Basic credentials: an access key id and its secret, for the series of
 * the key's account alone (see `GET /metrics` in README.md).
 */
export interface MetricsCaller {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A scrape refused: credentials that are not a key's (401), or a key not allowed to read metrics (403). */
export interface MetricsRefusal {
  readonly status: 401 | 403;
  readonly message: string;
}

/** Renders a scrape, for a caller's account when credentials came with it. */
export type MetricsScrape = (
  gzip: boolean,
  caller?: MetricsCaller,
) => Promise<RenderedMetrics | MetricsRefusal>;

/** Characters of text per piece of a scrape. */
const PIECE_CHARS = 64 * 1024;

class HotChild implements CounterChild {
  value = 0;
  constructor(readonly set: LabelSet) {}
  inc(by = 1): void {
    this.value += by;
  }
}

/**
 * A labelled counter for hot paths (several increments per delivery): each label set's child is made
 * once, with its labels' text, and an increment adds to a plain number.
 */
class HotCounter<L extends string> implements OwnMetric {
  readonly #children = new Map<string, HotChild>();
  readonly #make = (set: LabelSet) => new HotChild(set);

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    /** Where a per-target counter's targets find whether they have series of their own. */
    private readonly budget?: SeriesBudget,
  ) {}

  /** The child of a label set: one value per label name, in their order. */
  labels(...values: string[]): CounterChild {
    return childOf(this.#children, this.labelNames, this.budget?.place(values) ?? values, this.#make);
  }

  /** Adds 1 to the counter without labels. */
  inc(): void {
    this.labels().inc();
  }

  async write(out: Sink, account?: string): Promise<void> {
    if (account !== undefined && !(this.labelNames as readonly string[]).includes("account")) return;
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} counter\n`);
    // A counter without labels is written from the start, at 0.
    if (this.labelNames.length === 0) {
      out.push(`${this.name} ${formatValue(this.#children.get("")?.value ?? 0)}\n`);
      return;
    }
    let written = 0;
    for (const child of this.#children.values()) {
      // Another account's series count as lines all the same: the walk over them takes turns too.
      if (account !== undefined && child.set.labels.account !== account) {
        if (++written % LINES_PER_TURN === 0) await nextTurn();
        continue;
      }
      out.push(`${this.name}{${child.set.text}} ${formatValue(child.value)}\n`);
      if (out.full()) await out.flush();
      if (++written % LINES_PER_TURN === 0) await nextTurn();
    }
  }

  /** Removes the series whose labels `matches` accepts. */
  forget(matches: (labels: Readonly<Record<string, string>>) => boolean): void {
    for (const [key, child] of this.#children) if (matches(child.set.labels)) this.#children.delete(key);
  }
}

/** One label set of a {@link HotHistogram}. */
export interface HistogramChild {
  /** Counts one observation. */
  observe(value: number): void;
}

class HotHistogramChild implements HistogramChild {
  /** Observations per bucket (not cumulative): counts[i] for bounds[i - 1] < v <= bounds[i]; the last is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly set: LabelSet,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (this.counts[i] as number)++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A labelled histogram for hot paths (two observations per delivery): each label set's child is made
 * once and an observation adds to plain numbers. Written as prom-client writes its histograms (the
 * same names, labels and order: `le` first).
 */
class HotHistogram<L extends string> implements OwnMetric {
  readonly #children = new Map<string, HotHistogramChild>();
  readonly #make = (set: LabelSet) => new HotHistogramChild(set, this.bounds);
  /** `le="<bound>",` of each bucket, then `le="+Inf"`. */
  readonly #le: readonly string[];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly bounds: readonly number[],
    /** Where its targets find whether they have series of their own. */
    private readonly budget: SeriesBudget,
  ) {
    this.#le = [...bounds.map((b) => formatValue(b)), "+Inf"].map((le) => `le="${le}"`);
  }

  /** The child of a label set: one value per label name, in their order. */
  labels(...values: string[]): HistogramChild {
    return childOf(this.#children, this.labelNames, this.budget.place(values), this.#make);
  }

  async write(out: Sink, account?: string): Promise<void> {
    const { name } = this;
    if (account !== undefined && !(this.labelNames as readonly string[]).includes("account")) return;
    out.push(`# HELP ${name} ${escapeHelp(this.help)}\n# TYPE ${name} histogram\n`);
    let written = 0;
    for (const child of this.#children.values()) {
      // As prom-client does, a label set appears once it has an observation.
      if (child.count === 0) continue;
      if (account !== undefined && child.set.labels.account !== account) {
        if (++written >= LINES_PER_TURN) {
          written = 0;
          await nextTurn();
        }
        continue;
      }
      const labels = child.set.text;
      const sep = labels === "" ? "" : ",";
      let lines = "";
      let cumulative = 0;
      for (let i = 0; i < this.#le.length; i += 1) {
        cumulative += child.counts[i] as number;
        lines += `${name}_bucket{${this.#le[i] as string}${sep}${labels}} ${formatValue(cumulative)}\n`;
      }
      const braces = labels === "" ? "" : `{${labels}}`;
      lines += `${name}_sum${braces} ${formatValue(child.sum)}\n${name}_count${braces} ${formatValue(child.count)}\n`;
      out.push(lines);
      if (out.full()) await out.flush();
      written += this.#le.length + 2;
      if (written >= LINES_PER_TURN) {
        written = 0;
        await nextTurn();
      }
    }
  }

  /** Removes the series whose labels `matches` accepts. */
  forget(matches: (labels: Readonly<Record<string, string>>) => boolean): void {
    for (const [key, child] of this.#children) if (matches(child.set.labels)) this.#children.delete(key);
  }
}

/** A metric whose series can be removed by their labels. */
interface Forgettable {
  forget(matches: (labels: Readonly<Record<string, string>>) => boolean): void;
}

/** Which series {@link Metrics.forget} removes: an account's bus's, or a rule's, or some targets' of a rule. */
export interface MetricsScope {
  readonly account: string;
  readonly bus: string;
  readonly rule?: string;
  readonly targets?: readonly string[];
}

/** What the delivery engine holds: deliveries in memory, invocations in flight. */
export interface DeliveryState {
  readonly inMemory: number;
  readonly inFlight: number;
  /** Targets held for failing (see the delivery engine's hold), and the deliveries waiting for them. */
  readonly targetsHeld: number;
  readonly waitingForHeld: number;
}

/** The room for data under the data directory (see store/disk-floor.ts); undefined when not measured. */
export interface DiskState {
  /** Free space of the file system, and free pages of the database, in bytes. */
  readonly room: { readonly free: number; readonly reusable: number } | undefined;
  /** Whether new events, messages and queues are refused (below BUSBAR_MIN_FREE_DISK_BYTES). */
  readonly low: boolean;
}

/** The metrics of a node. */
export class Metrics {
  /** prom-client's registry: the process's metrics and the delivery engine's gauges. */
  readonly registry = new Registry();
  /** Every labelled metric, for {@link forget} and {@link render} (declared first: the metrics below add themselves). */
  readonly #labelled: (Forgettable & OwnMetric)[] = [];
  /** Which targets have series of their own (declared first: the per-target metrics below use it). */
  readonly #budget = new SeriesBudget();

  /** Events that matched at least one rule (EventBridge: MatchedEvents), by bus. */
  readonly matchedEvents = this.counter("MatchedEvents", "Events that matched at least one rule.", [
    "account",
    "bus",
  ]);
  /** Rules that matched an event (EventBridge: TriggeredRules). */
  readonly triggeredRules = this.counter("TriggeredRules", "Rules that matched an event.", [
    "account",
    "bus",
    "rule",
  ]);
  /** Events accepted by PutEvents (and by bus-to-bus delivery). */
  readonly events = this.counter("Events", "Events accepted onto a bus.", ["account", "bus"]);
  /** Targets invoked to completion, successfully or not (EventBridge: Invocations). */
  readonly invocations = this.counter(
    "Invocations",
    "Target invocations, successful or finally failed.",
    TARGET_LABELS,
  );
  /** Attempts to invoke a target, first attempts and retries (EventBridge: InvocationAttempts). */
  readonly invocationAttempts = this.counter(
    "InvocationAttempts",
    "Attempts to invoke a target.",
    TARGET_LABELS,
  );
  /** Attempts that the target acknowledged (EventBridge: SuccessfulInvocationAttempts). */
  readonly successfulInvocationAttempts = this.counter(
    "SuccessfulInvocationAttempts",
    "Attempts the target acknowledged.",
    TARGET_LABELS,
  );
  /** Invocations that failed for good: retries exhausted or not retryable (EventBridge: FailedInvocations). */
  readonly failedInvocations = this.counter(
    "FailedInvocations",
    "Invocations that failed permanently (retries exhausted, or a failure retrying cannot fix).",
    [...TARGET_LABELS, "code"],
  );
  /** Attempts that were retries (EventBridge: RetryInvocationAttempts). */
  readonly retryInvocationAttempts = this.counter(
    "RetryInvocationAttempts",
    "Attempts that were retries of an earlier failed attempt.",
    TARGET_LABELS,
  );
  /** Failed events sent to a dead-letter queue (EventBridge: InvocationsSentToDlq). */
  readonly invocationsSentToDlq = this.counter(
    "InvocationsSentToDlq",
    "Failed events sent to a dead-letter queue.",
    TARGET_LABELS,
  );
  /** Failed events that could not be sent to their dead-letter queue (EventBridge: InvocationsFailedToBeSentToDlq). */
  readonly invocationsFailedToBeSentToDlq = this.counter(
    "InvocationsFailedToBeSentToDlq",
    "Failed events that could not be sent to their dead-letter queue.",
    TARGET_LABELS,
  );
  /** Failed events dropped because no dead-letter queue was configured (EventBridge counts these as FailedInvocations only). */
  readonly invocationsDropped = this.counter(
    "InvocationsDropped",
    "Failed events dropped: no dead-letter queue configured, or the rule or target no longer exists.",
    [...TARGET_LABELS, "reason"],
  );
  /**
   * Targets not invoked for an event because invoking them could loop (EventBridge:
   * DeadLetterInvocations): an event bus target of a rule that matched an event another bus sent on.
   */
  readonly deadLetterInvocations = this.counter(
    "DeadLetterInvocations",
    "Targets not invoked for an event: event bus targets of rules matching an event that came from another bus (a second hop, which could loop).",
    TARGET_LABELS,
  );
  /** Entries of the PutEvents requests answered with a result per entry (EventBridge: PutEventsEntriesCount). */
  readonly putEventsEntries = this.counter(
    "PutEventsEntriesCount",
    "Entries of PutEvents requests answered entry by entry (accepted or not), by the account of the key that signed.",
    ["account"],
  );
  /** Those entries refused, by their ErrorCode (EventBridge: PutEventsFailedEntriesCount). */
  readonly putEventsFailedEntries = this.counter(
    "PutEventsFailedEntriesCount",
    "Entries of PutEvents requests refused in the reply's Entries (FailedEntryCount), by their ErrorCode.",
    ["account", "code"],
  );
  /** PutEvents entries refused by their account's quota (BUSBAR_PUT_EVENTS_PER_SECOND). */
  readonly putEventsThrottled = this.counter(
    "busbar_put_events_throttled_total",
    "PutEvents entries refused (ThrottlingException) because their account put more events a second than BUSBAR_PUT_EVENTS_PER_SECOND allows.",
    ["account"],
  );
  /** Store calls refused for want of room for data (BUSBAR_MIN_FREE_DISK_BYTES), by tier. */
  readonly diskRefusals = this.counter(
    "busbar_disk_refusals_total",
    "Store calls refused for want of room for data: tier data (new events, messages, queues; below BUSBAR_MIN_FREE_DISK_BYTES) or config (below half of it).",
    ["tier"],
  );
  /** Times a target was held for failing (see the delivery engine's hold). */
  readonly targetHolds = this.counter(
    "busbar_target_holds_total",
    "Times a target was held for failing many times in a row: its deliveries then wait while one attempt at a time is made.",
    TARGET_LABELS,
  );
  /** Deliveries found pending in the store at start-up or after an overflow and resumed. */
  readonly deliveriesResumed = this.counter(
    "busbar_deliveries_resumed_total",
    "Pending deliveries loaded from the store (after a restart, or when more were pending than fit in memory); some may be repeats of attempts made before a crash.",
    [],
  );
  /** Time from acceptance to the start of a target's first invocation (EventBridge: IngestiontoInvocationStartLatency). */
  readonly ingestionToInvocationStartLatency = this.histogram(
    "IngestiontoInvocationStartLatency",
    "Milliseconds from an event's acceptance to the start of the first invocation of each target it matched (retries are not counted again).",
    TARGET_LABELS,
  );
  /** Time from acceptance to a successful invocation's end (EventBridge: IngestiontoInvocationCompleteLatency). */
  readonly ingestionToInvocationCompleteLatency = this.histogram(
    "IngestiontoInvocationCompleteLatency",
    "Milliseconds from an event's acceptance to the end of the invocation that delivered it.",
    TARGET_LABELS,
  );
  /** What the delivery engine holds, read at each scrape (see {@link readDeliveryState}). */
  #deliveryState: () => DeliveryState = () => ({
    inMemory: 0,
    inFlight: 0,
    targetsHeld: 0,
    waitingForHeld: 0,
  });
  /** The room for data, read at each scrape (see {@link readDiskState}). */
  #diskState: () => DiskState = () => ({ room: undefined, low: false });
  #diskGauges = false;

  /**
   * @param options.maxTargetsPerAccount targets of an account with series of their own (see
   *   {@link SeriesBudget}; BUSBAR_METRICS_MAX_TARGETS_PER_ACCOUNT); all of them unless given.
   */
  constructor(options: { processMetrics?: boolean; maxTargetsPerAccount?: number } = {}) {
    this.#budget.max = options.maxTargetsPerAccount ?? Number.POSITIVE_INFINITY;
    const state = () => this.#deliveryState();
    new Gauge({
      name: "busbar_deliveries_in_memory",
      help: "Pending deliveries the delivery engine holds in memory (in flight, waiting, or waiting to retry).",
      registers: [this.registry],
      collect() {
        this.set(state().inMemory);
      },
    });
    new Gauge({
      name: "busbar_invocations_in_flight",
      help: "Target invocations in flight.",
      registers: [this.registry],
      collect() {
        this.set(state().inFlight);
      },
    });
    new Gauge({
      name: "busbar_targets_held",
      help: "Targets held for failing: their deliveries wait while one attempt at a time is made (see docs/delivery.md).",
      registers: [this.registry],
      collect() {
        this.set(state().targetsHeld);
      },
    });
    new Gauge({
      name: "busbar_deliveries_waiting_for_held_targets",
      help: "Deliveries in memory that wait for a held target.",
      registers: [this.registry],
      collect() {
        this.set(state().waitingForHeld);
      },
    });
    const disk = () => this.#diskState();
    new Gauge({
      name: "busbar_disk_low",
      help: "1 while the room for data is below BUSBAR_MIN_FREE_DISK_BYTES and new events, messages and queues are refused, else 0.",
      registers: [this.registry],
      collect() {
        this.set(disk().low ? 1 : 0);
      },
    });
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: "busbar_" });
  }

  /**
   * Removes the series of a deleted bus, a deleted rule, or removed targets, so that churn does not
   * grow /metrics without end. A series without a `rule` label (Events, MatchedEvents) goes with its
   * bus; one without a `target` label goes with its rule; another account's series of the same names
   * stay. Series `keep` accepts stay. The targets whose series go lose their places in the account's
   * budget (see {@link SeriesBudget}).
   */
  forget(
    scope: MetricsScope,
    keep: (labels: Readonly<Record<string, string>>) => boolean = () => false,
  ): void {
    const matches = (labels: Readonly<Record<string, string>>): boolean =>
      labels.account === scope.account &&
      labels.bus === scope.bus &&
      (scope.rule === undefined || labels.rule === scope.rule) &&
      (scope.targets === undefined ||
        (labels.target !== undefined && scope.targets.includes(labels.target))) &&
      !keep(labels);
    for (const metric of this.#labelled) metric.forget(matches);
    this.#budget.forget(scope.account, matches);
  }

  /**
   * The label values a target's series count under (see {@link SeriesBudget}): `values` (account, bus,
   * rule, target) when it has or gets series of its own, else with rule and target `*`. The delivery
   * engine places each target once per lane and counts all of its metrics under the answer, so that
   * they all land in the same series.
   */
  place(values: readonly [string, string, string, string]): readonly [string, string, string, string] {
    return this.#budget.place(values) as readonly [string, string, string, string];
  }

  /** Where the gauges of the delivery engine read its state at a scrape (the engine calls this once). */
  readDeliveryState(read: () => DeliveryState): void {
    this.#deliveryState = read;
  }

  /**
   * Sets where the disk gauges read the room for data; with `measured` (the floor is on), adds the
   * gauges of free space, which are absent otherwise (prom-client gives an unlabelled gauge reset a
   * value of 0, which would read as a full disk).
   */
  readDiskState(read: () => DiskState, measured: boolean): void {
    this.#diskState = read;
    if (!measured || this.#diskGauges) return;
    this.#diskGauges = true;
    const disk = () => this.#diskState();
    new Gauge({
      name: "busbar_disk_free_bytes",
      help: "Free space of the file system holding the data directory, as Busbar may use it (absent when BUSBAR_MIN_FREE_DISK_BYTES is 0).",
      registers: [this.registry],
      collect() {
        this.set(disk().room?.free ?? 0);
      },
    });
    new Gauge({
      name: "busbar_store_reusable_bytes",
      help: "Free pages of the database file, which new data reuses before the file grows (absent when BUSBAR_MIN_FREE_DISK_BYTES is 0).",
      registers: [this.registry],
      collect() {
        this.set(disk().room?.reusable ?? 0);
      },
    });
  }

  /**
   * The text exposition format: Busbar's own metrics, written a few thousand lines at a time between
   * turns of the event loop, then prom-client's; in pieces of about 64 KiB (a node with 15,000 targets
   * writes ~180 MB of text: joined into one string and encoded in one go, it held every request for
   * seconds), or, with `gzip`, compressed as it goes (on libuv's threads) into one buffer (~3 MB).
   * With `account`, only that account's series: what its own keys may see (no node-wide metric).
   */
  async render(gzip = false, account?: string): Promise<RenderedMetrics> {
    const contentType = this.registry.contentType;
    const pieces: string[] = [];
    const out: string[] = [];
    let size = 0;
    const zip = gzip ? createGzip() : undefined;
    const zipped: Buffer[] = [];
    zip?.on("data", (chunk: Buffer) => zipped.push(chunk));
    const ended = zip === undefined ? undefined : once(zip, "end");
    // A piece is ready: kept, or given to the compressor (waiting while it is behind).
    const flush = async (): Promise<void> => {
      if (out.length === 0) return;
      const piece = out.join("");
      out.length = 0;
      size = 0;
      if (zip === undefined) pieces.push(piece);
      else if (!zip.write(piece)) await once(zip, "drain");
    };
    const sink = {
      push: (text: string): void => {
        out.push(text);
        size += text.length;
      },
      full: () => size >= PIECE_CHARS,
      flush,
    };
    for (const metric of this.#labelled) await metric.write(sink, account);
    if (account === undefined) sink.push(await this.registry.metrics());
    await flush();
    if (zip === undefined || ended === undefined) return { contentType, pieces };
    zip.end();
    await ended;
    return { contentType, gzipped: Buffer.concat(zipped) };
  }

  /** The whole text exposition, as one string (for tests and small nodes). */
  async text(): Promise<string> {
    return (await this.render()).pieces?.join("") ?? "";
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): HotCounter<L> {
    const perTarget = (labelNames as readonly string[]).includes("target");
    // SeriesBudget.place reads a per-target metric's first four labels as TARGET_LABELS.
    if (perTarget && TARGET_LABELS.some((label, i) => labelNames[i] !== label))
      throw new Error(`${name}: a per-target metric's labels start ${TARGET_LABELS.join(", ")}`);
    const metric = new HotCounter(name, help, labelNames, perTarget ? this.#budget : undefined);
    this.#labelled.push(metric);
    return metric;
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[]): HotHistogram<L> {
    const metric = new HotHistogram(name, help, labelNames, LATENCY_BUCKETS_MS, this.#budget);
    this.#labelled.push(metric);
    return metric;
  }
}

export type { TargetLabels };
