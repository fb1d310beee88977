/**
 * The {@link Store} contract over one better-sqlite3 connection. The driver is synchronous: each
 * method runs its statements at once and returns a settled promise, so a resolved mutation is already
 * committed (and, with `synchronous = FULL`, on disk). Multi-statement mutations are transactions
 * (transactions.ts).
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
import { DuplicateIdError, StoreFailureError } from "./errors.js";
import { PageScope, pageRequest, toPage } from "./paging.js";
import { fromAccessKey, fromBus, toAccessKey, toAccount, toBus, toRule, toTarget } from "./rows.js";
import { prepareStatements, type Statements } from "./statements.js";
import { prepareTransactions, type Transactions } from "./transactions.js";

/** SQLite result codes of a unique or primary-key violation. */
const DUPLICATE_CODES: ReadonlySet<string> = new Set([
  "SQLITE_CONSTRAINT_UNIQUE",
  "SQLITE_CONSTRAINT_PRIMARYKEY",
]);

/** Wraps a driver error in a store error; other errors pass through. */
function storeError(error: unknown): unknown {
  return error instanceof Database.SqliteError ? new StoreFailureError(error.code, { cause: error }) : error;
}

/** Runs `fn` now; its result, or its exception with driver errors wrapped, becomes the returned promise. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    try {
      resolve(fn());
    } catch (error) {
      throw storeError(error);
    }
  });
}

/** The SQLite implementation of {@link Store}; created by `openSqliteStore`. */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #tx: Transactions;

  /** Wraps an open, migrated connection; the store owns it from now on. */
  constructor(db: Database.Database) {
    this.#db = db;
    this.#sql = prepareStatements(db);
    this.#tx = prepareTransactions(db, this.#sql);
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
    return settle(() => this.#tx.deleteBus(accountId, name));
  }

  /** @throws {ParentNotFoundError} when the rule's bus does not exist. */
  putRule(rule: Rule): Promise<void> {
    return settle(() => this.#tx.putRule(rule));
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
    return settle(() => this.#tx.deleteRule(accountId, busName, name));
  }

  /** @throws {ParentNotFoundError} when the rule does not exist. */
  putTargets(
    accountId: string,
    busName: string,
    ruleName: string,
    targets: readonly Target[],
  ): Promise<void> {
    return settle(() => this.#tx.putTargets(accountId, busName, ruleName, targets));
  }

  removeTargets(
    accountId: string,
    busName: string,
    ruleName: string,
    ids: readonly string[],
  ): Promise<readonly string[]> {
    return settle(() => this.#tx.removeTargets(accountId, busName, ruleName, ids));
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
    return settle(() => this.#tx.tag(arn, tags));
  }

  untagResource(arn: string, keys: readonly string[]): Promise<void> {
    return settle(() => this.#tx.untag(arn, keys));
  }

  /**
   * Inserts every event and delivery of the batch in one transaction, committed (fsynced) before the
   * promise resolves; on any failure none of them is stored.
   * @throws {DuplicateIdError} when an event id is already stored or repeated, or a delivery id repeats within an event.
   */
  appendEvents(records: readonly IngestRecord[]): Promise<void> {
    return settle(() => {
      if (records.length === 0) return;
      try {
        this.#tx.append(records);
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
    return settle(() => this.#tx.deleteEventsBefore(before));
  }
}
