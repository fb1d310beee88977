/**
 * The delivery engine: turns the pending deliveries that PutEvents commits into target invocations,
 * at least once.
 *
 * - Fresh deliveries come straight from memory once their commit is durable ({@link DeliveryEngine.dispatch});
 *   the store is the recovery source: at start-up, and whenever more deliveries are pending than fit in
 *   memory, the engine walks the store's pending deliveries ({@link DeliveryEngine.scan}).
 * - Each target (rule and target id) is a lane with its own concurrency limit, under an overall one.
 * - A delivery leaves the store only after its target acknowledged it, or after it was sent to a
 *   dead-letter queue or dropped. Completions and reschedules are written in batches; until a batch
 *   is durable its deliveries stay known to the engine, so a scan never picks them up twice.
 * - A failed attempt is retried with exponential backoff and jitter until the target's RetryPolicy
 *   limits are reached; failures that retrying cannot fix skip the retries. Then the event goes to the
 *   target's dead-letter queue, or the bus's, or is dropped and counted.
 */
import { setMaxListeners } from "node:events";
import type { RuleRegistry } from "../buses/index.js";
import { RepeatingFailure, type Logger } from "../log/index.js";
import { pastBudget, type Metrics } from "../metrics/index.js";
import type {
  DeliveryRef,
  DeliveryReschedule,
  IngestRecord,
  DeliveryScope,
  PendingDelivery,
  Store,
  StoredEvent,
  Target,
} from "../store/index.js";
import type { DeadLetters } from "./queue-target.js";
import { MinHeap } from "./min-heap.js";
import { shownTargetArn } from "./shown-arn.js";
import {
  MAX_RETRY_AFTER_MS,
  nextAttempt,
  retryDelayMs,
  retryPolicyOf,
  type Backoff,
  type RetryPolicy,
} from "./retry-policy.js";
import { compileTransform, TransformError, type Transform } from "./transform.js";
import {
  DeliveryError,
  deadLetterArnOf,
  HELD_WHILE_LOW_MS,
  TARGET_REMOVED,
  type TargetInvoker,
} from "./types.js";

/** @default 1024 — invocations in flight at once, over all targets. */
export const DEFAULT_CONCURRENCY = 1024;
/** @default 256 — invocations in flight at once to one target. */
export const DEFAULT_TARGET_CONCURRENCY = 256;
/**
 * The last eighth of the slots (at least one) go only to lanes with few attempts running (see
 * {@link smallLane}): lanes whose attempts hang (up to the timeout) cannot hold every slot, and a target
 * that answers at once always finds one, even when it had nothing waiting as the others took theirs.
 */
const RESERVED_SHARE = 8;
/**
 * Of the last half of the reserved slots, an account may take one only while it holds fewer than
 * 1/LAST_SLOTS_SHARE of those still free (see {@link DeliveryEngine.slotFor}).
 */
const LAST_SLOTS_SHARE = 8;
/** Attempts a lane may have running and still take a reserved slot (1/16 of the reserve, at least 1). */
const smallLane = (reserved: number): number => Math.max(1, Math.floor(reserved / 16));
/**
 * Lines one target's failures for good may write a minute: a dead endpoint sent 200 events a second
 * wrote 12,000 lines (11 MB) in 30 s. Past it, the failures are counted (in the metrics, and in the
 * target's next line as `failuresNotLogged`) rather than logged.
 */
const FAILURE_LINES_PER_MINUTE = 10;
/**
 * How long after a removal (of a bus, rule or targets) a delivery found in the store for what it
 * removed is taken to be its sweep's (which counts and drops the store's rows) rather than the engine's.
 */
const REMOVAL_SWEEP_MS = 5 * 60_000;
/** How long what a target's failures wrote is kept after its last minute of failures began. */
const FAILURE_LINES_KEPT_MS = 10 * 60_000;
/** How long after its last attempt an account still has the reserved slots kept from a heavy one. */
const ACCOUNT_ACTIVE_MS = 60_000;
/** @default 50000 — deliveries held in memory; beyond, they wait in the store. */
export const DEFAULT_MAX_IN_MEMORY = 50_000;
/** Bytes of event text the deliveries held in memory may weigh (256 MiB). */
export const DEFAULT_MAX_IN_MEMORY_BYTES = 256 * 1024 * 1024;
/** What a held delivery weighs besides its event's text (the job, its lane entry, its id). */
const HELD_OVERHEAD_BYTES = 512;
/** Deliveries read from the store per page of a scan. */
const SCAN_PAGE = 500;
/** How often the engine checks the store for deliveries it does not hold while some wait there. */
const OVERFLOW_CHECK_MS = 5_000;
/**
 * A retry due further ahead than this is not held in memory once memory is full (see
 * {@link DeliveryEngine.park}): its schedule is in the store, which gives it back when it is due.
 */
const PARK_AFTER_MS = 2 * OVERFLOW_CHECK_MS;
/** The least time between two walks of the retry timers for retries to park. */
const PARK_INTERVAL_MS = 1_000;
/** The least time between two log lines of deliveries spilled to the store for want of memory. */
const SPILL_LOG_MS = 60_000;
/** The most deliveries a {@link DeliveryEngine.spill} lets go of at once, as a share of what memory may hold. */
const SPILL_SHARE = 1 / 16;
/** How soon a spill that found no lane to take from looks at every lane again for the same lane. */
const SPILL_RETRY_MS = 100;
/**
 * A dead-letter message the store failed to take (disk full, I/O error) is sent again after this,
 * doubling up to {@link DEAD_LETTER_RETRY_MAX_MS}, the delivery held meanwhile (and left pending in
 * the store, so a restart tries the target again): the event is not dropped for a store that fails
 * for a while.
 */
const DEAD_LETTER_RETRY_MS = 1_000;
const DEAD_LETTER_RETRY_MAX_MS = 60_000;
/**
 * A write of outcomes that failed is tried again after 1 s, doubling with each failure in a row up
 * to {@link FLUSH_RETRY_MAX_MS}: on a full disk, trying a write of 50,000 outcomes again at once
 * kept the store's thread busy without end (~320 ms a try).
 */
const FLUSH_RETRY_MS = 1_000;
const FLUSH_RETRY_MAX_MS = 30_000;

/** How long to wait before writing outcomes again after `failures` failed writes in a row. */
export const flushRetryDelay = (failures: number): number =>
  Math.min(FLUSH_RETRY_MAX_MS, FLUSH_RETRY_MS * 2 ** Math.max(0, Math.min(failures - 1, 16)));

/**
 * How long after the node's disk last refused a delivery (its floor, or a disk full to the last
 * byte) the deliveries held for it stay gated: one of them is tried each hold interval for all, not
 * each one every interval. Each refusal of that one extends it; a success, or this long without a
 * refusal, opens the gate.
 */
const DISK_GATE_HOLDS = 3;

/**
 * @default 10 — retryable failures of a target in a row (no success between them), over at least the
 * hold's first wait, after which the target is held (see {@link DeliveryEngine.hold}); 0: never.
 */
export const DEFAULT_HOLD_AFTER_FAILURES = 10;
/** The first wait of a held target before an attempt (and the least time its failures span): 1 s, or the retries' base if shorter. */
const HOLD_BASE_MS = 1_000;
/** The longest wait between two attempts at a held target (its Retry-After aside), or the retries' longest if shorter. */
const HOLD_PROBE_MAX_MS = 30_000;
/** How often a held target's waiting deliveries are looked at for events past their MaximumEventAgeInSeconds. */
const HOLD_SWEEP_MS = 5_000;
/** The least time between two log lines of one target's holds. */
const HOLD_LOG_MS = 60_000;

/** Options of a {@link DeliveryEngine}. */
export interface DeliveryEngineOptions {
  readonly store: Store;
  readonly registry: RuleRegistry;
  /** The invoker for a target ARN or URI; undefined when no invoker handles it. */
  readonly invokerFor: (arn: string) => TargetInvoker | undefined;
  /** Told of each delivery that ends (delivered, failed for good, dropped): see {@link TargetInvoker.ended}. */
  readonly ended?: (deliveryId: string) => void;
  readonly deadLetters: DeadLetters;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly backoff: Backoff;
  /**
   * How long a delivery the node's disk refused waits (see {@link DeliveryError.deferred}).
   * @default {@link HELD_WHILE_LOW_MS}
   */
  readonly heldWhileLowMs?: number;
  /** @default {@link DEFAULT_CONCURRENCY} */
  readonly concurrency?: number;
  /** @default {@link DEFAULT_TARGET_CONCURRENCY} */
  readonly targetConcurrency?: number;
  /** @default {@link DEFAULT_MAX_IN_MEMORY} */
  readonly maxInMemory?: number;
  /** What the deliveries held may weigh, in bytes of their events' text. @default {@link DEFAULT_MAX_IN_MEMORY_BYTES} */
  readonly maxInMemoryBytes?: number;
  /** How long after {@link DeliveryEngine.forget} the metric series of what was removed go. @default 60000 */
  readonly forgetMetricsAfterMs?: number;
  /** Told of each failure of the store behind the engine's own writes and walks (the node's readiness). */
  readonly onStoreFailure?: (err: unknown) => void;
  /** @default {@link DEFAULT_HOLD_AFTER_FAILURES} (BUSBAR_TARGET_HOLD_AFTER_FAILURES) */
  readonly holdAfterFailures?: number;
  readonly now?: () => number;
}

/** Attempts that share one stop signal. */
const STOP_SIGNAL_USERS = 32;
/** Listeners a stop signal may hold before Node warns of a leak: a few per attempt sharing it. */
const STOP_SIGNAL_LISTENERS = 4 * STOP_SIGNAL_USERS;

