/**
 * The error codes a broker delivery fails with, whether each is worth retrying, and the deadline every
 * attempt runs under. `BROKER_ERROR_CODES` is the catalog; docs/targets-brokers.md lists it.
 */
import { DeliveryError } from "../types.js";

/**
 * Every `DeliveryError.code` the broker invokers throw, and whether a failure with it is retried.
 * `"attempts"` means retried while `invocation.attempt + 1 < resourceNotFoundAttempts`, then final: the
 * resource may be created a moment later (topology deployed after the rule), but an event should not
 * spend its whole retry budget on a typo.
 */
export const BROKER_ERROR_CODES = {
  /** The target URI is not a valid broker target (the message says which part and why). */
  INVALID_PARAMETER: { retryable: false },
  /**
   * The broker refused the credentials, the virtual host or the publish (AMQP 403/530, NATS
   * authorization, Redis WRONGPASS/NOAUTH/NOPERM, MQTT 0x87), or the network guard refused its address
   * (network.ts).
   */
  NO_PERMISSIONS: { retryable: false },
  /** Nothing takes the message: no JetStream stream captures the subject, or no such AMQP exchange. */
  RESOURCE_NOT_FOUND: { retryable: "attempts" },
  /** RabbitMQ returned a mandatory message: no queue is bound for its routing key. */
  UNROUTABLE: { retryable: "attempts" },
  /** The payload is over the broker's limit (NATS max_payload). */
  PAYLOAD_TOO_LARGE: { retryable: false },
  /** The broker took the message but refused it (AMQP nack, JetStream API error, Redis or MQTT error reply); `retryable` depends on the reply. */
  BROKER_REJECTED: { retryable: "depends" },
  /** No connection could be made, or it was lost before the broker acknowledged. */
  CONNECTION_FAILED: { retryable: true },
  /** No acknowledgement within the invoker's `timeoutMs`. */
  TIMEOUT: { retryable: true },
  /** The caller's signal aborted the attempt, or the invoker is closed. */
  ABORTED: { retryable: true },
} as const;

/** A code in {@link BROKER_ERROR_CODES}. */
export type BrokerErrorCode = keyof typeof BROKER_ERROR_CODES;

/** Builds a {@link DeliveryError} with one of the broker codes. */
export function brokerError(
  code: BrokerErrorCode,
  message: string,
  retryable: boolean,
  cause?: unknown,
): DeliveryError {
  return new DeliveryError(code, message, cause === undefined ? { retryable } : { retryable, cause });
}

/** Text of an unknown thrown value, with every secret replaced by `***`. */
export function describeCause(cause: unknown, secrets: readonly string[]): string {
  let text = cause instanceof Error ? cause.message : String(cause);
  for (const secret of secrets) {
    if (secret.length > 0) text = text.split(secret).join("***");
  }
  return text;
}

/**
 * Runs `work` until it settles, `timeoutMs` passes (TIMEOUT, after calling `expired`) or `signal` aborts
 * (ABORTED), whichever is first. The work itself is not cancelled: its late result is dropped.
 */
export async function withDeadline<T>(
  work: Promise<T>,
  signal: AbortSignal,
  timeoutMs: number,
  what: string,
  expired?: () => void,
): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    throw brokerError("ABORTED", `${what}: aborted`, true, signal.reason);
  }
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(brokerError("TIMEOUT", `${what}: no acknowledgement within ${timeoutMs} ms`, true));
      expired?.();
    }, timeoutMs);
    unsubscribe = onAbort(signal, () =>
      reject(brokerError("ABORTED", `${what}: aborted`, true, signal.reason)),
    );
  });
  try {
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    unsubscribe?.();
    work.catch(() => undefined);
  }
}

/** The callbacks waiting on each signal: one listener per signal, however many invocations share it. */
const abortWaiters = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `callback` when `signal` aborts; returns the unsubscribe function. The delivery engine may pass
 * one signal to thousands of concurrent invocations, which as many listeners would make Node warn of a
 * leak.
 */
function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let waiters = abortWaiters.get(signal);
  if (waiters === undefined) {
    const created = new Set<() => void>();
    waiters = created;
    abortWaiters.set(signal, created);
    signal.addEventListener(
      "abort",
      () => {
        abortWaiters.delete(signal);
        for (const waiter of created) waiter();
      },
      { once: true },
    );
  }
  const set = waiters;
  set.add(callback);
  return () => set.delete(callback);
}
