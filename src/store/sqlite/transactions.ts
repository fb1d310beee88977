/**
 * The store's multi-statement mutations, each one IMMEDIATE transaction (taking the write lock at
 * BEGIN, so another process writing the same file makes it wait on the busy timeout rather than fail
 * a lock upgrade). Built once, when the store opens.
 */
import type Database from "better-sqlite3";
import type { IngestRecord, Rule, SweepStep, Tag, Target } from "../types.js";
import { ParentNotFoundError } from "./errors.js";
import { fromRule } from "./rows.js";
import type { Statements } from "./statements.js";
import { sweepCursor, sweepStep } from "./sweep.js";

/** Builds the transactional mutations over prepared statements. */
export function prepareTransactions(db: Database.Database, sql: Statements) {
  const tx = <F extends (...args: never[]) => unknown>(fn: F): Database.Transaction<F> =>
    db.transaction(fn).immediate;
  /** Adds or overwrites tags of `arn`, inside the caller's transaction. */
  const upsertTags = (arn: string, tags: readonly Tag[]): void => {
    for (const { key, value } of tags) sql.upsertTag.run(arn, key, value);
  };

  return {
    /** Creates or replaces a rule, keeping its targets, and adds `tags` to it; its bus must exist. */
    putRule: tx((rule: Rule, tags: readonly Tag[]): void => {
      if (sql.busExists.get(rule.accountId, rule.busName) === undefined) {
        throw new ParentNotFoundError("bus", rule.busName);
      }
      sql.upsertRule.run(fromRule(rule));
      upsertTags(rule.arn, tags);
    }),

    /**
     * Runs `create` (an insert that answers whether it inserted) and, when it did, tags `arn`: a
     * resource created with tags has all of them or does not exist.
     */
    createTagged: tx((create: () => boolean, arn: string, tags: readonly Tag[]): boolean => {
      if (!create()) return false;
      upsertTags(arn, tags);
      return true;
    }),

    /** Deletes the tags of a bus and of its rules, then the bus (cascading to rules and targets). */
    deleteBus: tx((accountId: string, busName: string): boolean => {
      const key = { accountId, busName };
      sql.deleteBusTags.run(key);
      return sql.deleteBus.run(key).changes > 0;
    }),

    /** Deletes the tags of a rule, then the rule (cascading to its targets). */
    deleteRule: tx((accountId: string, busName: string, ruleName: string): boolean => {
      const key = { accountId, busName, ruleName };
      sql.deleteRuleTags.run(key);
      return sql.deleteRule.run(key).changes > 0;
    }),

    /** Adds or replaces targets by id; the rule must exist. */
    putTargets: tx(
      (accountId: string, busName: string, ruleName: string, targets: readonly Target[]): void => {
        if (sql.ruleExists.get(accountId, busName, ruleName) === undefined) {
          throw new ParentNotFoundError("rule", ruleName);
        }
        for (const { id, arn, spec } of targets) {
          sql.upsertTarget.run({ accountId, busName, ruleName, id, arn, spec: JSON.stringify(spec) });
        }
      },
    ),

    /** Removes targets by id; returns the ids that existed (each once). */
    removeTargets: tx(
      (accountId: string, busName: string, ruleName: string, ids: readonly string[]): string[] =>
        ids.filter((id) => sql.deleteTarget.run({ accountId, busName, ruleName, id }).changes > 0),
    ),

    /** Adds or overwrites tags. */
    tag: tx(upsertTags),

    /** Removes tags by key. */
    untag: tx((arn: string, keys: readonly string[]): void => {
      for (const key of keys) sql.deleteTag.run(arn, key);
    }),

    /** Inserts every event of the batch and its deliveries (keyed by the event's `seq`). */
    append: tx((records: readonly IngestRecord[]): void => {
      for (const { event: e, deliveries } of records) {
        const seq = sql.insertEvent.run(
          e.id,
          e.accountId,
          e.busName,
          e.time,
          e.ingestedAt,
          e.json,
        ).lastInsertRowid;
        for (const d of deliveries) {
          const { id, eventId, accountId, busName, ruleName, targetId, dueAt, attempts } = d;
          sql.insertDelivery.run(seq, id, eventId, accountId, busName, ruleName, targetId, dueAt, attempts);
        }
      }
    }),

    /**
     * One retention step: the events ingested before `before` after `cursor` (`<ingested at>:<seq>`),
     * at most `scanLimit` of them, deleted unless a delivery of theirs is pending.
     */
    sweepEventsBefore: tx((before: number, scanLimit: number, cursor?: string): SweepStep => {
      const [at, seq] = sweepCursor(cursor, scanLimit, "sweepEventsBefore");
      const rows = sql.eventsBefore.all(before, at, seq, scanLimit);
      let deleted = 0;
      for (const [, eventSeq] of rows) deleted += sql.deleteEventUnlessPending.run(eventSeq).changes;
      return sweepStep(deleted, rows, scanLimit);
    }),
  };
}

/** The transactional mutations of a store. */
export type Transactions = ReturnType<typeof prepareTransactions>;
