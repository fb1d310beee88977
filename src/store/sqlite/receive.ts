/**
 * ReceiveMessage: picks up to `max` visible, unexpired messages of a queue, moving to the dead-letter
 * queue those received too often, and counts one receive of each picked message.
 *
 * A standard queue picks the messages that have been visible longest (sent, their delay or visibility
 * timeout over), through an index on when they became visible, and gives them in send order: a scan
 * in send order read every delayed or in-flight message before the first visible one, however many
 * (SQS lets 120,000 be in flight). A FIFO queue picks in send order, and also keeps its message groups in
 * order: a group with a message in flight gives nothing, and a group gives its messages in order, up
 * to its first one that is not visible (delayed); one receive fills from the oldest group it can
 * take first (as SQS does), then from the next, and so on. The scans read only message states (narrow rows). A FIFO receive first
 * reads up to {@link FIFO_SCAN_LIMIT} messages in send order, which finds the oldest groups' heads
 * when many groups hold a few messages each; when that finds too few (the first messages belong to
 * groups in flight, or a blocked group holds a long backlog), it goes on group by group, in name
 * order, through up to {@link FIFO_GROUP_SCAN_LIMIT} groups, a statement per {@link FIFO_GROUP_CHUNK}
 * of them: a group in flight costs a few index lookups, however many messages wait behind it. (SQS: "FIFO queues scan
 * the first 120,000 messages to determine available message groups".)
 */
import type Database from "better-sqlite3";
import type { QueueMessage, QueueRef, ReceiveOptions } from "../types.js";
import type { Relocate } from "./moves.js";
import type { CandidateRow, MessageStatements } from "./message-statements.js";
import { expiryCutoff, toQueueMessage } from "./queue-rows.js";
import type { QueueStatements } from "./queue-statements.js";

/** Most messages a FIFO receive looks at (in flight, delayed or in blocked groups included). */
export const FIFO_SCAN_LIMIT = 2000;

/**
 * Most message groups a FIFO receive looks at past its scan in send order. Measured with every group
 * in flight, a receive that finds nothing takes ~0.45 µs a group (9 ms for 20,000 groups, 53 ms for
 * SQS's 120,000, its limit of FIFO messages in flight), and a waiting receive looks again every
 * second and on every delete: 120,000 would hold the store too long for each.
 */
export const FIFO_GROUP_SCAN_LIMIT = 20_000;

/** Message groups a FIFO receive looks at in one statement, past its scan in send order. */
export const FIFO_GROUP_CHUNK = 1000;

/** Messages a FIFO receive reads from the index at a time. */
export const FIFO_SCAN_CHUNK = 200;

/**
 * Most messages a standard receive looks at: only messages it moves to the dead-letter queue make it
 * look further than `max`, so this bounds the moves one receive makes.
 */
export const RECEIVE_SCAN_LIMIT = 1000;

/** The dead-letter queue a receive moves messages to. */
interface Redrive {
  readonly maxReceiveCount: number;
  readonly queueId: number;
  readonly fifo: boolean;
  readonly sourceArn: string;
  readonly retentionMs: number;
  /** The moves this receive may still make ({@link MAX_REDRIVES_PER_RECEIVE} at first). */
  moves: number;
}

/**
 * The messages one receive moves to the dead-letter queue at most. A receive is one transaction, which
 * the write-ahead log holds whole until a checkpoint: moving every message of a scan that had been
 * received too often (up to {@link RECEIVE_SCAN_LIMIT} of up to 1 MiB) could take a gigabyte of disk in
 * one go, and fail, and fail again at every receive after, on a disk near full. The rest are moved by
 * the receives after; none is handed out meanwhile.
 */
export const MAX_REDRIVES_PER_RECEIVE = 10;

/** What one receive (or move) picks from: the queue, the time, the limit and the redrive policy in force. */
export interface Pick {
  readonly queueId: number;
  readonly max: number;
  readonly now: number;
  /** `now` less the queue's retention shift: what unexpired messages' `expires_at` is after (schema.ts). */
  readonly cutoff: number;
  readonly redrive: Redrive | undefined;
}

