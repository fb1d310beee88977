/**
 * A Busbar node: store, rule registry, group committer and HTTP front, with an orderly shutdown
 * (stop accepting, finish in-flight requests and commits, close the store).
 */
import { readFileSync, statSync, statfsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
import {
  eventBridgeOperations,
  localSqsOperations,
  sqsAuthFailure,
  sqsOperations,
  type Operation,
} from "../api/index.js";
import { regionOf } from "../accounts/index.js";
import { AuthError } from "../auth/index.js";
import { RuleRegistry } from "../buses/index.js";
import type { BusbarConfig } from "../config/index.js";
import { countAccepted, createDelivery, parseAllowedNetworks } from "../delivery/index.js";
import { AccountRate, GroupCommitter } from "../ingest/index.js";
import { RepeatingFailure, type Logger } from "../log/index.js";
import { Metrics } from "../metrics/index.js";
import { MoveTasks, QueueService, ReceiveRoom } from "../queues/index.js";
import {
  DEFAULT_SQLITE_FILE_NAME,
  SCHEMA_VERSION,
  SWEEP_SCAN_LIMIT,
  openSqliteStoreInThread,
  openSqliteStoreInWorker,
  DiskFloor,
  floorGuarded,
  measureDataDir,
  schemaVersionOfFile,
  sweepInSteps,
  RESERVE_BYTES,
  RESERVE_FILE_NAME,
  makeReserve,
  releaseReserveIfFull,
  type DeliveryScope,
  type Store,
} from "../store/index.js";
import { routeApi } from "./api-router.js";
import { createAuthenticator, createKeyLookup, eventBridgeContext, principalFor } from "./authentication.js";
import {
  checkedSecretBox,
  ensureDefaults,
  givenRootCredentials,
  loadRegistry,
  markInstallation,
  newRootCredentials,
  receiptKey,
  refuseLostDatabase,
  type RootCredentials,
} from "./bootstrap.js";
import { startFront } from "./front/index.js";
import { listenOnMain, type Listener } from "./http.js";
import { metricsScrape } from "./metrics-scrape.js";

/** A running node. */
export interface BusbarNode {
  /** The base URL it listens on, e.g. http://127.0.0.1:8380. */
  readonly url: string;
  readonly root: RootCredentials;
  readonly store: Store;
  /**
   * Answers `/readyz` with 503 from now on while it goes on serving (the start of a stop delayed by
   * BUSBAR_SHUTDOWN_DELAY_MS, for load balancers to take the node out first).
   */
  unready(): void;
  /** Stops accepting requests, finishes in-flight ones and their commits, and closes the store. */
  close(): Promise<void>;
  /**
   * Resolves, with the reason, when the node cannot go on and should be stopped: its database file
   * was removed or replaced while it ran (a `rm -rf` of the data directory), so every write it
   * acknowledged from then on would be lost.
   */
  readonly failed: Promise<string>;
}

/** How long a node reports itself not ready (/readyz 503) after its store failed a call. */
export const STORE_FAILURE_UNREADY_MS = 5000;

/** Where cloud hosts (AWS, GCP, Azure…) serve an instance's metadata and credentials. */
const CLOUD_METADATA_ADDRESS = "169.254.169.254";

/** How often a node checks that its database file is still the one it opened. */
export const DATABASE_CHECK_MS = 1000;

/** A file's identity (device and inode), or "missing". */
function fileIdentity(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return "missing";
  }
}

