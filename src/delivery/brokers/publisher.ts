/**
 * What each broker module implements, and the settings they share.
 */
import type { Invocation } from "../types.js";
import type { BrokerGuard } from "./network.js";
import type { PoolStats } from "./pool.js";
import type { BrokerTarget } from "./uri.js";

/** The name Busbar's connections carry on the broker (NATS name, AMQP connection_name, Redis CLIENT SETNAME, MQTT client id prefix). */
export const CONNECTION_NAME = "busbar";

/** The fully-defaulted options every publisher receives. */
export interface PublisherSettings {
  /** Longest wait for a connection or for the broker's acknowledgement, in milliseconds. */
  readonly timeoutMs: number;
  /** A connection unused for this long is closed, in milliseconds. */
  readonly idleTimeoutMs: number;
  /** Attempts a RESOURCE_NOT_FOUND or UNROUTABLE failure is retried for before it is final. */
  readonly resourceNotFoundAttempts: number;
  /** An AMQP channel with no publish for this long is closed, in milliseconds. */
  readonly channelIdleMs: number;
  /** Where connections may go (network.ts); anywhere without it. */
  readonly guard?: BrokerGuard | undefined;
}

/** Publishes invocations to targets of one broker kind over pooled connections. */
export interface BrokerPublisher<T extends BrokerTarget> {
  /**
   * Publishes `invocation.payload` to `target`; resolves once the broker acknowledged it.
   * @param expired aborts when the attempt's deadline has passed: its connection is then dropped
   *   (see {@link ConnectionPool.use}).
   * @throws {DeliveryError} classified (the caller adds the deadline).
   */
  publish(target: T, invocation: Invocation, expired?: AbortSignal): Promise<void>;
  /** Counters of the connection pool. */
  stats(): PoolStats;
  /** Closes every pooled connection. */
  close(): Promise<void>;
}

/**
 * A connect is given up (by the pool, and by the client library's own connect timeout) this long after
 * the attempt's deadline, so the deadline fires first (TIMEOUT) and the abandoned connect ends soon after.
 */
export const CONNECT_GRACE_MS = 1_000;

/** How long a connect may take: the pool's connect deadline, and the one handed to a client library. */
export function connectTimeoutMs(settings: PublisherSettings): number {
  return settings.timeoutMs + CONNECT_GRACE_MS;
}

/** Whether a RESOURCE_NOT_FOUND or UNROUTABLE failure of this attempt is still worth retrying. */
export function retryMissingResource(invocation: Invocation, settings: PublisherSettings): boolean {
  return invocation.attempt + 1 < settings.resourceNotFoundAttempts;
}

/** A client library loaded on first use; `loaded()` is what it resolved to, once it has. */
export interface LazyLibrary<T> {
  (): Promise<T>;
  loaded(): T | undefined;
}

/**
 * Loads a broker's client library on first use rather than at start-up: a node that publishes to no
 * broker of a kind never loads its client (the four together cost ~0.3 s and tens of MB of every
 * start). A publish's errors are classified only after its connection was tried, so by then
 * `loaded()` holds the library and its error classes.
 */
export function onFirstUse<T>(load: () => Promise<T>): LazyLibrary<T> {
  let value: T | undefined;
  let loading: Promise<T> | undefined;
  const get = (): Promise<T> =>
    (loading ??= load().then((v) => {
      value = v;
      return v;
    }));
  return Object.assign(get, { loaded: () => value });
}
