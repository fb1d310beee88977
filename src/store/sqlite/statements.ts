/**
 * Every SQL statement of the store, prepared once when the store opens. Columns are selected under the
 * names of the domain fields, so rows need little or no conversion.
 *
 * A LIMIT taken from a parameter is written `LIMIT +?`: SQLite's planner reads a plain `LIMIT ?`
 * parameter, which makes every execution with a new binding prepare the statement again (several
 * microseconds); the unary plus keeps the value out of the planner's sight.
 */
import type Database from "better-sqlite3";
import type { PageParams } from "./paging.js";
import type { AccessKeyRow, AccountRow, BusRow, DeliveryRow, EventRow, RuleRow, TargetRow } from "./rows.js";

/** Keys of a bus. */
export interface BusKey {
  readonly accountId: string;
  readonly busName: string;
}

/** Keys of a rule. */
export interface RuleKey extends BusKey {
  readonly ruleName: string;
}

/** Bind parameters of a target row. */
export interface TargetParams extends RuleKey {
  readonly id: string;
  readonly arn: string;
  readonly spec: string;
}

const BUS_COLUMNS = `account_id AS accountId, name, arn, description, kms_key_identifier AS kmsKeyIdentifier,
  dead_letter_arn AS deadLetterArn, policy, log_config AS logConfig, created_at AS createdAt,
  last_modified_at AS lastModifiedAt`;
const RULE_COLUMNS = `account_id AS accountId, bus_name AS busName, name, arn, event_pattern AS eventPattern,
  schedule_expression AS scheduleExpression, state, description, role_arn AS roleArn,
  managed_by AS managedBy, created_by AS createdBy, created_at AS createdAt,
  last_modified_at AS lastModifiedAt`;
const KEY_COLUMNS = `access_key_id AS accessKeyId, secret_access_key AS secretAccessKey,
  account_id AS accountId, root, policies, created_at AS createdAt`;
const EVENT_COLUMNS = `id, account_id AS accountId, bus_name AS busName, time, ingested_at AS ingestedAt, json`;
const DELIVERY_COLUMNS = `id, event_id AS eventId, account_id AS accountId, bus_name AS busName,
  rule_name AS ruleName, target_id AS targetId, due_at AS dueAt, attempts`;
const PAGE = `AND name > @after AND name >= @prefix ORDER BY name LIMIT +@fetch`;
const KEY_PAGE = `access_key_id > @after AND access_key_id >= @prefix ORDER BY access_key_id LIMIT +@fetch`;
const BUS_KEY = `account_id = @accountId AND bus_name = @busName`;
const RULE_KEY = `${BUS_KEY} AND rule_name = @ruleName`;

