/**
 * Configuration, parsed and validated once at start-up into a frozen, fully defaulted object.
 * Sources, highest first: command-line flags, environment variables (`BUSBAR_*`), defaults.
 */
import { resolve } from "node:path";
import { DEFAULT_PATTERN_LIMITS, type PatternLimits } from "../patterns/index.js";

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
/** Largest request body accepted: an SQS message or batch carries up to 1 MiB, plus JSON escaping and base64 binary attributes. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** How long accepted events are kept in the event log. */
export const DEFAULT_EVENT_RETENTION_MS = 24 * 60 * 60 * 1000;

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
  readonly eventRetentionMs: number;
  readonly patternLimits: PatternLimits;
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

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

/** Reads and validates the configuration. */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): BusbarConfig {
  const port = integer("port", String(flags.port ?? env.BUSBAR_PORT ?? DEFAULT_PORT), 0, 65535);
  const accountId = env.BUSBAR_ACCOUNT_ID ?? DEFAULT_ACCOUNT_ID;
  if (!/^\d{12}$/.test(accountId))
    throw new ConfigError(`BUSBAR_ACCOUNT_ID must be 12 digits, got "${accountId}"`);
  const region = env.BUSBAR_REGION ?? DEFAULT_REGION;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    throw new ConfigError(`BUSBAR_REGION is not a region name: "${region}"`);
  // An empty variable counts as unset.
  const keyId = env.BUSBAR_ROOT_ACCESS_KEY_ID || undefined;
  const secret = env.BUSBAR_ROOT_SECRET_ACCESS_KEY || undefined;
  if ((keyId === undefined) !== (secret === undefined)) {
    throw new ConfigError("Set both BUSBAR_ROOT_ACCESS_KEY_ID and BUSBAR_ROOT_SECRET_ACCESS_KEY, or neither");
  }
  if (keyId !== undefined && !/^[A-Z0-9]{16,128}$/.test(keyId)) {
    throw new ConfigError("BUSBAR_ROOT_ACCESS_KEY_ID must be 16 to 128 upper-case letters and digits");
  }
  if (secret !== undefined && secret.length < 16)
    throw new ConfigError("BUSBAR_ROOT_SECRET_ACCESS_KEY must be at least 16 characters");
  const retentionHours = env.BUSBAR_EVENT_RETENTION_HOURS;
  return Object.freeze({
    host: flags.host ?? env.BUSBAR_HOST ?? DEFAULT_HOST,
    port,
    dataDir: resolve(flags.dataDir ?? env.BUSBAR_DATA_DIR ?? DEFAULT_DATA_DIR),
    accountId,
    region,
    rootAccessKeyId: keyId,
    rootSecretAccessKey: secret,
    maxBodyBytes:
      env.BUSBAR_MAX_BODY_BYTES === undefined
        ? DEFAULT_MAX_BODY_BYTES
        : integer("BUSBAR_MAX_BODY_BYTES", env.BUSBAR_MAX_BODY_BYTES, 1024, 64 * 1024 * 1024),
    eventRetentionMs:
      retentionHours === undefined
        ? DEFAULT_EVENT_RETENTION_MS
        : integer("BUSBAR_EVENT_RETENTION_HOURS", retentionHours, 1, 24 * 365) * 3_600_000,
    patternLimits: DEFAULT_PATTERN_LIMITS,
    delivery: Object.freeze(deliveryConfig(env)),
    // More than one front thread needs a listening socket per thread (SO_REUSEPORT, server.listen's
    // reusePort from Node 22.12); Node 20 has no way to share one safely between threads.
    httpThreads:
      env.BUSBAR_HTTP_THREADS === undefined || env.BUSBAR_HTTP_THREADS === ""
        ? 0
        : integer("BUSBAR_HTTP_THREADS", env.BUSBAR_HTTP_THREADS, 0, 1),
    storeThread: storeThread(env.BUSBAR_STORE_THREAD),
  });
}

function storeThread(text: string | undefined): StoreThread {
  if (text === undefined || text === "") return DEFAULT_STORE_THREAD;
  if (text === StoreThread.Main || text === StoreThread.Worker) return text;
  throw new ConfigError(`BUSBAR_STORE_THREAD must be "main" or "worker", got "${text}"`);
}

function deliveryConfig(env: NodeJS.ProcessEnv): DeliveryConfig {
  const read = (name: string, def: number, min: number, max: number): number => {
    const v = env[name];
    return v === undefined || v === "" ? def : integer(name, v, min, max);
  };
  const retryBaseMs = read("BUSBAR_RETRY_BASE_MS", DEFAULT_RETRY_BASE_MS, 1, 3_600_000);
  const retryMaxMs = read("BUSBAR_RETRY_MAX_MS", DEFAULT_RETRY_MAX_MS, 1, 86_400_000);
  if (retryMaxMs < retryBaseMs)
    throw new ConfigError("BUSBAR_RETRY_MAX_MS must not be smaller than BUSBAR_RETRY_BASE_MS");
  const enabled = env.BUSBAR_DELIVERY ?? "on";
  if (enabled !== "on" && enabled !== "off" && enabled !== "")
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
    allowTargetNetworks: env.BUSBAR_ALLOW_TARGET_NETWORKS ?? "",
  };
}
