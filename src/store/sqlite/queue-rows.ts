/**
 * Rows of the queue tables as SQLite returns them, and their conversions to and from the domain types.
 * As in rows.ts, optional fields are stored as NULL and come back absent. (Message rows are declared
 * with their statements, in message-statements.ts.)
 */
import type { MoveTask, MoveTaskStatus, NewMessage, Queue, QueueMessage, QueueRef } from "../types.js";
import type { ContentParams, MessageRow } from "./message-statements.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A row of `queues`, also the bind parameters of its insert and update. */
export interface QueueRow {
  readonly accountId: string;
  readonly name: string;
  readonly arn: string;
  readonly fifo: number;
  /** JSON object of strings. */
  readonly attributes: string;
  readonly deadLetterTargetArn: string | null;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
}

/** What the message operations need to know of a queue. */
export interface QueueKeyRow {
  /** `queues.id`, what messages refer to. */
  readonly id: number;
  readonly fifo: number;
  /**
   * How much later than its state's `expires_at` each message of the queue expires: the changes of
   * the queue's MessageRetentionPeriod since (schema.ts). A scan compares `expires_at` with
   * `now - shiftMs`; a send writes its expiry less it.
   */
  readonly shiftMs: number;
  /** The messages whose `expires_at` is at or before it expired when the queue last changed (schema.ts). */
  readonly floorMs: number;
}

/**
 * What an unexpired message's `expires_at` is after at `now`: `now` less the queue's retention shift,
 * or its retention floor when that is later (schema.ts).
 */
export function expiryCutoff(key: QueueKeyRow, now: number): number {
  return Math.max(now - key.shiftMs, key.floorMs);
}

/** A row of `queue_move_tasks`, also the bind parameters of its upsert. */
export interface MoveTaskRow {
  readonly id: string;
  readonly sourceArn: string;
  readonly destinationArn: string | null;
  readonly maxPerSecond: number | null;
  readonly status: string;
  readonly moved: number;
  readonly toMove: number;
  readonly failureReason: string | null;
  readonly startedAt: number;
}

/** Digits of a FIFO sequence number. */
export const SEQUENCE_NUMBER_DIGITS = 20;

/**
 * The SequenceNumber of a FIFO message: its `seq`, which increases in send order and is never reused,
 * as a zero-padded decimal string of {@link SEQUENCE_NUMBER_DIGITS} digits.
 */
export function sequenceNumber(seq: number): string {
  return String(seq).padStart(SEQUENCE_NUMBER_DIGITS, "0");
}

/** Converts a queue row, parsing its attributes and leaving a NULL dead-letter target absent. */
export function toQueue(row: QueueRow): Queue {
  const queue: Mutable<Queue> = {
    accountId: row.accountId,
    name: row.name,
    arn: row.arn,
    fifo: row.fifo !== 0,
    attributes: JSON.parse(row.attributes) as Record<string, string>,
    createdAt: row.createdAt,
    lastModifiedAt: row.lastModifiedAt,
  };
  if (row.deadLetterTargetArn !== null) queue.deadLetterTargetArn = row.deadLetterTargetArn;
  return queue;
}

/** The bind parameters of a queue. */
export function fromQueue(queue: Queue): QueueRow {
  return {
    accountId: queue.accountId,
    name: queue.name,
    arn: queue.arn,
    fifo: queue.fifo ? 1 : 0,
    attributes: JSON.stringify(queue.attributes),
    deadLetterTargetArn: queue.deadLetterTargetArn ?? null,
    createdAt: queue.createdAt,
    lastModifiedAt: queue.lastModifiedAt,
  };
}

/** Converts a message row; a message of a FIFO queue gets its sequence number. */
export function toQueueMessage(row: MessageRow, fifo: boolean): QueueMessage {
  const [
    seq,
    visibleAt,
    receiveCount,
    expiresAt,
    groupId,
    firstReceivedAt,
    lastReceivedAt,
    id,
    body,
    attributes,
    systemAttributes,
    senderId,
    sentAt,
    deduplicationId,
    deadLetterSourceArn,
    bodyMd5,
  ] = row;
  const message: Mutable<QueueMessage> = {
    seq,
    id,
    body,
    senderId,
    sentAt,
    visibleAt,
    expiresAt,
    receiveCount,
  };
  if (bodyMd5 !== null) message.bodyMd5 = bodyMd5;
  if (attributes !== null) message.attributes = attributes;
  if (systemAttributes !== null) message.systemAttributes = systemAttributes;
  if (groupId !== null) message.groupId = groupId;
  if (deduplicationId !== null) message.deduplicationId = deduplicationId;
  if (fifo) message.sequenceNumber = sequenceNumber(seq);
  if (deadLetterSourceArn !== null) message.deadLetterSourceArn = deadLetterSourceArn;
  if (firstReceivedAt !== null) message.firstReceivedAt = firstReceivedAt;
  if (lastReceivedAt !== null) message.lastReceivedAt = lastReceivedAt;
  return message;
}

/** The bind parameters of a new message's content. */
export function contentOf(m: NewMessage): ContentParams {
  return [
    m.id,
    m.senderId,
    m.sentAt,
    m.deduplicationId ?? null,
    m.deadLetterSourceArn ?? null,
    m.systemAttributes ?? null,
    m.attributes ?? null,
    m.body,
    m.bodyMd5 ?? null,
  ];
}

/** Converts a move-task row, leaving NULL optional fields absent. */
export function toMoveTask(row: MoveTaskRow): MoveTask {
  const task: Mutable<MoveTask> = {
    id: row.id,
    sourceArn: row.sourceArn,
    status: row.status as MoveTaskStatus,
    moved: row.moved,
    toMove: row.toMove,
    startedAt: row.startedAt,
  };
  if (row.destinationArn !== null) task.destinationArn = row.destinationArn;
  if (row.maxPerSecond !== null) task.maxPerSecond = row.maxPerSecond;
  if (row.failureReason !== null) task.failureReason = row.failureReason;
  return task;
}

/** The bind parameters of a move task. */
export function fromMoveTask(task: MoveTask): MoveTaskRow {
  return {
    id: task.id,
    sourceArn: task.sourceArn,
    destinationArn: task.destinationArn ?? null,
    maxPerSecond: task.maxPerSecond ?? null,
    status: task.status,
    moved: task.moved,
    toMove: task.toMove,
    failureReason: task.failureReason ?? null,
    startedAt: task.startedAt,
  };
}

/**
 * The queue an SQS queue ARN names (`arn:<partition>:sqs:<region>:<account>:<name>`); undefined when
 * `arn` is not one.
 */
export function queueOfArn(arn: string): QueueRef | undefined {
  const parts = arn.split(":");
  if (parts.length !== 6 || parts[0] !== "arn" || parts[2] !== "sqs") return undefined;
  const [, , , , accountId, name] = parts;
  if (accountId === undefined || accountId === "" || name === undefined || name === "") return undefined;
  return { accountId, name };
}