/** Starts a node with the given configuration. */
export async function startNode(
  config: BusbarConfig,
  log: Logger,
  announceRoot: (c: RootCredentials, file: string) => void,
): Promise<BusbarNode> {
  // A port in use, or an address not of this machine, is refused before the data directory is made,
  // or root credentials printed, for a start that could not listen.
  await probeListen(config.host, config.port);
  // Before anything is read or written there: a second server on the directory is refused.
  const lock = lockDataDir(config.dataDir);
  try {
    return await startLocked(config, log, announceRoot, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

/**
 * Listens on the address and lets go at once (port 0, any free port, is not tried). The real listen
 * comes after the store has opened; another process could take the port in between, which that
 * listen then reports.
 */
async function probeListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** The process's (soft) limit of open files, from /proc/self/limits; undefined where unknown or unlimited. */
function openFileLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = Number(line?.slice("Max open files".length).trim().split(/\s+/)[0]);
    return Number.isSafeInteger(soft) && soft > 0 ? soft : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Delivery's invocations in flight, within half the open-file limit: each holds a socket, and the
 * other half is for clients' connections, the store's files and broker connections. Past the limit,
 * every accept and every file the store opens fails (found with a limit of 128 and targets that never
 * answer). Node raises its soft limit to the hard one at start, so only a low hard limit lowers it.
 */
export function deliveryConcurrencyWithin(configured: number, limit: number | undefined): number {
  if (limit === undefined) return configured;
  return Math.min(configured, Math.max(8, Math.floor(limit / 2)));
}

/** Whether a listen address is reachable from this machine only. */
function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function startLocked(
  config: BusbarConfig,
  log: Logger,
  announceRoot: (c: RootCredentials, file: string) => void,
  lock: DataDirLock,
): Promise<BusbarNode> {
  // A credentials file that is not one is refused before anything opens; none are made yet.
  const given = givenRootCredentials(config);
  // Refuses a bad value before anything opens.
  const allowedNetworks = parseAllowedNetworks(config.delivery.allowTargetNetworks);
  const databaseFile = join(config.dataDir, DEFAULT_SQLITE_FILE_NAME);
  // Refuses a database lost from a used directory, another program's, or a newer Busbar's, before
  // credentials are made or printed.
  refuseLostDatabase(config.dataDir, databaseFile);
  // The version before the store's opening migrates it, for the upgrade's log line.
  const schemaBefore = schemaVersionOfFile(databaseFile);
  // On a disk full to its last byte, the reserve's room lets the database open (store/reserve.ts).
  const reserve = releaseReserveIfFull(config.dataDir);
  if (reserve.outcome === "foreign" && reserve.freeBytes < RESERVE_BYTES)
    log.warn(
      { dataDir: config.dataDir, freeBytes: reserve.freeBytes },
      `the data directory's disk is full, and its reserve (${RESERVE_FILE_NAME}) is not a regular file: there is no room to remove; free some space`,
    );
  if (reserve.outcome === "released")
    log.warn(
      { dataDir: config.dataDir, freeBytes: reserve.freeBytes, releasedBytes: RESERVE_BYTES },
      `the data directory's disk is full: removed Busbar's reserve (${RESERVE_FILE_NAME}) to open the database in its room; new events, messages and changes fail until space is freed, and the next start with room makes the reserve again`,
    );
  // A migration rewrites what it must in one transaction, which takes a while on a large store
  // (2 s for 800,000 messages): said before, so that the wait does not look like a hang.
  if (schemaBefore !== undefined && schemaBefore > 0 && schemaBefore < SCHEMA_VERSION)
    log.info(
      { file: databaseFile, fromSchemaVersion: schemaBefore, toSchemaVersion: SCHEMA_VERSION },
      `upgrading ${DEFAULT_SQLITE_FILE_NAME} from schema version ${schemaBefore} to ${SCHEMA_VERSION}`,
    );
  const opened =
    config.storeThread === "main"
      ? openSqliteStoreInThread({ dataDir: config.dataDir })
      : await openSqliteStoreInWorker({ dataDir: config.dataDir });
  // Below BUSBAR_MIN_FREE_DISK_BYTES of room, new events, messages and queues are refused, so that a
  // full disk never stops the receives and deletes that would empty it (store/disk-floor.ts).
  /** Counts a call the floor refused (in the metrics, once they are made). */
  let countRefusal: (tier: "data" | "config") => void = () => undefined;
  const diskFloor = new DiskFloor({
    floor: config.minFreeDiskBytes,
    onRefused: (tier) => countRefusal(tier),
    measure: measureDataDir(config.dataDir, DEFAULT_SQLITE_FILE_NAME, opened),
    onChange: (low, room, unlogged) => {
      const context = {
        dataDir: config.dataDir,
        freeBytes: room.free,
        reusableBytes: room.reusable,
        walBytes: room.wal,
        minFreeDiskBytes: config.minFreeDiskBytes,
        ...(unlogged > 0 && { changesNotLogged: unlogged }),
      };
      if (low)
        log.error(
          context,
          "the data directory is low on disk space (BUSBAR_MIN_FREE_DISK_BYTES): new events, messages and queues are refused until space is freed (changes of this are logged at most once a minute)",
        );
      else
        log.info(context, "the data directory has room again: new events, messages and queues are accepted");
    },
    onError: (err) =>
      log.warn({ err, dataDir: config.dataDir }, "measuring the data directory's free disk space failed"),
  });
  const store = floorGuarded(opened, diskFloor);
  // The file the store opened, before anything could remove it (see the watchdog below).
  const databaseIdentity = fileIdentity(databaseFile);
  if (schemaBefore !== undefined && schemaBefore > 0 && schemaBefore < SCHEMA_VERSION) {
    log.info(
      { file: databaseFile, fromSchemaVersion: schemaBefore, toSchemaVersion: SCHEMA_VERSION },
      `upgraded ${DEFAULT_SQLITE_FILE_NAME} from schema version ${schemaBefore} to ${SCHEMA_VERSION}: older versions of Busbar no longer open it`,
    );
  }
  let root: RootCredentials;
  let secrets;
  try {
    // Every ARN the directory stored names its region: a node of another would serve none of them.
    const stored = await regionOf(store);
    if (stored !== undefined && stored !== config.region) {
      throw new Error(
        `${config.dataDir} is of region ${stored} (its buses' ARNs name it), not ${config.region}: ` +
          `start with BUSBAR_REGION=${stored}`,
      );
    }
    markInstallation(config.dataDir);
    // Its files are the owner's alone (0600), but a directory every user may write lets them be
    // replaced: root-credentials.json among them.
    if ((statSync(config.dataDir).mode & 0o002) !== 0) {
      log.warn(
        { dataDir: config.dataDir },
        "the data directory is writable by every user, who could replace its files (root-credentials.json among them): chmod 700 it",
      );
    }
    secrets = await checkedSecretBox(store, config.dataDir, log);
    root = given ?? newRootCredentials(config, announceRoot);
  } catch (e) {
    await store.close();
    throw e;
  }
  await ensureDefaults(store, config, root, log);
  // Measured once the node's own first writes are made: a node starts below its floor too, to be drained.
  await diskFloor.start();
  try {
    const made = makeReserve(config.dataDir).outcome;
    if (made === "made")
      log.info(
        { dataDir: config.dataDir, bytes: RESERVE_BYTES },
        `made the data directory's reserve (${RESERVE_FILE_NAME}): room to open the database on a full disk`,
      );
    else if (made === "foreign")
      log.warn(
        { dataDir: config.dataDir },
        `${RESERVE_FILE_NAME} in the data directory is not a regular file, so the data directory keeps no reserve to open its database on a full disk: remove it, and the next start makes the reserve`,
      );
  } catch (err) {
    log.warn({ err, dataDir: config.dataDir }, "making the data directory's reserve failed");
  }
  const disk = statfsSync(config.dataDir);
  if (config.minFreeDiskBytes > disk.blocks * disk.bsize) {
    log.warn(
      {
        dataDir: config.dataDir,
        minFreeDiskBytes: config.minFreeDiskBytes,
        fileSystemBytes: disk.blocks * disk.bsize,
      },
      "BUSBAR_MIN_FREE_DISK_BYTES is more than the data directory's whole file system: new events, messages and queues will always be refused",
    );
  }
  const registry = new RuleRegistry(config.patternLimits, config.quotas);
  await loadRegistry(store, registry, secrets, {
    badRule: (arn, e) =>
      log.error(
        { rule: arn, err: e },
        "rule pattern no longer compiles: the rule matches no new event until PutRule gives it one that does (its pending deliveries go on)",
      ),
    unopenableTarget: (arn, target, e) =>
      log.error(
        { rule: arn, target, err: e },
        "the sealed credentials of a broker target cannot be opened (was the secrets key changed?); deliveries to it will fail",
      ),
  });
  /** Messages being received and replies not yet taken, held to BUSBAR_MAX_BYTES_IN_FLIGHT (receive-room.ts). */
  const receiveRoom = new ReceiveRoom(config.maxBytesInFlight);
  const queues = new QueueService({
    store,
    region: config.region,
    receiptKey: await receiptKey(store),
    // Handles made before the directory had a key of its own (and whatever root secret it had then).
    earlierReceiptKeys: [root.secretAccessKey],
    receiveRoom,
    maxInFlight: config.queueMaxInFlight,
  });
  const metrics = new Metrics({ maxTargetsPerAccount: config.metricsMaxTargetsPerAccount });
  metrics.readDiskState(() => ({ room: diskFloor.room, low: diskFloor.low }), diskFloor.floor > 0);
  countRefusal = (tier) => metrics.diskRefusals.labels(tier).inc();
  /** Marks the node unready for a while after a failure of its store (set once readiness is wired). */
  let storeFailed: (err: unknown) => void = () => undefined;
  const limit = openFileLimit();
  const concurrency = deliveryConcurrencyWithin(config.delivery.concurrency, limit);
  if (concurrency < config.delivery.concurrency) {
    log.warn(
      { openFileLimit: limit, deliveryConcurrency: concurrency, configured: config.delivery.concurrency },
      `the open-file limit (${limit}) leaves room for ${concurrency} deliveries in flight, not BUSBAR_DELIVERY_CONCURRENCY's ${config.delivery.concurrency}: raise the limit (ulimit -n, systemd LimitNOFILE=) for more`,
    );
  }
  const delivery = createDelivery({
    store,
    registry,
    queues,
    secrets,
    metrics,
    log,
    config: { ...config.delivery, concurrency },
    allowedNetworks,
    // Delivery's own writes failing (a full disk) make the node unready too, as failing requests do.
    onStoreFailure: (err) => storeFailed(err),
  });
  // Deliveries go to the engine from memory as soon as their commit is durable.
  const committer = config.delivery.enabled
    ? new GroupCommitter(store, (records) => delivery.engine.dispatch(records))
    : new GroupCommitter(store, (records) => countAccepted(metrics, records));
  delivery.attach(committer);
  // The start-up walk of pending deliveries goes on in the background: the server listens meanwhile.
  if (config.delivery.enabled) void delivery.engine.start();
  else log.warn("BUSBAR_DELIVERY=off: events are accepted and their deliveries stay pending");
  const keys = createKeyLookup(store, config.keyCacheMs);
  /** `GET /metrics`: every account's series, or a caller's account's (metrics-scrape.ts). */
  const scrape = metricsScrape(metrics, keys, config);
  /** An access key's secret and its account, for signature checks and the bodies' room (`fresh`: not cached). */
  const credentialOf = async (
    accessKeyId: string,
    fresh = false,
  ): Promise<{ secretAccessKey: string; accountId: string } | undefined> => {
    const { key } = await keys(accessKeyId, fresh);
    return key === undefined ? undefined : { secretAccessKey: key.secretAccessKey, accountId: key.accountId };
  };
  /** Each account's quota of events a second (BUSBAR_PUT_EVENTS_PER_SECOND; 0: none). */
  const putEventsRate = new AccountRate(config.putEventsPerSecond);
  const eventBridge = {
    store,
    registry,
    committer,
    config,
    secrets,
    signingSecrets: delivery.signingSecrets,
    // A key deleted through this node stops working at once: every request's principal comes from
    // this lookup (a front thread may still hold the secret for a while; it never authorizes).
    keyDeleted: (accessKeyId: string) => keys.forget(accessKeyId),
    // DeauthorizeConnection and the like take effect at the next invocation, not after delivery's cache.
    // An updated rate applies to the calls waiting for their turns at once.
    apiDestinationsChanged: (updated?: {
      readonly arn: string;
      readonly invocationRateLimitPerSecond: number;
    }) => delivery.forgetApiDestinations(updated),
    dropDeliveries: (scope: DeliveryScope, options?: { readonly keepMetrics?: boolean }) =>
      delivery.dropDeliveries(scope, options),
    countPutEvents: (accountId: string, entries: number, failedCodes: readonly string[]): void => {
      metrics.putEventsEntries.labels(accountId).inc(entries);
      for (const code of failedCodes) metrics.putEventsFailedEntries.labels(accountId, code).inc();
    },
    ...(putEventsRate.perSecond > 0 && {
      takePutEvents: (accountId: string, n: number): boolean => {
        if (putEventsRate.take(accountId, n)) return true;
        metrics.putEventsThrottled.labels(accountId).inc(n);
        return false;
      },
    }),
  };
  const moveTasks = new MoveTasks(queues);
  await moveTasks.resume(await store.listActiveMoveTasks());
  /** The principal of a key whose signature was verified, its authentication failures in SQS's words. */
  const sqsPrincipal = async (accessKeyId: string) => {
    try {
      return await principalFor(keys, accessKeyId, config);
    } catch (e) {
      throw e instanceof AuthError ? sqsAuthFailure(e) : e;
    }
  };
  const sqsOperation = localSqsOperations({
    queues,
    moveTasks,
    region: config.region,
    callerNow: sqsPrincipal,
  });
  let accepting = true;
  /** Told to stop, with a delay: still serving, not ready. */
  let leaving = false;
  let setReady: (ready: boolean) => void = () => undefined;
  // The store's failures repeat on every request while they last (a disk filled by another process):
  // one line a minute for them, with a count, not one per request (~180 lines, 138 KB, a second
  // with 8 clients), whose log may share the full disk.
  const storeFailures = new RepeatingFailure(log, {
    // Not "internal error": a disk full to its last byte is the likeliest, and not Busbar's fault.
    failed:
      "the store failed: the requests that need it fail until it works again (logged at most once a minute)",
    recovered: `the store's failures have stopped (none for ${STORE_FAILURE_UNREADY_MS / 1000} s)`,
  });
  // A store that fails calls (a full disk, say) makes the node unready for a while after each
  // failure, so that a load balancer sends the traffic elsewhere; it is ready again once calls
  // have stopped failing for that long, and the requests' failures are then told to have stopped.
  let storeFailedAt = -Infinity;
  let readyAgain: NodeJS.Timeout | undefined;
  const storeHealthy = (): boolean => Date.now() - storeFailedAt >= STORE_FAILURE_UNREADY_MS;
  storeFailed = (err) => {
    if ((err as { name?: unknown } | null)?.name !== "StoreFailureError") return;
    storeFailedAt = Date.now();
    setReady(false);
    clearTimeout(readyAgain);
    readyAgain = setTimeout(() => {
      storeFailures.succeeded();
      if (accepting && !leaving) setReady(true);
    }, STORE_FAILURE_UNREADY_MS);
    readyAgain.unref();
  };
  const onInternalError = (err: unknown, operation: string, requestId?: string) => {
    const context = { operation, ...(requestId !== undefined && { requestId }) };
    if ((err as { name?: unknown } | null)?.name === "StoreFailureError") storeFailures.failed(err, context);
    else log.error({ err, ...context }, "internal error");
    storeFailed(err);
  };
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const track = async <T>(work: () => Promise<T>): Promise<T> => {
    inFlight++;
    try {
      return await work();
    } finally {
      if (--inFlight === 0) idle?.();
    }
  };

  let listener: Listener;
  if (config.httpThreads === 0) {
    const authenticate = createAuthenticator(keys, config);
    const api = routeApi({
      events: {
        operations: eventBridgeOperations,
        authenticate: async (r) => eventBridgeContext(await authenticate(r, "events"), eventBridge),
        onInternalError,
      },
      sqs: { authenticate: (r) => authenticate(r, "sqs"), operation: sqsOperation, onInternalError },
    });
    listener = await listenOnMain(
      config,
      (request) => track(() => api(request)),
      () => accepting && !leaving && storeHealthy(),
      scrape,
      (accessKeyId) => credentialOf(accessKeyId),
      receiveRoom,
    );
  } else {
    const front = await startFront(
      {
        host: config.host,
        port: config.port,
        maxBodyBytes: config.maxBodyBytes,
        maxBytesInFlight: config.maxBytesInFlight,
        requestTimeoutMs: config.requestTimeoutMs,
        metricsToken: config.metricsToken,
        maxConnections: config.maxConnections,
        keyCacheMs: config.keyCacheMs,
        region: config.region,
        eventsOperations: Object.keys(eventBridgeOperations),
        sqsOperations: Object.keys(sqsOperations),
      },
      {
        room: receiveRoom,
        events: (op, accessKeyId, input) =>
          track(async () => {
            const principal = await principalFor(keys, accessKeyId, config);
            return (eventBridgeOperations[op] as Operation)(
              eventBridgeContext(principal, eventBridge),
              input,
            );
          }),
        sqs: (op, accessKeyId, baseUrl, input, client) =>
          track(async () => {
            const principal = await sqsPrincipal(accessKeyId);
            const operation = sqsOperation(op);
            if (operation === undefined) throw new Error(`no SQS operation ${op}`);
            return operation(principal, baseUrl, input, client);
          }),
        secret: (accessKeyId) => credentialOf(accessKeyId, true),
        metrics: scrape,
        onInternalError,
      },
      log,
    );
    listener = front;
    setReady = (ready) => front.setReady(ready);
  }
  const url = listener.url;
  log.info(
    {
      url,
      dataDir: config.dataDir,
      account: config.accountId,
      region: config.region,
      httpThreads: config.httpThreads,
      storeThread: config.storeThread,
      ...(allowedNetworks.cidrs.length > 0 && { allowTargetNetworks: allowedNetworks.cidrs }),
    },
    "busbar listening",
  );
  // The address cloud hosts answer their instance's credentials at: a target that reaches it (a
  // webhook URL any key allowed PutTargets may set) can read them.
  if (allowedNetworks.contains(CLOUD_METADATA_ADDRESS))
    log.warn(
      { allowTargetNetworks: allowedNetworks.cidrs },
      `BUSBAR_ALLOW_TARGET_NETWORKS lets targets reach ${CLOUD_METADATA_ADDRESS}, where cloud hosts serve their instance's credentials`,
    );
  if (allowedNetworks.hostBitsSet.length > 0)
    log.warn(
      { given: allowedNetworks.hostBitsSet, allowTargetNetworks: allowedNetworks.cidrs },
      "BUSBAR_ALLOW_TARGET_NETWORKS has entries with bits set past their prefix: each allows its whole network (a single host is /32 or /128)",
    );
  if (config.metricsToken === undefined && !isLoopbackHost(config.host))
    log.warn(
      { host: config.host },
      "GET /metrics answers anyone who reaches this address, with every account's bus, rule and target names: set BUSBAR_METRICS_TOKEN to need a bearer token",
    );

  // The database file removed or replaced under the server (its data directory deleted, say): SQLite
  // would go on writing to the unlinked file and every write acknowledged would be lost, so the node
  // says so and asks to be stopped (busbar serve then exits 1).
  let fail: (reason: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (fail = resolve));
  const watchdog = setInterval(() => {
    if (fileIdentity(databaseFile) === databaseIdentity) return;
    clearInterval(watchdog);
    const reason = `the database file ${databaseFile} was removed or replaced while the server ran`;
    log.fatal({ dataDir: config.dataDir }, `${reason}; stopping (what was written since is lost)`);
    fail(reason);
  }, DATABASE_CHECK_MS);
  watchdog.unref();

  // A minute whose sweep is due while the last one still runs lets it pass.
  const everyMinute = (name: string, run: () => Promise<number>): NodeJS.Timeout => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      run()
        .then((n) => n > 0 && log.info({ deleted: n }, name))
        .catch((err: unknown) => log.error({ err }, `${name} failed`))
        .finally(() => (running = false));
    }, 60_000);
    timer.unref();
    return timer;
  };
  // In steps of SWEEP_SCAN_LIMIT events, so that a minute's worth of old events (millions at a high
  // rate) never holds the store in one statement.
  const retention = everyMinute("event log retention", () => {
    const before = Date.now() - config.eventRetentionMs;
    return sweepInSteps((cursor) => store.sweepEventsBefore(before, SWEEP_SCAN_LIMIT, cursor));
  });
  const sweep = everyMinute("queue message retention", () => queues.sweep());
  // What a DeleteQueue cut short by a crash left goes now, not at the first sweep a minute on.
  queues
    .deleteRetiredQueues()
    .catch((err: unknown) => log.error({ err }, "deleting the queues a DeleteQueue left failed"));

  return {
    url,
    root,
    store,
    failed,
    unready() {
      leaving = true;
      setReady(false);
    },
    async close() {
      if (!accepting) return;
      accepting = false;
      setReady(false);
      clearInterval(watchdog);
      clearTimeout(readyAgain);
      clearInterval(retention);
      clearInterval(sweep);
      moveTasks.close();
      queues.close(); // long polls answer now, with what they have (nothing)
      const closed = listener.close(); // stop accepting; requests taken are answered
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
      await closed;
      await committer.drain();
      await delivery.close(); // attempts in flight finish (or stay pending for the next start)
      await listener.closeConnections();
      diskFloor.stop();
      await store.close();
      lock.release();
      log.info("busbar stopped");
    },
  };
}