/** A pending delivery the engine holds, with its event. */
interface Job {
  readonly delivery: PendingDelivery;
  readonly event: StoredEvent;
  readonly lane: Lane;
  /** The lane's generation when the job was taken: an older one names a target since removed. */
  readonly generation: number;
  dueAt: number;
  attempts: number;
  /** Whether the store holds the job's due time and attempts as they are (its reschedule is written). */
  durable: boolean;
  /**
   * Held for the node's disk (its last attempt deferred, see {@link DeliveryError.deferred}): when its
   * event's age runs out (ms since the epoch); 0 when not held.
   */
  heldUntil: number;
}

/** The deliveries of one target of one rule. */
interface Lane {
  readonly key: string;
  readonly accountId: string;
  readonly busName: string;
  readonly ruleName: string;
  readonly targetId: string;
  active: number;
  readonly waiting: Job[];
  head: number;
  labels?: LaneMetrics | undefined;
  /** The label values its metrics count under, once placed (see {@link DeliveryEngine.labelsOf}). */
  placed?: readonly [string, string, string, string] | undefined;
  /** Raised when the lane's target, rule or bus is removed (see {@link DeliveryEngine.forget}). */
  generation: number;
  /**
   * Its jobs held, from admission to completion (waiting, in flight or retrying): the lane goes once
   * none is left, so that the lanes of deleted rules and targets do not pile up.
   */
  held: number;
  /**
   * Milliseconds its attempts have held delivery slots, counted from {@link DeliveryEngine.#usedFloor}
   * when the lane was made: the lane that used least goes first (see {@link DeliveryEngine.pump}).
   */
  used: number;
  /**
   * Its target's failures since it last answered, and its hold; undefined while it answers. Kept with
   * the lane: a lane that holds nothing goes, and its target's next event tries it afresh.
   */
  streak?: Streak | undefined;
}

/**
 * A target's retryable failures since it last answered (a success, or a failure retrying cannot fix),
 * and its hold once they are many (see {@link DeliveryEngine.hold}).
 */
interface Streak {
  failures: number;
  /** When the first of them ended. */
  readonly since: number;
  lastError: DeliveryError;
  /**
   * The version of the target that failed last (the registry makes new ones whenever the rule's
   * targets are put or removed), and its spec as JSON once held: a hold ends when the spec changes.
   */
  target: Target;
  spec: string | undefined;
  /** When the target was held; 0 while it is not. */
  heldAt: number;
  /** While held: when its next attempt may start. */
  probeAt: number;
  /** While held: the attempts that failed since, which lengthen the wait before the next. */
  probes: number;
  /** While held: the one attempt running. */
  probe: Job | undefined;
  /** While held: when to try the target again, or look for events past their age. */
  timer: NodeJS.Timeout | undefined;
  /** Whether its hold was logged (its end is, then). */
  logged: boolean;
}

/** What a target's failures wrote to the log lately (see {@link DeliveryEngine.logLine}). */
interface FailureLines {
  /** Lines written since `since`, the start of the current minute. */
  lines: number;
  since: number;
  /** Failures for good not logged since the target's last line. */
  unlogged: number;
}

/** A target's RetryPolicy, and its input transformation once compiled (compiling can fail: then it stays unset). */
interface CompiledTarget {
  readonly policy: RetryPolicy;
  transform?: Transform;
}

interface LaneMetrics {
  readonly attempts: { inc(): void };
  readonly successes: { inc(): void };
  readonly retries: { inc(): void };
  readonly invocations: { inc(): void };
  readonly start: { observe(v: number): void };
  readonly complete: { observe(v: number): void };
}

/**
 * Counts committed events as EventBridge does: `Events` per event, `MatchedEvents` per event that
 * matched a rule, `TriggeredRules` per rule it matched. Counted at commit, whether or not this node
 * delivers (BUSBAR_DELIVERY=off counts them too); deliveries resumed after a restart are not counted
 * again.
 */
export function countAccepted(metrics: Metrics, records: readonly IngestRecord[]): void {
  for (const { event, deliveries } of records) {
    metrics.events.labels(event.accountId, event.busName).inc();
    if (deliveries.length === 0) continue;
    metrics.matchedEvents.labels(event.accountId, event.busName).inc();
    let lastRule = "";
    for (const d of deliveries) {
      if (d.ruleName !== lastRule) {
        metrics.triggeredRules.labels(d.accountId, d.busName, d.ruleName).inc();
        lastRule = d.ruleName;
      }
    }
  }
}

/** The key of a rule's target in {@link DeliveryEngine.forget}'s answer. */
export function targetKey(ruleName: string, targetId: string): string {
  return `${ruleName}\u0000${targetId}`;
}

/** The key of a delivery's lane: its account, bus, rule and target. */
function laneKey(d: PendingDelivery): string {
  return `${d.accountId}\u0000${d.busName}\u0000${d.ruleName}\u0000${d.targetId}`;
}

/** The names of a lane's target: account, bus, rule, target. */
function laneNames(lane: Lane): readonly [string, string, string, string] {
  return [lane.accountId, lane.busName, lane.ruleName, lane.targetId];
}

/** What the log lines of a target's hold name it by. */
function holdContext(lane: Lane): { rule: string; target: string; bus: string; account: string } {
  return { rule: lane.ruleName, target: lane.targetId, bus: lane.busName, account: lane.accountId };
}

/** Delivers pending deliveries to their targets. */
export class DeliveryEngine {
  readonly #o: DeliveryEngineOptions;
  readonly #now: () => number;
  readonly #concurrency: number;
  readonly #targetConcurrency: number;
  readonly #heldWhileLowMs: number;
  readonly #holdAfterFailures: number;
  readonly #holdBaseMs: number;
  readonly #holdMaxMs: number;
  /** Slots kept for lanes with fewer than `#smallLane` attempts running (see RESERVED_SHARE). */
  readonly #reserved: number;
  readonly #smallLane: number;
  readonly #maxInMemory: number;
  readonly #forgetMetricsAfterMs: number;
  /**
   * Every delivery held (waiting, in flight, retrying, or with a write pending), by id, with what it
   * weighs (see {@link full}).
   */
  readonly #known = new Map<string, number>();
  #knownBytes = 0;
  readonly #maxInMemoryBytes: number;
  readonly #lanes = new Map<string, Lane>();
  /** Lanes with waiting jobs held back by the overall limit. */
  readonly #blocked = new Set<Lane>();
  /** Attempts running, and lanes waiting for a slot, by account (see {@link slotFor}). */
  readonly #accountActive = new Map<string, number>();
  readonly #accountBlocked = new Map<string, number>();
  /** When each account's last attempt started, for a minute after (see {@link slotFor}). */
  readonly #accountSeen = new Map<string, number>();
  /** When each target's hold was last logged, and its holds since not logged, by lane key (see {@link hold}). */
  readonly #holdLines = new Map<string, { at: number; unlogged: number }>();
  /** What each target's failures wrote to the log lately, by lane key (see {@link logLine}). */
  readonly #failureLines = new Map<string, FailureLines>();
  /** The removals of the last {@link REMOVAL_SWEEP_MS} (see {@link removedLately}). */
  #removals: { readonly scope: DeliveryScope; readonly at: number }[] = [];
  #failureLinesSwept = 0;
  readonly #timers = new MinHeap<Job>((a, b) => a.dueAt - b.dueAt);
  /** When the node's disk last refused a delivery (see {@link diskGated}). */
  #diskRefusedAt = -Infinity;
  /** When a delivery held for the disk last went through the gate, to try the disk for all. */
  #diskTriedAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #active = 0;
  #completions: DeliveryRef[] = [];
  /**
   * Retries' new times to write, by delivery: a later one replaces an earlier one (while writes
   * failed, a list named each delivery once per attempt, and every try wrote them all).
   */
  #reschedules = new Map<string, { readonly change: DeliveryReschedule; readonly job: Job }>();
  #flushing: Promise<void> | undefined;
  /** The one flush that waits for {@link #flushing} and then writes everything pending by then. */
  #flushNext: Promise<void> | undefined;
  #flushQueued = false;
  /** Flushes failed in a row: the next try waits longer (see {@link flushRetryDelay}). */
  #flushFailedInARow = 0;
  #flushRetry: NodeJS.Timeout | undefined;
  /** Fresh deliveries were left in the store (memory full) since this count last changed. */
  #overflow = 0;
  /**
   * The earliest due time of the deliveries known to wait in the store beyond memory: retries parked,
   * or left there by a scan while memory was more than half full.
   */
  #storeNextDue = Infinity;
  /** When the last walk of the store failed: flushes leave the next one to the periodic check. */
  #scanFailedAt = -Infinity;
  /** The log lines of walks and of outcome writes that fail again and again (a full disk). */
  readonly #scanFailures: RepeatingFailure;
  readonly #flushFailures: RepeatingFailure;
  #parkedAt = -Infinity;
  /** When a spill was last logged, and what spilled since (see {@link SPILL_LOG_MS}). */
  #spillLoggedAt = Number.NEGATIVE_INFINITY;
  #spilledUnlogged = 0;
  /**
   * Lanes that had more deliveries waiting than half a fair share of memory (what it may hold over
   * the lanes there are), the ones to {@link spill}; some may have fewer since.
   */
  readonly #heavy = new Set<Lane>();
  /** The slot time used by the last lane {@link pump} chose: where new lanes start. */
  #usedFloor = 0;
  readonly #spillSize: number;
  /** When a spill for a lane (by key) last found no lane to take from. */
  readonly #spillFailed = new Map<string, number>();
  /** The start-up scan runs: the deliveries it takes are resumed ones. */
  #resuming = false;
  #scanning: Promise<void> | undefined;
  #overflowTimer: NodeJS.Timeout | undefined;
  /** Timers of dead-letter sends the store failed, to try again (see {@link DEAD_LETTER_RETRY_MS}). */
  readonly #deadLetterRetries = new Set<NodeJS.Timeout>();
  /**
   * Dead letters held for the node's disk, oldest first: one is tried each hold for all of them
   * ({@link #deadLetterProbe}), and all of them at once when the disk takes a write again.
   */
  #heldDeadLetters: Array<() => void> = [];
  #deadLetterProbe: NodeJS.Timeout | undefined;
  #closed = false;
  /**
   * The stop controllers of the attempts in flight, aborted when the engine closes and its grace
   * period is over: invocations still running give up.
   */
  readonly #stopping = new Set<AbortController>();
  /** The controller new attempts share, until {@link STOP_SIGNAL_USERS} have taken it. */
  #stopShared: { controller: AbortController; users: number; taken: number } | undefined;

