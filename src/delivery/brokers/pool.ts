/**
 * One pool of broker connections per broker kind, keyed by endpoint and credentials: connections are
 * opened lazily by the first invocation that needs one (concurrent invocations share that connect),
 * reused by every later one, dropped as soon as they close (the next invocation opens a new one) and
 * closed after sitting idle. A connect that has not finished by its deadline is given up, so a broker
 * that accepts the TCP connection but never answers cannot hold a pool entry (or a close) forever.
 */
import { targetRemoved } from "../types.js";
import { brokerError } from "./errors.js";

/** A connection the pool can close. */
export interface PooledConnection {
  /** Closes the connection; resolves once its socket is gone. Never rejects. */
  close(): Promise<void>;
  /**
   * Drops the socket at once, without the protocol's goodbye: for a close that did not finish in
   * {@link CLOSE_DEADLINE_MS} (a broker gone silent never answers it).
   */
  destroy?(): void;
}

/** How long closing a pooled connection may take before the pool drops its socket. */
export const CLOSE_DEADLINE_MS = 2000;

/**
 * Opens a connection. `gone` must be called once the connection closes for any reason (broker restart,
 * network loss, heartbeat timeout, protocol error): the pool then forgets it. `abandoned` aborts when
 * the pool gives up on a connect that has not finished (its deadline passed, or the pool is closing):
 * the opener should then close what it opened and reject. A connection that arrives anyway is closed.
 */
export type Opener<C> = (gone: () => void, abandoned: AbortSignal) => Promise<C>;

/** What the pool needs to know of a target. */
export interface PoolTarget {
  /** The connection's identity: endpoint, credentials and connection options. */
  readonly poolKey: string;
  /** The target's URI without secrets, for error messages. */
  readonly display: string;
}

/** Counters of a pool, for tests and metrics. */
export interface PoolStats {
  /** Connections open (or opening) now. */
  readonly open: number;
  /** Connections opened since the pool was created (including attempts that failed). */
  readonly opened: number;
  /** AMQP: the channels the connections hold open (one per exchange lately published to). */
  readonly channels?: number;
}

interface Entry<C> {
  readonly connection: Promise<C>;
  /** Gives up on the connect if it has not finished: `connection` rejects (ABORTED). */
  readonly abandon: () => void;
  inFlight: number;
  lastUsed: number;
  /** Dropped for an attempt past its deadline (see {@link ConnectionPool.use}). */
  dropped: boolean;
  /** When its connect began, and whether the pool gave up on it at its deadline. */
  readonly startedAt: number;
  timedOut: boolean;
}

/** A pool of connections of one broker kind. */
export class ConnectionPool<C extends PooledConnection> {
  readonly #entries = new Map<string, Entry<C>>();
  readonly #idleTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  #opened = 0;
  #closed = false;
  #sweeper: NodeJS.Timeout | undefined;

