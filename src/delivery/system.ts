/**
 * Puts delivery together for a node: one invoker per target kind behind a router (adding a kind
 * touches its folder and one line here), the dead-letter sender, the signing secrets of webhooks,
 * and the engine.
 */
import type { RuleRegistry } from "../buses/index.js";
import type { DeliveryConfig } from "../config/index.js";
import type { GroupCommitter } from "../ingest/index.js";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { QueueService } from "../queues/index.js";
import { type DeliveryScope, type Store, sweepInSteps } from "../store/index.js";
import { createBrokerInvoker, isBrokerUri } from "./brokers/index.js";
import { BusTargetInvoker } from "./bus-target.js";
import { DeliveryEngine, targetKey } from "./engine.js";
import {
  HttpClient,
  createApiDestinationInvoker,
  createWebhookInvoker,
  isApiDestinationArn,
  isWebhookArn,
  type AllowedNetworks,
  type ResolvedApiDestination,
} from "./http/index.js";
import { DeadLetters, QueueTargetInvoker } from "./queue-target.js";
import { shownTargetArn } from "./shown-arn.js";
import { readAuthParameters, type SecretBox } from "./secrets.js";
import { SigningSecrets } from "./signing-secrets.js";
import { TARGET_REMOVED, type TargetInvoker } from "./types.js";

/** What delivery needs from the node. */
export interface DeliveryDependencies {
  readonly store: Store;
  readonly registry: RuleRegistry;
  readonly queues: QueueService;
  readonly secrets: SecretBox;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly config: DeliveryConfig;
  /** BUSBAR_ALLOW_TARGET_NETWORKS, parsed (`parseAllowedNetworks`) before the node opens anything. */
  readonly allowedNetworks: AllowedNetworks;
  /** Told of each failure of the store behind delivery's own writes and walks. */
  readonly onStoreFailure?: (err: unknown) => void;
}

/** A node's delivery: the engine, and what the API needs of it. */
export interface Delivery {
  readonly engine: DeliveryEngine;
  readonly signingSecrets: SigningSecrets;
  /** Gives the engine the committer bus targets commit through (made after the engine, which it feeds). */
  attach(committer: GroupCommitter): void;
  /**
   * Drops what delivery keeps of API destinations and their connections: one of them changed; an
   * updated destination's rate applies at once to the calls waiting for their turns.
   */
  forgetApiDestinations(updated?: {
    readonly arn: string;
    readonly invocationRateLimitPerSecond: number;
  }): void;
  /**
   * Drops the pending deliveries of a deleted bus or rule or of removed targets, held and stored, so
   * that none reaches what later takes the same names.
   */
  dropDeliveries(scope: DeliveryScope, options?: { readonly keepMetrics?: boolean }): Promise<void>;
  close(): Promise<void>;
}

const EVENT_BUS_ARN = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\//;
const QUEUE_ARN = /^arn:aws[a-z-]*:sqs:/;
const API_DESTINATION = /^arn:aws[a-z-]*:events:[a-z0-9-]+:(\d{12}):api-destination\/([\w.-]+)/;
const CONNECTION = /^arn:aws[a-z-]*:events:[a-z0-9-]+:(\d{12}):connection\/([\w.-]+)/;
/** Pending deliveries one store call looks at when a bus, rule or target goes. */
const DROP_SCAN_LIMIT = 1000;

/** How long a resolved API destination (and its decrypted connection) is reused. */
const RESOLVE_CACHE_MS = 1000;

