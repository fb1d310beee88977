/**
 * Prometheus metrics (`GET /metrics`), named as EventBridge names its CloudWatch metrics where one
 * exists, with `bus`, `rule` and `target` labels in place of CloudWatch's dimensions.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";

/** Latency buckets in milliseconds, from sub-millisecond to a day of retries. */
export const LATENCY_BUCKETS_MS = [
  0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000, 3_600_000,
  86_400_000,
];

type TargetLabels = "bus" | "rule" | "target";
/** The labels of a per-target metric, in CloudWatch's dimension order (EventBus, Rule, Target). */
const TARGET_LABELS: readonly TargetLabels[] = ["bus", "rule", "target"];

/** One label set of a {@link HotCounter}. */
export interface CounterChild {
  /** Adds `by` (1 unless given). */
  inc(by?: number): void;
}

/**
 * The child of a label set (`values`, one per label name, in their order) in `children`, made by
 * `make` with the labels by name the first time it is asked for.
 */
function childOf<L extends string, C>(
  children: Map<string, C>,
  labelNames: readonly L[],
  values: readonly string[],
  make: (labels: Record<L, string>) => C,
): C {
  if (values.length !== labelNames.length) {
    throw new Error(`expected ${labelNames.length} label values, got ${values.length}`);
  }
  const key = values.join("\u0000");
  let child = children.get(key);
  if (child === undefined) {
    const labels = {} as Record<L, string>;
    labelNames.forEach((name, i) => (labels[name] = values[i] as string));
    child = make(labels);
    children.set(key, child);
  }
  return child;
}

class HotChild<L extends string> implements CounterChild {
  pending = 0;
  constructor(readonly labels: Partial<Record<L, string>>) {}
  inc(by = 1): void {
    this.pending += by;
  }
}

/**
 * A labelled counter for hot paths (several increments per delivery). prom-client builds and checks
 * a hash of the label set on every increment; here each label set's child is made once, an increment
 * adds to a plain number, and the counts reach prom-client when the registry is read (a scrape).
 */
class HotCounter<L extends string> {
  readonly #children = new Map<string, HotChild<L>>();
  readonly #make = (labels: Record<L, string>) => new HotChild<L>(labels);
  readonly #labelNames: readonly L[];
  readonly #counter: Counter<L>;

  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[]) {
    this.#labelNames = labelNames;
    const children = this.#children;
    this.#counter = new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const child of children.values()) {
          if (child.pending === 0) continue;
          this.inc(child.labels, child.pending);
          child.pending = 0;
        }
      },
    });
  }

  /** The child of a label set: one value per label name, in their order. */
  labels(...values: string[]): CounterChild {
    return childOf(this.#children, this.#labelNames, values, this.#make);
  }

  /** Adds 1 to the counter without labels. */
  inc(): void {
    this.labels().inc();
  }

  /** Removes the series whose labels `matches` accepts (counts not yet scraped go with them). */
  forget(matches: (labels: Readonly<Record<string, string>>) => boolean): void {
    for (const [key, child] of this.#children) {
      if (!matches(child.labels as Record<string, string>)) continue;
      this.#children.delete(key);
      this.#counter.remove(child.labels);
    }
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
    readonly labels: Readonly<Record<string, string>>,
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

/** One series as prom-client's registry formats it (`labels` first, then the child's labels). */
interface SeriesValue {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly sharedLabels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A labelled histogram for hot paths (two observations per delivery). prom-client's histogram
 * hashes the label set and searches its buckets through several calls on every observation; here
 * each label set's child is made once and an observation adds to plain numbers. The registry reads
 * the series as it reads prom-client's own histograms (same names, labels and order), at a scrape.
 */
class HotHistogram<L extends string> {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #children = new Map<string, HotHistogramChild>();
  readonly #make = (labels: Record<L, string>) => new HotHistogramChild(labels, this.bounds);

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly bounds: readonly number[],
  ) {
    // The registry needs only what a metric reads out (get, getForPromString, reset, name, type).
    registry.registerMetric(this as never);
  }

  /** The child of a label set: one value per label name, in their order. */
  labels(...values: string[]): HistogramChild {
    return childOf(this.#children, this.labelNames, values, this.#make);
  }

  getForPromString(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: SeriesValue[];
  } {
    const values: SeriesValue[] = [];
    for (const child of this.#children.values()) {
      // As prom-client does, a label set appears once it has an observation.
      if (child.count === 0) continue;
      const { labels } = child;
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += child.counts[i] as number;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le },
          sharedLabels: labels,
          value: cumulative,
        });
      });
      values.push(
        {
          metricName: `${this.name}_bucket`,
          labels: { le: "+Inf" },
          sharedLabels: labels,
          value: child.count,
        },
        { metricName: `${this.name}_sum`, labels: {}, sharedLabels: labels, value: child.sum },
        { metricName: `${this.name}_count`, labels: {}, sharedLabels: labels, value: child.count },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The series with each child's labels merged in (prom-client's JSON form). */
  get(): ReturnType<HotHistogram<L>["getForPromString"]> {
    const data = this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
      sharedLabels: {},
    }));
    return data;
  }

  reset(): void {
    this.#children.clear();
  }

  /** Removes the series whose labels `matches` accepts. */
  forget(matches: (labels: Readonly<Record<string, string>>) => boolean): void {
    for (const [key, child] of this.#children) if (matches(child.labels)) this.#children.delete(key);
  }
}

