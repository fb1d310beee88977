/**
 * `InvocationRateLimitPerSecond` of API destinations: per destination, the times of the last
 * `rate` calls, so that no second (any window of 1,000 ms, not only whole seconds) sees more than
 * `rate` calls, the first second included. A call over the limit waits for its turn when that comes
 * within a second; otherwise it fails with a `THROTTLING` error that is `deferred` (the endpoint was
 * not called), its turn kept for it under its ticket (the delivery id) and `retryAfterMs` saying when
 * that turn comes: the delivery engine brings it back then, without counting an attempt against the
 * target's RetryPolicy (only MaximumEventAgeInSeconds bounds the wait, as EventBridge documents), and
 * a backlog is spread over the turns ahead, each call coming back once.
 */
import { DeliveryError } from "../types.js";
import { HttpErrorCode } from "./classify.js";

/** How long a call may wait for its turn before it fails with `THROTTLING`. */
export const DEFAULT_MAX_RATE_WAIT_MS = 1000;

/** The window the rate is counted over. */
const WINDOW_MS = 1000;

/**
 * The calls a second an `InvocationRateLimitPerSecond` allows: whole, at least 1; Infinity when it is
 * no limit (not a positive finite number).
 */
export function callsPerSecond(ratePerSecond: number): number {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) return Number.POSITIVE_INFINITY;
  return Math.max(1, Math.floor(ratePerSecond));
}

/**
 * How late a call may leave after the send gate opened for it and still move the gate on from when it
 * opened (see {@link SlidingWindow.whenSendable}): timers fire a millisecond or a few late on a busy
 * host, and moving on from each call's own time would lose that every call (at 1 ms, a receiver got
 * 257 calls a second at a limit of 300). Calls that fell behind by at most this much may leave
 * together: a window can hold `limit + 1 + slack / spacing` calls, 302 at 300.
 */
const SEND_SLACK_MS = 5;

/**
 * How long a deferred call stays away at most before it comes back to look at its turn again: its turn
 * moves when the rate changes (earlier when it is raised), and the delivery engine only brings a
 * delivery back when it was told to. A larger backlog comes back less often ({@link RECHECKS_PER_SECOND}).
 */
export const DEFERRED_RECHECK_MS = 2000;
/** Deferred calls of one destination coming back to look at their turns, at most, per second (beyond the first second). */
export const RECHECKS_PER_SECOND = 200;
/** The longest a deferred call stays away without looking at its turn again. */
const MAX_RECHECK_MS = 60_000;

/** One call's turn; `at` moves when the rate changes before the call has gone, and `moved` tells its waiter. */
export interface Turn {
  at: number;
  moved?: (() => void) | undefined;
  /** Given back: its call will not be made (see {@link SlidingWindow.giveBack}). */
  gone?: boolean;
}