/** Builds the delivery of a node. */
export function createDelivery(deps: DeliveryDependencies): Delivery {
  const { store, registry, queues, secrets, metrics, log, config, allowedNetworks } = deps;
  const http = new HttpClient({ allowedNetworks, timeoutMs: config.targetTimeoutMs });
  const signingSecrets = new SigningSecrets(store, secrets);
  let committer: GroupCommitter | undefined;

  const resolved = new Map<string, { at: number; value: ResolvedApiDestination | undefined }>();
  const resolve = async (arn: string): Promise<ResolvedApiDestination | undefined> => {
    const hit = resolved.get(arn);
    if (hit !== undefined && Date.now() - hit.at < RESOLVE_CACHE_MS) return hit.value;
    const m = API_DESTINATION.exec(arn);
    let value: ResolvedApiDestination | undefined;
    const destination =
      m === null ? undefined : await store.getApiDestination(m[1] as string, m[2] as string);
    // A destination created again under the same name has a new ARN: the old one names nothing.
    if (destination?.arn === arn) {
      const c = CONNECTION.exec(destination.connectionArn);
      const connection = c === null ? undefined : await store.getConnection(c[1] as string, c[2] as string);
      if (connection !== undefined && connection.arn === destination.connectionArn)
        value = { destination, connection, auth: readAuthParameters(secrets, connection) };
    }
    if (resolved.size > 10_000) resolved.clear();
    resolved.set(arn, { at: Date.now(), value });
    return value;
  };

  const bus = new BusTargetInvoker(
    registry,
    (records) => {
      if (committer === undefined)
        return Promise.reject(new Error("delivery is not attached to a committer"));
      return committer.commit(records);
    },
    (accountId, busName) => store.getBus(accountId, busName),
    Date.now,
    (to, ruleName, targetId) =>
      metrics.deadLetterInvocations.labels(to.accountId, to.name, ruleName, targetId).inc(),
  );
  const queue = new QueueTargetInvoker(queues);
  const webhook = createWebhookInvoker({
    client: http,
    signingSecrets: ({ ruleArn, target }) =>
      signingSecrets.activeNow(ruleArn, target.id) ?? signingSecrets.active(ruleArn, target.id),
  });
  const apiDestination = createApiDestinationInvoker({
    client: http,
    resolve,
    timeoutMs: config.targetTimeoutMs,
  });
  const broker = createBrokerInvoker({ timeoutMs: config.targetTimeoutMs, allowedNetworks });
  const invokers: readonly TargetInvoker[] = [bus, queue, webhook, apiDestination, broker];

  const invokerFor = (arn: string): TargetInvoker | undefined => {
    if (isWebhookArn(arn)) return webhook;
    if (EVENT_BUS_ARN.test(arn)) return bus;
    if (QUEUE_ARN.test(arn)) return queue;
    if (isApiDestinationArn(arn)) return apiDestination;
    if (isBrokerUri(arn)) return broker;
    return undefined;
  };

  const engine = new DeliveryEngine({
    store,
    registry,
    invokerFor,
    // Only API destinations keep anything for a delivery (a rate-limit turn).
    ended: (deliveryId) => apiDestination.ended?.(deliveryId),
    // Logs and dead-letter messages name targets without the secrets a URI may carry.
    deadLetters: new DeadLetters(queues, shownTargetArn),
    metrics,
    log,
    backoff: { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs },
    concurrency: config.concurrency,
    targetConcurrency: config.targetConcurrency,
    maxInMemory: config.maxInMemory,
    maxInMemoryBytes: config.maxInMemoryBytes,
    holdAfterFailures: config.holdAfterFailures,
    ...(deps.onStoreFailure !== undefined && { onStoreFailure: deps.onStoreFailure }),
  });

  return {
    engine,
    signingSecrets,
    attach(c) {
      committer = c;
    },
    forgetApiDestinations(updated) {
      resolved.clear();
      if (updated !== undefined)
        apiDestination.rateChanged(updated.arn, updated.invocationRateLimitPerSecond);
    },
    async dropDeliveries(scope, options) {
      // The caller took the bus, rule or targets out of the registry already: events matched against
      // them before that may still be on their way to the store. Once those are committed and
      // dispatched, forgetting and dropping catches all of them.
      await committer?.settled();
      const held = engine.forget(scope, { keepMetrics: options?.keepMetrics === true });
      // In steps: other calls to the store run between them. What the engine held it counts as it
      // lets it go; the rest (retries waiting in the store, what did not fit in memory) is counted here.
      await sweepInSteps(async (cursor) => {
        const step = await store.dropDeliveries(scope, DROP_SCAN_LIMIT, cursor);
        for (const { ruleName, targetId, count } of step.byTarget) {
          const key = targetKey(ruleName, targetId);
          const inMemory = Math.min(count, held.get(key) ?? 0);
          if (inMemory > 0) held.set(key, (held.get(key) ?? 0) - inMemory);
          if (count > inMemory)
            metrics.invocationsDropped
              .labels(scope.accountId, scope.busName, ruleName, targetId, TARGET_REMOVED)
              .inc(count - inMemory);
        }
        return step;
      });
    },
    async close() {
      await engine.close();
      await Promise.allSettled(invokers.map((i) => i.close()));
      await http.close();
    },
  };
}
