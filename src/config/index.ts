/**
 * Configuration, parsed and validated once at start-up into a frozen, fully defaulted object.
 * Sources, highest first: command-line flags, environment variables (`BUSBAR_*`), defaults.
 */
import { isIP } from "node:net";
import { resolve } from "node:path";
import { SECRETS_KEY_ENV, SecretBoxError, openSecretBox, parseAllowedNetworks } from "../delivery/index.js";
import { DEFAULT_PATTERN_LIMITS, resolvePatternLimits, type PatternLimits } from "../patterns/index.js";
import { DEFAULT_REGISTRY_QUOTAS, type RegistryQuotas } from "../buses/index.js";
import { DEFAULT_MAX_IN_FLIGHT } from "../queues/index.js";

/** Default listen address. */
export const DEFAULT_HOST = "127.0.0.1";
/** Default port. */
export const DEFAULT_PORT = 8380;
/** Default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = "./busbar-data";
/** Default account of a fresh installation. */
export const DEFAULT_ACCOUNT_ID = "000000000000";
/** Default region. */
export const DEFAULT_REGION = "us-east-1";
/**
 * Largest request body accepted: an SQS message or batch carries up to 1 MiB, which the query
 * protocol's form encoding may make four times as long and a little more (a binary attribute's base64
 * all `/`, each written `%2F`: 4.0 MiB and some bytes, which 4 MiB refused).
 */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

/** Default of BUSBAR_MAX_CONNECTIONS: HTTP connections served at once. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/**
 * Targets of an account that get metric series of their own, by default: ~3 MB of series and ~6 MB of
 * scrape text at most per account (each target that delivered has ~50 series, ~3 KB of memory and
 * ~6 KB of text).
 */
export const DEFAULT_METRICS_MAX_TARGETS_PER_ACCOUNT = 1000;
/** @default 256 MiB — BUSBAR_MIN_FREE_DISK_BYTES: the free disk space a node keeps under its data directory. */
export const DEFAULT_MIN_FREE_DISK_BYTES = 256 * 1024 * 1024;

/**
 * Default of BUSBAR_MAX_BYTES_IN_FLIGHT: 128 MiB of request bodies, 32 of the largest at once. A body
 * parsed takes a few times its size, so this bounds the memory requests hold to several hundred MB.
 */
export const DEFAULT_MAX_BYTES_IN_FLIGHT = 128 * 1024 * 1024;

/** Default of BUSBAR_REQUEST_TIMEOUT_MS: a minute for a request's body to arrive, as a load balancer's idle timeout. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** How long accepted events are kept in the event log. */
export const DEFAULT_EVENT_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * @default 5000 — BUSBAR_KEY_CACHE_MS: how long a node keeps an access key it looked up, so that keys
 * created or deleted in the data directory beside a running server take effect within that time.
 */
export const DEFAULT_KEY_CACHE_MS = 5_000;
/** Longest BUSBAR_KEY_CACHE_MS: an hour. */
export const MAX_KEY_CACHE_MS = 3_600_000;
/** Longest BUSBAR_SHUTDOWN_DELAY_MS: five minutes. */
export const MAX_SHUTDOWN_DELAY_MS = 300_000;

/** @default 1024 — BUSBAR_DELIVERY_CONCURRENCY: invocations in flight over all targets. */
export const DEFAULT_DELIVERY_CONCURRENCY = 1024;
/** @default 256 — BUSBAR_DELIVERY_TARGET_CONCURRENCY: invocations in flight to one target. */
export const DEFAULT_DELIVERY_TARGET_CONCURRENCY = 256;
/** @default 50000 — BUSBAR_DELIVERY_MAX_IN_MEMORY: pending deliveries held in memory; the rest wait in the store. */
export const DEFAULT_DELIVERY_MAX_IN_MEMORY = 50_000;
/**
 * @default 268435456 (256 MiB) — BUSBAR_DELIVERY_MAX_IN_MEMORY_MB in MiB: what the deliveries held in
 * memory may weigh (their events' text), whichever of the two limits comes first.
 */
