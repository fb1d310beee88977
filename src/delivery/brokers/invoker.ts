/**
 * The broker invoker: parses the target URI, picks the publisher of its scheme, and runs the publish
 * under the invocation's deadline.
 */
import type { AllowedNetworks } from "../http/index.js";
import type { Invocation, TargetInvoker } from "../types.js";
import { AmqpPublisher } from "./amqp.js";
import { brokerError, withDeadline } from "./errors.js";
import { MqttPublisher } from "./mqtt.js";
import { NatsPublisher } from "./nats.js";
import { brokerGuard } from "./network.js";
import type { PoolStats } from "./pool.js";
import type { PublisherSettings } from "./publisher.js";
import { RedisPublisher } from "./redis.js";
import { BrokerUriError, parseBrokerUri, type BrokerTarget } from "./uri.js";

/** @default 10_000 */
export const DEFAULT_BROKER_TIMEOUT_MS = 10_000;
/** @default 300_000 */
export const DEFAULT_BROKER_IDLE_TIMEOUT_MS = 300_000;
/** @default 3 */
export const DEFAULT_RESOURCE_NOT_FOUND_ATTEMPTS = 3;

/** Options of {@link createBrokerInvoker}. */
export interface BrokerInvokerOptions {
  /**
   * Longest wait, per attempt, for a connection and the broker's acknowledgement, in milliseconds.
   * @default 10_000
   */
  readonly timeoutMs?: number;
  /**
   * A pooled connection unused for this long is closed, in milliseconds.
   * @default 300_000
   */
  readonly idleTimeoutMs?: number;
  /**
   * Attempts a RESOURCE_NOT_FOUND (no JetStream stream, no AMQP exchange) or UNROUTABLE failure stays
   * retryable for; the failure of the last of them is final. 1 makes them final at once.
   * @default 3
   */
  readonly resourceNotFoundAttempts?: number;
  /**
   * An AMQP channel (one per exchange) with no publish for this long is closed, in milliseconds: a
   * connection's channels are bounded (RabbitMQ's default is 2,047), and exchanges come and go.
   * @default 60_000
   */
  readonly channelIdleMs?: number;
  /**
   * The networks broker connections may reach besides public addresses (BUSBAR_ALLOW_TARGET_NETWORKS,
   * as for HTTP targets; see network.ts). Without it, connections go anywhere (tests, and callers that
   * vetted their URIs).
   */
  readonly allowedNetworks?: AllowedNetworks;
}

/** Connection pool counters, per broker kind. */
export type BrokerInvokerStats = Readonly<Record<BrokerTarget["kind"], PoolStats>>;

/** A {@link TargetInvoker} for broker URIs, with its pools' counters. */
export interface BrokerInvoker extends TargetInvoker {
  /** Connections open now and opened so far, per broker kind. */
  stats(): BrokerInvokerStats;
}

/** Parsed target URIs kept; the cache starts over when full. */
const TARGET_CACHE_SIZE = 10_000;

const OPTION_KEYS = [
  "timeoutMs",
  "idleTimeoutMs",
  "resourceNotFoundAttempts",
  "channelIdleMs",
  "allowedNetworks",
] as const;

/**
 * Creates the invoker of broker targets (`nats:`, `amqp:`/`amqps:`, `mqtt:`/`mqtts:`,
 * `redis:`/`rediss:` target ARNs). Connections are opened on first use; `close()` closes them.
 * @throws {RangeError} for an unknown option or an option out of range.
 */
export function createBrokerInvoker(options: BrokerInvokerOptions = {}): BrokerInvoker {
  const settings = compileOptions(options);
  const publishers = {
    nats: new NatsPublisher(settings),
    amqp: new AmqpPublisher(settings),
    mqtt: new MqttPublisher(settings),
    redis: new RedisPublisher(settings),
  };
  const targets = new TargetCache();
  let closed = false;

  return {
    async invoke(invocation: Invocation, signal: AbortSignal): Promise<void> {
      const target = targets.get(invocation.target.arn);
      if (closed) throw brokerError("ABORTED", `publish to ${target.display}: the invoker is closed`, true);
      const expiry = new AbortController();
      const work = publish(publishers, target, invocation, expiry.signal);
      await withDeadline(
        work,
        signal,
        settings.timeoutMs,
        `${target.kind} publish to ${target.display}`,
        () => expiry.abort(),
      );
    },
    stats(): BrokerInvokerStats {
      return {
        nats: publishers.nats.stats(),
        amqp: publishers.amqp.stats(),
        mqtt: publishers.mqtt.stats(),
        redis: publishers.redis.stats(),
      };
    },
    async close(): Promise<void> {
      closed = true;
      await Promise.all(Object.values(publishers).map((p) => p.close()));
    },
  };
}

function publish(
  publishers: {
    nats: NatsPublisher;
    amqp: AmqpPublisher;
    mqtt: MqttPublisher;
    redis: RedisPublisher;
  },
  target: BrokerTarget,
  invocation: Invocation,
  expired: AbortSignal,
): Promise<void> {
  switch (target.kind) {
    case "nats":
      return publishers.nats.publish(target, invocation, expired);
    case "amqp":
      return publishers.amqp.publish(target, invocation, expired);
    case "mqtt":
      return publishers.mqtt.publish(target, invocation, expired);
    case "redis":
      return publishers.redis.publish(target, invocation, expired);
  }
}

/** Parsed target URIs, so a busy target is not parsed on every invocation. */
class TargetCache {
  readonly #parsed = new Map<string, BrokerTarget>();

  /**
   * The parsed target.
   * @throws {DeliveryError} INVALID_PARAMETER, final, for a URI that is not a valid broker target.
   */
  get(uri: string): BrokerTarget {
    const cached = this.#parsed.get(uri);
    if (cached !== undefined) return cached;
    let target: BrokerTarget;
    try {
      target = parseBrokerUri(uri);
    } catch (error) {
      if (!(error instanceof BrokerUriError)) throw error;
      throw brokerError("INVALID_PARAMETER", `invalid broker target: ${error.message}`, false);
    }
    // Targets come from PutTargets, so the set is bounded in practice; the cap guards the rest.
    if (this.#parsed.size >= TARGET_CACHE_SIZE) this.#parsed.clear();
    this.#parsed.set(uri, target);
    return target;
  }
}

/** @default 60000 — see {@link BrokerInvokerOptions.channelIdleMs}. */
export const DEFAULT_CHANNEL_IDLE_MS = 60_000;

function compileOptions(options: BrokerInvokerOptions): PublisherSettings {
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw new RangeError(`unknown broker invoker option ${key} (known: ${OPTION_KEYS.join(", ")})`);
    }
  }
  const settings = {
    timeoutMs: options.timeoutMs ?? DEFAULT_BROKER_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_BROKER_IDLE_TIMEOUT_MS,
    resourceNotFoundAttempts: options.resourceNotFoundAttempts ?? DEFAULT_RESOURCE_NOT_FOUND_ATTEMPTS,
    channelIdleMs: options.channelIdleMs ?? DEFAULT_CHANNEL_IDLE_MS,
  };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`broker invoker option ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  const guard = options.allowedNetworks === undefined ? undefined : brokerGuard(options.allowedNetworks);
  return Object.freeze({ ...settings, guard });
}
