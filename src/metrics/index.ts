/**
 * Prometheus metrics (`GET /metrics`), named as EventBridge names its CloudWatch metrics where one
 * exists, with `bus`, `rule` and `target` labels in place of CloudWatch's dimensions.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Latency buckets in milliseconds, from sub-millisecond to a day of retries. */
const LATENCY_BUCKETS_MS = [
  0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000, 3_600_000,
  86_400_000,
];

type TargetLabels = "bus" | "rule" | "target";
/** The labels of a per-target metric, in CloudWatch's dimension order (EventBus, Rule, Target). */
const TARGET_LABELS: readonly TargetLabels[] = ["bus", "rule", "target"];

/** One label set of a {@link HotCounter}. */
export interface CounterChild {
  /** Adds 1. */
  inc(): void;
}

class HotChild<L extends string> implements CounterChild {
  pending = 0;
  constructor(readonly labels: Partial<Record<L, string>>) {}
  inc(): void {
    this.pending++;
  }
}

/**
 * A labelled counter for hot paths (several increments per delivery). prom-client builds and checks
 * a hash of the label set on every increment; here each label set's child is made once, an increment
 * adds to a plain number, and the counts reach prom-client when the registry is read (a scrape).
 */
class HotCounter<L extends string> {
  readonly #children = new Map<string, HotChild<L>>();
  readonly #labelNames: readonly L[];

  constructor(registry: Registry, name: string, help: string, labelNames: readonly L[]) {
    this.#labelNames = labelNames;
    const children = this.#children;
    new Counter<L>({
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
    if (values.length !== this.#labelNames.length) {
      throw new Error(`expected ${this.#labelNames.length} label values, got ${values.length}`);
    }
    const key = values.length === 1 ? (values[0] as string) : values.join("\u0000");
    let child = this.#children.get(key);
    if (child === undefined) {
      const labels: Partial<Record<L, string>> = {};
      this.#labelNames.forEach((name, i) => (labels[name] = values[i] as string));
      child = new HotChild(labels);
      this.#children.set(key, child);
    }
    return child;
  }

  /** Adds 1 to the counter without labels. */
  inc(): void {
    this.labels().inc();
  }
}

/** The metrics of a node. */
export class Metrics {
  readonly registry = new Registry();

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
  /** Deliveries found pending in the store at start-up or after an overflow and resumed. */
  readonly deliveriesResumed = this.counter(
    "busbar_deliveries_resumed_total",
    "Pending deliveries loaded from the store (after a restart, or when more were pending than fit in memory); some may be repeats of attempts made before a crash.",
    [],
  );
  /** Time from acceptance to the start of a successful invocation (EventBridge: IngestiontoInvocationStartLatency). */
  readonly ingestionToInvocationStartLatency = this.histogram(
    "IngestiontoInvocationStartLatency",
    "Milliseconds from an event's acceptance to the start of the invocation that delivered it.",
    ["bus", "rule"],
  );
  /** Time from acceptance to a successful invocation's end (EventBridge: IngestiontoInvocationCompleteLatency). */
  readonly ingestionToInvocationCompleteLatency = this.histogram(
    "IngestiontoInvocationCompleteLatency",
    "Milliseconds from an event's acceptance to the end of the invocation that delivered it.",
    ["bus", "rule"],
  );
  /** Deliveries held in memory by the delivery engine (due now, retrying later, or in flight). */
  readonly deliveriesInMemory = new Gauge({
    name: "busbar_deliveries_in_memory",
    help: "Pending deliveries the delivery engine holds in memory (in flight, waiting, or waiting to retry).",
    registers: [this.registry],
  });
  /** Invocations in flight. */
  readonly invocationsInFlight = new Gauge({
    name: "busbar_invocations_in_flight",
    help: "Target invocations in flight.",
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: "busbar_" });
  }

  /** The text exposition format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): HotCounter<L> {
    return new HotCounter(this.registry, name, help, labelNames);
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS_MS, registers: [this.registry] });
  }
}

export type { TargetLabels };