  /**
   * @param idleTimeoutMs a connection unused for this long is closed.
   * @param connectTimeoutMs a connect not finished in this long fails (TIMEOUT) and is abandoned.
   */
  constructor(idleTimeoutMs: number, connectTimeoutMs: number) {
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  /**
   * Runs `work` on the connection pooled for `target`, opening it with `open` if there is none. When
   * `expired` aborts while the work runs on the connection (the attempt's deadline passed without the
   * broker's acknowledgement), the connection is dropped: the pool forgets it and closes it, failing
   * whatever else waits on it. Kept, a broker that never acknowledges, stops reading, or floods its
   * replies held everything sent on it (MQTT publishes awaiting PUBACK, AMQP publishes while blocked, a
   * Redis reply of gigabytes) for as long as events came.
   */
  async use<T>(
    target: PoolTarget,
    open: Opener<C>,
    work: (connection: C) => Promise<T>,
    wanted?: () => boolean,
    expired?: AbortSignal,
  ): Promise<T> {
    if (this.#closed) throw brokerError("ABORTED", "the broker invoker is closed", true);
    const joinedAt = Date.now();
    let entry = this.#entries.get(target.poolKey) ?? this.#open(target, open);
    entry.inFlight += 1;
    const drop = (): void => {
      if (entry.dropped) return;
      entry.dropped = true;
      if (this.#entries.get(target.poolKey) === entry) this.#entries.delete(target.poolKey);
      void closeEntry(entry);
    };
    try {
      let connection: C;
      try {
        connection = await entry.connection;
      } catch (e) {
        // A connect begun before this call joined it, given up at its deadline: this call's attempt
        // has time of its own left, and gets a connect of its own (a retry that joined the connect
        // of the attempt before it failed within a second, spending a retry on a broker that hangs).
        if (!entry.timedOut || entry.startedAt >= joinedAt || this.#closed) throw e;
        entry.inFlight -= 1;
        entry = this.#entries.get(target.poolKey) ?? this.#open(target, open);
        entry.inFlight += 1;
        connection = await entry.connection;
      }
      // Its target was removed while the connection was being made: nothing is published.
      if (wanted !== undefined && !wanted()) {
        throw targetRemoved("the publish");
      }
      if (expired?.aborted === true)
        throw brokerError("TIMEOUT", `publish to ${target.display}: past its deadline`, true);
      expired?.addEventListener("abort", drop, { once: true });
      return await work(connection);
    } finally {
      expired?.removeEventListener("abort", drop);
      entry.inFlight -= 1;
      entry.lastUsed = Date.now();
    }
  }

  /** Counters of this pool. */
  stats(): PoolStats {
    return { open: this.#entries.size, opened: this.#opened };
  }

  /**
   * Closes every connection and gives up on every connect still pending; later {@link use} calls fail
   * with ABORTED. Takes at most {@link CLOSE_DEADLINE_MS}.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => closeEntry(entry)));
  }

  #open(target: PoolTarget, open: Opener<C>): Entry<C> {
    this.#opened += 1;
    const key = target.poolKey;
    const abandoned = new AbortController();
    let pending = true;
    let settle!: { resolve(connection: C): void; reject(error: unknown): void };
    const connection = new Promise<C>((resolve, reject) => (settle = { resolve, reject }));
    const finish = (): boolean => {
      if (!pending) return false;
      pending = false;
      clearTimeout(deadline);
      return true;
    };
    const abandon = (error: Error): void => {
      if (!finish()) return;
      settle.reject(error);
      abandoned.abort(error);
    };
    const deadline = setTimeout(() => {
      entry.timedOut = true;
      abandon(
        brokerError(
          "TIMEOUT",
          `connect to ${target.display}: no connection within ${this.#connectTimeoutMs} ms`,
          true,
        ),
      );
    }, this.#connectTimeoutMs);
    deadline.unref();
    // Openers are async functions that call `forget` only after their first await, once
    // `connection` is assigned.
    const forget = (): void => {
      if (this.#entries.get(key)?.connection === connection) this.#entries.delete(key);
    };
    open(forget, abandoned.signal).then(
      (opened) => {
        if (finish()) settle.resolve(opened);
        // Given up on already: nobody will use it.
        else void closeConnection(opened);
      },
      (error: unknown) => {
        if (finish()) settle.reject(error);
      },
    );
    const entry: Entry<C> = {
      connection,
      abandon: () =>
        abandon(brokerError("ABORTED", `connect to ${target.display}: the broker invoker is closing`, true)),
      inFlight: 0,
      lastUsed: Date.now(),
      dropped: false,
      startedAt: Date.now(),
      timedOut: false,
    };
    this.#entries.set(key, entry);
    connection.catch(forget);
    this.#startSweeper();
    return entry;
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(1_000, this.#idleTimeoutMs / 2));
    this.#sweeper.unref();
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.inFlight === 0 && now - entry.lastUsed >= this.#idleTimeoutMs) {
        this.#entries.delete(key);
        void closeEntry(entry);
      }
    }
    if (this.#entries.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}

/** Closes an entry's connection, or gives up on its connect if that has not finished. */
async function closeEntry<C extends PooledConnection>(entry: Entry<C>): Promise<void> {
  entry.abandon();
  let connection: C;
  try {
    connection = await entry.connection;
  } catch {
    return;
  }
  await closeConnection(connection);
}

/** Closes `connection`, dropping its socket if the close takes over {@link CLOSE_DEADLINE_MS}. */
async function closeConnection(connection: PooledConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>(
    (resolve) => (timer = setTimeout(() => resolve(true), CLOSE_DEADLINE_MS)),
  );
  const tooLate = await Promise.race([connection.close().then(() => false), late]);
  clearTimeout(timer);
  if (tooLate) connection.destroy?.();
}