/**
 * The pickers of a receive, over prepared statements: `pickStandard` and `pickFifo` give the seqs a
 * receive takes (moving to the dead-letter queue those received too often on the way); a move task
 * takes a FIFO queue's messages as a receive would, so that it keeps the groups in order.
 */
export function preparePicks(sql: MessageStatements, relocate: Relocate) {
  /**
   * Whether a message was received too often to be handed out: "moved" to the dead-letter queue, or
   * "held" for a later receive to move, this one having made its {@link MAX_REDRIVES_PER_RECEIVE}.
   */
  const redriven = (row: CandidateRow, pick: Pick): "moved" | "held" | false => {
    const { redrive } = pick;
    const [seq, , receiveCount] = row;
    if (redrive === undefined || receiveCount < redrive.maxReceiveCount) return false;
    if (redrive.moves <= 0) return "held";
    redrive.moves--;
    relocate(pick.queueId, seq, redrive.queueId, pick.now, {
      kind: "deadLetter",
      sourceArn: redrive.sourceArn,
      retentionMs: redrive.retentionMs,
      fifo: redrive.fifo,
    });
    return "moved";
  };

  /** The seqs a standard queue receive takes: the messages visible longest, in send order. */
  const pickStandard = (pick: Pick): number[] => {
    const picked: number[] = [];
    let after = 0;
    let afterVisible = Number.MIN_SAFE_INTEGER;
    let scanned = 0;
    while (picked.length < pick.max && scanned < RECEIVE_SCAN_LIMIT) {
      const limit = Math.min(pick.max - picked.length, RECEIVE_SCAN_LIMIT - scanned);
      const rows = sql.visibleInTurn.all({
        queueId: pick.queueId,
        after,
        afterVisible,
        now: pick.now,
        cutoff: pick.cutoff,
        limit,
      });
      for (const row of rows) {
        after = row[0];
        afterVisible = row[1];
        scanned++;
        if (redriven(row, pick) === false) picked.push(row[0]);
      }
      if (rows.length < limit) break;
    }
    // Taken by how long they have been visible, given in the order they were sent.
    return picked.sort((a, b) => a - b);
  };

  /** The seqs a FIFO queue receive takes, keeping groups in order (see the module comment). */
  const pickFifo = (pick: Pick): number[] => {
    const { queueId, now, cutoff } = pick;
    const picked: number[] = [];
    /** Groups with a message in flight: they give nothing. */
    const blocked = new Set<string>();
    /** Groups with a delayed message: they give nothing after it. */
    const stopped = new Set<string>();
    /** Groups known to have no message in flight. */
    const free = new Set<string>();
    let after = 0;
    let scanned = 0;
    scan: while (scanned < FIFO_SCAN_LIMIT) {
      const limit = Math.min(FIFO_SCAN_CHUNK, FIFO_SCAN_LIMIT - scanned);
      const rows = sql.unexpiredInOrder.all({ queueId, after, now, cutoff, limit });
      for (const row of rows) {
        const [seq, visibleAt, receiveCount, group] = row;
        after = seq;
        scanned++;
        if (visibleAt > now) {
          if (group !== null) (receiveCount > 0 ? blocked : stopped).add(group);
          continue;
        }
        if (group !== null) {
          if (blocked.has(group) || stopped.has(group)) continue;
          if (!free.has(group)) {
            // An in-flight message of the group may come later in the send order (a receive took
            // several of its messages, and one of them was made visible again).
            if (sql.groupInFlight.get(queueId, group, now, cutoff) !== undefined) {
              blocked.add(group);
              continue;
            }
            free.add(group);
          }
        }
        const over = redriven(row, pick);
        if (over !== false) {
          // One held keeps its group's later messages back, as one in flight does.
          if (over === "held" && group !== null) blocked.add(group);
          continue;
        }
        picked.push(seq);
        if (picked.length === pick.max) break scan;
        if (group !== null) {
          // The group's head: the receive fills from its group first (see fillFromGroup).
          fillFromGroup(pick, picked, group, seq);
          // Its later messages are taken, or wait behind one that is not (or one held).
          blocked.add(group);
          if (picked.length === pick.max) break scan;
        }
      }
      if (rows.length < limit) return picked;
    }
    if (picked.length < pick.max)
      pickByGroup(pick, picked, (group) => blocked.has(group) || stopped.has(group) || free.has(group));
    return picked;
  };

  /**
   * Adds to `picked` the messages of `group` (after `head`, its first message, when that was just
   * picked), in order, up to its first that is not visible: SQS "first attempts to return as many
   * messages with the same message group ID as possible. This allows other consumers to process
   * messages with a different message group ID". In send order alone, a receive of 10 from a queue
   * whose groups' messages alternate took the heads of 10 groups, and every other consumer waited.
   */
  const fillFromGroup = (pick: Pick, picked: number[], group: string, head = 0): void => {
    const { queueId, now, cutoff } = pick;
    // The group's messages from its head (a scan in send order leaves none before `head`).
    const limit = pick.max - picked.length + (head > 0 ? 1 : 0);
    for (const row of sql.groupInOrder.all({ queueId, group, cutoff, limit })) {
      if (row[0] <= head) continue;
      if (row[1] > now) return;
      const over = redriven(row, pick);
      if (over === "held") return;
      if (over === "moved") continue;
      picked.push(row[0]);
      if (picked.length === pick.max) return;
    }
  };

  /**
   * The FIFO receive past its scan in send order: the groups it has not seen, one by one, adding to
   * `picked` each free group's messages in order, up to its first that is not visible.
   */
  const pickByGroup = (pick: Pick, picked: number[], seen: (group: string) => boolean): void => {
    const { queueId, now, cutoff } = pick;
    let after = "";
    for (let looked = 0; looked < FIFO_GROUP_SCAN_LIMIT; looked += FIFO_GROUP_CHUNK) {
      const free = sql.freeGroupsAfter.all({ queueId, after, now, cutoff, limit: FIFO_GROUP_CHUNK });
      const last = free.pop();
      if (last === null || last === undefined) return;
      for (const group of free as string[]) {
        if (seen(group)) continue;
        fillFromGroup(pick, picked, group);
        if (picked.length === pick.max) return;
      }
      after = last;
    }
  };

  return { pickStandard, pickFifo };
}

