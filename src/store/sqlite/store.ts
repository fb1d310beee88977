/**
 * The {@link Store} contract over one better-sqlite3 connection. The driver is synchronous: each
 * method runs its statements at once and returns a settled promise, so a resolved mutation is already
 * committed (and, with `synchronous = FULL`, on disk). Every multi-row mutation is one IMMEDIATE
 * transaction, so another process writing the same file waits on the busy timeout instead of failing
 * a lock upgrade.
 */
import Database from "better-sqlite3";
import type {
  AccessKey,
  Account,
  EventBus,
  IngestRecord,
  ListOptions,
  Page,
  PendingDelivery,
  Rule,
  Store,
  StoredEvent,
  Tag,
  Target,
} from "../types.js";
import { DuplicateIdError, ParentNotFoundError } from "./errors.js";
import { PageScope, pageRequest, toPage } from "./paging.js";
import { fromAccessKey, fromBus, fromRule, toAccessKey, toAccount, toBus, toRule, toTarget } from "./rows.js";
import { prepareStatements, type Statements } from "./statements.js";

/** Runs `fn` now; its result or its exception becomes the returned promise. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    resolve(fn());
  });
}

/** SQLite result codes of a unique or primary-key violation. */
const DUPLICATE_CODES: ReadonlySet<string> = new Set([
  "SQLITE_CONSTRAINT_UNIQUE",
  "SQLITE_CONSTRAINT_PRIMARYKEY",
]);

