/**
 * Redis stream targets: `XADD <stream> [MAXLEN ~ <n>] * event <payload> delivery-id <id> event-id <id>`,
 * resolved on the reply (the new entry's id). A reply error is classified by its error code, the first
 * word of the reply (RESP's convention: WRONGTYPE, NOAUTH, OOM, READONLY, …). Redis has no heartbeat of
 * its own: a connection on which a command waited `timeoutMs` with nothing from the server is dropped
 * (ioredis's `socketTimeout`), which fails every command queued on it and lets the pool open a new one.
 * @see https://redis.io/docs/latest/commands/xadd/
 * @see https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors
 */
import type { Redis } from "ioredis";
import type { Invocation } from "../types.js";
import { brokerError, describeCause } from "./errors.js";
import { connectToPermitted, refusedConnect } from "./network.js";
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
/**
 * The one generic `ERR` that time fixes: a server at its `maxclients` answers a new connection's first
 * command with it (then closes the connection), whichever command that is.
 */
const MAX_CLIENTS = /^ERR max number of clients reached/i;

/** One Redis connection, on its database. */
class RedisConnection {
  constructor(readonly client: Redis) {}

  /** QUIT, then drop the socket: a server that answers QUIT but keeps the connection open holds no socket. */
  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      // Dropped below.
    } finally {
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
    this.#pool = new ConnectionPool(settings.idleTimeoutMs, connectTimeoutMs(settings));
  }

  async publish(target: RedisTarget, invocation: Invocation, expired?: AbortSignal): Promise<void> {
    await this.#pool.use(
      target,
      (gone, abandoned) => this.#open(target, gone, abandoned),
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
      invocation.wanted,
      expired,
    );
  }

  stats(): PoolStats {
    return this.#pool.stats();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  async #open(target: RedisTarget, gone: () => void, abandoned: AbortSignal): Promise<RedisConnection> {
    let client: Redis;
    try {
      // Each permitted address in turn (network.ts), the name kept for TLS.
      client = await connectToPermitted(target.host, this.#settings.guard, (host) =>
        this.#connect(target, host, abandoned),
      );
    } catch (error) {
      throw classify(error, target, "connect");
    }
    client.on("end", gone);
    if (target.db !== 0) {
      // SELECT here rather than ioredis's `db` option, which on failure carries on in database 0.
      const abandon = (): void => client.disconnect();
      abandoned.addEventListener("abort", abandon, { once: true });
      try {
        await client.select(target.db);
      } catch (error) {
        client.disconnect();
        throw classify(error, target, `SELECT ${target.db}`);
      } finally {
        abandoned.removeEventListener("abort", abandon);
      }
    }
    return new RedisConnection(client);
  }

  /** A client connected to `host`; rejects with the connection's own error. */
  async #connect(target: RedisTarget, host: string, abandoned: AbortSignal): Promise<Redis> {
    const { Redis } = await ioredis();
    const client = new Redis({
      host,
      port: target.port,
      connectionName: CONNECTION_NAME,
      // Covers the TCP connect only: ioredis clears it once TCP connects, then waits for the answers
      // to its handshake (HELLO or AUTH, CLIENT SETNAME, …) without a limit of its own.
      connectTimeout: connectTimeoutMs(this.#settings),
      // A command (the handshake's included) that waits this long with nothing from the server drops
      // the socket: a dead peer or a path gone silent. The attempt's deadline, `timeoutMs`, has passed
      // by then, so no attempt that could still succeed is failed by it.
      socketTimeout: this.#settings.timeoutMs,
      // disconnect() is Busbar's hard drop (QUIT is the goodbye): destroy the socket at once instead
      // of half-closing it and waiting 2 s for a peer that may never answer.
      disconnectTimeout: 0,
      lazyConnect: true,
      // Busbar reconnects itself on the next invocation: no client reconnects, no offline queue, so
      // a command during an outage fails at once instead of waiting for the server.
      retryStrategy: () => null,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: host === target.host ? {} : { servername: target.host } } : {}),
    });
    // ioredis rejects connect() with "Connection is closed."; the cause arrives as an "error" event.
    let lastError: unknown;
    client.on("error", (error: unknown) => {
      lastError = error;
    });
    // The pool gave up on this connect (deadline, or closing): pending commands and connect() fail.
    const abandon = (): void => client.disconnect();
    abandoned.addEventListener("abort", abandon, { once: true });
    try {
      // Given up while the client library loaded: no connect at all.
      if (abandoned.aborted) throw new Error("the connect was abandoned");
      await client.connect();
      return client;
    } catch (error) {
      client.disconnect();
      throw lastError ?? error;
    } finally {
      abandoned.removeEventListener("abort", abandon);
    }
  }
}

function classify(error: unknown, target: RedisTarget, command: string): Error {
  const what = `Redis ${command} on ${target.display}`;
  const detail = describeCause(error, target.secrets);
  const refused = refusedConnect(error, what);
  if (refused !== undefined) return refused;
  if (error instanceof Error && error.name === "ReplyError") {
    const code = /^[A-Z]+/.exec(error.message)?.[0] ?? "ERR";
    if (MAX_CLIENTS.test(error.message))
      return brokerError("CONNECTION_FAILED", `${what}: ${detail}`, true, error);
    if (REFUSED.has(code)) return brokerError("NO_PERMISSIONS", `${what}: ${detail}`, false, error);
    if (command.startsWith("SELECT"))
      return brokerError("INVALID_PARAMETER", `${what}: ${detail}`, false, error);
    // OOM, READONLY (a replica), LOADING, BUSY, MASTERDOWN, TRYAGAIN pass with time.
    return brokerError("BROKER_REJECTED", `${what}: ${detail}`, !FINAL.has(code), error);
  }
  return brokerError("CONNECTION_FAILED", `${what}: ${detail}`, true, error);
}
