/**
 * The {@link Store} contract over one better-sqlite3 connection, synchronously: each method runs its
 * statements at once and returns its result, so that a mutation has committed (and, with
 * `synchronous = FULL`, is on disk) when it returns — unless it runs inside a group commit
 * (group-commit.ts), which commits once for the group. Multi-statement mutations are transactions
 * (transactions.ts and the queue modules), which nest as savepoints inside a group. async-store.ts
 * turns this into the promise-based {@link Store}.
 */
import Database from "better-sqlite3";
import type {
  AccessKey,
  Account,
  ApiDestination,
  ApiDestinationListOptions,
  Connection,
  ConnectionListOptions,
  DeliveryRef,
  DeliveryReschedule,
  DeliveryScope,
  EventBus,
  IngestRecord,
  ListOptions,
  MoveResult,
  MoveTask,
  NewMessage,
  Page,
  PendingDelivery,
  Queue,
  QueueCounts,
  QueueCountsStep,
  InFlightCursor,
  InFlightStep,
  QueueMessage,
  QueueRef,
  ReceiptRef,
  ReceiveOptions,
  Rule,
  SendResult,
  StoredEvent,
  DropStep,
  SweepStep,
  Tag,
  Target,
  DeleteOutcome,
  VisibilityChange,
  VisibilityOutcome,
  UpdateQueueOptions,
} from "../types.js";
import type { SyncStore } from "./async-store.js";
import { prepareConnectionStatements } from "./connection-statements.js";
import { prepareConnectionOperations, type ConnectionOperations } from "./connections.js";
import { prepareDeliveryOperations, type DeliveryOperations } from "./deliveries.js";
import { DuplicateIdError } from "./errors.js";
import { prepareMessageStatements } from "./message-statements.js";
import { prepareMessageOperations, type MessageOperations } from "./messages.js";
import { PageScope, pageRequest, toPage } from "./paging.js";
import { prepareQueueStatements } from "./queue-statements.js";
import { prepareQueueOperations, type QueueOperations } from "./queues.js";
import { fromAccessKey, fromBus, toAccessKey, toAccount, toBus, toRule, toTarget } from "./rows.js";
import { prepareSecretOperations, type SecretOperations } from "./secrets.js";
import { prepareStatements, type Statements } from "./statements.js";
import { prepareTransactions, type Transactions } from "./transactions.js";

/** SQLite result codes of a unique or primary-key violation. */
const DUPLICATE_CODES: ReadonlySet<string> = new Set([
  "SQLITE_CONSTRAINT_UNIQUE",
  "SQLITE_CONSTRAINT_PRIMARYKEY",
]);

/** The SQLite implementation of the store contract, synchronous; created by `openSqliteStore`. */
export class SyncSqliteStore implements SyncStore {
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #tx: Transactions;
  readonly #queues: QueueOperations;
  readonly #messages: MessageOperations;
  readonly #deliveries: DeliveryOperations;
  readonly #connections: ConnectionOperations;
  readonly #secrets: SecretOperations;

  /** Wraps an open, migrated connection; the store owns it from now on. */
  constructor(db: Database.Database) {
    this.#db = db;
    this.#sql = prepareStatements(db);
    this.#tx = prepareTransactions(db, this.#sql);
    const queueSql = prepareQueueStatements(db);
    const messageSql = prepareMessageStatements(db);
    this.#queues = prepareQueueOperations(db, queueSql, messageSql);
    this.#messages = prepareMessageOperations(db, queueSql, messageSql);
    this.#deliveries = prepareDeliveryOperations(db, this.#sql);
    this.#connections = prepareConnectionOperations(prepareConnectionStatements(db));
    this.#secrets = prepareSecretOperations(db);
  }

  /** Closes the database (checkpointing the WAL); closing twice is harmless. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }

  /** Creates an account; false when the id is taken (the existing account is kept). */
  putAccount(account: Account): boolean {
    return this.#sql.insertAccount.run(account).changes > 0;
  }

  getAccount(id: string): Account | undefined {
    const row = this.#sql.getAccount.get(id);
    return row === undefined ? undefined : toAccount(row);
  }

