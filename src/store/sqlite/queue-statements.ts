/**
 * The SQL statements of queues as configuration, FIFO deduplication records and message move tasks,
 * prepared once when the store opens. Messages have theirs in message-statements.ts. A LIMIT parameter
 * is written `LIMIT +@x` (see statements.ts).
 */
import type Database from "better-sqlite3";
import type { PageParams } from "./paging.js";
import type { MoveTaskRow, QueueKeyRow, QueueRow } from "./queue-rows.js";

/** A FIFO deduplication record. */
export interface DeduplicationRow {
  readonly messageId: string;
  readonly messageSeq: number;
  readonly until: number;
}

const QUEUE_COLUMNS = `account_id AS accountId, name, arn, fifo, attributes,
  dead_letter_target_arn AS deadLetterTargetArn, created_at AS createdAt,
  last_modified_at AS lastModifiedAt`;
const MOVE_TASK_COLUMNS = `id, source_arn AS sourceArn, destination_arn AS destinationArn,
  max_per_second AS maxPerSecond, status, moved, to_move AS toMove, failure_reason AS failureReason,
  started_at AS startedAt`;

/** Prepares the statements of queues. */
export function prepareQueueStatements(db: Database.Database) {
  return {
    insertQueue: db.prepare<[QueueRow]>(
      `INSERT INTO queues (account_id, name, arn, fifo, attributes, dead_letter_target_arn, created_at,
         last_modified_at)
       VALUES (@accountId, @name, @arn, @fifo, @attributes, @deadLetterTargetArn, @createdAt,
         @lastModifiedAt)
       ON CONFLICT DO NOTHING`,
    ),
    /**
     * Replaces a queue's attributes; a changed MessageRetentionPeriod adds its change to the queue's
     * `retention_shift_ms` (schema.ts), so that the messages already queued expire by the new one,
     * and the retention floor keeps what had expired by then expired (each side reads the row as it
     * was before the update).
     */
    updateQueue: db.prepare<[QueueRow]>(
      `UPDATE queues SET attributes = @attributes, dead_letter_target_arn = @deadLetterTargetArn,
         last_modified_at = @lastModifiedAt,
         retention_floor_ms = max(retention_floor_ms, @lastModifiedAt - retention_shift_ms),
         retention_shift_ms = retention_shift_ms + coalesce(1000 * (
           CAST(json_extract(@attributes, '$.MessageRetentionPeriod') AS INTEGER)
           - CAST(json_extract(attributes, '$.MessageRetentionPeriod') AS INTEGER)), 0)
       WHERE account_id = @accountId AND name = @name AND created_at = @createdAt`,
    ),
    getQueue: db.prepare<[string, string], QueueRow>(
      `SELECT ${QUEUE_COLUMNS} FROM queues WHERE account_id = ? AND name = ?`,
    ),
    queueKey: db.prepare<[string, string], QueueKeyRow & { arn: string }>(
      `SELECT id, fifo, retention_shift_ms AS shiftMs, retention_floor_ms AS floorMs, arn FROM queues
       WHERE account_id = ? AND name = ?`,
    ),
    /** (queue id): the queue's retention shift (schema.ts), undefined when it does not exist. */
    shiftOf: db.prepare<[number], number>(`SELECT retention_shift_ms FROM queues WHERE id = ?`).pluck(),
    listQueues: db.prepare<[PageParams & { accountId: string }], QueueRow>(
      `SELECT ${QUEUE_COLUMNS} FROM queues WHERE account_id = @accountId
         AND name > @after AND name >= @prefix ORDER BY name LIMIT +@fetch`,
    ),
    listDeadLetterSources: db.prepare<
      [{ arn: string; afterAccount: string; afterName: string; prefix: string; fetch: number }],
      QueueRow
    >(
      `SELECT ${QUEUE_COLUMNS} FROM queues WHERE dead_letter_target_arn = @arn
         AND (account_id, name) > (@afterAccount, @afterName)
         AND substr(name, 1, length(@prefix)) = @prefix
       ORDER BY account_id, name LIMIT +@fetch`,
    ),
    deleteQueue: db.prepare<[number]>(`DELETE FROM queues WHERE id = ?`),
    retireQueue: db.prepare<[string, string, number]>(
      `UPDATE queues SET account_id = ?, name = ?, attributes = '{}', dead_letter_target_arn = NULL
       WHERE id = ?`,
    ),
    deleteTagsOfArn: db.prepare<[string]>(`DELETE FROM tags WHERE arn = ?`),
    deleteDeduplicationOfQueue: db.prepare<[number]>(`DELETE FROM queue_deduplication WHERE queue_id = ?`),
    deleteMoveTasksOfSource: db.prepare<[string]>(`DELETE FROM queue_move_tasks WHERE source_arn = ?`),

    getDeduplication: db.prepare<[number, string], DeduplicationRow>(
      `SELECT message_id AS messageId, message_seq AS messageSeq, until FROM queue_deduplication
       WHERE queue_id = ? AND key = ?`,
    ),
    upsertDeduplication: db.prepare<[number, string, string, number | bigint, number]>(
      `INSERT INTO queue_deduplication (queue_id, key, message_id, message_seq, until) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (queue_id, key) DO UPDATE SET message_id = excluded.message_id,
         message_seq = excluded.message_seq, until = excluded.until`,
    ),
    /**
     * (queue id, key, limit): a page of deduplication records in key order after (queue id, key). No
     * index by `until`: it would cost every FIFO send a random b-tree write (~70% more per record,
     * measured) to save a sweep that reads each record once a minute.
     */
    deduplicationAfter: db
      .prepare<[number, string, number], readonly [queueId: number, key: string, until: number]>(
        `SELECT queue_id, key, until FROM queue_deduplication WHERE (queue_id, key) > (?, ?)
         ORDER BY queue_id, key LIMIT ?`,
      )
      .raw(),
    deleteDeduplication: db.prepare<[number, string]>(
      `DELETE FROM queue_deduplication WHERE queue_id = ? AND key = ?`,
    ),

    upsertMoveTask: db.prepare<[MoveTaskRow]>(
      `INSERT INTO queue_move_tasks (id, source_arn, destination_arn, max_per_second, status, moved,
         to_move, failure_reason, started_at)
       VALUES (@id, @sourceArn, @destinationArn, @maxPerSecond, @status, @moved, @toMove,
         @failureReason, @startedAt)
       ON CONFLICT (id) DO UPDATE SET source_arn = excluded.source_arn,
         destination_arn = excluded.destination_arn, max_per_second = excluded.max_per_second,
         status = excluded.status, moved = excluded.moved, to_move = excluded.to_move,
         failure_reason = excluded.failure_reason, started_at = excluded.started_at`,
    ),
    /** Adds what a step moved to its task's count (in the step's transaction). */
    countMoved: db.prepare<[number, string]>(`UPDATE queue_move_tasks SET moved = moved + ? WHERE id = ?`),
    /** Finished tasks of a source beyond its `?` latest (ListMessageMoveTasks shows 10 at most). */
    pruneMoveTasks: db.prepare<[string, string, number]>(
      `DELETE FROM queue_move_tasks WHERE source_arn = ?
         AND status IN ('COMPLETED', 'CANCELLED', 'FAILED')
         AND seq NOT IN (SELECT seq FROM queue_move_tasks WHERE source_arn = ?
                         ORDER BY started_at DESC, seq DESC LIMIT +?)`,
    ),
    getMoveTask: db.prepare<[string], MoveTaskRow>(
      `SELECT ${MOVE_TASK_COLUMNS} FROM queue_move_tasks WHERE id = ?`,
    ),
    listActiveMoveTasks: db.prepare<[], MoveTaskRow>(
      `SELECT ${MOVE_TASK_COLUMNS} FROM queue_move_tasks WHERE status IN ('RUNNING', 'CANCELLING')
       ORDER BY started_at, seq`,
    ),
    listMoveTasks: db.prepare<[string, number], MoveTaskRow>(
      `SELECT ${MOVE_TASK_COLUMNS} FROM queue_move_tasks WHERE source_arn = ?
       ORDER BY started_at DESC, seq DESC LIMIT +?`,
    ),
  };
}

/** The prepared statements of queues. */
export type QueueStatements = ReturnType<typeof prepareQueueStatements>;