export const DEFAULT_DELIVERY_MAX_IN_MEMORY_BYTES = 256 * 1024 * 1024;
/** @default 1000 — BUSBAR_RETRY_BASE_MS: the first retry waits about this long, doubling after each. */
export const DEFAULT_RETRY_BASE_MS = 1000;
/** @default 600000 — BUSBAR_RETRY_MAX_MS: no retry waits longer (Retry-After aside). */
export const DEFAULT_RETRY_MAX_MS = 600_000;
/** @default 10000 — BUSBAR_TARGET_TIMEOUT_MS: an HTTP or broker call that takes longer fails (and is retried). */
export const DEFAULT_TARGET_TIMEOUT_MS = 10_000;
/**
 * @default 10 — BUSBAR_TARGET_HOLD_AFTER_FAILURES: retryable failures of a target in a row after which
 * it is held (its deliveries wait, one attempt at a time is made); 0 never holds a target.
 */
export const DEFAULT_TARGET_HOLD_AFTER_FAILURES = 10;

/** How the delivery engine runs. */
export interface DeliveryConfig {
  /**
   * BUSBAR_DELIVERY=off: the node accepts events and commits their pending deliveries but invokes no
   * target (an accept-only node; deliveries wait in the store for a start with delivery on).
   */
  readonly enabled: boolean;
  readonly concurrency: number;
  readonly targetConcurrency: number;
  readonly maxInMemory: number;
  readonly maxInMemoryBytes: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly targetTimeoutMs: number;
  /** BUSBAR_TARGET_HOLD_AFTER_FAILURES (0: never). */
  readonly holdAfterFailures: number;
  /**
   * BUSBAR_ALLOW_TARGET_NETWORKS as given: comma-separated CIDRs of private, loopback or link-local
   * networks HTTP targets may call (none by default).
   */
  readonly allowTargetNetworks: string;
}

