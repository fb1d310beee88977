/**
 * The SQL statements of queue messages, prepared once when the store opens. A message is a content
 * row (`queue_messages`, by seq) and a state row (`queue_message_states`, by queue and seq; see
 * schema.ts). Scans read only states, which are narrow and in send order, so that they never read a
 * body they do not return. The statements of the hot path (send, receive, delete) bind parameters by
 * position and read rows as arrays, which costs the driver less than objects; a LIMIT parameter is
 * written `LIMIT +@x` (see statements.ts).
 */
import type Database from "better-sqlite3";

/** A message's place in the send order, and what decides whether a receive may take it (raw). */
export type CandidateRow = readonly [
  seq: number,
  visibleAt: number,
  receiveCount: number,
  groupId: string | null,
];

/** A message, state and content (raw). */
export type MessageRow = readonly [
  seq: number,
  visibleAt: number,
  receiveCount: number,
  expiresAt: number,
  groupId: string | null,
  firstReceivedAt: number | null,
  lastReceivedAt: number | null,
  id: string,
  body: string,
  attributes: string | null,
  systemAttributes: string | null,
  senderId: string,
  sentAt: number,
  deduplicationId: string | null,
  deadLetterSourceArn: string | null,
  bodyMd5: string | null,
];

/** The bind parameters of a content insert, by position. */
/** A state as a sweep step reads it, with its expiry under its queue's current retention. */
export type SweepRow = readonly [queueId: number, seq: number, expiresAt: number];

export type ContentParams = [
  id: string,
  senderId: string,
  sentAt: number,
  deduplicationId: string | null,
  deadLetterSourceArn: string | null,
  systemAttributes: string | null,
  attributes: string | null,
  body: string,
  bodyMd5: string | null,
];

/** What deletes and visibility changes check of a message. */
export interface CheckRow {
  readonly visibleAt: number;
  readonly receiveCount: number;
  /** As stored: compared with `now` less the queue's retention shift (schema.ts). */
  readonly expiresAt: number;
  readonly lastReceivedAt: number | null;
}

/** Bind parameters of a scan of a queue's messages in send order. */
export interface ScanParams {
  readonly queueId: number;
  /** Only messages after this `seq`. */
  readonly after: number;
  readonly now: number;
  /** `now` less the queue's retention shift: messages whose `expires_at` is after it are unexpired. */
  readonly cutoff: number;
  readonly limit: number;
}

const STATES = `queue_message_states`;
/** Unexpired messages of a queue after a seq, in send order. */
const IN_ORDER = `FROM ${STATES} WHERE queue_id = @queueId AND seq > @after AND expires_at > @cutoff`;
const CANDIDATE_COLUMNS = `seq, visible_at, receive_count, group_id`;
/** The columns of a {@link MessageRow}, from states `s` and contents `c` (the expiry shifted by `@shiftMs`). */
const MESSAGE_COLUMNS = `s.seq, s.visible_at, s.receive_count, s.expires_at + @shiftMs, s.group_id,
  s.first_received_at, s.last_received_at, c.id, c.body, c.attributes, c.system_attributes, c.sender_id,
  c.sent_at, c.deduplication_id, c.dead_letter_source_arn, c.body_md5`;
/** `seq` is one of a JSON array of seqs, the parameter `@seqs`: sets of messages in one statement. */
const SEQ_IN = `seq IN (SELECT value FROM json_each(@seqs))`;
const CONTENT_INSERT = `INSERT INTO queue_messages (id, sender_id, sent_at, deduplication_id,
  dead_letter_source_arn, system_attributes, attributes, body, body_md5)`;
const STATE_INSERT = `INSERT INTO ${STATES} (queue_id, seq, visible_at, receive_count, expires_at, group_id)`;