/** At most `ratePerSecond` calls in any window of 1,000 ms: the turns of the last calls and of those ahead. */
export class SlidingWindow {
  /**
   * Turns in time order from `head`: the past ones that still count (the last `limit`, and those of
   * the last second; the next turn is a window after the call `limit` calls before it), then every
   * turn ahead, which a rate change plans again.
   */
  private turns: Turn[] = [];
  private head = 0;
  private limit: number;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limit = callsPerSecond(ratePerSecond);
  }

  /** The calls a second the turns are planned at now. */
  get rate(): number {
    return this.limit;
  }

  /**
   * The send gate: when the next call may leave, a `limit`th of a window after the last one left
   * (after the gate opened for it, when it left within {@link SEND_SLACK_MS} of that).
   * Turns are planned ahead; this holds the calls to the spacing when they leave: calls whose turns
   * passed while the event loop was busy (or whose connection or token took a while) would otherwise
   * leave together, and a receiver counted 324–353 calls in its busiest second at a limit of 300.
   */
  private sendableAt = -Infinity;
  /** When the last call left, as the send gate counts it (see {@link leave}). */
  private leftFrom = -Infinity;
  /** Calls waiting at the send gate, in order. */
  private readonly sendQueue: SendWaiter[] = [];
  private sendTimer: NodeJS.Timeout | undefined;

  /** Resolves when a call may leave now (see {@link sendableAt}); rejects when `signal` aborts first. */
  whenSendable(signal: AbortSignal): Promise<void> {
    if (this.sendQueue.length === 0 && this.now() >= this.sendableAt) {
      this.leave(this.now());
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(abortedWhileWaiting(signal));
        return;
      }
      const waiter: SendWaiter = {
        go: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const at = this.sendQueue.indexOf(waiter);
        if (at !== -1) this.sendQueue.splice(at, 1);
        // Its timer would hold the next call to the spacing it was set at (a raised rate's included).
        if (this.sendQueue.length === 0) {
          clearTimeout(this.sendTimer);
          this.sendTimer = undefined;
        }
        reject(abortedWhileWaiting(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.sendQueue.push(waiter);
      if (this.sendTimer === undefined) this.letThrough();
    });
  }

  /** Calls waiting at the send gate (for tests). */
  get waitingToSend(): number {
    return this.sendQueue.length;
  }

  private leave(now: number): void {
    this.leftFrom = now - this.sendableAt <= SEND_SLACK_MS ? this.sendableAt : now;
    this.sendableAt = this.leftFrom + WINDOW_MS / this.limit;
  }

  /** Lets the calls whose time came through the send gate, and waits for the next one's. */
  private letThrough(): void {
    this.sendTimer = undefined;
    const now = this.now();
    while (this.sendQueue.length > 0 && now >= this.sendableAt) {
      this.leave(now);
      (this.sendQueue.shift() as SendWaiter).go();
    }
    if (this.sendQueue.length > 0) {
      this.sendTimer = setTimeout(() => this.letThrough(), Math.max(1, Math.ceil(this.sendableAt - now)));
    }
  }

  /**
   * Changes the rate (an API destination was updated): the past calls still count, and
   * every turn ahead is planned again, in order, at the new rate (earlier when it is raised, later
   * when it is lowered); the waiters of moved turns are told.
   */
  setRate(ratePerSecond: number): void {
    const limit = callsPerSecond(ratePerSecond);
    if (limit === this.limit) return;
    this.replan(limit);
    // The send gate too: the next call leaves a spacing at the new rate after the last one.
    this.sendableAt = this.leftFrom + WINDOW_MS / limit;
    if (this.sendQueue.length > 0) {
      clearTimeout(this.sendTimer);
      this.letThrough();
    }
  }

  /**
   * Gives a turn back: its call will not be made (its delivery was dropped, or failed otherwise). The
   * turns after it move up, a moment later (many given back at once move them once).
   */
  giveBack(turn: Turn): void {
    if (turn.gone === true) return;
    turn.gone = true;
    this.given++;
    if (this.given === 1) setImmediate(() => this.replanIfGiven());
  }

  /** Turns given back and not yet taken out (see {@link giveBack}). */
  private given = 0;

  private replanIfGiven(): void {
    if (this.given > 0) this.replan(this.limit);
  }

  /**
   * Plans every turn ahead again, in order, at `limit` a window (earlier when it is raised, later
   * when it is lowered), without the turns given back; the waiters of moved turns are told.
   */
  private replan(limit: number): void {
    const now = this.now();
    const live = this.turns.slice(this.head).filter((t) => t.gone !== true);
    this.given = 0;
    const firstAhead = live.findIndex((t) => t.at > now);
    // Past turns are all kept: after a raise, more of them count again.
    const past = firstAhead === -1 ? live : live.slice(0, firstAhead);
    const ahead = firstAhead === -1 ? [] : live.slice(firstAhead);
    this.limit = limit;
    this.turns = past;
    this.head = 0;
    const moved: Turn[] = [];
    for (const turn of ahead) {
      const at = this.nextTurn(now);
      if (at !== turn.at) moved.push(turn);
      turn.at = at;
      this.turns.push(turn);
    }
    for (const turn of moved) turn.moved?.();
  }

  /**
   * Takes a turn, now or in the future: returns how long to wait for it (0: now), having reserved
   * it; or, when that wait would pass `maxWaitMs`, reserves nothing and returns the wait as negative.
   */
  reserve(maxWaitMs: number): number {
    const turn = this.reserveTurn(maxWaitMs);
    return typeof turn === "number" ? turn : Math.ceil(turn.at - this.now());
  }

  /** As {@link reserve}, giving the turn reserved (whose `at` may move), or the negative wait. */
  reserveTurn(maxWaitMs: number): Turn | number {
    if (this.given > 0) this.replan(this.limit);
    const now = this.now();
    this.prune(now);
    const at = this.nextTurn(now);
    const waitMs = Math.ceil(at - now);
    if (waitMs > maxWaitMs) return -waitMs;
    const turn: Turn = { at };
    this.turns.push(turn);
    return turn;
  }

  /** Whether no turn counts any more or lies ahead, and no call waits to leave: the window may be forgotten and made anew. */
  idle(now: number): boolean {
    const last = this.turns[this.turns.length - 1];
    return (last === undefined || last.at <= now - WINDOW_MS) && this.sendQueue.length === 0;
  }

  /** Turns reserved ahead of now: calls waiting for their turn, nearby or deferred. */
  ahead(): number {
    const now = this.now();
    // The turns are in time order: a binary search for the first one ahead (a backlog can hold many).
    let low = this.head;
    let high = this.turns.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.turns[mid] as Turn).at > now) high = mid;
      else low = mid + 1;
    }
    return this.turns.length - low;
  }

  /**
   * The next turn: now, but at least a `limit`th of a window after the last turn (the turns are spaced
   * evenly, not granted a window's worth together: calls given their turns together leave over some
   * tens of milliseconds, unevenly, and a receiver counting arrivals saw 59–69 calls in its busiest
   * second at a limit of 50), and a window after the call `limit` calls ago (which the spacing
   * implies while the rate stays; after a raise, the past calls planned at the old rate still count).
   */
  private nextTurn(now: number): number {
    const n = this.turns.length;
    if (n === this.head) return now;
    const spaced = (this.turns[n - 1] as Turn).at + WINDOW_MS / this.limit;
    const anchor = n - this.head >= this.limit ? (this.turns[n - this.limit] as Turn).at + WINDOW_MS : now;
    return Math.max(now, spaced, anchor);
  }

  /**
   * Forgets past turns that no longer count: beyond the last `limit`, and a window old (a raised rate
   * would count the turns of the last second again).
   */
  private prune(now: number): void {
    const keepFrom = this.turns.length - this.limit;
    while (this.head < keepFrom && (this.turns[this.head] as Turn).at <= now - WINDOW_MS) this.head++;
    if (this.head > 1024 && this.head * 2 > this.turns.length) {
      this.turns = this.turns.slice(this.head);
      this.head = 0;
    }
  }
}