/** The whole configuration of a Busbar node. */
export interface BusbarConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly accountId: string;
  readonly region: string;
  /** Root credentials from the environment; when absent they are generated once and saved. */
  readonly rootAccessKeyId: string | undefined;
  readonly rootSecretAccessKey: string | undefined;
  readonly maxBodyBytes: number;
  /**
   * BUSBAR_MAX_BYTES_IN_FLIGHT: the request bodies a node holds at once, from their arrival until their
   * reply ({@link DEFAULT_MAX_BYTES_IN_FLIGHT}); past it, a request is refused with 503 and Retry-After.
   */
  readonly maxBytesInFlight: number;
  /** BUSBAR_REQUEST_TIMEOUT_MS: how long a request body may take to arrive ({@link DEFAULT_REQUEST_TIMEOUT_MS}); then 408. */
  readonly requestTimeoutMs: number;
  readonly eventRetentionMs: number;
  /** BUSBAR_KEY_CACHE_MS: how long an access key looked up is kept ({@link DEFAULT_KEY_CACHE_MS}). */
  readonly keyCacheMs: number;
  /**
   * BUSBAR_SHUTDOWN_DELAY_MS: how long a node told to stop goes on serving with `/readyz` at 503
   * before it stops accepting, so that a load balancer takes it out first (default 0).
   */
  readonly shutdownDelayMs: number;
  /**
   * BUSBAR_METRICS_TOKEN: when set, `GET /metrics` answers only a request with
   * `Authorization: Bearer <token>` (Prometheus's `authorization` scrape setting); unset, it answers
   * anyone who reaches the port.
   */
  readonly metricsToken: string | undefined;
  /**
   * BUSBAR_METRICS_MAX_TARGETS_PER_ACCOUNT: an account's targets with metric series of their own
   * (default {@link DEFAULT_METRICS_MAX_TARGETS_PER_ACCOUNT}); past them, a target counts into its bus's
   * series whose `rule` and `target` are `*`.
   */
  readonly metricsMaxTargetsPerAccount: number;
  /**
   * BUSBAR_QUEUE_MAX_IN_FLIGHT: the messages a queue may have in flight (received, not yet deleted or
   * visible again); SQS's quota, 120,000, by default. Past it, a short-polling receive of a standard
   * queue gets OverLimit, and other receives get nothing (src/queues/in-flight.ts).
   */
  readonly queueMaxInFlight: number;
  /**
   * BUSBAR_MIN_FREE_DISK_BYTES: the room for data (free disk space under the data directory, plus the
   * database's free pages) a node keeps ({@link DEFAULT_MIN_FREE_DISK_BYTES}); below it, new events,
   * messages and queues are refused with 503 while everything else goes on (src/store/disk-floor.ts).
   * 0 turns it off.
   */
  readonly minFreeDiskBytes: number;
  /**
   * BUSBAR_PUT_EVENTS_PER_SECOND: the events an account may put a second (EventBridge's per-account
   * PutEvents quota; past it, ThrottlingException); 0 (the default): no quota (src/ingest/account-rate.ts).
   */
  readonly putEventsPerSecond: number;
  /**
   * BUSBAR_MAX_CONNECTIONS: the HTTP connections served at once (past it, the one idle longest is
   * closed to make room, else the one whose request has crawled slowest, else the oldest long poll is
   * answered, else the one held back longest, else the youngest not being served of the client holding
   * the most, for a new one from a client holding at least two fewer; a new one is closed only while
   * none of these is left: see RoomMaker in src/server/http.ts).
   */
  readonly maxConnections: number;
  readonly patternLimits: PatternLimits;
  /**
   * BUSBAR_MAX_RULE_CONDITIONS, BUSBAR_MAX_RULES_PER_BUS, BUSBAR_MAX_BUSES_PER_ACCOUNT: what one account
   * may hold (PutRule and CreateEventBus refuse past them with LimitExceededException).
   */
  readonly quotas: RegistryQuotas;
  readonly delivery: DeliveryConfig;
  /**
   * BUSBAR_HTTP_THREADS: 0 (default) serves HTTP (requests, SigV4, protocol parsing, replies) on the
   * main thread, beside the operations; 1 serves it on a front thread of its own, which hands each
   * request's operation to the main thread (two more crossings between threads per request).
   */
  readonly httpThreads: number;
  /**
   * BUSBAR_STORE_THREAD: where SQLite runs. "main" runs it in the main thread with group commit and
   * its fsyncs on libuv's thread pool; "worker" (default) runs it on a thread of its own.
   */
  readonly storeThread: StoreThread;
}

/** Where the embedded store's SQLite connection runs (BUSBAR_STORE_THREAD). */
export const StoreThread = { Main: "main", Worker: "worker" } as const;
export type StoreThread = (typeof StoreThread)[keyof typeof StoreThread];

/** Default of BUSBAR_STORE_THREAD. */
export const DEFAULT_STORE_THREAD: StoreThread = StoreThread.Worker;

/** Overrides given on the command line. */
export interface ConfigFlags {
  readonly host?: string | undefined;
  readonly port?: string | number | undefined;
  readonly dataDir?: string | undefined;
}

/** A configuration value that cannot be used. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * A whole number from `text`, which must be decimal digits only (no sign, blank, exponent or `0x`).
 * @param name the flag or environment variable it came from, for the message
 * @throws ConfigError naming it and the range otherwise.
 */
export function parseInteger(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

/** An environment variable's value; an empty variable counts as unset. */
export function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === "" ? undefined : value;
}

/**
 * The value of a command-line flag, else of its environment variable (empty counts as unset), with
 * the name of where it came from; `undefined` when neither is given. An empty flag is refused: it is
 * a mistake (an unset shell variable), never a request for a default.
 */
function flagOrSetting(
  flag: string,
  flagValue: string | undefined,
  env: NodeJS.ProcessEnv,
  name: string,
): { value: string; from: string } | undefined {
  if (flagValue !== undefined) {
    if (flagValue === "") throw new ConfigError(`${flag} must not be empty`);
    return { value: flagValue, from: flag };
  }
  const value = setting(env, name);
  return value === undefined ? undefined : { value, from: name };
}

