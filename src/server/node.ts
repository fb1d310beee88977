/**
 * A Busbar node: store, rule registry, group committer and HTTP front, with an orderly shutdown
 * (stop accepting, finish in-flight requests and commits, close the store).
 */
import type { AddressInfo } from "node:net";
import {
  SQS_TARGET_PREFIX,
  eventBridgeOperations,
  header,
  isSqsQueryRequest,
  serveAwsJson,
  serveSqs,
  type RawRequest,
} from "../api/index.js";
import { RuleRegistry } from "../buses/index.js";
import type { BusbarConfig } from "../config/index.js";
import { createDelivery, openSecretBox, parseAllowedNetworks } from "../delivery/index.js";
import { GroupCommitter } from "../ingest/index.js";
import type { Logger } from "../log/index.js";
import { Metrics } from "../metrics/index.js";
import { MoveTasks, QueueService } from "../queues/index.js";
import { openSqliteStore, openSqliteStoreInWorker, type Store } from "../store/index.js";
import { createAuthenticator, eventBridgeContext } from "./authentication.js";
import { ensureDefaults, loadRegistry, rootCredentials, type RootCredentials } from "./bootstrap.js";
import { createHttpServer } from "./http.js";

/** A running node. */
export interface BusbarNode {
  /** The base URL it listens on, e.g. http://127.0.0.1:8380. */
  readonly url: string;
  readonly root: RootCredentials;
  readonly store: Store;
  /** Stops accepting requests, finishes in-flight ones and their commits, and closes the store. */
  close(): Promise<void>;
}

/** Starts a node with the given configuration. */
export async function startNode(
  config: BusbarConfig,
  log: Logger,
  announceRoot: (c: RootCredentials, file: string) => void,
): Promise<BusbarNode> {
  const root = rootCredentials(config, announceRoot);
  parseAllowedNetworks(config.delivery.allowTargetNetworks); // refuses a bad value before anything opens
  const secrets = openSecretBox(config.dataDir);
  // SQLite runs on its own thread unless BUSBAR_STORE_THREAD=main (kept for comparison in benchmarks).
  const store =
    process.env.BUSBAR_STORE_THREAD === "main"
      ? openSqliteStore({ dataDir: config.dataDir })
      : await openSqliteStoreInWorker({ dataDir: config.dataDir });
  await ensureDefaults(store, config, root);
  const registry = new RuleRegistry(config.patternLimits);
  await loadRegistry(store, registry, (arn, e) =>
    log.error({ rule: arn, err: e }, "rule pattern no longer compiles; rule skipped"),
  );
  const queues = new QueueService({ store, region: config.region, receiptKey: root.secretAccessKey });
  const metrics = new Metrics();
  const delivery = createDelivery({
    store,
    registry,
    queues,
    secrets,
    metrics,
    log,
    config: config.delivery,
  });
  // Deliveries go to the engine from memory as soon as their commit is durable.
  const committer = new GroupCommitter(store, (records) => delivery.engine.dispatch(records));
  delivery.attach(committer);
  await delivery.engine.start();
  const authenticate = createAuthenticator(store, config);
  const eventBridge = {
    store,
    registry,
    committer,
    config,
    secrets,
    signingSecrets: delivery.signingSecrets,
  };
  const moveTasks = new MoveTasks(queues);
  await moveTasks.resume(await store.listActiveMoveTasks());
  const onInternalError = (err: unknown, operation: string) =>
    log.error({ err, operation }, "internal error");
  let accepting = true;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const api = async (request: RawRequest) => {
    inFlight++;
    try {
      const target = header(request, "x-amz-target");
      if (target?.startsWith(SQS_TARGET_PREFIX) === true || isSqsQueryRequest(request)) {
        return await serveSqs(request, {
          authenticate: (r) => authenticate(r, "sqs"),
          queues,
          moveTasks,
          region: config.region,
          onInternalError,
        });
      }
      return await serveAwsJson(request, eventBridgeOperations, {
        authenticate: async (r) => eventBridgeContext(await authenticate(r, "events"), eventBridge),
        onInternalError,
      });
    } finally {
      if (--inFlight === 0) idle?.();
    }
  };
  const server = createHttpServer({
    maxBodyBytes: config.maxBodyBytes,
    api,
    ready: () => accepting,
    metrics: () => metrics.render(),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info(
    { url, dataDir: config.dataDir, account: config.accountId, region: config.region },
    "busbar listening",
  );

  const retention = setInterval(() => {
    store
      .deleteEventsBefore(Date.now() - config.eventRetentionMs)
      .then((n) => n > 0 && log.info({ deleted: n }, "event log retention"))
      .catch((err: unknown) => log.error({ err }, "event log retention failed"));
  }, 60_000);
  retention.unref();
  const sweep = setInterval(() => {
    queues
      .sweep()
      .then((n) => n > 0 && log.info({ deleted: n }, "queue message retention"))
      .catch((err: unknown) => log.error({ err }, "queue message retention failed"));
  }, 60_000);
  sweep.unref();

  return {
    url,
    root,
    store,
    async close() {
      if (!accepting) return;
      accepting = false;
      clearInterval(retention);
      clearInterval(sweep);
      moveTasks.close();
      queues.close(); // long polls answer now, with what they have (nothing)
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
      await committer.drain();
      await delivery.close(); // attempts in flight finish (or stay pending for the next start)
      server.closeAllConnections();
      await closed;
      await store.close();
      log.info("busbar stopped");
    },
  };
}
