/**
 * Moving messages between queues: a message that leaves for a dead-letter queue on receive
 * (receive.ts), and the steps of a message move task (StartMessageMoveTask), which take the visible
 * messages of a dead-letter queue to a destination or back to the queues they came from.
 */
import type Database from "better-sqlite3";
import type { MoveResult, QueueRef } from "../types.js";
import type { MessageStatements } from "./message-statements.js";
import { queueOfArn } from "./queue-rows.js";
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
 * Moves message `seq` of queue `fromQueueId` into queue `queueId` as a new message (a new `seq`, so
 * that it takes its place at the end of the send order, and a new sequence number in a FIFO queue):
 * same id, body, attributes, sender, sent time, group and deduplication id; unreceived, visible at
 * `now`, and with the given dead-letter source. It keeps its expiry, unless `expiry` gives the
 * retention of the queue it moves to: it then expires that long after it was sent, or with
 * `fromNow`, after `now`.
 */
export type Relocate = (
  fromQueueId: number,
  seq: number,
  queueId: number,
  now: number,
  deadLetterSourceArn: string | null,
  expiry?: { readonly retentionMs: number; readonly fromNow: boolean },
) => void;

/** Builds {@link Relocate} over prepared statements. */
export function prepareRelocate(sql: MessageStatements): Relocate {
  return (fromQueueId, seq, queueId, now, deadLetterSourceArn, expiry) => {
    const copy = Number(sql.copyContent.run(deadLetterSourceArn, seq).lastInsertRowid);
    sql.copyState.run({
      queueId,
      seq: copy,
      now,
      fromQueueId,
      fromSeq: seq,
      retentionMs: expiry?.retentionMs ?? null,
      fromNow: expiry?.fromNow === true ? 1 : 0,
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

  return db.transaction(
    (source: QueueRef, destination: QueueRef | undefined, limit: number, now: number): MoveResult => {
      const sourceId = queueId(source);
      if (sourceId === undefined) return { moved: 0, remaining: 0 };
      const count = Math.floor(limit);
      const rows =
        count >= 1 ? messageSql.visibleInOrder.all({ queueId: sourceId, after: 0, now, limit: count }) : [];
      const destinationId = destination === undefined ? undefined : queueId(destination);
      /** Queue ids by dead-letter source ARN (undefined: no such queue). */
      const sources = new Map<string, number | undefined>();
      let moved = 0;
      let failure: MoveFailure | undefined;
      for (const [seq] of rows) {
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
        relocate(sourceId, seq, target, now, null);
        moved++;
      }
      const remaining = messageSql.countVisible.get({ queueId: sourceId, now }) ?? 0;
      return failure === undefined ? { moved, remaining } : { moved, remaining, failure };
    },
  ).immediate;
}
