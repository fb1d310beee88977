/**
 * One pool of broker connections per broker kind, keyed by endpoint and credentials: connections are
 * opened lazily by the first invocation that needs one (concurrent invocations share that connect),
 * reused by every later one, dropped as soon as they close (the next invocation opens a new one) and
 * closed after sitting idle.
 */
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

/** How long a connection's orderly close may take before the pool drops its socket. */
export const CLOSE_DEADLINE_MS = 2000;

/**
 * Opens a connection. `gone` must be called once the connection closes for any reason (broker restart,
 * network loss, heartbeat timeout, protocol error): the pool then forgets it.
 */
export type Opener<C> = (gone: () => void) => Promise<C>;

/** Counters of a pool, for tests and metrics. */
export interface PoolStats {
  /** Connections open (or opening) now. */
  readonly open: number;
  /** Connections opened since the pool was created (including attempts that failed). */
  readonly opened: number;
}

interface Entry<C> {
  readonly connection: Promise<C>;
  inFlight: number;
  lastUsed: number;
}

/** A pool of connections of one broker kind. */
export class ConnectionPool<C extends PooledConnection> {
  readonly #entries = new Map<string, Entry<C>>();
  readonly #idleTimeoutMs: number;
  #opened = 0;
  #closed = false;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(idleTimeoutMs: number) {
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Runs `work` on the connection pooled under `key`, opening it with `open` if there is none. */
  async use<T>(key: string, open: Opener<C>, work: (connection: C) => Promise<T>): Promise<T> {
    if (this.#closed) throw brokerError("ABORTED", "the broker invoker is closed", true);
    const entry = this.#entries.get(key) ?? this.#open(key, open);
    entry.inFlight += 1;
    try {
      return await work(await entry.connection);
    } finally {
      entry.inFlight -= 1;
      entry.lastUsed = Date.now();
    }
  }

  /** Counters of this pool. */
  stats(): PoolStats {
    return { open: this.#entries.size, opened: this.#opened };
  }

  /** Closes every connection; later {@link use} calls fail with ABORTED. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((entry) => closeEntry(entry)));
  }

  #open(key: string, open: Opener<C>): Entry<C> {
    this.#opened += 1;
    // Openers are async functions that call `forget` only after their first await, once
    // `connection` is assigned.
    const forget = (): void => {
      if (this.#entries.get(key)?.connection === connection) this.#entries.delete(key);
    };
    const connection = open(forget);
    const entry: Entry<C> = { connection, inFlight: 0, lastUsed: Date.now() };
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

async function closeEntry<C extends PooledConnection>(entry: Entry<C>): Promise<void> {
  let connection: C;
  try {
    connection = await entry.connection;
  } catch {
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>(
    (resolve) => (timer = setTimeout(() => resolve(true), CLOSE_DEADLINE_MS)),
  );
  const tooLate = await Promise.race([connection.close().then(() => false), late]);
  clearTimeout(timer);
  if (tooLate) connection.destroy?.();
}