/** Prepares the statements of messages. */
export function prepareMessageStatements(db: Database.Database) {
  return {
    /** Adds a message's content; its rowid is the new seq. */
    insertContent: db.prepare<ContentParams>(`${CONTENT_INSERT} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    /** (queueId, seq, visibleAt, expiresAt, groupId): the state of a new, unreceived message. */
    insertState: db.prepare<[number, number, number, number, string | null]>(
      `${STATE_INSERT} VALUES (?, ?, ?, 0, ?, ?)`,
    ),

    /**
     * Visible, unexpired messages in the order they became visible (sent, delay over, visibility
     * timeout over), after (`afterVisible`, `after`): the index leads straight to them, where a scan
     * in send order read every invisible message before the first visible one (300,000 delayed
     * messages cost each receive, and each long poll's recheck every second, 25 ms of the store).
     */
    visibleInTurn: db
      .prepare<[ScanParams & { afterVisible: number }], CandidateRow>(
        `SELECT ${CANDIDATE_COLUMNS} FROM ${STATES} INDEXED BY queue_message_states_by_visibility
         WHERE queue_id = @queueId AND visible_at <= @now AND (visible_at, seq) > (@afterVisible, @after)
           AND expires_at > @cutoff
         ORDER BY visible_at, seq LIMIT +@limit`,
      )
      .raw(),
    /** Unexpired messages in send order, visible or not: the FIFO scan. */
    unexpiredInOrder: db
      .prepare<[ScanParams], CandidateRow>(
        `SELECT ${CANDIDATE_COLUMNS} ${IN_ORDER} ORDER BY seq LIMIT +@limit`,
      )
      .raw(),
    /**
     * Of the next `limit` message groups after `after` in name order, those that may give a message
     * at `now` (none of their unexpired messages in flight, one of them visible), then the last group
     * looked at (null when there was none): the cursor of the next call. The index alone answers (it
     * holds the expiry), in one statement.
     */
    freeGroupsAfter: db
      .prepare<
        [{ queueId: number; after: string; now: number; cutoff: number; limit: number }],
        string | null
      >(
        `WITH g AS (
           SELECT DISTINCT group_id FROM ${STATES} INDEXED BY queue_message_states_by_group
           WHERE queue_id = @queueId AND group_id > @after ORDER BY group_id LIMIT +@limit)
         SELECT group_id FROM g
         WHERE NOT EXISTS (
             SELECT 1 FROM ${STATES} INDEXED BY queue_message_states_by_group
             WHERE queue_id = @queueId AND group_id = g.group_id AND visible_at > @now AND receive_count > 0
               AND expires_at > @cutoff)
           AND EXISTS (
             SELECT 1 FROM ${STATES} INDEXED BY queue_message_states_by_group
             WHERE queue_id = @queueId AND group_id = g.group_id AND visible_at <= @now
               AND expires_at > @cutoff)
         UNION ALL SELECT max(group_id) FROM g`,
      )
      .pluck(),
    /** A group's unexpired messages in send order, visible or not. */
    groupInOrder: db
      .prepare<[{ queueId: number; group: string; cutoff: number; limit: number }], CandidateRow>(
        `SELECT ${CANDIDATE_COLUMNS} FROM ${STATES} INDEXED BY queue_message_states_by_group
         WHERE queue_id = @queueId AND group_id = @group AND expires_at > @cutoff ORDER BY seq LIMIT +@limit`,
      )
      .raw(),
    /**
     * (queueId, groupId, now, cutoff): whether a group has an unexpired message in flight (index
     * only; an expired one is gone, though the sweep has not deleted it yet: it holds the group back
     * no more).
     */
    groupInFlight: db.prepare<[number, string, number, number], { found: number }>(
      `SELECT 1 AS found FROM ${STATES} INDEXED BY queue_message_states_by_group
       WHERE queue_id = ? AND group_id = ? AND visible_at > ? AND receive_count > 0 AND expires_at > ? LIMIT 1`,
    ),
    /** Counts a receive at `now` of the messages `seqs` of a queue, hiding them until `until`. */
    receive: db.prepare<[{ until: number; now: number; queueId: number; seqs: string }]>(
      `UPDATE ${STATES} SET visible_at = @until, receive_count = receive_count + 1,
         first_received_at = coalesce(first_received_at, @now), last_received_at = @now
       WHERE queue_id = @queueId AND ${SEQ_IN}`,
    ),
    /** The messages `seqs` of a queue, state and content, in no particular order; `shiftMs` is the queue's. */
    messages: db
      .prepare<[{ queueId: number; seqs: string; shiftMs: number }], MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM ${STATES} AS s JOIN queue_messages AS c ON c.seq = s.seq
         WHERE s.queue_id = @queueId AND s.${SEQ_IN}`,
      )
      .raw(),
    deadLetterSourceOf: db
      .prepare<[number], string | null>(`SELECT dead_letter_source_arn FROM queue_messages WHERE seq = ?`)
      .pluck(),

    /**
     * A copy of message `seq`'s content under a new seq, with `source` as its dead-letter source; with
     * an `id`, as a new message (that id, sent at `sentAt`); with `dedupFromId`, its deduplication id
     * replaced by its message id.
     */
    copyContent: db.prepare<
      [{ seq: number; source: string | null; id: string | null; sentAt: number | null; dedupFromId: number }]
    >(
      `${CONTENT_INSERT} SELECT coalesce(@id, id), sender_id, coalesce(@sentAt, sent_at),
         CASE WHEN @dedupFromId THEN id ELSE deduplication_id END, @source, system_attributes, attributes,
         body, body_md5
       FROM queue_messages WHERE seq = @seq`,
    ),
    /**
     * The state of a copy, visible at `now`: unreceived, or with `keepReceives` its receive count and
     * receive times kept. It keeps the original's expiry, or with a `retentionMs`, expires that long
     * after the original was sent (or with `fromNow`, after `now`). The expiry is written less the
     * destination's retention shift `shiftMs`; the original's is read plus its queue's, `fromShiftMs`.
     */
    copyState: db.prepare<
      [
        {
          queueId: number;
          seq: number;
          now: number;
          fromQueueId: number;
          fromSeq: number;
          retentionMs: number | null;
          fromNow: number;
          keepReceives: number;
          shiftMs: number;
          fromShiftMs: number;
        },
      ]
    >(
      `INSERT INTO ${STATES} (queue_id, seq, visible_at, receive_count, expires_at, group_id,
         first_received_at, last_received_at)
       SELECT @queueId, @seq, @now, CASE WHEN @keepReceives THEN s.receive_count ELSE 0 END,
         CASE WHEN @retentionMs IS NULL THEN s.expires_at + @fromShiftMs
              WHEN @fromNow THEN @now + @retentionMs
              ELSE c.sent_at + @retentionMs END - @shiftMs,
         s.group_id,
         CASE WHEN @keepReceives THEN s.first_received_at END,
         CASE WHEN @keepReceives THEN s.last_received_at END
       FROM ${STATES} AS s JOIN queue_messages AS c ON c.seq = s.seq
       WHERE s.queue_id = @fromQueueId AND s.seq = @fromSeq`,
    ),
    /** A queue's MessageRetentionPeriod in ms (the queue service always sets it), for a move. */
    retentionMsOf: db
      .prepare<[number], number | null>(
        `SELECT CAST(json_extract(attributes, '$.MessageRetentionPeriod') AS INTEGER) * 1000 FROM queues WHERE id = ?`,
      )
      .pluck(),

    check: db.prepare<[number, number], CheckRow>(
      `SELECT visible_at AS visibleAt, receive_count AS receiveCount, expires_at AS expiresAt,
         last_received_at AS lastReceivedAt
       FROM ${STATES} WHERE queue_id = ? AND seq = ?`,
    ),
    setVisibleAt: db.prepare<[number, number, number]>(
      `UPDATE ${STATES} SET visible_at = ? WHERE queue_id = ? AND seq = ?`,
    ),
    /** The messages of a queue never received become visible `delayMs` after their send. */
    redelayUnreceived: db.prepare<[{ queueId: number; delayMs: number }]>(
      `UPDATE ${STATES} SET visible_at =
         (SELECT c.sent_at FROM queue_messages AS c WHERE c.seq = ${STATES}.seq) + @delayMs
       WHERE queue_id = @queueId AND receive_count = 0`,
    ),
    deleteState: db.prepare<[number, number]>(`DELETE FROM ${STATES} WHERE queue_id = ? AND seq = ?`),
    /** (queueId, seq, cutoff): deletes an unexpired message's state, whatever it is (see {@link ScanParams}). */
    deleteLiveState: db.prepare<[number, number, number]>(
      `DELETE FROM ${STATES} WHERE queue_id = ? AND seq = ? AND expires_at > ?`,
    ),
    deleteContent: db.prepare<[number]>(`DELETE FROM queue_messages WHERE seq = ?`),

    countMessages: db.prepare<
      [{ queueId: number; now: number; cutoff: number }],
      { visible: number; inFlight: number; delayed: number }
    >(
      `SELECT coalesce(sum(visible_at <= @now), 0) AS visible,
         coalesce(sum(visible_at > @now AND receive_count > 0), 0) AS inFlight,
         coalesce(sum(visible_at > @now AND receive_count = 0), 0) AS delayed
       FROM ${STATES} WHERE queue_id = @queueId AND expires_at > @cutoff`,
    ),
    /**
     * Where a step of a count of messages in flight ends (see Store.countInFlight): the key, in the
     * visibility index, of the `offset + 1`th message not visible after (`afterVisible`, `afterSeq`);
     * none when fewer are left. Reads the index only.
     */
    inFlightStepEnd: db
      .prepare<
        [{ queueId: number; afterVisible: number; afterSeq: number; offset: number }],
        [number, number]
      >(
        `SELECT visible_at, seq FROM ${STATES} INDEXED BY queue_message_states_by_visibility
         WHERE queue_id = @queueId AND (visible_at, seq) > (@afterVisible, @afterSeq)
         ORDER BY visible_at, seq LIMIT 1 OFFSET @offset`,
      )
      .raw(),
    /** The messages in flight, unexpired, between two keys of the visibility index (after, up to end]. */
    inFlightBetween: db
      .prepare<
        [
          {
            queueId: number;
            afterVisible: number;
            afterSeq: number;
            endVisible: number;
            endSeq: number;
            cutoff: number;
          },
        ],
        number
      >(
        `SELECT count(*) FROM ${STATES} INDEXED BY queue_message_states_by_visibility
         WHERE queue_id = @queueId AND (visible_at, seq) > (@afterVisible, @afterSeq)
           AND (visible_at, seq) <= (@endVisible, @endSeq) AND receive_count > 0 AND expires_at > @cutoff`,
      )
      .pluck(),
    /** One step of a count (see Store.countMessagesFrom): `limit` states after `after`, expired ones not counted. */
    countMessagesFrom: db.prepare<
      [{ queueId: number; now: number; cutoff: number; after: number; limit: number }],
      { visible: number; inFlight: number; delayed: number; scanned: number; last: number | null }
    >(
      `SELECT coalesce(sum(expires_at > @cutoff AND visible_at <= @now), 0) AS visible,
         coalesce(sum(expires_at > @cutoff AND visible_at > @now AND receive_count > 0), 0) AS inFlight,
         coalesce(sum(expires_at > @cutoff AND visible_at > @now AND receive_count = 0), 0) AS delayed,
         count(*) AS scanned, max(seq) AS last
       FROM (SELECT seq, visible_at, receive_count, expires_at FROM ${STATES}
             WHERE queue_id = @queueId AND seq > @after ORDER BY seq LIMIT @limit)`,
    ),
    countVisible: db
      .prepare<[{ queueId: number; now: number; cutoff: number }], number>(
        `SELECT count(*) FROM ${STATES} WHERE queue_id = @queueId AND visible_at <= @now AND expires_at > @cutoff`,
      )
      .pluck(),

    deleteContentOfQueue: db.prepare<[number]>(
      `DELETE FROM queue_messages WHERE seq IN (SELECT seq FROM ${STATES} WHERE queue_id = ?)`,
    ),
    deleteStatesOfQueue: db.prepare<[number]>(`DELETE FROM ${STATES} WHERE queue_id = ?`),
    /** (queueId, limit): the seqs of a queue's oldest messages, expired or not. */
    oldest: db
      .prepare<[number, number], number>(`SELECT seq FROM ${STATES} WHERE queue_id = ? ORDER BY seq LIMIT +?`)
      .pluck(),
    /**
     * (queueId, seq, limit): the states after (queueId, seq) in key order, for a sweep step, each with
     * its expiry under its queue's current retention (long past for one at or under its queue's
     * retention floor); the key's index starts it there, so a sweep reads each state once whatever it
     * keeps.
     */
    statesAfter: db
      .prepare<[number, number, number], SweepRow>(
        `SELECT s.queue_id, s.seq,
           CASE WHEN s.expires_at <= coalesce(q.retention_floor_ms, ${Number.MIN_SAFE_INTEGER})
             THEN ${Number.MIN_SAFE_INTEGER}
             ELSE s.expires_at + coalesce(q.retention_shift_ms, 0) END
         FROM ${STATES} AS s LEFT JOIN queues AS q ON q.id = s.queue_id
         WHERE (s.queue_id, s.seq) > (?, ?)
         ORDER BY s.queue_id, s.seq LIMIT +?`,
      )
      .raw(),
  };
}

/** The prepared statements of messages. */
export type MessageStatements = ReturnType<typeof prepareMessageStatements>;