  /**
   * A stop signal for an attempt. Attempts share one per {@link STOP_SIGNAL_USERS}: a signal shared
   * by all would make each listener added or removed (undici adds one per request) walk every attempt
   * in flight, and a controller per attempt costs more than the attempt's own bookkeeping.
   */
  private stopSignal(): { controller: AbortController; users: number; taken: number } {
    let shared = this.#stopShared;
    if (shared === undefined || shared.taken >= STOP_SIGNAL_USERS) {
      if (shared !== undefined && shared.users === 0) this.#stopping.delete(shared.controller);
      shared = { controller: new AbortController(), users: 0, taken: 0 };
      // Every attempt adds a listener (undici one per request): more than Node's default of 10 at once
      // is expected, and its leak warning (a stack trace written to stderr) would cost each signal.
      setMaxListeners(STOP_SIGNAL_LISTENERS, shared.controller.signal);
      this.#stopShared = shared;
      this.#stopping.add(shared.controller);
    }
    shared.users++;
    shared.taken++;
    return shared;
  }
  readonly #inFlight = new Set<Promise<void>>();
  /** What each target's spec compiles to, once per version of the target (the registry replaces Target objects on change). */
  readonly #compiled = new WeakMap<Target, CompiledTarget>();

  constructor(options: DeliveryEngineOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.#targetConcurrency = options.targetConcurrency ?? DEFAULT_TARGET_CONCURRENCY;
    this.#heldWhileLowMs = options.heldWhileLowMs ?? HELD_WHILE_LOW_MS;
    this.#holdAfterFailures = options.holdAfterFailures ?? DEFAULT_HOLD_AFTER_FAILURES;
    this.#holdBaseMs = Math.min(HOLD_BASE_MS, options.backoff.baseMs);
    this.#holdMaxMs = Math.max(this.#holdBaseMs, Math.min(HOLD_PROBE_MAX_MS, options.backoff.maxMs));
    this.#reserved = Math.max(1, Math.floor(this.#concurrency / RESERVED_SHARE));
    this.#smallLane = smallLane(this.#reserved);
    this.#maxInMemory = options.maxInMemory ?? DEFAULT_MAX_IN_MEMORY;
    this.#maxInMemoryBytes = options.maxInMemoryBytes ?? DEFAULT_MAX_IN_MEMORY_BYTES;
    this.#spillSize = Math.max(1, Math.ceil(this.#maxInMemory * SPILL_SHARE));
    this.#forgetMetricsAfterMs = options.forgetMetricsAfterMs ?? 60_000;
    const clock = { now: this.#now };
    this.#scanFailures = new RepeatingFailure(
      options.log,
      {
        failed: "scan of pending deliveries failed; retrying later",
        recovered: "scan of pending deliveries works again",
      },
      clock,
    );
    this.#flushFailures = new RepeatingFailure(
      options.log,
      {
        failed: "recording delivery outcomes failed; will try again",
        recovered: "recording delivery outcomes works again",
      },
      clock,
    );
    options.metrics.readDeliveryState(() => {
      let targetsHeld = 0;
      let waitingForHeld = 0;
      for (const lane of this.#lanes.values()) {
        if (lane.streak === undefined || lane.streak.heldAt === 0) continue;
        targetsHeld++;
        waitingForHeld += lane.waiting.length - lane.head;
      }
      return { inMemory: this.#known.size, inFlight: this.#active, targetsHeld, waitingForHeld };
    });
  }

  /** Deliveries held in memory. */
  get held(): number {
    return this.#known.size;
  }

  /** Lanes in memory: one per (rule, target) with deliveries held. */
  get lanes(): number {
    return this.#lanes.size;
  }

  /**
   * Resumes every pending delivery in the store (at start-up), in the background: the walk goes on
   * while memory frees up, which with a large backlog and healthy targets means until most of it is
   * delivered (100,000 pending deliveries took 8.6 s, 500,000 took 36 s): the server listens
   * meanwhile. Deliveries of events accepted meanwhile are held once each.
   * @returns the walk, which does not fail (a failed walk is logged and retried by the next check)
   */
  start(): Promise<void> {
    this.#resuming = true;
    const started = this.#now();
    const walk = this.scan().finally(() => {
      this.#resuming = false;
      this.#o.log.info(
        { held: this.#known.size, ms: this.#now() - started },
        "start-up walk of the pending deliveries done",
      );
    });
    this.#overflowTimer = setInterval(() => {
      if (this.#scanning !== undefined) return;
      if (this.#overflow > 0 || this.#storeNextDue <= this.#now() + PARK_AFTER_MS) void this.scan();
    }, OVERFLOW_CHECK_MS);
    this.#overflowTimer.unref();
    return walk;
  }

