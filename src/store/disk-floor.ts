/**
 * The floor of free disk space a node keeps under its data directory (BUSBAR_MIN_FREE_DISK_BYTES).
 *
 * A disk that fills to the last byte stops every write of SQLite's, the ones that would free space
 * included: a consumer can then neither receive (a receive writes its count and visibility) nor delete
 * the messages that fill it, and the node is stuck until an operator makes room. So below the floor,
 * the store calls that add data — new events, new messages, new queues — are refused with a retryable
 * error ({@link DiskLowError}: 503 ServiceUnavailable in each API's shape), while the calls that keep
 * things moving or free space go on: receives, deletes, deliveries completed, configuration changes
 * (which quotas bound, and which let an operator disable the rule that floods). RabbitMQ's disk alarm,
 * which blocks publishers and lets consumers drain, is the model.
 *
 * The room for data is the file system's free space (what an unprivileged writer may use) plus the
 * database file's free pages, which SQLite reuses before it grows the file: a queue drained below the
 * floor frees pages, not disk, and lifts the refusal all the same. The file system itself must keep a
 * quarter of the floor, for the write-ahead log that every write passes through first.
 */
import { statfs } from "node:fs/promises";
import type { Store } from "./types.js";

/** How often the room is measured; near the floor ({@link NEAR_FACTOR}), every {@link NEAR_INTERVAL_MS}. */
export const MEASURE_INTERVAL_MS = 1000;
export const NEAR_INTERVAL_MS = 100;
/** Within this many floors of room, the room is measured more often (a fast writer crosses it quickly). */
export const NEAR_FACTOR = 2;

/** The store calls refused below the floor: the ones that add data without bound. */
export const GROWING_METHODS = [
  "appendEvents",
  "sendMessages",
  "createQueue",
] as const satisfies ReadonlyArray<keyof Store>;

/** What the room for data is made of, in bytes. */
export interface DiskRoom {
  /** Free space of the file system holding the data directory, as an unprivileged writer may use it. */
  readonly free: number;
  /** Free pages of the database file (see {@link Store.reusableBytes}). */
  readonly reusable: number;
}

/** Whether a measured room lies below `floor` (see the module's comment). */
export function isBelowFloor(room: DiskRoom, floor: number): boolean {
  return floor > 0 && (room.free + room.reusable < floor || room.free < floor / 4);
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/**
 * A store call refused because the node is below its floor of free disk space. Retryable: the SDKs
 * retry a 503, and delivery retries an event bus or queue target (or a dead-letter queue) later.
 */
export class DiskLowError extends Error {
  override readonly name = "DiskLowError";
  readonly awsType = "ServiceUnavailableException";
  readonly httpStatus = 503;
  readonly retryable = true;

  constructor(room: DiskRoom, floor: number) {
    super(
      `The server is low on disk space: ${mib(room.free + room.reusable)} left for data (${mib(room.free)} ` +
        `free on its file system), under the ${mib(floor)} it keeps free (BUSBAR_MIN_FREE_DISK_BYTES). ` +
        "New events, messages and queues are refused until space is freed; receiving and deleting " +
        "messages go on. Retry later.",
    );
  }
}

export interface DiskFloorOptions {
  /** The floor, in bytes; 0 turns the floor off. */
  readonly floor: number;
  /** Measures the room (see {@link measureDataDir}). */
  readonly measure: () => Promise<DiskRoom>;
  /** Called when the node goes below the floor or back above it. */
  readonly onChange?: (low: boolean, room: DiskRoom) => void;
  /** Called when a measurement fails after one that did not (the last state is kept meanwhile). */
  readonly onError?: (err: unknown) => void;
}

/** Keeps the room measured and says whether the node is below its floor. */
export class DiskFloor {
  readonly floor: number;
  readonly #o: DiskFloorOptions;
  #room: DiskRoom | undefined;
  #low = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failing = false;

  constructor(options: DiskFloorOptions) {
    this.#o = options;
    this.floor = options.floor;
  }

  /** Whether the calls that add data are refused now. */
  get low(): boolean {
    return this.#low;
  }

  /** The last room measured; undefined before the first measurement, or with the floor off. */
  get room(): DiskRoom | undefined {
    return this.#room;
  }

  /** Measures once (so that the node starts guarded), then keeps measuring until {@link stop}. */
  async start(): Promise<void> {
    if (this.floor <= 0) return;
    await this.#measure();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** The error a refused call gets (the room last measured in its message). */
  refusal(): DiskLowError {
    return new DiskLowError(this.#room ?? { free: 0, reusable: 0 }, this.floor);
  }

  async #measure(): Promise<void> {
    let room: DiskRoom;
    try {
      room = await this.#o.measure();
    } catch (e) {
      if (!this.#failing && !this.#stopped) this.#o.onError?.(e);
      this.#failing = true;
      return;
    }
    this.#failing = false;
    this.#room = room;
    const low = isBelowFloor(room, this.floor);
    if (low !== this.#low) {
      this.#low = low;
      this.#o.onChange?.(low, room);
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const room = this.#room;
    const near = room !== undefined && room.free + room.reusable < this.floor * NEAR_FACTOR;
    this.#timer = setTimeout(
      () => void this.#measure().then(() => this.#schedule()),
      near ? NEAR_INTERVAL_MS : MEASURE_INTERVAL_MS,
    );
    this.#timer.unref();
  }
}

/** Measures the room of a data directory whose database is `store`'s. */
export function measureDataDir(
  dataDir: string,
  store: Pick<Store, "reusableBytes">,
): () => Promise<DiskRoom> {
  return async () => {
    const [fs, reusable] = await Promise.all([statfs(dataDir), store.reusableBytes()]);
    return { free: fs.bavail * fs.bsize, reusable };
  };
}

/**
 * `store` with its {@link GROWING_METHODS} refused while `floor` is low; every other call passes
 * through as it is.
 */
export function floorGuarded(store: Store, floor: DiskFloor): Store {
  const guarded = Object.create(store) as Record<string, unknown>;
  for (const method of GROWING_METHODS) {
    guarded[method] = (...args: unknown[]): Promise<unknown> => {
      if (floor.low) return Promise.reject(floor.refusal());
      return (store[method] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
    };
  }
  return guarded as unknown as Store;
}