/** Prepares every statement of the store. */
export function prepareStatements(db: Database.Database) {
  return {
    insertAccount: db.prepare<[AccountRow]>(
      `INSERT INTO accounts (id, name, created_at) VALUES (@id, @name, @createdAt) ON CONFLICT DO NOTHING`,
    ),
    getAccount: db.prepare<[string], AccountRow>(
      `SELECT id, name, created_at AS createdAt FROM accounts WHERE id = ?`,
    ),
    listAccounts: db.prepare<[PageParams], AccountRow>(
      `SELECT id, name, created_at AS createdAt FROM accounts
       WHERE id > @after AND id >= @prefix ORDER BY id LIMIT +@fetch`,
    ),

    upsertKey: db.prepare<[AccessKeyRow]>(
      `INSERT INTO access_keys (access_key_id, secret_access_key, account_id, root, policies, created_at)
       VALUES (@accessKeyId, @secretAccessKey, @accountId, @root, @policies, @createdAt)
       ON CONFLICT (access_key_id) DO UPDATE SET secret_access_key = excluded.secret_access_key,
         account_id = excluded.account_id, root = excluded.root, policies = excluded.policies,
         created_at = excluded.created_at`,
    ),
    getKey: db.prepare<[string], AccessKeyRow>(
      `SELECT ${KEY_COLUMNS} FROM access_keys WHERE access_key_id = ?`,
    ),
    listKeys: db.prepare<[PageParams], AccessKeyRow>(
      `SELECT ${KEY_COLUMNS} FROM access_keys WHERE ${KEY_PAGE}`,
    ),
    listKeysOfAccount: db.prepare<[PageParams & { accountId: string }], AccessKeyRow>(
      `SELECT ${KEY_COLUMNS} FROM access_keys WHERE account_id = @accountId AND ${KEY_PAGE}`,
    ),
    deleteKey: db.prepare<[string]>(`DELETE FROM access_keys WHERE access_key_id = ?`),

    insertBus: db.prepare<[BusRow]>(
      `INSERT INTO buses (account_id, name, arn, description, kms_key_identifier, dead_letter_arn, policy,
         log_config, created_at, last_modified_at)
       VALUES (@accountId, @name, @arn, @description, @kmsKeyIdentifier, @deadLetterArn, @policy,
         @logConfig, @createdAt, @lastModifiedAt)
       ON CONFLICT DO NOTHING`,
    ),
    updateBus: db.prepare<[BusRow]>(
      `UPDATE buses SET arn = @arn, description = @description, kms_key_identifier = @kmsKeyIdentifier,
         dead_letter_arn = @deadLetterArn, policy = @policy, log_config = @logConfig, created_at = @createdAt,
         last_modified_at = @lastModifiedAt
       WHERE account_id = @accountId AND name = @name`,
    ),
    getBus: db.prepare<[string, string], BusRow>(
      `SELECT ${BUS_COLUMNS} FROM buses WHERE account_id = ? AND name = ?`,
    ),
    listBuses: db.prepare<[PageParams & { accountId: string }], BusRow>(
      `SELECT ${BUS_COLUMNS} FROM buses WHERE account_id = @accountId ${PAGE}`,
    ),
    busExists: db.prepare<[string, string], { found: number }>(
      `SELECT 1 AS found FROM buses WHERE account_id = ? AND name = ?`,
    ),
    deleteBusTags: db.prepare<[BusKey]>(
      `DELETE FROM tags WHERE arn IN (
         SELECT arn FROM buses WHERE account_id = @accountId AND name = @busName
         UNION ALL SELECT arn FROM rules WHERE ${BUS_KEY})`,
    ),
    deleteBus: db.prepare<[BusKey]>(`DELETE FROM buses WHERE account_id = @accountId AND name = @busName`),

    upsertRule: db.prepare<[RuleRow]>(
      `INSERT INTO rules (account_id, bus_name, name, arn, event_pattern, schedule_expression, state,
         description, role_arn, managed_by, created_by, created_at, last_modified_at)
       VALUES (@accountId, @busName, @name, @arn, @eventPattern, @scheduleExpression, @state,
         @description, @roleArn, @managedBy, @createdBy, @createdAt, @lastModifiedAt)
       ON CONFLICT (account_id, bus_name, name) DO UPDATE SET arn = excluded.arn,
         event_pattern = excluded.event_pattern, schedule_expression = excluded.schedule_expression,
         state = excluded.state, description = excluded.description, role_arn = excluded.role_arn,
         managed_by = excluded.managed_by, created_by = excluded.created_by,
         created_at = excluded.created_at, last_modified_at = excluded.last_modified_at`,
    ),
    getRule: db.prepare<[string, string, string], RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM rules WHERE account_id = ? AND bus_name = ? AND name = ?`,
    ),
    listRules: db.prepare<[PageParams & BusKey], RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM rules WHERE ${BUS_KEY} ${PAGE}`,
    ),
    listAllRules: db.prepare<[], RuleRow>(
      `SELECT ${RULE_COLUMNS} FROM rules ORDER BY account_id, bus_name, name`,
    ),
    ruleExists: db.prepare<[string, string, string], { found: number }>(
      `SELECT 1 AS found FROM rules WHERE account_id = ? AND bus_name = ? AND name = ?`,
    ),
    deleteRuleTags: db.prepare<[RuleKey]>(
      `DELETE FROM tags WHERE arn IN (SELECT arn FROM rules WHERE ${BUS_KEY} AND name = @ruleName)`,
    ),
    deleteRule: db.prepare<[RuleKey]>(`DELETE FROM rules WHERE ${BUS_KEY} AND name = @ruleName`),

    upsertTarget: db.prepare<[TargetParams]>(
      `INSERT INTO targets (account_id, bus_name, rule_name, id, arn, spec)
       VALUES (@accountId, @busName, @ruleName, @id, @arn, @spec)
       ON CONFLICT (account_id, bus_name, rule_name, id) DO UPDATE SET arn = excluded.arn,
         spec = excluded.spec`,
    ),
    deleteTarget: db.prepare<[RuleKey & { id: string }]>(
      `DELETE FROM targets WHERE ${RULE_KEY} AND id = @id`,
    ),
    listTargets: db.prepare<[RuleKey], TargetRow>(
      `SELECT id, arn, spec FROM targets WHERE ${RULE_KEY} ORDER BY id`,
    ),
    listRuleNamesByTarget: db.prepare<[PageParams & BusKey & { arn: string }], { name: string }>(
      `SELECT DISTINCT rule_name AS name FROM targets WHERE ${BUS_KEY} AND arn = @arn
         AND rule_name > @after AND rule_name >= @prefix ORDER BY rule_name LIMIT +@fetch`,
    ),

    getTags: db.prepare<[string], { key: string; value: string }>(
      `SELECT key, value FROM tags WHERE arn = ? ORDER BY key`,
    ),
    upsertTag: db.prepare<[string, string, string]>(
      `INSERT INTO tags (arn, key, value) VALUES (?, ?, ?)
       ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value`,
    ),
    deleteTag: db.prepare<[string, string]>(`DELETE FROM tags WHERE arn = ? AND key = ?`),

    insertEvent: db.prepare<[string, string, string, number, number, string]>(
      `INSERT INTO events (id, account_id, bus_name, time, ingested_at, json) VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    insertDelivery: db.prepare<
      [number | bigint, string, string, string, string, string, string, number, number]
    >(
      `INSERT INTO deliveries (event_seq, id, event_id, account_id, bus_name, rule_name, target_id, due_at, attempts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getEvent: db.prepare<[string], EventRow>(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`),
    countEvents: db.prepare<[], { count: number }>(`SELECT count(*) AS count FROM events`),
    listDueDeliveries: db.prepare<[number, number], DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE due_at <= ? ORDER BY due_at, event_seq, id LIMIT +?`,
    ),
    listDueDeliveriesAfter: db.prepare<
      [dueBy: number, afterDueAt: number, afterSeq: number, afterId: string, limit: number],
      DeliveryRow
    >(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries
       WHERE due_at <= ? AND (due_at, event_seq, id) > (?, ?, ?)
       ORDER BY due_at, event_seq, id LIMIT +?`,
    ),
    eventSeq: db.prepare<[string], number>(`SELECT seq FROM events WHERE id = ?`).pluck(),
    /**
     * A page of pending deliveries in key order after (seq, id), each with whether it is in a scope
     * (a drop step: rows are read in the primary key's order, whatever the scope).
     */
    deliveriesInScopeAfter: db
      .prepare<
        [
          {
            accountId: string;
            busName: string;
            ruleName: string | null;
            targetIds: string | null;
            seq: number;
            id: string;
            limit: number;
          },
        ],
        readonly [eventSeq: number, id: string, inScope: 0 | 1, ruleName: string, targetId: string]
      >(
        `SELECT event_seq, id,
           account_id = @accountId AND bus_name = @busName
             AND (@ruleName IS NULL OR rule_name = @ruleName)
             AND (@targetIds IS NULL OR target_id IN (SELECT value FROM json_each(@targetIds))),
           rule_name, target_id
         FROM deliveries WHERE (event_seq, id) > (@seq, @id) ORDER BY event_seq, id LIMIT +@limit`,
      )
      .raw(),
    countDeliveries: db.prepare<[], number>(`SELECT count(*) FROM deliveries`).pluck(),
    deleteDelivery: db.prepare<[eventSeq: number, id: string]>(
      `DELETE FROM deliveries WHERE event_seq = ? AND id = ?`,
    ),
    rescheduleDelivery: db.prepare<[dueAt: number, attempts: number, eventSeq: number, id: string]>(
      `UPDATE deliveries SET due_at = ?, attempts = ? WHERE event_seq = ? AND id = ?`,
    ),
    listDeliveriesOfEvent: db.prepare<[string], DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE event_seq = (SELECT seq FROM events WHERE id = ?)
       ORDER BY id`,
    ),
    /**
     * (before, ingestedAt, seq, limit): events ingested before `before`, after (ingestedAt, seq) in
     * that order (the index on ingested_at starts the scan there), for a retention step.
     */
    eventsBefore: db
      .prepare<[number, number, number, number], readonly [ingestedAt: number, seq: number]>(
        `SELECT ingested_at, seq FROM events INDEXED BY events_by_ingested_at
         WHERE ingested_at < ? AND (ingested_at, seq) > (?, ?) ORDER BY ingested_at, seq LIMIT +?`,
      )
      .raw(),
    /** (seq): deletes an event unless a delivery of it is pending. */
    deleteEventUnlessPending: db.prepare<[number]>(
      `DELETE FROM events WHERE seq = ?
         AND NOT EXISTS (SELECT 1 FROM deliveries WHERE deliveries.event_seq = events.seq)`,
    ),
  };
}

/** The prepared statements of a store. */
export type Statements = ReturnType<typeof prepareStatements>;
