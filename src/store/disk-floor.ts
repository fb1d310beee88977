/**
 * The floor of free disk space a node keeps under its data directory (BUSBAR_MIN_FREE_DISK_BYTES).
 *
 * A disk that fills to the last byte stops every write of SQLite's, the ones that would free space
 * included: a consumer can then neither receive (a receive writes its count and visibility) nor delete
 * the messages that fill it, and the node is stuck until an operator makes room. So below the floor,
 * the store calls that add data — new events, new messages, new queues — are refused with a retryable
 * error ({@link DiskLowError}: 503 ServiceUnavailable in each API's shape), while the calls that keep
 * things moving or free space go on: receives, deletes, deliveries completed. Configuration (rules,
 * targets, buses, tags, keys…) goes on down to half the floor, so that an operator can still disable
 * the rule that floods, but no further: the quotas allow an account gigabytes of it. RabbitMQ's disk
 * alarm, which blocks publishers and lets consumers drain, is the model.
 *
 * The room for data is the file system's free space (what an unprivileged writer may use) plus the
 * database file's free pages, which SQLite reuses before it grows the file (a queue drained below the
 * floor frees pages, not disk, and lifts the refusal all the same), less the write-ahead log's file,
 * whose pages a checkpoint may yet copy past the database's end. The file system itself, with the
 * log's file (which SQLite writes over after a checkpoint), must keep a quarter of the floor, for the
 * log that every write passes through first.
 *
 * The room is measured every second (every 100 ms within twice the floor), and between measurements
 * every call admitted is charged an estimate of what it writes (twice its data: the log, then the
 * database), from its admission until the measurement after it settled: so that a burst — a fan-out of
 * one event to 1,500 queue targets, writers faster than the measurements — cannot pass the floor before
 * the next measurement sees it.
 */
import { statSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { join } from "node:path";
import type { IngestRecord, NewMessage, Store } from "./types.js";

/** How often the room is measured; near the floor ({@link NEAR_FACTOR}), every {@link NEAR_INTERVAL_MS}. */
export const MEASURE_INTERVAL_MS = 1000;
export const NEAR_INTERVAL_MS = 100;
/** Within this many floors of room, the room is measured more often (a fast writer crosses it quickly). */
export const NEAR_FACTOR = 2;
/** Room past the floor, as a share of it, before a node below it accepts data again (no flapping). */
export const HYSTERESIS = 1 / 8;
/** The least time between two log lines of the floor's changes (the ones between are counted). */
export const CHANGE_LOG_MS = 60_000;

/** How far below the floor each kind of call may go: data at the floor, configuration at half. */
export type Tier = "data" | "config";

/**
 * Estimates of what a call writes, in bytes: twice its data (the log, then the database), with its
 * rows' overhead. A delivery's names are counted twice more, for its index: with names at their
 * longest (a bus of 256 characters), a delivery took 665 bytes in the database (dbstat), which a flat
 * 256 bytes a delivery undercounted until a fan-out of small events filled the disk past the floor.
 */
function recordsBytes(records: readonly IngestRecord[]): number {
  let bytes = 0;
  for (const r of records) {
    bytes += 2 * r.event.json.length + 512;
    for (const d of r.deliveries) {
      const names =
        d.id.length +
        d.eventId.length +
        d.accountId.length +
        d.busName.length +
        d.ruleName.length +
        d.targetId.length;
      bytes += 2 * (2 * names + 128);
    }
  }
  return bytes;
}

function messagesBytes(messages: readonly NewMessage[]): number {
  let bytes = 0;
  for (const m of messages) {
    const data =
      m.body.length +
      (m.attributes?.length ?? 0) +
      (m.systemAttributes?.length ?? 0) +
      (m.groupId?.length ?? 0) +
      2 * (m.deduplicationId?.length ?? 0) +
      (m.deduplication?.key.length ?? 0);
    bytes += 2 * (data + 512);
  }
  return bytes;
}

function argumentsBytes(args: readonly unknown[]): number {
  return 2 * (JSON.stringify(args)?.length ?? 0) + 4096;
}

/** The store calls the floor holds, with their tier and what they are charged. */
const GUARDED: Readonly<
  Partial<Record<keyof Store, { tier: Tier; bytes: (args: readonly unknown[]) => number }>>
> = {
  appendEvents: { tier: "data", bytes: ([records]) => recordsBytes(records as IngestRecord[]) },
  sendMessages: { tier: "data", bytes: ([, messages]) => messagesBytes(messages as NewMessage[]) },
  createQueue: { tier: "data", bytes: argumentsBytes },
  updateQueue: { tier: "config", bytes: argumentsBytes },
  createBus: { tier: "config", bytes: argumentsBytes },
  updateBus: { tier: "config", bytes: argumentsBytes },
  putRule: { tier: "config", bytes: argumentsBytes },
  putTargets: { tier: "config", bytes: argumentsBytes },
  tagResource: { tier: "config", bytes: argumentsBytes },
  createConnection: { tier: "config", bytes: argumentsBytes },
  updateConnection: { tier: "config", bytes: argumentsBytes },
  createApiDestination: { tier: "config", bytes: argumentsBytes },
  updateApiDestination: { tier: "config", bytes: argumentsBytes },
  putAccount: { tier: "config", bytes: argumentsBytes },
  putAccessKey: { tier: "config", bytes: argumentsBytes },
  putSecret: { tier: "config", bytes: argumentsBytes },
};

/** The store calls refused below the floor: data at it, configuration at half of it. */
export const GUARDED_METHODS = Object.keys(GUARDED) as (keyof Store)[];

/** What the room for data is made of, in bytes. */
export interface DiskRoom {
  /** Free space of the file system holding the data directory, as an unprivileged writer may use it. */
  readonly free: number;
  /** Free pages of the database file (see {@link Store.reusableBytes}). */
  readonly reusable: number;
  /** The size of the write-ahead log's file, which SQLite writes over from its start after a checkpoint. */
  readonly wal: number;
}

/** Whether a measured room lies below `floor` (see the module's comment). */
export function isBelowFloor(room: DiskRoom, floor: number): boolean {
  return floor > 0 && (roomOf(room, floor) < floor || room.free + room.wal < floor / 4);
}

/**
 * The room for data in a measurement: the free space and the free pages, less the log's file up to a
 * quarter of the floor, for the pages a checkpoint may yet copy into the database past its end (a
 * filler that left 10 MiB free after a burst of writes saw the checkpoint take them, and a drain's
 * receives fail, SQLITE_FULL). Up to a quarter: the file keeps its size once checkpointed (up to the
 * 64 MiB it is cut back to), and counted whole it kept a small disk's room below the floor long after.
 */
export function roomOf(room: DiskRoom, floor: number): number {
  return room.free + room.reusable - Math.min(room.wal, floor / 4);
}

function mib(bytes: number): string {
  return `${(Math.max(0, bytes) / 1048576).toFixed(1)} MiB`;
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

  constructor(room: number, free: number, floor: number, tier: Tier) {
    const kept = tier === "data" ? floor : floor / 2;
    super(
      `The server is low on disk space: ${mib(room)} left for data (${mib(free)} free on its file ` +
        `system), under the ${mib(kept)} it keeps free for ` +
        (tier === "data"
          ? "new events, messages and queues (BUSBAR_MIN_FREE_DISK_BYTES; its file system keeping a quarter of it itself)"
          : "configuration (half of BUSBAR_MIN_FREE_DISK_BYTES)") +
        ". Refused until space is freed (receiving and deleting messages are not refused). Retry later.",
    );
  }
}

export interface DiskFloorOptions {
  /** The floor, in bytes; 0 turns the floor off. */
  readonly floor: number;
  /** Measures the room (see {@link measureDataDir}). */
  readonly measure: () => Promise<DiskRoom>;
  /**
   * Called when the node goes below the floor or back above it, at most once a {@link CHANGE_LOG_MS}
   * (`unlogged`: the changes since the last call, not told).
   */
  readonly onChange?: (low: boolean, room: DiskRoom, unlogged: number) => void;
  /** Called when a call is refused. */
  readonly onRefused?: (tier: Tier) => void;
  /** Called when a measurement fails, at most once a {@link CHANGE_LOG_MS} (the last state is kept meanwhile). */
  readonly onError?: (err: unknown) => void;
  /** Milliseconds, for tests. */
  readonly now?: () => number;
}

/** Keeps the room measured, charges the calls admitted between measurements, and refuses past the floor. */
export class DiskFloor {
  readonly floor: number;
  readonly #o: DiskFloorOptions;
  readonly #now: () => number;
  #room: DiskRoom | undefined;
  #low = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Estimates of the calls admitted and not yet settled. */
  #pending = 0;
  /** Estimates of the calls settled since the measurement that gave {@link #room} began. */
  #settled = 0;
  /** Estimates of the calls settled since the measurement under way began (undefined: none under way). */
  #settledWhileMeasuring: number | undefined;
  #changeLoggedAt = Number.NEGATIVE_INFINITY;
  /** Changes of {@link #low} since the state was last told. */
  #changesUnlogged = 0;
  #lastTold = false;
  #tellTimer: NodeJS.Timeout | undefined;
  #errorLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(options: DiskFloorOptions) {
    this.#o = options;
    this.floor = options.floor;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Whether new events, messages and queues are refused now: the room last measured was below the floor
   * (and has not cleared it by an eighth since), or the calls admitted since are estimated to have
   * taken it there.
   */
  get low(): boolean {
    return this.#low || this.roomLeft < this.floor;
  }

  /** The last room measured; undefined before the first measurement, or with the floor off. */
  get room(): DiskRoom | undefined {
    return this.#room;
  }

  /** The room for data left by the calls admitted since the last measurement (their estimates). */
  get roomLeft(): number {
    const room = this.#room;
    return room === undefined
      ? Number.POSITIVE_INFINITY
      : roomOf(room, this.floor) - this.#pending - this.#settled;
  }

  /** Measures once (so that the node starts guarded), then keeps measuring until {@link stop}. */
  async start(): Promise<void> {
    if (this.floor <= 0) return;
    this.#stopped = false;
    await this.#measure();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#tellTimer);
    this.#tellTimer = undefined;
  }

  /**
   * Admits a call of `tier` that writes about `bytes`: undefined, charging it until {@link settle},
   * or the error it is refused with.
   */
  admit(tier: Tier, bytes: number): DiskLowError | undefined {
    const room = this.#room;
    if (this.floor <= 0 || room === undefined) return undefined;
    const left = this.roomLeft;
    const refused = tier === "data" ? this.#low || left - bytes < this.floor : left - bytes < this.floor / 2;
    if (refused) {
      this.#o.onRefused?.(tier);
      return new DiskLowError(left, room.free, this.floor, tier);
    }
    this.#pending += bytes;
    return undefined;
  }

  /** A call {@link admit} admitted has settled: what it wrote is the next measurement's to see. */
  settle(bytes: number): void {
    this.#pending -= bytes;
    this.#settled += bytes;
    if (this.#settledWhileMeasuring !== undefined) this.#settledWhileMeasuring += bytes;
  }

  async #measure(): Promise<void> {
    this.#settledWhileMeasuring = 0;
    let room: DiskRoom;
    try {
      room = await this.#o.measure();
    } catch (e) {
      this.#settledWhileMeasuring = undefined;
      const now = this.#now();
      if (!this.#stopped && now - this.#errorLoggedAt >= CHANGE_LOG_MS) {
        this.#errorLoggedAt = now;
        this.#o.onError?.(e);
      }
      return;
    }
    // What settled before the measurement began is in it; what settled since may not be.
    this.#settled = this.#settledWhileMeasuring;
    this.#settledWhileMeasuring = undefined;
    this.#room = room;
    const below = isBelowFloor(room, this.floor);
    const clear = !isBelowFloor({ ...room, free: room.free - this.floor * HYSTERESIS }, this.floor);
    const low = this.#low ? !clear : below;
    if (low === this.#low) return;
    this.#low = low;
    this.#changesUnlogged++;
    this.#tell();
  }

  /**
   * Tells the state if it changed since last told: at once, or, within {@link CHANGE_LOG_MS} of the
   * last time, at the end of that time (so that the last state is always told, and flapping once a
   * minute).
   */
  #tell(): void {
    if (this.#tellTimer !== undefined || this.#changesUnlogged === 0) return;
    const wait = this.#changeLoggedAt + CHANGE_LOG_MS - this.#now();
    if (wait > 0) {
      this.#tellTimer = setTimeout(() => {
        this.#tellTimer = undefined;
        this.#tell();
      }, wait);
      this.#tellTimer.unref();
      return;
    }
    const room = this.#room;
    if (room === undefined) return;
    // The changes between the last told state and this one; none when it is the same again.
    const unlogged = this.#changesUnlogged - 1;
    this.#changesUnlogged = 0;
    if (this.#low === this.#lastTold) return;
    this.#lastTold = this.#low;
    this.#changeLoggedAt = this.#now();
    this.#o.onChange?.(this.#low, room, unlogged);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const near = this.roomLeft < this.floor * NEAR_FACTOR;
    this.#timer = setTimeout(
      () => void this.#measure().then(() => this.#schedule()),
      near ? NEAR_INTERVAL_MS : MEASURE_INTERVAL_MS,
    );
    this.#timer.unref();
  }
}