/** The data directory, absolute: `--data-dir`, else BUSBAR_DATA_DIR, else {@link DEFAULT_DATA_DIR}. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flagOrSetting("--data-dir", flag, env, "BUSBAR_DATA_DIR")?.value ?? DEFAULT_DATA_DIR);
}

/** The region: BUSBAR_REGION, else {@link DEFAULT_REGION}; `flag` (a `--region`) first when given. */
export function resolveRegion(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const given = flagOrSetting("--region", flag, env, "BUSBAR_REGION");
  if (given === undefined) return DEFAULT_REGION;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(given.value))
    throw new ConfigError(`${given.from} is not a region name: "${given.value}"`);
  return given.value;
}

/**
 * The listen address: an IP address or a host name (letters, digits, `-` and `_` in dot-separated
 * labels). Dotted numbers that are no IPv4 address (`999.1.1.1`) are refused here rather than
 * looked up.
 */
function listenHost(flags: ConfigFlags, env: NodeJS.ProcessEnv): string {
  const given = flagOrSetting("--host", flags.host, env, "BUSBAR_HOST");
  if (given === undefined) return DEFAULT_HOST;
  const { value, from } = given;
  const name =
    /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;
  if (isIP(value) === 0 && (!name.test(value) || /^[\d.]+$/.test(value)))
    throw new ConfigError(`${from} must be an IP address or a host name, got "${value}"`);
  return value;
}

/**
 * BUSBAR_SECRETS_KEY, when set, is checked here, before anything is made in the data directory (the
 * key file is only read or made when the variable is not set).
 */
function checkSecretsKey(dataDir: string, env: NodeJS.ProcessEnv): void {
  if (setting(env, SECRETS_KEY_ENV) === undefined) return;
  try {
    openSecretBox(dataDir, env);
  } catch (e) {
    throw e instanceof SecretBoxError ? new ConfigError(e.message, { cause: e }) : e;
  }
}

