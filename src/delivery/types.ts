/**
 * What the delivery engine and the target invokers share: one attempt to invoke a target
 * ({@link Invocation}), the invoker contract ({@link TargetInvoker}), and the error an attempt fails
 * with ({@link DeliveryError}), which says whether retrying can help.
 */
import { storeErrorOf } from "../queues/index.js";
import type { StoredEvent, Target } from "../store/index.js";

/** The target's own dead-letter queue (`DeadLetterConfig.Arn`), if it has one. */
export function deadLetterArnOf(target: Target): string | undefined {
  return (target.spec.DeadLetterConfig as { Arn?: string } | undefined)?.Arn;
}

/** One attempt to deliver one event to one target of one rule. */
export interface Invocation {
  /** The event as accepted (its envelope is `event.json`). */
  readonly event: StoredEvent;
  /** What to send: the event envelope, or what Input/InputPath/InputTransformer made of it. */
  readonly payload: string;
  /** The target as PutTargets stored it (`target.spec` is the AWS Target structure). */
  readonly target: Target;
  /** The ARN of the rule that matched. */
  readonly ruleArn: string;
  /** The account that owns the rule (and so the target). */
  readonly accountId: string;
  /** The pending delivery's id: stable across the retries of this delivery. */
  readonly deliveryId: string;
  /** Attempts made before this one (0 on the first). */
  readonly attempt: number;
  /**
   * Whether the delivery is still wanted: false once its target, rule or bus was removed. An invoker
   * that waits before it calls the target (for a connection) asks first, and throws
   * {@link TARGET_REMOVED} rather than call a target removed meanwhile.
   */
  readonly wanted?: () => boolean;
}

/**
 * The media type of an invocation's payload: JSON, unless an InputTransformer made text of it (the
 * event, Input and InputPath always give JSON, so only a transformer's output is looked at).
 */
export function payloadContentType(invocation: Invocation): "application/json" | "text/plain; charset=utf-8" {
  if (invocation.target.spec["InputTransformer"] === undefined) return "application/json";
  try {
    JSON.parse(invocation.payload);
    return "application/json";
  } catch {
    return "text/plain; charset=utf-8";
  }
}

/** The code of the error an invoker throws for a delivery no longer {@link Invocation.wanted}. */
export const TARGET_REMOVED = "TARGET_REMOVED";

/** Invokes targets of one kind. */
export interface TargetInvoker {
  /**
   * Delivers the invocation; resolves once the target acknowledged it.
   * @throws {DeliveryError} when the attempt failed (other errors count as retryable failures).
   */
  invoke(invocation: Invocation, signal: AbortSignal): Promise<void>;
  /**
   * A delivery ended (delivered, failed for good, or dropped with its target): what the invoker kept
   * for it (an API destination's rate-limit turn) goes.
   */
  ended?(deliveryId: string): void;
  /** Releases pooled connections. */
  close(): Promise<void>;
}

/** Options of a {@link DeliveryError}. */
export interface DeliveryErrorOptions {
  /** Whether another attempt could succeed (5xx, 429, timeouts, resets); false skips the retries. */
  readonly retryable: boolean;
  /** The target asked to be called again no sooner than this (Retry-After on 429 and 503). */
  readonly retryAfterMs?: number;
  /**
   * The target was not called: Busbar held the call back itself (an API destination's rate limit).
   * The engine tries again after `retryAfterMs` without counting an attempt; only the event's age
   * (MaximumEventAgeInSeconds) ends the wait.
   */
  readonly deferred?: boolean;
  /**
   * Deferred because the node's disk refused the call (see {@link heldWhileLow}): the engine holds it
   * with the others the disk refused, one tried each hold for all; a deferral without it (a rate
   * limit's) comes back after its own `retryAfterMs`.
   */
  readonly disk?: boolean;
  readonly cause?: unknown;
}

/**
 * A failed attempt. `code` is what dead-letter messages carry as ERROR_CODE (EventBridge's codes
 * where they exist, such as `SDK_CLIENT_ERROR`, `NO_PERMISSIONS`, `NO_RESOURCE`,
 * `THROTTLING`, `HTTP_5XX`-style codes); `message` becomes ERROR_MESSAGE and must never hold a secret.
 */
export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly deferred: boolean;
  readonly disk: boolean;

  constructor(
    readonly code: string,
    message: string,
    options: DeliveryErrorOptions,
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.deferred = options.deferred === true;
    this.disk = options.disk === true;
  }
}

/** How long a delivery the node's own disk floor refused waits before it is tried again. */
export const HELD_WHILE_LOW_MS = 5000;

/**
 * The options of a failure caused by the node's own disk: its floor of free space (the store's
 * DiskLowError) or the disk full to its last byte (the store's failure answered 503, SQLITE_FULL). Not
 * the target's failure, so it is deferred — held by the engine for the disk, tried again after its
 * hold ({@link HELD_WHILE_LOW_MS} by default) without counting an attempt (only
 * MaximumEventAgeInSeconds ends the wait) — rather than retried; none for another error.
 */
export function heldWhileLow(e: unknown): { deferred?: true; disk?: true } {
  // The store's errors that SQS answers ServiceUnavailable are exactly the disk's (storeErrorOf).
  return storeErrorOf(e)?.code === "ServiceUnavailable" ? { deferred: true, disk: true } : {};
}

/** The error of a call not made because its delivery is no longer {@link Invocation.wanted}: `what` was not sent. */
export function targetRemoved(what: string): DeliveryError {
  return new DeliveryError(TARGET_REMOVED, `the target was removed before ${what} was sent`, {
    retryable: false,
  });
}
