/**
 * The messages of queues: delete and change visibility by receipt, purge, count and expire; send is in
 * send.ts, receive in receive.ts, moves in moves.ts. Each operation is
 * one IMMEDIATE transaction (a savepoint inside a group commit).
 *
 * A message is visible when `visible_at <= now`; in flight when it was received (`receive_count > 0`)
 * and is not visible; delayed when it was never received and is not visible yet. A message is gone from
 * its `expires_at` plus its queue's retention shift on (schema.ts: the queue's current
 * MessageRetentionPeriod decides), whether or not a sweep (sweepExpiredMessages) has removed it yet.
 */
import type Database from "better-sqlite3";
import type {
  DeleteOutcome,
  QueueCounts,
  QueueCountsStep,
  InFlightCursor,
  InFlightStep,
  QueueRef,
  SweepStep,
  ReceiptRef,
  VisibilityChange,
  VisibilityOutcome,
} from "../types.js";
import type { CheckRow, MessageStatements } from "./message-statements.js";
import { prepareMove, prepareRelocate } from "./moves.js";
import { expiryCutoff, type QueueKeyRow } from "./queue-rows.js";
import type { QueueStatements } from "./queue-statements.js";
import { prepareReceive } from "./receive.js";
import { prepareSend } from "./send.js";
import { sweepCursor, sweepStep, textKeyCursor } from "./sweep.js";