  /** Takes the deliveries of records just committed (called after their commit is durable). */
  dispatch(records: readonly IngestRecord[]): void {
    if (this.#closed) return;
    countAccepted(this.#o.metrics, records);
    for (const { event, deliveries } of records) {
      for (const d of deliveries) {
        // Taken by a walk already (a store whose reads could see a commit before it was acknowledged
        // did that): held once, and its weight counted once.
        if (this.#known.has(d.id)) continue;
        if (this.full() && !this.park() && !this.spill(laneKey(d))) {
          this.#overflow++;
          continue;
        }
        this.admit(d, event);
      }
    }
  }

  /**
   * Memory is full: lets go of the retries due more than {@link PARK_AFTER_MS} ahead whose schedule
   * the store holds, so that deliveries due now are not left in the store behind them (a target that
   * keeps failing, or asks for an hour with Retry-After, would otherwise hold memory and stop every
   * other target's deliveries). A scan takes them back when they are due. At most once per
   * {@link PARK_INTERVAL_MS}: each walks every retry timer.
   * @returns whether memory has room now.
   */
  private park(): boolean {
    const now = this.#now();
    if (now - this.#parkedAt < PARK_INTERVAL_MS) return false;
    this.#parkedAt = now;
    const parked = this.#timers.removeWhere((job) => job.durable && job.dueAt > now + PARK_AFTER_MS);
    for (const job of parked) {
      this.release(job.delivery.id);
      this.let(job.lane);
      if (job.dueAt < this.#storeNextDue) this.#storeNextDue = job.dueAt;
    }
    if (parked.length > 0) {
      this.#o.log.info(
        { parked: parked.length, held: this.#known.size },
        "memory full of deliveries: retries due later left in the store until they are due",
      );
    }
    return !this.full();
  }

  /**
   * Memory is full and a delivery of the lane `forKey` is due: the heavy lane (see {@link #heavy})
   * with more deliveries waiting than `forKey` holds lets go of its last ones down to half its fair
   * share (at most {@link SPILL_SHARE} of memory at once), those whose rows the store holds as they
   * are; a scan gives them back once memory frees up. So targets with a backlog (slow, or hanging)
   * cannot keep memory from every other target's new deliveries. When no lane is known to be heavy,
   * every lane is looked at, at most once per {@link SPILL_RETRY_MS} for one `forKey`.
   * @returns whether memory has room now.
   */
  private spill(forKey: string): boolean {
    const own = this.#lanes.get(forKey)?.held ?? 0;
    const heavy = this.heavyWaiting();
    const waiting = (lane: Lane): number => lane.waiting.length - lane.head;
    const fits = (lane: Lane): boolean => lane.key !== forKey && waiting(lane) > own;
    let from: Lane | undefined;
    for (const lane of this.#heavy) {
      if (waiting(lane) <= heavy) this.#heavy.delete(lane);
      else if (fits(lane)) {
        from = lane;
        break;
      }
    }
    if (from === undefined) {
      // Lanes grow heavy as others come (a fair share shrinks): look at them all, now and then.
      const now = this.#now();
      if (now - (this.#spillFailed.get(forKey) ?? -Infinity) < SPILL_RETRY_MS) return false;
      for (const lane of this.#lanes.values()) {
        if (waiting(lane) <= heavy) continue;
        this.#heavy.add(lane);
        if (fits(lane) && (from === undefined || waiting(lane) > waiting(from))) from = lane;
      }
      if (from === undefined) {
        if (this.#spillFailed.size >= 1000) this.#spillFailed.clear();
        this.#spillFailed.set(forKey, now);
        return false;
      }
    }
    const lane = from;
    const limit = Math.min(this.#spillSize, waiting(lane) - heavy);
    let spilled = 0;
    while (spilled < limit) {
      const job = lane.waiting[lane.waiting.length - 1] as Job;
      if (!job.durable) break; // its reschedule is still to be written: the store has it otherwise
      lane.waiting.pop();
      this.release(job.delivery.id);
      lane.held--;
      spilled++;
    }
    if (spilled === 0) return false;
    this.#overflow += spilled;
    // A line a minute at most, with what spilled since the last: under a large backlog (a full disk
    // failing the writes that would free memory), a line a spill came a thousand times over.
    this.#spilledUnlogged += spilled;
    const now = this.#now();
    if (now - this.#spillLoggedAt >= SPILL_LOG_MS) {
      this.#o.log.info(
        {
          spilled: this.#spilledUnlogged,
          rule: lane.ruleName,
          target: lane.targetId,
          held: this.#known.size,
        },
        "memory full of deliveries: part of targets' backlogs left in the store, for other targets' deliveries (counted since the last such line)",
      );
      this.#spillLoggedAt = now;
      this.#spilledUnlogged = 0;
    }
    return !this.full();
  }

  /** Forgets a held delivery (completed and written, or parked in the store). */
  private release(id: string): void {
    const weight = this.#known.get(id);
    if (weight === undefined) return;
    this.#known.delete(id);
    this.#knownBytes -= weight;
  }

  /** A lane lets go of a job it held (see {@link dropIfIdle}). */
  private let(lane: Lane): void {
    lane.held--;
    this.dropIfIdle(lane);
  }

  /**
   * A lane holding no job and running none goes: no job refers to it any more, and a delivery that
   * comes later makes a new one (same generation rules: a lane only drops jobs admitted before a forget).
   */
  private dropIfIdle(lane: Lane): void {
    if (lane.held === 0 && lane.active === 0 && this.#lanes.get(lane.key) === lane) {
      this.#lanes.delete(lane.key);
      // Nothing is left to hold: its next event tries the target as a first failure would.
      const streak = lane.streak;
      if (streak !== undefined) {
        if (streak.timer !== undefined) clearTimeout(streak.timer);
        if (streak.heldAt > 0 && streak.logged && !this.#closed)
          this.#o.log.info(
            {
              ...holdContext(lane),
              heldForMs: this.#now() - streak.heldAt,
            },
            "target still failing, but no delivery is left for it: its hold ends",
          );
      }
    }
  }

  /**
   * Walks the store's pending deliveries and takes those it does not hold, until memory is full;
   * repeats while fresh deliveries were left in the store during the walk.
   */
  scan(): Promise<void> {
    this.#scanning ??= (async () => {
      try {
        let again = true;
        let walked = false;
        this.#storeNextDue = Infinity; // what the walk leaves in the store sets it again
        while (again && !this.#closed) {
          const overflowAtStart = this.#overflow;
          const complete = await this.scanOnce();
          walked = true;
          again = complete && this.#overflow !== overflowAtStart;
          if (!complete) this.#overflow = Math.max(this.#overflow, 1);
          else if (!again) this.#overflow = 0;
        }
        if (walked) this.#scanFailures.succeeded();
      } catch (err) {
        this.#scanFailures.failed(err);
        this.#o.onStoreFailure?.(err);
        // What it did not reach is still in the store: the next check walks again (a failed start-up
        // walk, a full disk say, left them there until a restart), not every flush meanwhile.
        this.#overflow = Math.max(this.#overflow, 1);
        this.#scanFailedAt = this.#now();
      } finally {
        this.#scanning = undefined;
      }
    })();
    return this.#scanning;
  }

  /**
   * One walk, in order of due time; true when it reached the end of the pending deliveries, or of
   * those due within {@link PARK_AFTER_MS} while memory is more than half full (the rest are taken
   * when they are due, see {@link #storeNextDue}).
   */
  private async scanOnce(): Promise<boolean> {
    const { store, metrics } = this.#o;
    let after: PendingDelivery | undefined;
    for (;;) {
      if ((this.full() && !this.park()) || this.#closed) return false;
      const page = await store.listDueDeliveries(Number.MAX_SAFE_INTEGER, SCAN_PAGE, after);
      if (page.length === 0) return true;
      after = page[page.length - 1];
      const fresh = page.filter((d) => !this.#known.has(d.id));
      if (fresh.length === 0) continue;
      const events = new Map(
        (await store.getEvents([...new Set(fresh.map((d) => d.eventId))])).map((e) => [e.id, e]),
      );
      for (const d of fresh) {
        if (this.#known.has(d.id)) continue; // dispatched meanwhile
        const event = events.get(d.eventId);
        if (event === undefined) continue; // its event left the log (retention): nothing to send
        if (d.dueAt > this.#now() + PARK_AFTER_MS && this.halfFull()) {
          this.#storeNextDue = Math.min(this.#storeNextDue, d.dueAt);
          return true;
        }
        if (this.full() && !this.park()) return false;
        if (this.#resuming) metrics.deliveriesResumed.inc();
        this.admit(d, event);
      }
    }
  }

  /**
   * Whether memory holds as many deliveries as it may: by count, or by weight (each counts its event's
   * whole text, though the targets of one event share it: a fan-out is held at up to ten times its
   * weight, erring on the safe side for large events).
   */
  private full(): boolean {
    return this.#known.size >= this.#maxInMemory || this.#knownBytes >= this.#maxInMemoryBytes;
  }

  /** More deliveries waiting than this make a lane heavy: half its fair share of memory. */
  private heavyWaiting(): number {
    return Math.max(1, Math.floor(this.#maxInMemory / (2 * Math.max(1, this.#lanes.size))));
  }

  private halfFull(): boolean {
    return this.#known.size >= this.#maxInMemory / 2 || this.#knownBytes >= this.#maxInMemoryBytes / 2;
  }

  private admit(delivery: PendingDelivery, event: StoredEvent): void {
    const weight = event.json.length + HELD_OVERHEAD_BYTES;
    this.#known.set(delivery.id, weight);
    this.#knownBytes += weight;
    const lane = this.lane(delivery);
    lane.held++;
    const job: Job = {
      delivery,
      event,
      lane,
      generation: lane.generation,
      dueAt: delivery.dueAt,
      attempts: delivery.attempts,
      durable: true,
      heldUntil: 0,
    };
    if (job.dueAt <= this.#now()) this.ready(job);
    else this.later(job);
  }

  private lane(d: PendingDelivery): Lane {
    const key = laneKey(d);
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = {
        key,
        accountId: d.accountId,
        busName: d.busName,
        ruleName: d.ruleName,
        targetId: d.targetId,
        active: 0,
        waiting: [],
        head: 0,
        generation: 0,
        held: 0,
        used: this.#usedFloor,
      };
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  private ready(job: Job): void {
    if (this.#closed) return;
    const lane = job.lane;
    if (lane.active < this.#targetConcurrency && !this.heldBack(lane) && this.slotFor(lane)) {
      this.run(job);
      return;
    }
    lane.waiting.push(job);
    if (lane.active < this.#targetConcurrency) this.block(lane);
    if (lane.waiting.length - lane.head > this.heavyWaiting()) this.#heavy.add(lane);
  }

  private later(job: Job): void {
    // Once stopping, nothing is tried again here: the store holds the delivery for the next start.
    if (this.#closed) return;
    this.#timers.push(job);
    this.arm();
  }

  private arm(): void {
    const next = this.#timers.peek();
    if (next === undefined || next.dueAt >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = next.dueAt;
    this.#timer = setTimeout(() => this.wake(), Math.max(0, next.dueAt - this.#now()));
    this.#timer.unref();
  }

  private wake(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#closed) return;
    const now = this.#now();
    let gated: Job[] | undefined;
    for (
      let next = this.#timers.peek();
      next !== undefined && next.dueAt <= now;
      next = this.#timers.peek()
    ) {
      const job = this.#timers.pop() as Job;
      if (job.heldUntil > 0 && this.diskGated(job, now)) {
        // Waits another hold, in memory: the store keeps the time its deferral wrote.
        job.dueAt = now + this.#heldWhileLowMs;
        job.durable = false;
        (gated ??= []).push(job);
      } else this.ready(job);
    }
    if (gated !== undefined) for (const job of gated) this.#timers.push(job);
    this.arm();
  }

  /**
   * Whether a delivery held for the node's disk (its floor, or a disk full to the last byte) waits
   * another hold without being tried: while the disk refused lately, one such delivery is tried each
   * hold for all of them (with ~50,000 held, trying each every 5 s took most of a core, refused each
   * time, while the consumers that would free the disk waited for it). One whose event's age would
   * run out meanwhile is tried, to be failed in time.
   */
  private diskGated(job: Job, now: number): boolean {
    const hold = this.#heldWhileLowMs;
    if (now - this.#diskRefusedAt >= DISK_GATE_HOLDS * hold || now + hold > job.heldUntil) return false;
    if (now - this.#diskTriedAt >= hold) {
      this.#diskTriedAt = now;
      return false;
    }
    return true;
  }

  /**
   * A delivery held for the disk went through: the others held for it are tried now, and outcomes
   * whose write the disk failed are written now rather than at their retry's time (up to 30 s on:
   * a review saw the deliveries held in memory, delivered, for 20-31 s after space came back).
   */
  private diskWorks(): void {
    if (this.#diskRefusedAt === -Infinity) return;
    this.#diskRefusedAt = -Infinity;
    for (const job of this.#timers.removeWhere((j) => j.heldUntil > 0)) this.ready(job);
    this.arm();
    if (this.#flushRetry !== undefined) void this.flush();
    const held = this.#heldDeadLetters;
    this.#heldDeadLetters = [];
    for (const retry of held) retry();
  }

  /**
   * Holds a dead letter the node's disk refused until the disk takes a write: a delivery held for it
   * going through, or the one dead letter tried each hold for all (with 16,000 held, each retrying on
   * its own 1 s … 60 s backoff took ~8% of a core, refused each time, and the last of them reached
   * their queue up to a minute after space came back).
   */
  private holdDeadLetter(retry: () => void): void {
    this.#diskRefusedAt = this.#now();
    this.#heldDeadLetters.push(retry);
    this.armDeadLetterProbe();
  }

  private armDeadLetterProbe(): void {
    if (this.#deadLetterProbe !== undefined || this.#closed || this.#heldDeadLetters.length === 0) return;
    this.#deadLetterProbe = setTimeout(() => {
      this.#deadLetterProbe = undefined;
      if (this.#closed) return;
      this.#heldDeadLetters.shift()?.();
      this.armDeadLetterProbe();
    }, this.#heldWhileLowMs);
    this.#deadLetterProbe.unref();
  }

  /**
   * Starts waiting jobs as attempts end: of the lanes with jobs waiting and room under their own
   * limit, the one whose attempts have held slots for the least time goes first, one job at a time
   * (in turns among equals: the lane whose attempt just ended goes last). Lanes whose attempts take
   * long (slow or hanging targets) cannot keep the slots they free, and a target that answers at
   * once gets them as it needs them.
   */
  private pump(lane: Lane): void {
    if (lane.head < lane.waiting.length && lane.active < this.#targetConcurrency) this.block(lane);
    while (this.#active < this.#concurrency && this.#blocked.size > 0) {
      let next: Lane | undefined;
      for (const l of this.#blocked) {
        if ((next === undefined || l.used < next.used) && this.slotFor(l)) next = l;
      }
      // Only reserved slots are left, and every lane waiting has attempts enough running.
      if (next === undefined) break;
      // A lane made later starts here, not at 0: it has no claim on the time used before it.
      this.#usedFloor = next.used;
      this.#blocked.delete(next);
      count(this.#accountBlocked, next.accountId, -1);
      // At its own limit meanwhile (a job ready at once ran): its next attempt's end brings it back.
      if (next.active >= this.#targetConcurrency) continue;
      const job = next.waiting[next.head] as Job;
      next.waiting[next.head++] = undefined as unknown as Job;
      if (next.head === next.waiting.length) {
        next.waiting.length = 0;
        next.head = 0;
        this.#heavy.delete(next);
      } else if (next.head > 1024 && next.head * 2 > next.waiting.length) {
        next.waiting.splice(0, next.head);
        next.head = 0;
      }
      this.run(job);
      // To the end of the turns.
      if (next.head < next.waiting.length && next.active < this.#targetConcurrency) this.block(next);
    }
  }

  /**
   * Whether a slot is free for the lane: one of the reserved ones only if it runs few attempts; and,
   * while a lane of another account waits for one, none for an account whose attempts hold half the
   * slots already. Every account shares the slots: without that, one account's targets that never
   * answer (1,400 origins, at 2 events a second) held them all, and another account's webhook got its
   * events 6-19 s late. Alone, an account may use them all but half the reserved ones (below).
   */
  private slotFor(lane: Lane): boolean {
    const free = this.#concurrency - this.#active;
    const heavy = (this.#accountActive.get(lane.accountId) ?? 0) * 2 >= this.#concurrency;
    if (heavy && this.#blocked.size > (this.#accountBlocked.get(lane.accountId) ?? 0)) return false;
    if (free > this.#reserved) return true;
    // The reserved slots, for lanes running few attempts: not for an account holding half the slots
    // while another has delivered within the minute, so that its next event finds one free at once
    // (its attempts otherwise waited for a wave of the heavy account's timeouts to end: 4.7 s at p50).
    if (!(free > 0 && lane.active < this.#smallLane)) return false;
    // And the last half of them (rounded down: none of a reserve of one, below 16 slots in all) only
    // for an account holding fewer than an eighth of those still free (the last eight or so, for one
    // holding none), so that one that has not delivered for a while finds one too: a review's idle
    // account waited 4.9 s for its first event after another's burst to hanging targets took every
    // slot (p99 8 s for the next ones). And not all of them for one account that starts late: with
    // the last half open to an account holding fewer than half of it, a second account's burst to
    // hanging targets, after the first had taken all it could, took all 64 (the idle one: p50 1.4 s,
    // p99 8.8 s); now it takes 8, the next one 7, and so on.
    const kept = Math.floor(this.#reserved / 2);
    if (free <= kept && (this.#accountActive.get(lane.accountId) ?? 0) * LAST_SLOTS_SHARE >= free)
      return false;
    return !(heavy && this.othersDelivering(lane.accountId));
  }

  /** Whether an account other than `accountId` started an attempt within the last minute. */
  private othersDelivering(accountId: string): boolean {
    const since = this.#now() - ACCOUNT_ACTIVE_MS;
    let others = false;
    for (const [account, at] of this.#accountSeen) {
      if (at < since) this.#accountSeen.delete(account);
      else if (account !== accountId) others = true;
    }
    return others;
  }

  /**
   * A lane starts waiting for a slot; one that used less than the last lane chosen starts from there,
   * as a lane made later does: time it did not use while it had nothing to send is no claim.
   */
  private block(lane: Lane): void {
    if (this.#blocked.has(lane) || this.heldBack(lane)) return;
    if (lane.used < this.#usedFloor) lane.used = this.#usedFloor;
    this.#blocked.add(lane);
    count(this.#accountBlocked, lane.accountId, 1);
  }

  private run(job: Job): void {
    // A held target's one attempt at a time (see hold).
    const streak = job.lane.streak;
    if (streak !== undefined && streak.heldAt > 0) streak.probe = job;
    job.lane.active++;
    this.#active++;
    count(this.#accountActive, job.lane.accountId, 1);
    const started = this.#now();
    this.#accountSeen.set(job.lane.accountId, started);
    const p = this.attempt(job)
      .catch((err: unknown) => this.#o.log.error({ err, eventId: job.event.id }, "delivery attempt crashed"))
      .finally(() => {
        const { lane } = job;
        lane.active--;
        this.#active--;
        count(this.#accountActive, lane.accountId, -1);
        lane.used += this.#now() - started;
        this.#inFlight.delete(p);
        if (lane.streak?.probe === job) lane.streak.probe = undefined;
        if (this.#closed) return;
        this.pump(lane);
        this.dropIfIdle(lane);
      });
    this.#inFlight.add(p);
  }

  private compiled(target: Target): CompiledTarget {
    let c = this.#compiled.get(target);
    if (c === undefined) {
      c = { policy: retryPolicyOf(target.spec) };
      this.#compiled.set(target, c);
    }
    return c;
  }

  /**
   * The label values of a lane's per-target metrics, decided once per lane (Metrics.place: its own
   * series, or its bus's `*` ones past the account's budget), so that all of them count in the same
   * series. A lane whose target is `gone` (removed, its rule or bus deleted) and not placed already
   * counts under `*` without taking a place: its series would never be dropped, as its removal's
   * were.
   */
  private labelsOf(lane: Lane, gone = false): readonly [string, string, string, string] {
    if (lane.placed !== undefined) return lane.placed;
    const names = laneNames(lane);
    if (gone) return pastBudget(names);
    lane.placed = this.#o.metrics.place(names);
    return lane.placed;
  }

  private metricsOf(lane: Lane): LaneMetrics {
    if (lane.labels !== undefined) return lane.labels;
    const m = this.#o.metrics;
    const t = this.labelsOf(lane);
    lane.labels = {
      attempts: m.invocationAttempts.labels(...t),
      successes: m.successfulInvocationAttempts.labels(...t),
      retries: m.retryInvocationAttempts.labels(...t),
      invocations: m.invocations.labels(...t),
      start: m.ingestionToInvocationStartLatency.labels(...t),
      complete: m.ingestionToInvocationCompleteLatency.labels(...t),
    };
    return lane.labels;
  }

  /**
   * Lets go of the deliveries held for `scope` (a bus, a rule, or targets of a rule, just deleted or
   * removed): none of them is attempted again, even if a new target takes the same names. An attempt
   * in flight finishes. The store's rows are the caller's to drop. Their metric series go a while
   * later, unless `keepMetrics` (target ids being added, whose series are the new targets').
   * @returns how many deliveries it held of each rule's target in scope (they are counted in
   *   InvocationsDropped here, as they are let go; the caller counts the others it drops).
   */
  forget(scope: DeliveryScope, options: { readonly keepMetrics?: boolean } = {}): Map<string, number> {
    const inScope = (lane: Lane): boolean =>
      lane.accountId === scope.accountId &&
      lane.busName === scope.busName &&
      (scope.ruleName === undefined || lane.ruleName === scope.ruleName) &&
      (scope.targetIds === undefined || scope.targetIds.includes(lane.targetId));
    const now = this.#now();
    this.#removals = this.#removals.filter((r) => now - r.at < REMOVAL_SWEEP_MS);
    this.#removals.push({ scope, at: now });
    const held = new Map<string, number>();
    for (const lane of this.#lanes.values()) {
      if (!inScope(lane)) continue;
      lane.generation++;
      held.set(targetKey(lane.ruleName, lane.targetId), lane.held);
    }
    // Their retries waiting for their time go now, rather than being held until then.
    for (const job of this.#timers.removeWhere((j) => j.generation !== j.lane.generation)) {
      this.dropRemoved(job);
      this.dropIfIdle(job.lane);
    }
    if (options.keepMetrics === true) return held;
    // Their metric series go too, once the attempts in flight have ended and been counted (and a
    // scrape has likely read the last counts), except those of what was made again meanwhile under
    // the same names, which go on counting in them.
    setTimeout(() => {
      const { registry } = this.#o;
      const madeAgain = (labels: Readonly<Record<string, string>>): boolean => {
        const { bus, rule, target } = labels;
        if (bus === undefined) return false;
        if (rule === undefined) return registry.getBus(scope.accountId, bus) !== undefined;
        const made = registry.getRule(scope.accountId, bus, rule);
        return made !== undefined && (target === undefined || made.targets.has(target));
      };
      this.#o.metrics.forget(
        {
          account: scope.accountId,
          bus: scope.busName,
          ...(scope.ruleName !== undefined && { rule: scope.ruleName }),
          ...(scope.targetIds !== undefined && { targets: scope.targetIds }),
        },
        madeAgain,
      );
      // A lane of what was made again under the same names looks its series up again (they went, unless
      // kept for it), rather than counting into series no longer scraped.
      for (const lane of this.#lanes.values()) {
        if (!inScope(lane)) continue;
        lane.labels = undefined;
        lane.placed = undefined;
      }
    }, this.#forgetMetricsAfterMs).unref();
    return held;
  }

  /** Whether a removal that takes in the lane's target was made lately (see {@link forget}). */
  private removedLately(lane: Lane): boolean {
    const since = this.#now() - REMOVAL_SWEEP_MS;
    return this.#removals.some(
      ({ scope, at }) =>
        at >= since &&
        scope.accountId === lane.accountId &&
        scope.busName === lane.busName &&
        (scope.ruleName === undefined || scope.ruleName === lane.ruleName) &&
        (scope.targetIds === undefined || scope.targetIds.includes(lane.targetId)),
    );
  }

  /** Lets go of a job whose target, rule or bus was removed: counted as dropped, never attempted again. */
  private dropRemoved(job: Job): void {
    const { lane } = job;
    this.#o.metrics.invocationsDropped.labels(...this.labelsOf(lane, true), TARGET_REMOVED).inc();
    this.complete(job);
  }

  private async attempt(job: Job): Promise<void> {
    const { lane, event } = job;
    if (job.generation !== lane.generation) {
      // Its target, rule or bus was removed after the event matched.
      this.dropRemoved(job);
      return;
    }
    const found = this.#o.registry.getRule(lane.accountId, lane.busName, lane.ruleName);
    const target = found?.targets.get(lane.targetId);
    if (found === undefined || target === undefined) {
      if (this.removedLately(lane)) {
        // Read from the store after its removal let go of what the engine held: its row is the
        // removal's sweep's to count and drop (counted here too, it was counted twice).
        this.release(job.delivery.id);
        this.#o.ended?.(job.delivery.id);
        this.let(lane);
        return;
      }
      // The rule or the target was removed after the event matched: nothing left to deliver to.
      this.#o.metrics.invocationsDropped
        .labels(...this.labelsOf(lane, true), found === undefined ? "RULE_NOT_FOUND" : "TARGET_NOT_FOUND")
        .inc();
      this.complete(job);
      return;
    }
    const m = this.metricsOf(lane);
    const compiled = this.compiled(target);
    const { policy } = compiled;
    const start = this.#now();
    if (start - event.ingestedAt > policy.maxEventAgeMs) {
      await this.fail(job, target, found.rule.arn, {
        error: new DeliveryError(
          "EVENT_EXPIRED",
          "The event was older than MaximumEventAgeInSeconds when its attempt was due.",
          {
            retryable: false,
          },
        ),
        exhausted: "MaximumEventAgeInSeconds",
      });
      return;
    }
    let payload: string;
    try {
      compiled.transform ??= compileTransform(target.spec);
      payload = compiled.transform(event.json, {
        ruleArn: found.rule.arn,
        ruleName: found.rule.name,
        ingestedAt: event.ingestedAt,
      });
    } catch (e) {
      const error =
        e instanceof TransformError
          ? new DeliveryError(e.code, e.message, { retryable: false, cause: e })
          : new DeliveryError("INVALID_PARAMETER", `The input transformation failed: ${String(e)}`, {
              retryable: false,
            });
      this.counted(job, m);
      job.attempts++;
      await this.fail(job, target, found.rule.arn, { error });
      return;
    }
    const invoker = this.#o.invokerFor(target.arn);
    if (invoker === undefined) {
      this.counted(job, m);
      job.attempts++;
      await this.fail(job, target, found.rule.arn, {
        error: new DeliveryError(
          "EVENTS_NOT_SUPPORTED",
          `No invoker handles target ${shownTargetArn(target.arn)}.`,
          {
            retryable: false,
          },
        ),
      });
      return;
    }
    // Invokers time their own calls out (BUSBAR_TARGET_TIMEOUT_MS); this signal ends them at shutdown.
    const stop = this.stopSignal();
    const signal = stop.controller.signal;
    try {
      await invoker.invoke(
        {
          event,
          payload,
          target,
          ruleArn: found.rule.arn,
          accountId: lane.accountId,
          deliveryId: job.delivery.id,
          attempt: job.attempts,
          wanted: () => job.generation === lane.generation,
        },
        signal,
      );
    } catch (e) {
      // Ended by the engine's own stop (shutdown): not the target's failure. The delivery stays
      // pending in the store as it was, for the next start; nothing is counted or rescheduled.
      if (signal.aborted) return;
      // Its target, rule or bus was removed while the attempt waited (or ran): dropped, not retried;
      // an attempt all the same if the call was made (the target may have had it).
      if (job.generation !== lane.generation) {
        if (!(e instanceof DeliveryError && (e.code === TARGET_REMOVED || e.deferred))) {
          this.counted(job, m, start);
          job.attempts++;
        }
        this.dropRemoved(job);
        return;
      }
      if (e instanceof DeliveryError && e.deferred) {
        await this.defer(job, target, found.rule.arn, e, policy);
        return;
      }
      job.heldUntil = 0; // the disk took it, or is not what failed it: its retries are its own
      this.counted(job, m, start);
      job.attempts++;
      const error =
        e instanceof DeliveryError
          ? e
          : new DeliveryError("SDK_CLIENT_ERROR", e instanceof Error ? e.message : String(e), {
              retryable: true,
              cause: e,
            });
      if (error.retryable) this.targetFailed(job, error, target);
      else this.targetAnswered(lane);
      await this.retryOrFail(job, target, found.rule.arn, error, policy);
      return;
    } finally {
      if (--stop.users === 0 && stop !== this.#stopShared) this.#stopping.delete(stop.controller);
    }
    this.counted(job, m, start);
    job.attempts++;
    if (job.heldUntil > 0) {
      job.heldUntil = 0;
      this.diskWorks();
    }
    if (lane.streak !== undefined) this.targetAnswered(lane);
    m.successes.inc();
    m.invocations.inc();
    m.complete.observe(this.#now() - event.ingestedAt);
    this.complete(job);
  }

  /**
   * Whether the lane's target is held (see {@link hold}) and may not be attempted now: its one attempt
   * runs, or the next is not due yet.
   */
  private heldBack(lane: Lane): boolean {
    const streak = lane.streak;
    if (streak === undefined || streak.heldAt === 0) return false;
    return streak.probe !== undefined || this.#now() < streak.probeAt;
  }

  /**
   * A target's attempt failed in a way a retry may fix: one more in its streak. Held already, the
   * failure of its one attempt makes the next wait longer; else, many failures in a row with no
   * answer between them, over at least the hold's first wait, hold it.
   */
  private targetFailed(job: Job, error: DeliveryError, target: Target): void {
    const lane = job.lane;
    if (this.#holdAfterFailures === 0) return;
    const now = this.#now();
    let streak = lane.streak;
    if (streak === undefined) {
      streak = {
        failures: 0,
        since: now,
        lastError: error,
        target,
        spec: undefined,
        heldAt: 0,
        probeAt: 0,
        probes: 0,
        probe: undefined,
        timer: undefined,
        logged: false,
      };
      lane.streak = streak;
    }
    streak.failures++;
    streak.lastError = error;
    if (streak.heldAt > 0) {
      if (streak.probe !== job) return;
      streak.probes++;
      streak.probeAt = now + this.probeWait(streak);
      this.armHold(lane, streak);
      return;
    }
    streak.target = target;
    if (streak.failures >= this.#holdAfterFailures && now - streak.since >= this.#holdBaseMs)
      this.hold(lane, streak, now);
  }

  /**
   * Holds a failing target: its deliveries that come due (new ones, and retries) wait in memory, not
   * attempted and spending no attempt, and one attempt at a time is made for all of them, after 1 s,
   * then twice as long after each that fails, up to 30 s (or the target's Retry-After, if longer).
   * When one goes through, or the target answers with a failure no retry fixes, the hold ends and the
   * deliveries waiting go at once. Each event still ends at its MaximumEventAgeInSeconds (see
   * {@link sweepHeld}). Without it, each event retried on its own schedule: a review's 70,000 events
   * for a target refusing connections made ~10,000 attempts a second, each failure's reschedule a
   * store write, and the node's PutEvents rate fell from ~1,500 to ~155 events a second.
   */
  private hold(lane: Lane, streak: Streak, now: number): void {
    streak.heldAt = now;
    streak.probes = 0;
    streak.probeAt = now + this.probeWait(streak);
    if (this.#blocked.delete(lane)) count(this.#accountBlocked, lane.accountId, -1);
    this.#o.metrics.targetHolds.labels(...this.labelsOf(lane)).inc();
    this.armHold(lane, streak);
    streak.spec = JSON.stringify(streak.target.spec);
    // By target rather than on the lane, which goes whenever it holds nothing (a flapping target's does).
    let lines = this.#holdLines.get(lane.key);
    if (lines === undefined) {
      if (this.#holdLines.size >= 10_000) {
        for (const [key, l] of this.#holdLines) if (now - l.at >= HOLD_LOG_MS) this.#holdLines.delete(key);
      }
      lines = { at: -Infinity, unlogged: 0 };
      this.#holdLines.set(lane.key, lines);
    }
    lines.unlogged++;
    if (now - lines.at < HOLD_LOG_MS) return;
    lines.at = now;
    streak.logged = true;
    const holds = lines.unlogged;
    lines.unlogged = 0;
    this.#o.log.warn(
      {
        ...holdContext(lane),
        failures: streak.failures,
        failingForMs: now - streak.since,
        code: streak.lastError.code,
        reason: streak.lastError.message,
        nextAttemptInMs: streak.probeAt - now,
        ...(holds > 1 && { holdsSinceLastLine: holds }),
      },
      "target failing: its deliveries are held, one attempt at a time until it answers",
    );
  }

  /** How long a held target waits for its next attempt. */
  private probeWait(streak: Streak): number {
    const wait = Math.min(this.#holdMaxMs, this.#holdBaseMs * 2 ** Math.min(streak.probes, 30));
    return Math.max(wait, Math.min(streak.lastError.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
  }

  /**
   * The target answered (a success, or a failure no retry fixes), or `changed`: its streak ends, and
   * its hold. Its deliveries waiting go as slots free (the caller pumps the lane).
   */
  private targetAnswered(lane: Lane, changed = false): void {
    const streak = lane.streak;
    if (streak === undefined) return;
    lane.streak = undefined;
    if (streak.timer !== undefined) clearTimeout(streak.timer);
    if (streak.heldAt > 0 && streak.logged) {
      this.#o.log.info(
        {
          ...holdContext(lane),
          heldForMs: this.#now() - streak.heldAt,
          waiting: lane.waiting.length - lane.head,
        },
        changed
          ? "target changed while held: the deliveries held for it go"
          : "target answers again: the deliveries held for it go",
      );
    }
  }

  /** Wakes a held target when its next attempt is due, or every {@link HOLD_SWEEP_MS} meanwhile. */
  private armHold(lane: Lane, streak: Streak): void {
    if (streak.timer !== undefined) clearTimeout(streak.timer);
    const wait = streak.probeAt - this.#now();
    streak.timer = setTimeout(
      () => this.holdWakes(lane, streak),
      wait > 0 ? Math.min(wait, HOLD_SWEEP_MS) : HOLD_SWEEP_MS,
    );
    streak.timer.unref();
  }

  private holdWakes(lane: Lane, streak: Streak): void {
    streak.timer = undefined;
    if (this.#closed || lane.streak !== streak || this.#lanes.get(lane.key) !== lane) return;
    const found = this.#o.registry.getRule(lane.accountId, lane.busName, lane.ruleName);
    const target = found?.targets.get(lane.targetId);
    if (target !== undefined && target !== streak.target) {
      // Changed since it was held (PutTargets gave it a new endpoint, say): tried afresh. The registry
      // makes new targets whenever the rule's are put or removed: one put again unchanged, or a
      // change to another target of the rule, keeps the hold (a review saw a re-put of the same
      // targets, as a deployment tool makes, send a held target's backlog at it at once).
      if (JSON.stringify(target.spec) !== streak.spec) {
        this.targetAnswered(lane, true);
        this.pump(lane);
        return;
      }
      streak.target = target;
    }
    this.sweepHeld(lane, streak);
    // Its next attempt is due: the first delivery waiting goes, or else the next to come due.
    if (!this.heldBack(lane)) this.pump(lane);
    if (lane.streak === streak && this.#lanes.get(lane.key) === lane) this.armHold(lane, streak);
  }

  /**
   * Ends the deliveries waiting for a held target whose events are older than its
   * MaximumEventAgeInSeconds (to its dead-letter queue, with the target's last failure), and drops
   * those of a target since removed: a hold does not keep an event past its age.
   */
  private sweepHeld(lane: Lane, streak: Streak): void {
    const found = this.#o.registry.getRule(lane.accountId, lane.busName, lane.ruleName);
    const target = found?.targets.get(lane.targetId);
    const maxAgeMs = target === undefined ? Infinity : this.compiled(target).policy.maxEventAgeMs;
    const now = this.#now();
    const { waiting } = lane;
    const ends = (job: Job): boolean =>
      job.generation !== lane.generation || now - job.event.ingestedAt > maxAgeMs;
    let first = lane.head;
    while (first < waiting.length && !ends(waiting[first] as Job)) first++;
    if (first === waiting.length) return;
    const ended: Job[] = [];
    let kept = 0;
    for (let i = lane.head; i < waiting.length; i++) {
      const job = waiting[i] as Job;
      if (i >= first && ends(job)) ended.push(job);
      else waiting[kept++] = job;
    }
    waiting.length = kept;
    lane.head = 0;
    if (kept === 0) this.#heavy.delete(lane);
    const last = streak.lastError;
    const error = new DeliveryError(
      last.code,
      `Held while its target failed, until the event was older than MaximumEventAgeInSeconds; the target's last failure: ${last.message}`,
      { retryable: false },
    );
    for (const job of ended) {
      if (job.generation !== lane.generation || found === undefined || target === undefined) {
        this.dropRemoved(job);
        this.dropIfIdle(lane);
        continue;
      }
      this.fail(job, target, found.rule.arn, { error, exhausted: "MaximumEventAgeInSeconds" })
        .catch((err: unknown) =>
          this.#o.log.error({ err, eventId: job.event.id }, "ending a held delivery crashed"),
        )
        .finally(() => this.dropIfIdle(lane));
    }
  }

  /**
   * Counts an attempt (before `job.attempts` does), once it is known to be one: a call the invoker
   * held back is not. `invokedAt`: when the target's invocation started, if it did.
   */
  private counted(job: Job, m: LaneMetrics, invokedAt?: number): void {
    m.attempts.inc();
    if (job.attempts > 0) m.retries.inc();
    // EventBridge's IngestiontoInvocationStartLatency: to the first invocation of the target, once.
    else if (invokedAt !== undefined) m.start.observe(invokedAt - job.event.ingestedAt);
  }

  /**
   * The invoker held the call back without calling the target (an API destination's rate limit, or
   * the node's disk refusing a queue or bus target's write): the same attempt again after
   * `retryAfterMs` (the disk's: a hold), unless the event would be older than its
   * MaximumEventAgeInSeconds by then.
   */
  private async defer(
    job: Job,
    target: Target,
    ruleArn: string,
    error: DeliveryError,
    policy: RetryPolicy,
  ): Promise<void> {
    const now = this.#now();
    // Held for the disk with the others it refused (see diskGated); a rate limit's turn comes after
    // its own wait, and leaves the disk's gate alone (a598c56 had held rate-limited calls 5 s, as if
    // the disk had refused them).
    const dueAt = now + (error.disk ? this.#heldWhileLowMs : (error.retryAfterMs ?? this.#o.backoff.baseMs));
    if (dueAt - job.event.ingestedAt > policy.maxEventAgeMs) {
      await this.fail(job, target, ruleArn, { error, exhausted: "MaximumEventAgeInSeconds" });
      return;
    }
    if (error.disk) {
      job.heldUntil = job.event.ingestedAt + policy.maxEventAgeMs;
      this.#diskRefusedAt = now;
    } else job.heldUntil = 0;
    this.reschedule(job, dueAt, ruleArn, target, error);
  }

  private reschedule(job: Job, dueAt: number, ruleArn: string, target: Target, error: DeliveryError): void {
    job.dueAt = dueAt;
    job.durable = false;
    this.#reschedules.set(`${job.event.id}/${job.delivery.id}`, {
      change: { eventId: job.event.id, id: job.delivery.id, dueAt, attempts: job.attempts },
      job,
    });
    this.flushSoon();
    this.#o.log.debug(
      { eventId: job.event.id, rule: ruleArn, target: target.id, code: error.code, retryAt: dueAt },
      "delivery attempt failed; will retry",
    );
    this.later(job);
  }

  private async retryOrFail(
    job: Job,
    target: Target,
    ruleArn: string,
    error: DeliveryError,
    policy: RetryPolicy,
  ): Promise<void> {
    const now = this.#now();
    if (error.retryable) {
      const jitter = Math.random();
      const next = nextAttempt(
        policy,
        job.attempts,
        job.event.ingestedAt,
        now,
        retryDelayMs(job.attempts, this.#o.backoff, error.retryAfterMs, () => jitter),
        retryDelayMs(job.attempts, this.#o.backoff, undefined, () => jitter),
      );
      if ("dueAt" in next) {
        this.reschedule(job, next.dueAt, ruleArn, target, error);
        return;
      }
      await this.fail(job, target, ruleArn, { error, exhausted: next.exhausted });
      return;
    }
    await this.fail(job, target, ruleArn, { error });
  }

  /** A delivery that failed for good: to a dead-letter queue, or dropped. */
  private async fail(
    job: Job,
    target: Target,
    ruleArn: string,
    failure: { error: DeliveryError; exhausted?: string },
  ): Promise<void> {
    const { lane, event } = job;
    const { metrics, log } = this.#o;
    const labels = this.labelsOf(lane);
    metrics.failedInvocations.labels(...labels, failure.error.code).inc();
    this.metricsOf(lane).invocations.inc();
    const bus = this.#o.registry.getBus(lane.accountId, lane.busName);
    const dlq = deadLetterArnOf(target) ?? bus?.deadLetterArn;
    const targetArn = this.#o.deadLetters.describeTarget(target.arn);
    const context = {
      eventId: event.id,
      rule: ruleArn,
      target: target.id,
      targetArn,
      code: failure.error.code,
      reason: failure.error.message,
      attempts: job.attempts,
      ...(failure.exhausted !== undefined && { exhausted: failure.exhausted }),
    };
    if (dlq === undefined) {
      metrics.invocationsDropped.labels(...labels, "NO_DEAD_LETTER_QUEUE").inc();
      const line = this.logLine(lane, context);
      if (line !== undefined) log.warn(line, "delivery failed; no dead-letter queue, event dropped");
    } else {
      const attributes = {
        RULE_ARN: ruleArn,
        TARGET_ARN: targetArn,
        ERROR_CODE: failure.error.code,
        ERROR_MESSAGE: failure.error.message,
        ...(failure.exhausted !== undefined && { EXHAUSTED_RETRY_CONDITION: failure.exhausted }),
        RETRY_ATTEMPTS: String(Math.max(0, job.attempts - 1)),
      };
      if (!(await this.toDeadLetterQueue(job, dlq, ruleArn, attributes, context, 0))) return;
    }
    this.complete(job);
  }

  /**
   * Sends a failed delivery's event to its dead-letter queue, counting and logging the outcome; true
   * when the delivery is done with (sent, or dropped because the queue cannot be used). A failure that
   * may pass (the store's) is tried again later ({@link DEAD_LETTER_RETRY_MS}), the delivery held:
   * false, and the retry completes it.
   */
  private async toDeadLetterQueue(
    job: Job,
    dlq: string,
    ruleArn: string,
    attributes: Record<string, string>,
    context: Record<string, unknown>,
    retries: number,
    heldForDisk = false,
  ): Promise<boolean> {
    const { lane, event } = job;
    const { metrics, log } = this.#o;
    const labels = this.labelsOf(lane);
    try {
      await this.#o.deadLetters.send(dlq, { accountId: lane.accountId, ruleArn }, event.json, attributes);
      if (heldForDisk) this.diskWorks();
      metrics.invocationsSentToDlq.labels(...labels).inc();
      const line = this.logLine(lane, { ...context, deadLetterQueue: dlq });
      if (line !== undefined) log.warn(line, "delivery failed; event sent to the dead-letter queue");
    } catch (e) {
      // A failure that may pass (the store's: disk full, an I/O error) is tried again, the delivery
      // held until the store takes it (a restart meanwhile finds it pending); one that will not (the
      // queue missing, not allowed, FIFO) drops the event.
      if (!(e instanceof DeliveryError) || e.retryable) {
        if (this.#closed) return false;
        // Refused by the disk (the node's floor of free space, or a disk full to its last byte),
        // which the store logs itself: held for the disk (see holdDeadLetter), logged at debug; a
        // line per dead letter held, every retry, would flood the log (which may share the disk).
        const disk = e instanceof DeliveryError && e.disk;
        const delayMs = disk
          ? this.#heldWhileLowMs
          : Math.min(DEAD_LETTER_RETRY_MAX_MS, DEAD_LETTER_RETRY_MS * 2 ** Math.min(retries, 16));
        const line = this.logLine(lane, {
          ...context,
          deadLetterQueue: dlq,
          dlqError: e instanceof Error ? e.message : String(e),
          retryInMs: delayMs,
        });
        if (line !== undefined && !disk)
          log.error(line, "delivery failed and the store could not take its dead letter; will try again");
        else if (line !== undefined)
          log.debug(line, "dead letter held: the node's disk is full or low; will try again");
        const retry = (): void => {
          void this.toDeadLetterQueue(job, dlq, ruleArn, attributes, context, retries + 1, disk).then(
            (done) => {
              if (!done) return;
              this.complete(job);
              this.dropIfIdle(job.lane);
            },
          );
        };
        if (disk) {
          this.holdDeadLetter(retry);
          return false;
        }
        const timer = setTimeout(() => {
          this.#deadLetterRetries.delete(timer);
          retry();
        }, delayMs);
        timer.unref();
        this.#deadLetterRetries.add(timer);
        return false;
      }
      metrics.invocationsFailedToBeSentToDlq.labels(...labels).inc();
      const line = this.logLine(lane, {
        ...context,
        deadLetterQueue: dlq,
        dlqError: e instanceof Error ? e.message : String(e),
      });
      if (line !== undefined)
        log.error(
          line,
          "delivery failed and the event could not be sent to its dead-letter queue; event dropped",
        );
    }
    return true;
  }

  /**
   * The context of a failure's log line, or undefined when its target wrote its
   * {@link FAILURE_LINES_PER_MINUTE} lines this minute already (the failure is then counted, and the
   * target's next line says how many went unlogged).
   */
  private logLine<C extends object>(
    lane: Lane,
    context: C,
  ): (C & { failuresNotLogged?: number }) | undefined {
    const now = this.#now();
    // Kept by target rather than on the lane, which goes when it holds nothing between two failures.
    let state = this.#failureLines.get(lane.key);
    if (state === undefined) {
      if (now - this.#failureLinesSwept >= FAILURE_LINES_KEPT_MS) {
        // Targets that have not failed for a while are forgotten (their counts are in the metrics).
        for (const [key, s] of this.#failureLines) {
          if (now - s.since >= FAILURE_LINES_KEPT_MS) this.#failureLines.delete(key);
        }
        this.#failureLinesSwept = now;
      }
      state = { lines: 0, since: now, unlogged: 0 };
      this.#failureLines.set(lane.key, state);
    }
    if (now - state.since >= 60_000) {
      state.since = now;
      state.lines = 0;
    }
    if (state.lines >= FAILURE_LINES_PER_MINUTE) {
      state.unlogged++;
      return undefined;
    }
    state.lines++;
    const unlogged = state.unlogged;
    state.unlogged = 0;
    return unlogged === 0 ? context : { ...context, failuresNotLogged: unlogged };
  }

  private complete(job: Job): void {
    this.#o.ended?.(job.delivery.id);
    job.lane.held--;
    this.#completions.push({ eventId: job.event.id, id: job.delivery.id });
    this.flushSoon();
  }

  private flushSoon(): void {
    // Failing: the retry's timer writes what comes meanwhile too.
    if (this.#flushQueued || this.#flushFailedInARow > 0) return;
    this.#flushQueued = true;
    setImmediate(() => void this.flush());
  }

  /**
   * Writes the pending completions and reschedules; resolves when they are durable, or when their
   * write failed (they stay pending, and are tried again later; see {@link flushRetryDelay}). Calls
   * while a write runs share one write after it: each call waiting for its own, a store that kept
   * failing (a full disk) made a queue of them that grew faster than it ran, and a stop waited
   * behind it without end.
   */
  flush(): Promise<void> {
    this.#flushQueued = false;
    if (this.#flushing === undefined) return this.write();
    this.#flushNext ??= this.#flushing.then(() => {
      this.#flushNext = undefined;
      // The write just made failed: its retry's timer writes this too (unless stopping).
      if (this.#flushFailedInARow > 0 && !this.#closed) return;
      return this.write();
    });
    return this.#flushNext;
  }

  private async write(): Promise<void> {
    if (this.#flushing !== undefined) return this.flush();
    if (this.#flushRetry !== undefined) {
      clearTimeout(this.#flushRetry);
      this.#flushRetry = undefined;
    }
    if (this.#completions.length === 0 && this.#reschedules.size === 0) return;
    const completions = this.#completions;
    const reschedules = this.#reschedules;
    this.#completions = [];
    this.#reschedules = new Map();
    this.#flushing = (async () => {
      try {
        if (reschedules.size > 0) {
          const changes: DeliveryReschedule[] = [];
          for (const { change } of reschedules.values()) changes.push(change);
          await this.#o.store.rescheduleDeliveries(changes);
          // Unless rescheduled again since (a later write is to come).
          for (const { change, job } of reschedules.values())
            if (job.dueAt === change.dueAt) job.durable = true;
        }
        if (completions.length > 0) await this.#o.store.completeDeliveries(completions);
        this.#flushFailures.succeeded();
        const failed = this.#flushFailedInARow > 0;
        this.#flushFailedInARow = 0;
        for (const c of completions) this.release(c.id);
        // What came while the write that worked ran did not ask for a write of its own.
        if (failed && (this.#completions.length > 0 || this.#reschedules.size > 0)) this.flushSoon();
        // Deliveries wait in the store: take them once memory is half free, or once retries just
        // written can leave it for them.
        if (
          this.#overflow > 0 &&
          this.#now() - this.#scanFailedAt >= OVERFLOW_CHECK_MS &&
          (!this.halfFull() || (reschedules.size > 0 && this.full() && this.park()))
        )
          void this.scan();
      } catch (err) {
        this.#flushFailures.failed(err);
        this.#o.onStoreFailure?.(err);
        // One by one: spread into push, a batch of ~100,000 overflowed the stack (and the process
        // with it) when a full disk failed a flush with that many deliveries pending.
        for (const c of completions) this.#completions.push(c);
        // A delivery rescheduled again meanwhile keeps its later time.
        for (const [key, r] of reschedules) if (!this.#reschedules.has(key)) this.#reschedules.set(key, r);
        // Stopped: what was not written stays pending in the store, to be delivered again.
        if (!this.#closed) {
          this.#flushRetry = setTimeout(() => {
            this.#flushRetry = undefined;
            void this.flush();
          }, flushRetryDelay(++this.#flushFailedInARow));
          this.#flushRetry.unref();
        }
      } finally {
        this.#flushing = undefined;
      }
    })();
    await this.#flushing;
  }

  /**
   * Stops: no new attempts; waits up to `graceMs` for attempts in flight, then records what finished.
   * Whatever did not finish stays pending in the store and resumes at the next start.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const timer of this.#deadLetterRetries) clearTimeout(timer);
    this.#deadLetterRetries.clear();
    if (this.#deadLetterProbe !== undefined) clearTimeout(this.#deadLetterProbe);
    this.#heldDeadLetters = [];
    if (this.#overflowTimer !== undefined) clearInterval(this.#overflowTimer);
    for (const lane of this.#lanes.values())
      if (lane.streak?.timer !== undefined) clearTimeout(lane.streak.timer);
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      const reason = new Error("the delivery engine stopped");
      for (const stop of this.#stopping) stop.abort(reason);
      await Promise.allSettled([...this.#inFlight]);
    }
    await this.#scanning;
    await this.flush();
  }
}

/** Adds `by` to the count of `key` in `counts`, forgetting it at 0. */
function count(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n === 0) counts.delete(key);
  else counts.set(key, n);
}
