/**
 * Moving messages between queues: a message that leaves for a dead-letter queue on receive
 * (receive.ts), and the steps of a message move task (StartMessageMoveTask), which take the visible
 * messages of a dead-letter queue to a destination or back to the queues they came from.
 */
import { randomUUID } from "node:crypto";
import type Database from "better-sqlite3";
import type { MoveResult, QueueRef } from "../types.js";
import type { MessageStatements } from "./message-statements.js";
import { expiryCutoff, queueOfArn } from "./queue-rows.js";
import { preparePicks } from "./receive.js";
import type { QueueStatements } from "./queue-statements.js";

/** Why a move step stopped early, as SQS names it (the move task's FailureReason). */
export const MoveFailure = {
  /** A message without a dead-letter source, and no destination given. */
  CouldNotDetermineMessageSource: "CouldNotDetermineMessageSource",
  /** The destination (given, or the message's source) does not exist. */
  NonExistentQueue: "AWS.SimpleQueueService.NonExistentQueue",
} as const;
export type MoveFailure = (typeof MoveFailure)[keyof typeof MoveFailure];

/**
 * How a message moves: to a dead-letter queue on the receive that exceeds maxReceiveCount, or by a
 * move task. Either way it becomes a new row (a new `seq`, so that it takes its place at the end of
 * the send order, and a new sequence number in a FIFO queue), visible at once, with the same body,
 * attributes, sender and group.
 */
export type MoveKind =
  | {
      /**
       * To a dead-letter queue, as SQS does it: the same MessageId and sent time; the receive count and
       * first receive kept (ApproximateReceiveCount counts receives "across all queues"); from a FIFO
       * queue, the deduplication id replaced by the message id; the dead-letter queue's retention
       * counted from the original send, or in a FIFO dead-letter queue, from now.
       */
      readonly kind: "deadLetter";
      readonly sourceArn: string;
      readonly retentionMs: number;
      readonly fifo: boolean;
    }
  | {
      /**
       * By a move task (redrive): "All redriven messages are considered new messages and assigned a new
       * messageID and enqueueTime", and "the redrive task resets the retention period": a new id, sent
       * now, unreceived, expiring after the destination's retention, with no dead-letter source.
       */
      readonly kind: "redrive";
      readonly id: string;
    };

/** Moves message `seq` of queue `fromQueueId` into queue `queueId` at `now`, as `how` says. */
export type Relocate = (
  fromQueueId: number,
  seq: number,
  queueId: number,
  now: number,
  how: MoveKind,
) => void;

/** Builds {@link Relocate} over prepared statements. */
export function prepareRelocate(queueSql: QueueStatements, sql: MessageStatements): Relocate {
  return (fromQueueId, seq, queueId, now, how) => {
    const deadLetter = how.kind === "deadLetter";
    const copy = Number(
      sql.copyContent.run({
        seq,
        source: deadLetter ? how.sourceArn : null,
        id: deadLetter ? null : how.id,
        sentAt: deadLetter ? null : now,
        dedupFromId: deadLetter && how.fifo ? 1 : 0,
      }).lastInsertRowid,
    );
    sql.copyState.run({
      queueId,
      seq: copy,
      now,
      fromQueueId,
      fromSeq: seq,
      retentionMs: deadLetter ? how.retentionMs : (sql.retentionMsOf.get(queueId) ?? null),
      fromNow: deadLetter && !how.fifo ? 0 : 1,
      keepReceives: deadLetter ? 1 : 0,
      // The expiries as the queues' retention shifts make them (schema.ts).
      shiftMs: queueSql.shiftOf.get(queueId) ?? 0,
      fromShiftMs: queueSql.shiftOf.get(fromQueueId) ?? 0,
    });
    sql.deleteState.run(fromQueueId, seq);
    sql.deleteContent.run(seq);
  };
}

/** Builds `moveMessages`: one step of a move task, in one transaction. */
export function prepareMove(
  db: Database.Database,
  sql: QueueStatements,
  messageSql: MessageStatements,
  relocate: Relocate,
) {
  /** The id of a queue, undefined when it does not exist. */
  const queueId = (ref: QueueRef): number | undefined => sql.queueKey.get(ref.accountId, ref.name)?.id;
  const picks = preparePicks(messageSql, relocate);

  return db.transaction(
    (
      source: QueueRef,
      destination: QueueRef | undefined,
      limit: number,
      now: number,
      taskId?: string,
    ): MoveResult => {
      const sourceKey = sql.queueKey.get(source.accountId, source.name);
      if (sourceKey === undefined) return { moved: 0, remaining: 0 };
      const sourceId = sourceKey.id;
      const cutoff = expiryCutoff(sourceKey, now);
      const count = Math.floor(limit);
      // A FIFO queue's as a receive takes them: in send order, no group past a message of it in flight
      // or delayed (moved ahead, a group's later messages would come before its earlier ones); a
      // standard queue's, the messages visible longest first.
      const seqs =
        count < 1
          ? []
          : sourceKey.fifo !== 0
            ? picks.pickFifo({ queueId: sourceId, max: count, now, cutoff, redrive: undefined })
            : messageSql.visibleInTurn
                .all({
                  queueId: sourceId,
                  after: 0,
                  afterVisible: Number.MIN_SAFE_INTEGER,
                  now,
                  cutoff,
                  limit: count,
                })
                .map((row) => row[0]);
      const destinationId = destination === undefined ? undefined : queueId(destination);
      /** Queue ids by dead-letter source ARN (undefined: no such queue). */
      const sources = new Map<string, number | undefined>();
      let moved = 0;
      let failure: MoveFailure | undefined;
      for (const seq of seqs) {
        let target = destinationId;
        if (destination === undefined) {
          const arn = messageSql.deadLetterSourceOf.get(seq) ?? null;
          const ref = arn === null ? undefined : queueOfArn(arn);
          if (arn === null || ref === undefined) {
            failure = MoveFailure.CouldNotDetermineMessageSource;
            break;
          }
          if (!sources.has(arn)) sources.set(arn, queueId(ref));
          target = sources.get(arn);
        }
        if (target === undefined) {
          failure = MoveFailure.NonExistentQueue;
          break;
        }
        relocate(sourceId, seq, target, now, { kind: "redrive", id: randomUUID() });
        moved++;
      }
      if (taskId !== undefined && moved > 0) sql.countMoved.run(moved, taskId);
      const remaining = messageSql.countVisible.get({ queueId: sourceId, now, cutoff }) ?? 0;
      return failure === undefined ? { moved, remaining } : { moved, remaining, failure };
    },
  ).immediate;
}
