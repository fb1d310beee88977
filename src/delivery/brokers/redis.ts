/**
 * Redis stream targets: `XADD <stream> [MAXLEN ~ <n>] * event <payload> delivery-id <id> event-id <id>`,
 * resolved on the reply (the new entry's id). A reply error is classified by its error code, the first
 * word of the reply (RESP's convention: WRONGTYPE, NOAUTH, OOM, READONLY, …).
 * @see https://redis.io/docs/latest/commands/xadd/
 * @see https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors
 */
import type { Redis } from "ioredis";
import type { Invocation } from "../types.js";
import { brokerError, describeCause } from "./errors.js";
import { ConnectionPool, type PoolStats } from "./pool.js";
import {
  CONNECTION_NAME,
  connectTimeoutMs,
  onFirstUse,
  type BrokerPublisher,
  type PublisherSettings,
} from "./publisher.js";
import type { RedisTarget } from "./uri.js";

const ioredis = onFirstUse(() => import("ioredis"));

/** Reply error codes that mean the credentials or the command were refused. */
const REFUSED = new Set(["NOAUTH", "WRONGPASS", "NOPERM"]);
/** Reply error codes no retry can fix: the key holds another type, or the command is malformed. */
const FINAL = new Set(["WRONGTYPE", "ERR"]);

/** One Redis connection, on its database. */
class RedisConnection {
  constructor(readonly client: Redis) {}

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  destroy(): void {
    this.client.disconnect();
  }
}

/** Appends to Redis streams, one pooled connection per server, credentials and database. */
export class RedisPublisher implements BrokerPublisher<RedisTarget> {
  readonly #pool: ConnectionPool<RedisConnection>;
  readonly #settings: PublisherSettings;

  constructor(settings: PublisherSettings) {
    this.#settings = settings;
    this.#pool = new ConnectionPool(settings.idleTimeoutMs);
  }

  async publish(target: RedisTarget, invocation: Invocation): Promise<void> {
    await this.#pool.use(
      target.poolKey,
      (gone) => this.#open(target, gone),
      async ({ client }) => {
        const trim = target.maxLen === undefined ? [] : ["MAXLEN", "~", target.maxLen];
        try {
          await client.xadd(
            target.stream,
            ...trim,
            "*",
            "event",
            invocation.payload,
            "delivery-id",
            invocation.deliveryId,
            "event-id",
            invocation.event.id,
          );
        } catch (error) {
          throw classify(error, target, "XADD");
        }
      },
    );
  }

  stats(): PoolStats {
    return this.#pool.stats();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  async #open(target: RedisTarget, gone: () => void): Promise<RedisConnection> {
    const { Redis } = await ioredis();
    const client = new Redis({
      host: target.host,
      port: target.port,
      connectionName: CONNECTION_NAME,
      connectTimeout: connectTimeoutMs(this.#settings),
      lazyConnect: true,
      // Busbar reconnects itself on the next invocation: no client reconnects, no offline queue, so
      // a command during an outage fails at once instead of waiting for the server.
      retryStrategy: () => null,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: {} } : {}),
    });
    // ioredis rejects connect() with "Connection is closed."; the cause arrives as an "error" event.
    let lastError: unknown;
    client.on("error", (error: unknown) => {
      lastError = error;
    });
    client.on("end", gone);
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      throw classify(lastError ?? error, target, "connect");
    }
    if (target.db !== 0) {
      // SELECT here rather than ioredis's `db` option, which on failure carries on in database 0.
      try {
        await client.select(target.db);
      } catch (error) {
        client.disconnect();
        throw classify(error, target, `SELECT ${target.db}`);
      }
    }
    return new RedisConnection(client);
  }
}

function classify(error: unknown, target: RedisTarget, command: string): Error {
  const what = `Redis ${command} on ${target.display}`;
  const detail = describeCause(error, target.secrets);
  if (error instanceof Error && error.name === "ReplyError") {
    const code = /^[A-Z]+/.exec(error.message)?.[0] ?? "ERR";
    if (REFUSED.has(code)) return brokerError("NO_PERMISSIONS", `${what}: ${detail}`, false, error);
    if (command.startsWith("SELECT"))
      return brokerError("INVALID_PARAMETER", `${what}: ${detail}`, false, error);
    // OOM, READONLY (a replica), LOADING, BUSY, MASTERDOWN, TRYAGAIN pass with time.
    return brokerError("BROKER_REJECTED", `${what}: ${detail}`, !FINAL.has(code), error);
  }
  return brokerError("CONNECTION_FAILED", `${what}: ${detail}`, true, error);
}