  /** Accounts in id order, a page at a time. */
  listAccounts(options?: ListOptions): Page<Account> {
    const request = pageRequest(PageScope.Accounts, options);
    return toPage(request, this.#sql.listAccounts.all(request.params).map(toAccount), (a) => a.id);
  }

  /** Creates or replaces an access key. */
  putAccessKey(key: AccessKey): void {
    this.#sql.upsertKey.run(fromAccessKey(key));
  }

  getAccessKey(accessKeyId: string): AccessKey | undefined {
    const row = this.#sql.getKey.get(accessKeyId);
    return row === undefined ? undefined : toAccessKey(row);
  }

  /** Access keys of one account, or of all, in key-id order, a page at a time. */
  listAccessKeys(accountId?: string, options?: ListOptions): Page<AccessKey> {
    const request = pageRequest(PageScope.AccessKeys, options);
    const rows =
      accountId === undefined
        ? this.#sql.listKeys.all(request.params)
        : this.#sql.listKeysOfAccount.all({ ...request.params, accountId });
    return toPage(request, rows.map(toAccessKey), (k) => k.accessKeyId);
  }

  deleteAccessKey(accessKeyId: string): boolean {
    return this.#sql.deleteKey.run(accessKeyId).changes > 0;
  }

  createBus(bus: EventBus, tags: readonly Tag[] = []): boolean {
    const create = () => this.#sql.insertBus.run(fromBus(bus)).changes > 0;
    return tags.length === 0 ? create() : this.#tx.createTagged(create, bus.arn, tags);
  }

  getBus(accountId: string, name: string): EventBus | undefined {
    const row = this.#sql.getBus.get(accountId, name);
    return row === undefined ? undefined : toBus(row);
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listBuses(accountId: string, options?: ListOptions): Page<EventBus> {
    const request = pageRequest(PageScope.Buses, options);
    const rows = this.#sql.listBuses.all({ ...request.params, accountId });
    return toPage(request, rows.map(toBus), (bus) => bus.name);
  }

  updateBus(bus: EventBus): boolean {
    return this.#sql.updateBus.run(fromBus(bus)).changes > 0;
  }

  /** Deletes a bus, its rules and their targets, and the tags of the bus and of its rules. */
  deleteBus(accountId: string, name: string): boolean {
    return this.#tx.deleteBus(accountId, name);
  }

  /** @throws {ParentNotFoundError} when the rule's bus does not exist. */
  putRule(rule: Rule, tags: readonly Tag[] = []): void {
    return this.#tx.putRule(rule, tags);
  }

  getRule(accountId: string, busName: string, name: string): Rule | undefined {
    const row = this.#sql.getRule.get(accountId, busName, name);
    return row === undefined ? undefined : toRule(row);
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listRules(accountId: string, busName: string, options?: ListOptions): Page<Rule> {
    const request = pageRequest(PageScope.Rules, options);
    const rows = this.#sql.listRules.all({ ...request.params, accountId, busName });
    return toPage(request, rows.map(toRule), (rule) => rule.name);
  }

  /** Every rule, ordered by account, bus and name. */
  listAllRules(): readonly Rule[] {
    return this.#sql.listAllRules.all().map(toRule);
  }

  /** Deletes a rule, its targets and its tags. */
  deleteRule(accountId: string, busName: string, name: string): boolean {
    return this.#tx.deleteRule(accountId, busName, name);
  }

  /** @throws {ParentNotFoundError} when the rule does not exist. */
  putTargets(accountId: string, busName: string, ruleName: string, targets: readonly Target[]): void {
    return this.#tx.putTargets(accountId, busName, ruleName, targets);
  }

  removeTargets(
    accountId: string,
    busName: string,
    ruleName: string,
    ids: readonly string[],
  ): readonly string[] {
    return this.#tx.removeTargets(accountId, busName, ruleName, ids);
  }

  listTargets(accountId: string, busName: string, ruleName: string): readonly Target[] {
    return this.#sql.listTargets.all({ accountId, busName, ruleName }).map(toTarget);
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listRuleNamesByTarget(
    accountId: string,
    busName: string,
    targetArn: string,
    options?: ListOptions,
  ): Page<string> {
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
  }

  /** Tags of a resource, in key order. */
  getTags(arn: string): readonly Tag[] {
    return this.#sql.getTags.all(arn);
  }

  tagResource(arn: string, tags: readonly Tag[]): void {
    return this.#tx.tag(arn, tags);
  }

  untagResource(arn: string, keys: readonly string[]): void {
    return this.#tx.untag(arn, keys);
  }

  /**
   * Inserts every event and delivery of the batch in one transaction, committed (fsynced) before it
   * returns; on any failure none of them is stored.
   * @throws {DuplicateIdError} when an event id is already stored or repeated, or a delivery id repeats within an event.
   */
  appendEvents(records: readonly IngestRecord[]): void {
    if (records.length === 0) return;
    try {
      this.#tx.append(records);
    } catch (error) {
      if (error instanceof Database.SqliteError && DUPLICATE_CODES.has(error.code)) {
        throw new DuplicateIdError({ cause: error });
      }
      throw error;
    }
  }

  getEvent(id: string): StoredEvent | undefined {
    return this.#sql.getEvent.get(id);
  }

  countEvents(): number {
    return this.#sql.countEvents.get()?.count ?? 0;
  }

  reusableBytes(): number {
    const pages = this.#db.pragma("freelist_count", { simple: true }) as number;
    const pageSize = this.#db.pragma("page_size", { simple: true }) as number;
    return pages * pageSize;
  }

  /** Each stored event once; unknown ids are skipped. */
  getEvents(ids: readonly string[]): readonly StoredEvent[] {
    return this.#deliveries.getEvents(ids);
  }

  /**
   * Deliveries due at or before `dueBy`, by due time, then their events' append order, then id; none
   * when `limit` < 1. A page after a delivery whose event is gone starts after its whole due time.
   */
  listDueDeliveries(dueBy: number, limit: number, after?: PendingDelivery): readonly PendingDelivery[] {
    return this.#deliveries.listDue(dueBy, limit, after);
  }

  /** Deliveries of one event, in the order they were appended. */
  listDeliveriesOfEvent(eventId: string): readonly PendingDelivery[] {
    return this.#sql.listDeliveriesOfEvent.all(eventId);
  }

  countDeliveries(): number {
    return this.#deliveries.count();
  }

  completeDeliveries(refs: readonly DeliveryRef[]): number {
    return this.#deliveries.complete(refs);
  }

  /** A delivery named twice takes the later change and counts once. */
  rescheduleDeliveries(changes: readonly DeliveryReschedule[]): number {
    return this.#deliveries.reschedule(changes);
  }

  dropDeliveries(scope: DeliveryScope, scanLimit: number, cursor?: string): DropStep {
    return this.#deliveries.drop(scope, scanLimit, cursor);
  }

  /** Deletes events ingested before `before`, with their pending deliveries; returns how many events. */
  sweepEventsBefore(before: number, scanLimit: number, cursor?: string): SweepStep {
    return this.#tx.sweepEventsBefore(before, scanLimit, cursor);
  }

  createQueue(queue: Queue, tags: readonly Tag[] = []): boolean {
    const create = () => this.#queues.create(queue);
    return tags.length === 0 ? create() : this.#tx.createTagged(create, queue.arn, tags);
  }

  getQueue(accountId: string, name: string): Queue | undefined {
    return this.#queues.get(accountId, name);
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listQueues(accountId: string, options?: ListOptions): Page<Queue> {
    return this.#queues.list(accountId, options);
  }

  /** Replaces the attributes, dead-letter target and modification time (not the name, ARN or type). */
  updateQueue(queue: Queue, options?: UpdateQueueOptions): boolean {
    return this.#queues.update(queue, options);
  }

  deleteQueue(accountId: string, name: string): boolean {
    return this.#queues.delete(accountId, name);
  }

  retireQueue(accountId: string, name: string): QueueRef | undefined {
    return this.#queues.retire(accountId, name);
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listDeadLetterSourceQueues(arn: string, options?: ListOptions): Page<Queue> {
    return this.#queues.listDeadLetterSources(arn, options);
  }

  /** @throws {QueueNotFoundError} when the queue does not exist. */
  sendMessages(queue: QueueRef, messages: readonly NewMessage[]): readonly SendResult[] {
    return this.#messages.send(queue, messages);
  }

  receiveMessages(queue: QueueRef, options: ReceiveOptions): readonly QueueMessage[] {
    return this.#messages.receive(queue, options);
  }

  /** Every reference is `gone` when the queue does not exist. */
  deleteMessages(queue: QueueRef, refs: readonly ReceiptRef[], now: number): readonly DeleteOutcome[] {
    return this.#messages.delete(queue, refs, now);
  }

  /** Every change is `gone` when the queue does not exist. */
  changeVisibility(
    queue: QueueRef,
    changes: readonly VisibilityChange[],
    now: number,
    maxInFlightMs: number,
  ): readonly VisibilityOutcome[] {
    return this.#messages.changeVisibility(queue, changes, now, maxInFlightMs);
  }

  /** 0 when the queue does not exist. */
  purgeQueue(queue: QueueRef, limit: number): number {
    return this.#messages.purge(queue, limit);
  }

  /** All zero when the queue does not exist. */
  countMessages(queue: QueueRef, now: number): QueueCounts {
    return this.#messages.count(queue, now);
  }

  /** All zero, and no next step, when the queue does not exist. */
  countMessagesFrom(queue: QueueRef, now: number, after: number, limit: number): QueueCountsStep {
    return this.#messages.countFrom(queue, now, after, limit);
  }

  /** 0, and no next step, when the queue does not exist. */
  countInFlight(
    queue: QueueRef,
    now: number,
    after: InFlightCursor | undefined,
    limit: number,
  ): InFlightStep {
    return this.#messages.countInFlight(queue, now, after, limit);
  }

  sweepExpiredMessages(now: number, scanLimit: number, cursor?: string): SweepStep {
    return this.#messages.sweep(now, scanLimit, cursor);
  }

  sweepExpiredDeduplication(now: number, scanLimit: number, cursor?: string): SweepStep {
    return this.#messages.sweepDeduplication(now, scanLimit, cursor);
  }

  /** Nothing moves, and nothing remains, when the source does not exist. */
  moveMessages(
    source: QueueRef,
    destination: QueueRef | undefined,
    limit: number,
    now: number,
    taskId?: string,
  ): MoveResult {
    return this.#messages.move(source, destination, limit, now, taskId);
  }

  putMoveTask(task: MoveTask): void {
    this.#queues.putMoveTask(task);
  }

  getMoveTask(id: string): MoveTask | undefined {
    return this.#queues.getMoveTask(id);
  }

  listActiveMoveTasks(): readonly MoveTask[] {
    return this.#queues.listActiveMoveTasks();
  }

  /** Newest first: by `startedAt`, then the latest created first; none when `limit` < 1. */
  listMoveTasks(sourceArn: string, limit: number): readonly MoveTask[] {
    return this.#queues.listMoveTasks(sourceArn, limit);
  }

  createConnection(connection: Connection): boolean {
    return this.#connections.createConnection(connection);
  }

  getConnection(accountId: string, name: string): Connection | undefined {
    return this.#connections.getConnection(accountId, name);
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listConnections(accountId: string, options?: ConnectionListOptions): Page<Connection> {
    return this.#connections.listConnections(accountId, options);
  }

  countConnections(accountId: string): number {
    return this.#connections.countConnections(accountId);
  }

  /** Replaces every field but the account and name. */
  updateConnection(connection: Connection): boolean {
    return this.#connections.updateConnection(connection);
  }

  deleteConnection(accountId: string, name: string): boolean {
    return this.#connections.deleteConnection(accountId, name);
  }

  createApiDestination(destination: ApiDestination): boolean {
    return this.#connections.createApiDestination(destination);
  }

  getApiDestination(accountId: string, name: string): ApiDestination | undefined {
    return this.#connections.getApiDestination(accountId, name);
  }

  /** @throws {InvalidNextTokenError} when `options.nextToken` is not a token of this listing. */
  listApiDestinations(accountId: string, options?: ApiDestinationListOptions): Page<ApiDestination> {
    return this.#connections.listApiDestinations(accountId, options);
  }

  countApiDestinations(accountId: string): number {
    return this.#connections.countApiDestinations(accountId);
  }

  /** Replaces every field but the account and name. */
  updateApiDestination(destination: ApiDestination): boolean {
    return this.#connections.updateApiDestination(destination);
  }

  deleteApiDestination(accountId: string, name: string): boolean {
    return this.#connections.deleteApiDestination(accountId, name);
  }

  putSecret(key: string, value: string): void {
    this.#secrets.put(key, value);
  }

  getSecret(key: string): string | undefined {
    return this.#secrets.get(key);
  }

  deleteSecret(key: string): boolean {
    return this.#secrets.delete(key);
  }
}