/** Builds `receiveMessages` over prepared statements, in one transaction. */
export function prepareReceive(
  db: Database.Database,
  queueSql: QueueStatements,
  sql: MessageStatements,
  relocate: Relocate,
) {
  const { pickStandard, pickFifo } = preparePicks(sql, relocate);
  return db.transaction((queue: QueueRef, options: ReceiveOptions): QueueMessage[] => {
    const key = queueSql.queueKey.get(queue.accountId, queue.name);
    const max = Math.floor(options.max);
    if (key === undefined || !(max >= 1)) return [];
    const { now, visibleUntil: until, redrive } = options;
    const deadLetterQueue =
      redrive === undefined
        ? undefined
        : queueSql.queueKey.get(redrive.deadLetterQueue.accountId, redrive.deadLetterQueue.name);
    const pick: Pick = {
      queueId: key.id,
      max,
      now,
      cutoff: expiryCutoff(key, now),
      redrive:
        redrive === undefined || deadLetterQueue === undefined
          ? undefined
          : {
              maxReceiveCount: redrive.maxReceiveCount,
              queueId: deadLetterQueue.id,
              fifo: deadLetterQueue.fifo !== 0,
              sourceArn: redrive.sourceArn,
              retentionMs: redrive.deadLetterRetentionMs,
              moves: MAX_REDRIVES_PER_RECEIVE,
            },
    };
    const fifo = key.fifo !== 0;
    const picked = fifo ? pickFifo(pick) : pickStandard(pick);
    if (picked.length === 0) return [];
    // Two statements for the whole receive: count the receives, then read the messages.
    const seqs = JSON.stringify(picked);
    sql.receive.run({ until, now, queueId: key.id, seqs });
    const rows = new Map(
      sql.messages.all({ queueId: key.id, seqs, shiftMs: key.shiftMs }).map((row) => [row[0], row]),
    );
    const messages: QueueMessage[] = [];
    for (const seq of picked) {
      const row = rows.get(seq);
      if (row !== undefined) messages.push(toQueueMessage(row, fifo));
    }
    return messages;
  }).immediate;
}