/** The SQLite implementation of {@link Store}; created by `openSqliteStore`. */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #putRule: (rule: Rule) => void;
  readonly #deleteBus: (accountId: string, busName: string) => boolean;
  readonly #deleteRule: (accountId: string, busName: string, ruleName: string) => boolean;
  readonly #putTargets: (
    accountId: string,
    busName: string,
    ruleName: string,
    targets: readonly Target[],
  ) => void;
  readonly #removeTargets: (
    accountId: string,
    busName: string,
    ruleName: string,
    ids: readonly string[],
  ) => string[];
  readonly #tag: (arn: string, tags: readonly Tag[]) => void;
  readonly #untag: (arn: string, keys: readonly string[]) => void;
  readonly #append: (records: readonly IngestRecord[]) => void;
  readonly #deleteEventsBefore: (before: number) => number;

  /** Wraps an open, migrated connection; the store owns it from now on. */
  constructor(db: Database.Database) {
    this.#db = db;
    const sql = prepareStatements(db);
    this.#sql = sql;
    const tx = <F extends (...args: never[]) => unknown>(fn: F): Database.Transaction<F> =>
      db.transaction(fn).immediate;

    this.#putRule = tx((rule: Rule) => {
      if (sql.busExists.get(rule.accountId, rule.busName) === undefined) {
        throw new ParentNotFoundError("bus", rule.busName);
      }
      sql.upsertRule.run(fromRule(rule));
    });
    this.#deleteBus = tx((accountId: string, busName: string) => {
      const key = { accountId, busName };
      sql.deleteBusTags.run(key);
      return sql.deleteBus.run(key).changes > 0;
    });
    this.#deleteRule = tx((accountId: string, busName: string, ruleName: string) => {
      const key = { accountId, busName, ruleName };
      sql.deleteRuleTags.run(key);
      return sql.deleteRule.run(key).changes > 0;
    });
    this.#putTargets = tx(
      (accountId: string, busName: string, ruleName: string, targets: readonly Target[]) => {
        if (sql.ruleExists.get(accountId, busName, ruleName) === undefined) {
          throw new ParentNotFoundError("rule", ruleName);
        }
        for (const t of targets) {
          sql.upsertTarget.run({
            accountId,
            busName,
            ruleName,
            id: t.id,
            arn: t.arn,
            spec: JSON.stringify(t.spec),
          });
        }
      },
    );
    this.#removeTargets = tx((accountId: string, busName: string, ruleName: string, ids: readonly string[]) =>
      ids.filter((id) => sql.deleteTarget.run({ accountId, busName, ruleName, id }).changes > 0),
    );
    this.#tag = tx((arn: string, tags: readonly Tag[]) => {
      for (const { key, value } of tags) sql.upsertTag.run(arn, key, value);
    });
    this.#untag = tx((arn: string, keys: readonly string[]) => {
      for (const key of keys) sql.deleteTag.run(arn, key);
    });
    this.#append = tx((records: readonly IngestRecord[]) => {
      for (const { event: e, deliveries } of records) {
        sql.insertEvent.run(e.id, e.accountId, e.busName, e.time, e.ingestedAt, e.json);
        for (const d of deliveries) {
          sql.insertDelivery.run(
            d.id,
            d.eventId,
            d.accountId,
            d.busName,
            d.ruleName,
            d.targetId,
            d.dueAt,
            d.attempts,
          );
        }
      }
    });
    this.#deleteEventsBefore = tx((before: number) => {
      sql.deleteDeliveriesOfEventsBefore.run(before);
      return sql.deleteEventsBefore.run(before).changes;
    });
  }

  /** Closes the database (checkpointing the WAL); closing twice is harmless. */
  close(): Promise<void> {
    return settle(() => {
      if (this.#db.open) this.#db.close();
    });
  }

  /** Creates an account; false when the id is taken (the existing account is kept). */
  putAccount(account: Account): Promise<boolean> {
    return settle(() => this.#sql.insertAccount.run(account).changes > 0);
  }

  getAccount(id: string): Promise<Account | undefined> {
    return settle(() => {
      const row = this.#sql.getAccount.get(id);
      return row === undefined ? undefined : toAccount(row);
    });
  }

  /** Every account, in id order. */
  listAccounts(): Promise<readonly Account[]> {
    return settle(() => this.#sql.listAccounts.all().map(toAccount));
  }

  /** Creates or replaces an access key. */
  putAccessKey(key: AccessKey): Promise<void> {
    return settle(() => {
      this.#sql.upsertKey.run(fromAccessKey(key));
    });
  }

  getAccessKey(accessKeyId: string): Promise<AccessKey | undefined> {
    return settle(() => {
      const row = this.#sql.getKey.get(accessKeyId);
      return row === undefined ? undefined : toAccessKey(row);
    });
  }

  /** Access keys of one account, or of all, in key-id order. */
  listAccessKeys(accountId?: string): Promise<readonly AccessKey[]> {
    return settle(() => {
      const rows =
        accountId === undefined ? this.#sql.listKeys.all() : this.#sql.listKeysOfAccount.all(accountId);
      return rows.map(toAccessKey);
    });
  }

  deleteAccessKey(accessKeyId: string): Promise<boolean> {
    return settle(() => this.#sql.deleteKey.run(accessKeyId).changes > 0);
  }

  createBus(bus: EventBus): Promise<boolean> {
    return settle(() => this.#sql.insertBus.run(fromBus(bus)).changes > 0);
  }

  getBus(accountId: string, name: string): Promise<EventBus | undefined> {
    return settle(() => {
      const row = this.#sql.getBus.get(accountId, name);
      return row === undefined ? undefined : toBus(row);
    });
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listBuses(accountId: string, options?: ListOptions): Promise<Page<EventBus>> {
    return settle(() => {
      const request = pageRequest(PageScope.Buses, options);
      const rows = this.#sql.listBuses.all({ ...request.params, accountId });
      return toPage(request, rows.map(toBus), (bus) => bus.name);
    });
  }

  updateBus(bus: EventBus): Promise<boolean> {
    return settle(() => this.#sql.updateBus.run(fromBus(bus)).changes > 0);
  }

  /** Deletes a bus, its rules and their targets, and the tags of the bus and of its rules. */
  deleteBus(accountId: string, name: string): Promise<boolean> {
    return settle(() => this.#deleteBus(accountId, name));
  }

  /** @throws {ParentNotFoundError} when the rule's bus does not exist. */
  putRule(rule: Rule): Promise<void> {
    return settle(() => this.#putRule(rule));
  }

  getRule(accountId: string, busName: string, name: string): Promise<Rule | undefined> {
    return settle(() => {
      const row = this.#sql.getRule.get(accountId, busName, name);
      return row === undefined ? undefined : toRule(row);
    });
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listRules(accountId: string, busName: string, options?: ListOptions): Promise<Page<Rule>> {
    return settle(() => {
      const request = pageRequest(PageScope.Rules, options);
      const rows = this.#sql.listRules.all({ ...request.params, accountId, busName });
      return toPage(request, rows.map(toRule), (rule) => rule.name);
    });
  }

  /** Every rule, ordered by account, bus and name. */
  listAllRules(): Promise<readonly Rule[]> {
    return settle(() => this.#sql.listAllRules.all().map(toRule));
  }

  /** Deletes a rule, its targets and its tags. */
  deleteRule(accountId: string, busName: string, name: string): Promise<boolean> {
    return settle(() => this.#deleteRule(accountId, busName, name));
  }

  /** @throws {ParentNotFoundError} when the rule does not exist. */
  putTargets(
    accountId: string,
    busName: string,
    ruleName: string,
    targets: readonly Target[],
  ): Promise<void> {
    return settle(() => this.#putTargets(accountId, busName, ruleName, targets));
  }

  removeTargets(
    accountId: string,
    busName: string,
    ruleName: string,
    ids: readonly string[],
  ): Promise<readonly string[]> {
    return settle(() => this.#removeTargets(accountId, busName, ruleName, ids));
  }

  listTargets(accountId: string, busName: string, ruleName: string): Promise<readonly Target[]> {
    return settle(() => this.#sql.listTargets.all({ accountId, busName, ruleName }).map(toTarget));
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listRuleNamesByTarget(
    accountId: string,
    busName: string,
    targetArn: string,
    options?: ListOptions,
  ): Promise<Page<string>> {
    return settle(() => {
      const request = pageRequest(PageScope.RuleNamesByTarget, options);
      const rows = this.#sql.listRuleNamesByTarget.all({
        ...request.params,
        accountId,
        busName,
        arn: targetArn,
      });
      return toPage(
        request,
        rows.map((row) => row.name),
        (name) => name,
      );
    });
  }

  /** Tags of a resource, in key order. */
  getTags(arn: string): Promise<readonly Tag[]> {
    return settle(() => this.#sql.getTags.all(arn));
  }

  tagResource(arn: string, tags: readonly Tag[]): Promise<void> {
    return settle(() => this.#tag(arn, tags));
  }

  untagResource(arn: string, keys: readonly string[]): Promise<void> {
    return settle(() => this.#untag(arn, keys));
  }

  /**
   * Inserts every event and delivery of the batch in one transaction, committed (fsynced) before the
   * promise resolves; on any failure none of them is stored.
   * @throws {DuplicateIdError} when an event or delivery id is already stored or repeated.
   */
  appendEvents(records: readonly IngestRecord[]): Promise<void> {
    return settle(() => {
      if (records.length === 0) return;
      try {
        this.#append(records);
      } catch (error) {
        if (error instanceof Database.SqliteError && DUPLICATE_CODES.has(error.code)) {
          throw new DuplicateIdError({ cause: error });
        }
        throw error;
      }
    });
  }

  getEvent(id: string): Promise<StoredEvent | undefined> {
    return settle(() => this.#sql.getEvent.get(id));
  }

  countEvents(): Promise<number> {
    return settle(() => this.#sql.countEvents.get()?.count ?? 0);
  }

  /** Deliveries due at or before `dueBy`, by due time and then in append order; none when `limit` < 1. */
  listDueDeliveries(dueBy: number, limit: number): Promise<readonly PendingDelivery[]> {
    return settle(() => {
      const count = Math.floor(limit);
      return count >= 1 ? this.#sql.listDueDeliveries.all(dueBy, count) : [];
    });
  }

  /** Deliveries of one event, in the order they were appended. */
  listDeliveriesOfEvent(eventId: string): Promise<readonly PendingDelivery[]> {
    return settle(() => this.#sql.listDeliveriesOfEvent.all(eventId));
  }

  /** Deletes events ingested before `before`, with their pending deliveries; returns how many events. */
  deleteEventsBefore(before: number): Promise<number> {
    return settle(() => this.#deleteEventsBefore(before));
  }
}
