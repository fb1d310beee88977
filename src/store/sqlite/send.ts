/**
 * SendMessage(Batch): enqueues a batch in one transaction. A FIFO queue numbers its messages (the
 * sequence number is the message's seq, which increases in send order and is never reused) and drops
 * duplicates: a message whose deduplication key was recorded for the queue with an `until` after the
 * message's `sentAt` (by an earlier send, or earlier in the same batch: each send records its key at
 * once) is not enqueued, and its result names the original. Deduplication records outlive their
 * messages.
 */
import type Database from "better-sqlite3";
import type { NewMessage, QueueRef, SendResult } from "../types.js";
import { QueueNotFoundError } from "./errors.js";
import type { MessageStatements } from "./message-statements.js";
import { contentOf, sequenceNumber, type QueueKeyRow } from "./queue-rows.js";
import type { QueueStatements } from "./queue-statements.js";

/** Builds `sendMessages` over prepared statements. */
export function prepareSend(db: Database.Database, queueSql: QueueStatements, sql: MessageStatements) {
  /** Enqueues one message; returns its seq. Its expiry is written less the queue's retention shift (schema.ts). */
  const insert = (key: QueueKeyRow, message: NewMessage): number => {
    const seq = Number(sql.insertContent.run(...contentOf(message)).lastInsertRowid);
    const expiresAt = message.expiresAt - key.shiftMs;
    sql.insertState.run(key.id, seq, message.visibleAt, expiresAt, message.groupId ?? null);
    return seq;
  };

  return db.transaction((queue: QueueRef, messages: readonly NewMessage[]): SendResult[] => {
    const key = queueSql.queueKey.get(queue.accountId, queue.name);
    if (key === undefined) throw new QueueNotFoundError(queue.accountId, queue.name);
    if (key.fifo === 0) {
      return messages.map((m): SendResult => {
        insert(key, m);
        return { id: m.id, duplicate: false };
      });
    }
    return messages.map((m): SendResult => {
      const dedup = m.deduplication;
      if (dedup !== undefined) {
        const recorded = queueSql.getDeduplication.get(key.id, dedup.key);
        if (recorded !== undefined && recorded.until > m.sentAt) {
          return {
            id: recorded.messageId,
            sequenceNumber: sequenceNumber(recorded.messageSeq),
            duplicate: true,
          };
        }
      }
      const seq = insert(key, m);
      if (dedup !== undefined) queueSql.upsertDeduplication.run(key.id, dedup.key, m.id, seq, dedup.until);
      return { id: m.id, sequenceNumber: sequenceNumber(seq), duplicate: false };
    });
  }).immediate;
}