/** A call waiting at a window's send gate. */
interface SendWaiter {
  go(): void;
}

/** How often, at most, a rate limiter forgets its idle windows. */
const FORGET_IDLE_EVERY_MS = 10 * WINDOW_MS;

/**
 * Sliding windows by key (an API destination's ARN); those idle (no call within the last second, none
 * ahead) are forgotten when a new one is made, at most every {@link FORGET_IDLE_EVERY_MS}: each
 * destination ever called kept its window, about 3 KB, through any number of created and deleted
 * destinations.
 */
export class RateLimiter {
  private readonly windows = new Map<string, SlidingWindow>();
  private forgotAt = -Infinity;
  /** Turns reserved for deferred calls, by ticket (a delivery id), with their windows; a window moves them when the rate changes. */
  private readonly tickets = new Map<string, { readonly turn: Turn; readonly window: SlidingWindow }>();

  constructor(
    private readonly maxWaitMs = DEFAULT_MAX_RATE_WAIT_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Resolves when a call under `key` may go, at most `ratePerSecond` a second (no limit unless it is
   * a positive number), with the calls a second its turn was planned at in the end: lower than asked
   * when another call brought a lowered rate while it waited (its turn moved then); Infinity without
   * a limit.
   * @throws {DeliveryError} `THROTTLING` (retryable, deferred, with `retryAfterMs`) when the turn is
   *   further away than the maximum wait; the engine's error when `signal` aborts while waiting.
   */
  async acquire(key: string, ratePerSecond: number, signal: AbortSignal, ticket?: string): Promise<number> {
    if (callsPerSecond(ratePerSecond) === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
    let window = this.windows.get(key);
    if (window === undefined) {
      this.forgetIdle();
      window = new SlidingWindow(ratePerSecond, this.now);
      this.windows.set(key, window);
    } else {
      window.setRate(ratePerSecond);
    }
    // A call that holds a ticket comes back for the turn reserved for it (moved if the rate changed).
    // One that has none takes the next turn; with a ticket, however far that turn is, so that a
    // backlog of deferred calls is spread over the turns ahead instead of all coming back at the next
    // free one.
    const held = ticket === undefined ? undefined : this.tickets.get(ticket);
    let turn: Turn;
    if (held !== undefined && held.window === window && held.turn.gone !== true) {
      turn = held.turn;
    } else {
      const reserved = window.reserveTurn(ticket === undefined ? this.maxWaitMs : Infinity);
      if (typeof reserved === "number") throw this.throttled(ratePerSecond, -reserved);
      turn = reserved;
    }
    const waitMs = Math.max(0, Math.ceil(turn.at - this.now()));
    if (waitMs > this.maxWaitMs && ticket !== undefined) {
      this.keep(ticket, turn, window);
      // Back to look again before the turn if it is far: a raised rate brings it nearer.
      const recheckMs = Math.min(
        MAX_RECHECK_MS,
        Math.max(DEFERRED_RECHECK_MS, (window.ahead() / RECHECKS_PER_SECOND) * 1000),
      );
      throw this.throttled(ratePerSecond, Math.min(waitMs, recheckMs));
    }
    if (ticket !== undefined) this.tickets.delete(ticket);
    // A turn given up (the attempt aborted while waiting) is not handed to another call: the limit
    // errs on the safe side.
    if (waitMs > 0) await waitForTurn(turn, this.now, signal);
    return window.rate;
  }

  /**
   * Changes the rate of `key`'s calls (see {@link SlidingWindow.setRate}), if any are planned or kept
   * (a window that is not kept takes the rate the next call asks for).
   */
  setRate(key: string, ratePerSecond: number): void {
    if (callsPerSecond(ratePerSecond) === Number.POSITIVE_INFINITY) return;
    this.windows.get(key)?.setRate(ratePerSecond);
  }

  /**
   * Resolves when a call under `key`, its turn come (see {@link acquire}), may leave: a `rate`th of a
   * second after the call before it left (see {@link SlidingWindow.whenSendable}). Call it just before
   * sending, after whatever else the call waits for.
   */
  async sendable(key: string, signal: AbortSignal): Promise<void> {
    await this.windows.get(key)?.whenSendable(signal);
  }

  /**
   * The call of a ticket will not come back (its delivery ended: dropped with its target, failed for
   * good, or made otherwise): its turn goes to the calls after it. A dropped backlog of 54 deferred
   * calls at 2 a second held the next live call back 27 s.
   */
  release(ticket: string): void {
    const held = this.tickets.get(ticket);
    if (held === undefined) return;
    this.tickets.delete(ticket);
    held.window.giveBack(held.turn);
  }

  /** Forgets the idle windows, unless it did so less than {@link FORGET_IDLE_EVERY_MS} ago. */
  private forgetIdle(): void {
    const now = this.now();
    if (now - this.forgotAt < FORGET_IDLE_EVERY_MS) return;
    this.forgotAt = now;
    for (const [key, window] of this.windows) if (window.idle(now)) this.windows.delete(key);
  }

  /** Windows held (for tests). */
  get windowCount(): number {
    return this.windows.size;
  }

  private throttled(ratePerSecond: number, retryAfterMs: number): DeliveryError {
    return new DeliveryError(
      HttpErrorCode.Throttling,
      `the invocation rate limit of ${ratePerSecond} per second is reached`,
      { retryable: true, retryAfterMs, deferred: true },
    );
  }

  private keep(ticket: string, turn: Turn, window: SlidingWindow): void {
    // Tickets of calls that never came back (their delivery ended otherwise) go once long past.
    if (this.tickets.size >= 10_000 && !this.tickets.has(ticket)) {
      const stale = this.now() - 60_000;
      for (const [t, held] of this.tickets) if (held.turn.at < stale) this.tickets.delete(t);
    }
    this.tickets.set(ticket, { turn, window });
  }
}

/** Resolves at `turn.at`, following the turn when the window moves it; rejects when `signal` aborts. */
function waitForTurn(turn: Turn, now: () => number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      turn.moved = undefined;
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = (): void => {
      done();
      reject(abortedWhileWaiting(signal));
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () => {
          done();
          resolve();
        },
        Math.max(0, Math.ceil(turn.at - now())),
      );
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    turn.moved = arm;
    signal.addEventListener("abort", onAbort, { once: true });
    arm();
  });
}

function abortedWhileWaiting(signal: AbortSignal): DeliveryError {
  return new DeliveryError(
    HttpErrorCode.InternalError,
    "the attempt was aborted while waiting for the rate limit",
    { retryable: true, cause: signal.reason },
  );
}