/** A metric whose series can be removed by their labels. */
interface Forgettable {
  forget(matches: (labels: Readonly<Record<string, string>>) => boolean): void;
}

/** Which series {@link Metrics.forget} removes: a bus's, or a rule's, or some targets' of a rule. */
export interface MetricsScope {
  readonly bus: string;
  readonly rule?: string;
  readonly targets?: readonly string[];
}

/** What the delivery engine holds: deliveries in memory, invocations in flight. */
export interface DeliveryState {
  readonly inMemory: number;
  readonly inFlight: number;
}

/** The metrics of a node. */
export class Metrics {
  readonly registry = new Registry();
  /** Every labelled metric, for {@link forget} (declared first: the metrics below add themselves). */
  readonly #labelled: Forgettable[] = [];

  /** Events that matched at least one rule (EventBridge: MatchedEvents), by bus. */
  readonly matchedEvents = this.counter("MatchedEvents", "Events that matched at least one rule.", ["bus"]);
  /** Rules that matched an event (EventBridge: TriggeredRules). */
  readonly triggeredRules = this.counter("TriggeredRules", "Rules that matched an event.", ["bus", "rule"]);
  /** Events accepted by PutEvents (and by bus-to-bus delivery). */
  readonly events = this.counter("Events", "Events accepted onto a bus.", ["bus"]);
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
  #deliveryState: () => DeliveryState = () => ({ inMemory: 0, inFlight: 0 });

  constructor(options: { processMetrics?: boolean } = {}) {
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
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: "busbar_" });
  }

  /**
   * Removes the series of a deleted bus, a deleted rule, or removed targets, so that churn does not
   * grow /metrics without end. A series without a `rule` label (Events, MatchedEvents) goes with its
   * bus; one without a `target` label goes with its rule. Labels carry no account: a bus of the same
   * name in another account loses its series too (its counters start again from zero, which
   * Prometheus reads as a reset). Series `keep` accepts stay.
   */
  forget(
    scope: MetricsScope,
    keep: (labels: Readonly<Record<string, string>>) => boolean = () => false,
  ): void {
    const matches = (labels: Readonly<Record<string, string>>): boolean =>
      labels.bus === scope.bus &&
      (scope.rule === undefined || labels.rule === scope.rule) &&
      (scope.targets === undefined ||
        (labels.target !== undefined && scope.targets.includes(labels.target))) &&
      !keep(labels);
    for (const metric of this.#labelled) metric.forget(matches);
  }

  /** Where the gauges of the delivery engine read its state at a scrape (the engine calls this once). */
  readDeliveryState(read: () => DeliveryState): void {
    this.#deliveryState = read;
  }

  /** The text exposition format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): HotCounter<L> {
    const metric = new HotCounter(this.registry, name, help, labelNames);
    this.#labelled.push(metric);
    return metric;
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[]): HotHistogram<L> {
    const metric = new HotHistogram(this.registry, name, help, labelNames, LATENCY_BUCKETS_MS);
    this.#labelled.push(metric);
    return metric;
  }
}

export type { TargetLabels };