/** The size of a file, 0 when there is none. */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Measures the room of a data directory whose database (`fileName` in it) is `store`'s. */
export function measureDataDir(
  dataDir: string,
  fileName: string,
  store: Pick<Store, "reusableBytes">,
): () => Promise<DiskRoom> {
  return async () => {
    const [fs, reusable] = await Promise.all([statfs(dataDir), store.reusableBytes()]);
    return { free: fs.bavail * fs.bsize, reusable, wal: sizeOf(join(dataDir, `${fileName}-wal`)) };
  };
}

/**
 * `store` with its {@link GUARDED_METHODS} admitted by `floor` (refused below it, charged meanwhile);
 * every other call passes through as it is.
 */
export function floorGuarded(store: Store, floor: DiskFloor): Store {
  const guarded = Object.create(store) as Record<string, unknown>;
  for (const method of GUARDED_METHODS) {
    const { tier, bytes: estimate } = GUARDED[method] as NonNullable<(typeof GUARDED)[keyof Store]>;
    guarded[method] = (...args: unknown[]): Promise<unknown> => {
      const bytes = floor.floor > 0 ? estimate(args) : 0;
      const refusal = floor.admit(tier, bytes);
      if (refusal !== undefined) return Promise.reject(refusal);
      const settled = () => floor.settle(bytes);
      return (store[method] as (...a: unknown[]) => Promise<unknown>).apply(store, args).finally(settled);
    };
  }
  return guarded as unknown as Store;
}
