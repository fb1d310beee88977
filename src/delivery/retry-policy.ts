/**
 * A target's RetryPolicy and the backoff between attempts.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html
 */

/** @default 185 — EventBridge's default MaximumRetryAttempts. */
export const DEFAULT_MAX_RETRY_ATTEMPTS = 185;
/** @default 86400 — EventBridge's default MaximumEventAgeInSeconds (24 hours). */
export const DEFAULT_MAX_EVENT_AGE_SECONDS = 86_400;
/** @default 1000 — the first retry waits about this long. */
export const DEFAULT_RETRY_BASE_MS = 1000;
/**
 * @default 600000 — no retry waits longer (Retry-After aside). With equal jitter the waits settle
 * between 5 and 10 minutes, so the default 185 attempts span most of the default 24 hours, as
 * EventBridge's do.
 */
export const DEFAULT_RETRY_MAX_MS = 600_000;
/** A Retry-After longer than this is capped (the event's age limit still applies). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** How a target's failed deliveries are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt (0–185). @default 185 */
  readonly maxRetryAttempts: number;
  /** An event older than this (since it was accepted) is not attempted again (60–86400 s). @default 86400 */
  readonly maxEventAgeMs: number;
}

/** Which limit ended the retries, as dead-letter messages name it (EXHAUSTED_RETRY_CONDITION). */
export const ExhaustedRetryCondition = {
  MaximumRetryAttempts: "MaximumRetryAttempts",
  MaximumEventAgeInSeconds: "MaximumEventAgeInSeconds",
} as const;
export type ExhaustedRetryCondition = (typeof ExhaustedRetryCondition)[keyof typeof ExhaustedRetryCondition];

/** Reads the RetryPolicy of a Target structure (PutTargets validated its ranges). */
export function retryPolicyOf(spec: Readonly<Record<string, unknown>>): RetryPolicy {
  const given = spec.RetryPolicy as Readonly<Record<string, unknown>> | undefined;
  const attempts = given?.MaximumRetryAttempts;
  const age = given?.MaximumEventAgeInSeconds;
  return {
    maxRetryAttempts: typeof attempts === "number" ? attempts : DEFAULT_MAX_RETRY_ATTEMPTS,
    maxEventAgeMs: (typeof age === "number" ? age : DEFAULT_MAX_EVENT_AGE_SECONDS) * 1000,
  };
}

/** The backoff settings of a node. */
export interface Backoff {
  /** @default {@link DEFAULT_RETRY_BASE_MS} */
  readonly baseMs: number;
  /** @default {@link DEFAULT_RETRY_MAX_MS} */
  readonly maxMs: number;
}

/**
 * The wait before the retry that follows `attempts` failed attempts: exponential (base × 2^(n−1)),
 * capped at `maxMs`, with equal jitter (half fixed, half random) so that retries of many deliveries
 * spread out; never shorter than the target's Retry-After (itself capped at {@link MAX_RETRY_AFTER_MS}).
 */
export function retryDelayMs(
  attempts: number,
  backoff: Backoff,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  const delay = exp / 2 + random() * (exp / 2);
  return Math.round(Math.max(delay, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)));
}

/** How long before its MaximumEventAgeInSeconds runs out a last-chance attempt is made. */
export const LAST_CHANCE_MARGIN_MS = 1000;

/**
 * What to do after a failed attempt: retry at `dueAt`, or stop because a limit is reached (the
 * event's age by the time of the next attempt, or the number of retries). `delayMs` is the wait the
 * retry needs (the backoff, or the target's longer Retry-After), `backoffMs` the backoff alone.
 */
export function nextAttempt(
  policy: RetryPolicy,
  attemptsMade: number,
  ingestedAt: number,
  now: number,
  delayMs: number,
  backoffMs: number = delayMs,
): { readonly dueAt: number } | { readonly exhausted: ExhaustedRetryCondition } {
  if (attemptsMade > policy.maxRetryAttempts) return { exhausted: "MaximumRetryAttempts" };
  const dueAt = now + delayMs;
  const lastMoment = ingestedAt + policy.maxEventAgeMs - LAST_CHANCE_MARGIN_MS;
  if (dueAt - ingestedAt > policy.maxEventAgeMs) {
    // A target that asked (Retry-After) to wait past the event's age, when the backoff alone would
    // still have allowed a retry, gets one last attempt as the age runs out rather than none.
    if (now + backoffMs <= lastMoment) return { dueAt: lastMoment };
    return { exhausted: "MaximumEventAgeInSeconds" };
  }
  return { dueAt };
}