/**
 * Reads and validates the configuration, every setting before anything is made or read in the data
 * directory.
 * @throws ConfigError naming the flag or environment variable that cannot be used.
 */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): BusbarConfig {
  const host = listenHost(flags, env);
  const givenPort = flagOrSetting(
    "--port",
    flags.port === undefined ? undefined : String(flags.port),
    env,
    "BUSBAR_PORT",
  );
  const port =
    givenPort === undefined ? DEFAULT_PORT : parseInteger(givenPort.from, givenPort.value, 0, 65535);
  const dataDir = resolveDataDir(flags.dataDir, env);
  const accountId = setting(env, "BUSBAR_ACCOUNT_ID") ?? DEFAULT_ACCOUNT_ID;
  if (!/^\d{12}$/.test(accountId))
    throw new ConfigError(`BUSBAR_ACCOUNT_ID must be 12 digits, got "${accountId}"`);
  const region = resolveRegion(undefined, env);
  const keyId = setting(env, "BUSBAR_ROOT_ACCESS_KEY_ID");
  const secret = setting(env, "BUSBAR_ROOT_SECRET_ACCESS_KEY");
  if ((keyId === undefined) !== (secret === undefined)) {
    throw new ConfigError("Set both BUSBAR_ROOT_ACCESS_KEY_ID and BUSBAR_ROOT_SECRET_ACCESS_KEY, or neither");
  }
  if (keyId !== undefined && !/^[A-Z0-9]{16,128}$/.test(keyId)) {
    throw new ConfigError("BUSBAR_ROOT_ACCESS_KEY_ID must be 16 to 128 upper-case letters and digits");
  }
  if (secret !== undefined && secret.length < 16)
    throw new ConfigError("BUSBAR_ROOT_SECRET_ACCESS_KEY must be at least 16 characters");
  const read = (name: string, def: number, min: number, max: number): number => {
    const v = setting(env, name);
    return v === undefined ? def : parseInteger(name, v, min, max);
  };
  checkSecretsKey(dataDir, env);
  const maxBodyBytes = read("BUSBAR_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024, 64 * 1024 * 1024);
  return Object.freeze({
    host,
    port,
    dataDir,
    accountId,
    region,
    rootAccessKeyId: keyId,
    rootSecretAccessKey: secret,
    maxBodyBytes,
    maxBytesInFlight: bytesInFlight(read, maxBodyBytes),
    requestTimeoutMs: read("BUSBAR_REQUEST_TIMEOUT_MS", DEFAULT_REQUEST_TIMEOUT_MS, 100, 300_000),
    eventRetentionMs:
      // 0: an event is kept only while a delivery of it is pending (the sweep runs every minute).
      read("BUSBAR_EVENT_RETENTION_HOURS", DEFAULT_EVENT_RETENTION_MS / 3_600_000, 0, 24 * 365) * 3_600_000,
    keyCacheMs: read("BUSBAR_KEY_CACHE_MS", DEFAULT_KEY_CACHE_MS, 0, MAX_KEY_CACHE_MS),
    shutdownDelayMs: read("BUSBAR_SHUTDOWN_DELAY_MS", 0, 0, MAX_SHUTDOWN_DELAY_MS),
    metricsToken: metricsToken(setting(env, "BUSBAR_METRICS_TOKEN")),
    metricsMaxTargetsPerAccount: read(
      "BUSBAR_METRICS_MAX_TARGETS_PER_ACCOUNT",
      DEFAULT_METRICS_MAX_TARGETS_PER_ACCOUNT,
      0,
      1_000_000,
    ),
    queueMaxInFlight: read("BUSBAR_QUEUE_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT, 1, 100_000_000),
    putEventsPerSecond: read("BUSBAR_PUT_EVENTS_PER_SECOND", 0, 0, 100_000_000),
    minFreeDiskBytes: read(
      "BUSBAR_MIN_FREE_DISK_BYTES",
      DEFAULT_MIN_FREE_DISK_BYTES,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    maxConnections: read("BUSBAR_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, 1, 1_000_000),
    // EventBridge's "Event pattern size" quota: 2,048 characters, adjustable to 4,096 (PutRule's most).
    patternLimits: resolvePatternLimits({
      maxPatternLength: read("BUSBAR_MAX_PATTERN_LENGTH", DEFAULT_PATTERN_LIMITS.maxPatternLength, 1, 4096),
    }),
    quotas: Object.freeze({
      maxRuleConditions: read(
        "BUSBAR_MAX_RULE_CONDITIONS",
        DEFAULT_REGISTRY_QUOTAS.maxRuleConditions,
        1,
        100_000_000,
      ),
      maxRulesPerBus: read("BUSBAR_MAX_RULES_PER_BUS", DEFAULT_REGISTRY_QUOTAS.maxRulesPerBus, 1, 1_000_000),
      maxBusesPerAccount: read(
        "BUSBAR_MAX_BUSES_PER_ACCOUNT",
        DEFAULT_REGISTRY_QUOTAS.maxBusesPerAccount,
        1,
        1_000_000,
      ),
    }),
    delivery: Object.freeze(deliveryConfig(env, read)),
    // More than one front thread needs a listening socket per thread (SO_REUSEPORT, server.listen's
    // reusePort from Node 22.12); Node 20 has no way to share one safely between threads.
    httpThreads: read("BUSBAR_HTTP_THREADS", 0, 0, 1),
    storeThread: storeThread(setting(env, "BUSBAR_STORE_THREAD")),
  });
}

/**
 * BUSBAR_MAX_BYTES_IN_FLIGHT, at least BUSBAR_MAX_BODY_BYTES: a smaller bound would let a body of the
 * largest size in only when no other request holds any (a long poll holds its body for up to 20 s).
 */
function bytesInFlight(
  read: (name: string, def: number, min: number, max: number) => number,
  maxBodyBytes: number,
): number {
  const value = read(
    "BUSBAR_MAX_BYTES_IN_FLIGHT",
    Math.max(DEFAULT_MAX_BYTES_IN_FLIGHT, maxBodyBytes),
    1024,
    2 ** 40,
  );
  if (value < maxBodyBytes) {
    throw new ConfigError(
      `BUSBAR_MAX_BYTES_IN_FLIGHT (${value}) must be at least BUSBAR_MAX_BODY_BYTES (${maxBodyBytes})`,
    );
  }
  return value;
}

/** A bearer token (RFC 6750's characters), long enough not to be guessed. */
function metricsToken(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!/^[A-Za-z0-9\-._~+/]{16,256}=*$/.test(text))
    throw new ConfigError(
      "BUSBAR_METRICS_TOKEN must be 16 to 256 characters of letters, digits and - . _ ~ + / (a bearer token)",
    );
  return text;
}

function storeThread(text: string | undefined): StoreThread {
  if (text === undefined) return DEFAULT_STORE_THREAD;
  if (text === StoreThread.Main || text === StoreThread.Worker) return text;
  throw new ConfigError(`BUSBAR_STORE_THREAD must be "main" or "worker", got "${text}"`);
}

function deliveryConfig(
  env: NodeJS.ProcessEnv,
  read: (name: string, def: number, min: number, max: number) => number,
): DeliveryConfig {
  const retryBaseMs = read("BUSBAR_RETRY_BASE_MS", DEFAULT_RETRY_BASE_MS, 1, 3_600_000);
  const retryMaxMs = read("BUSBAR_RETRY_MAX_MS", DEFAULT_RETRY_MAX_MS, 1, 86_400_000);
  if (retryMaxMs < retryBaseMs)
    throw new ConfigError("BUSBAR_RETRY_MAX_MS must not be smaller than BUSBAR_RETRY_BASE_MS");
  const enabled = setting(env, "BUSBAR_DELIVERY") ?? "on";
  if (enabled !== "on" && enabled !== "off")
    throw new ConfigError(`BUSBAR_DELIVERY must be "on" or "off", got "${enabled}"`);
  return {
    enabled: enabled !== "off",
    concurrency: read("BUSBAR_DELIVERY_CONCURRENCY", DEFAULT_DELIVERY_CONCURRENCY, 1, 100_000),
    targetConcurrency: read(
      "BUSBAR_DELIVERY_TARGET_CONCURRENCY",
      DEFAULT_DELIVERY_TARGET_CONCURRENCY,
      1,
      10_000,
    ),
    maxInMemory: read("BUSBAR_DELIVERY_MAX_IN_MEMORY", DEFAULT_DELIVERY_MAX_IN_MEMORY, 100, 10_000_000),
    maxInMemoryBytes:
      read(
        "BUSBAR_DELIVERY_MAX_IN_MEMORY_MB",
        DEFAULT_DELIVERY_MAX_IN_MEMORY_BYTES / (1024 * 1024),
        16,
        1_000_000,
      ) *
      1024 *
      1024,
    retryBaseMs,
    retryMaxMs,
    targetTimeoutMs: read("BUSBAR_TARGET_TIMEOUT_MS", DEFAULT_TARGET_TIMEOUT_MS, 100, 300_000),
    holdAfterFailures: read(
      "BUSBAR_TARGET_HOLD_AFTER_FAILURES",
      DEFAULT_TARGET_HOLD_AFTER_FAILURES,
      0,
      1_000_000,
    ),
    allowTargetNetworks: allowTargetNetworks(setting(env, "BUSBAR_ALLOW_TARGET_NETWORKS") ?? ""),
  };
}

/** BUSBAR_ALLOW_TARGET_NETWORKS as given, once delivery's parser has accepted it. */
function allowTargetNetworks(text: string): string {
  try {
    parseAllowedNetworks(text);
  } catch (e) {
    // The parser's message names the variable and the entry that is not a CIDR.
    throw new ConfigError((e as Error).message, { cause: e });
  }
  return text;
}