/** Builds the message operations over prepared statements. */
export function prepareMessageOperations(
  db: Database.Database,
  queueSql: QueueStatements,
  sql: MessageStatements,
) {
  const tx = <F extends (...args: never[]) => unknown>(fn: F): Database.Transaction<F> =>
    db.transaction(fn).immediate;
  const queueKey = (queue: QueueRef): QueueKeyRow | undefined =>
    queueSql.queueKey.get(queue.accountId, queue.name);
  const relocate = prepareRelocate(queueSql, sql);

  /** The state of message `seq` of a queue when it is unexpired. */
  const liveMessage = (key: QueueKeyRow, seq: number, now: number): CheckRow | undefined => {
    const row = sql.check.get(key.id, seq);
    return row !== undefined && row.expiresAt > expiryCutoff(key, now) ? row : undefined;
  };

  /** Deletes message `seq` of queue `queueId`. */
  const remove = (queueId: number, seq: number): void => {
    sql.deleteState.run(queueId, seq);
    sql.deleteContent.run(seq);
  };

  return {
    send: prepareSend(db, queueSql, sql),

    receive: prepareReceive(db, queueSql, sql, relocate),

    /**
     * Deletes by receipt. A standard queue deletes the message whatever receive the handle came from;
     * a FIFO queue only during the handle's receive (`expired` otherwise, and the message stays).
     */
    delete: tx((queue: QueueRef, refs: readonly ReceiptRef[], now: number): DeleteOutcome[] => {
      const key = queueKey(queue);
      if (key === undefined) return refs.map(() => "gone");
      if (key.fifo === 0) {
        return refs.map((ref): DeleteOutcome => {
          if (sql.deleteLiveState.run(key.id, ref.seq, expiryCutoff(key, now)).changes === 0) return "gone";
          sql.deleteContent.run(ref.seq);
          return "deleted";
        });
      }
      return refs.map((ref): DeleteOutcome => {
        const message = liveMessage(key, ref.seq, now);
        if (message === undefined) return "gone";
        if (message.receiveCount !== ref.receiveCount || message.visibleAt <= now) return "expired";
        remove(key.id, ref.seq);
        return "deleted";
      });
    }),

    /**
     * Changes the visibility of messages in flight under the handle's receive. A standard queue tells a
     * visible message (`not-in-flight`) from one in flight under a later receive (`stale`); a FIFO queue
     * calls both `expired`. A new end more than `maxInFlightMs` after the receive is refused (`limit`).
     */
    changeVisibility: tx(
      (
        queue: QueueRef,
        changes: readonly VisibilityChange[],
        now: number,
        maxInFlightMs: number,
      ): VisibilityOutcome[] => {
        const key = queueKey(queue);
        if (key === undefined) return changes.map(() => "gone");
        return changes.map((change): VisibilityOutcome => {
          const message = liveMessage(key, change.seq, now);
          if (message === undefined) return "gone";
          const inFlight = message.receiveCount > 0 && message.visibleAt > now;
          const sameReceive = message.receiveCount === change.receiveCount;
          if (key.fifo !== 0 && (!sameReceive || !inFlight)) return "expired";
          if (!inFlight) return "not-in-flight";
          if (!sameReceive) return "stale";
          if (change.visibleUntil - (message.lastReceivedAt ?? now) > maxInFlightMs) return "limit";
          sql.setVisibleAt.run(change.visibleUntil, key.id, change.seq);
          return "changed";
        });
      },
    ),

    /** Deletes up to `limit` of a queue's messages, oldest first; returns how many (0 when the queue does not exist). */
    purge: tx((queue: QueueRef, limit: number): number => {
      const key = queueKey(queue);
      if (key === undefined) return 0;
      const seqs = sql.oldest.all(key.id, limit);
      for (const seq of seqs) remove(key.id, seq);
      return seqs.length;
    }),

    /** Counts the unexpired messages of a queue by state (all zero when the queue does not exist). */
    count(queue: QueueRef, now: number): QueueCounts {
      const key = queueKey(queue);
      const counts =
        key === undefined
          ? undefined
          : sql.countMessages.get({ queueId: key.id, now, cutoff: expiryCutoff(key, now) });
      return counts ?? { visible: 0, inFlight: 0, delayed: 0 };
    },

    /** One step of a count of a queue's messages (all zero, and no next step, when the queue does not exist). */
    countFrom(queue: QueueRef, now: number, after: number, limit: number): QueueCountsStep {
      const key = queueKey(queue);
      if (key === undefined) return { visible: 0, inFlight: 0, delayed: 0 };
      const row = sql.countMessagesFrom.get({
        queueId: key.id,
        now,
        cutoff: expiryCutoff(key, now),
        after,
        limit,
      });
      if (row === undefined) return { visible: 0, inFlight: 0, delayed: 0 };
      const { visible, inFlight, delayed, scanned, last } = row;
      return scanned < limit || last === null
        ? { visible, inFlight, delayed }
        : { visible, inFlight, delayed, next: last };
    },

    /**
     * One step of a count of a queue's messages in flight (0, and no next step, when the queue does
     * not exist): the next `limit` messages not visible at `now`, in the visibility index's order.
     */
    countInFlight(
      queue: QueueRef,
      now: number,
      after: InFlightCursor | undefined,
      limit: number,
    ): InFlightStep {
      const key = queueKey(queue);
      if (key === undefined) return { inFlight: 0 };
      // Not visible at `now`: after (now, any seq) in the index.
      const from = after ?? { visibleAt: now, seq: Number.MAX_SAFE_INTEGER };
      const range = { queueId: key.id, afterVisible: from.visibleAt, afterSeq: from.seq };
      const end = sql.inFlightStepEnd.get({ ...range, offset: limit - 1 });
      const [endVisible, endSeq] = end ?? [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      const inFlight =
        sql.inFlightBetween.get({ ...range, endVisible, endSeq, cutoff: expiryCutoff(key, now) }) ?? 0;
      return end === undefined ? { inFlight } : { inFlight, next: { visibleAt: endVisible, seq: endSeq } };
    },

    /**
     * One step of a retention sweep: the states after `cursor` (`<queue id>:<seq>`), at most
     * `scanLimit` of them, those expired (by their queue's current retention) deleted.
     */
    sweep: tx((now: number, scanLimit: number, cursor?: string): SweepStep => {
      const [queueId, seq] = sweepCursor(cursor, scanLimit, "sweepExpiredMessages");
      const rows = sql.statesAfter.all(queueId, seq, scanLimit);
      let deleted = 0;
      for (const [rowQueueId, rowSeq, expiresAt] of rows) {
        if (expiresAt > now) continue;
        remove(rowQueueId, rowSeq);
        deleted++;
      }
      return sweepStep(deleted, rows, scanLimit);
    }),

    /**
     * One step of a sweep of deduplication records: those after `cursor` (`<queue id>:<key>`), at most
     * `scanLimit`, deleted where their window has ended.
     */
    sweepDeduplication: tx((now: number, scanLimit: number, cursor?: string): SweepStep => {
      const [queueId, key] = textKeyCursor(cursor, scanLimit, "sweepExpiredDeduplication");
      const rows = queueSql.deduplicationAfter.all(queueId, key, scanLimit);
      let deleted = 0;
      for (const [rowQueueId, rowKey, until] of rows) {
        if (until <= now) deleted += queueSql.deleteDeduplication.run(rowQueueId, rowKey).changes;
      }
      return sweepStep(deleted, rows, scanLimit);
    }),

    move: prepareMove(db, queueSql, sql, relocate),
  };
}

/** The message operations of a store. */
export type MessageOperations = ReturnType<typeof prepareMessageOperations>;
