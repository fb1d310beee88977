/**
 * The durable state of a Busbar node and the narrow contract every store implements. Nothing here
 * mentions a driver: the embedded SQLite store and the clustered NATS JetStream store both implement
 * {@link Store}, and one conformance suite (test/support/store-conformance.ts) runs against each.
 */

/** An account: a 12-digit id owning buses, rules and access keys. */
export interface Account {
  readonly id: string;
  readonly name: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** An access key of an account, with the IAM-style policy documents that authorize it. */
export interface AccessKey {
  readonly accessKeyId: string;
  /** Needed to verify SigV4 signatures; never logged. */
  readonly secretAccessKey: string;
  readonly accountId: string;
  /** The root key of an account may do anything in it (the default account's root: anything at all). */
  readonly root: boolean;
  /** IAM policy documents as JSON text; a non-root key with none is denied everything. */
  readonly policies: readonly string[];
  readonly createdAt: number;
}

/** An event bus. */
export interface EventBus {
  readonly accountId: string;
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  readonly kmsKeyIdentifier?: string;
  /** Dead-letter queue ARN for events no target-level config catches. */
  readonly deadLetterArn?: string;
  /** Resource policy document (JSON text), from PutPermission or a full policy. */
  readonly policy?: string;
  /** The API's LogConfig as JSON text (`{"IncludeDetail", "Level"}`), kept and described, not acted on. */
  readonly logConfig?: string;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
}

/** States a rule can be in. */
export const RuleState = {
  Enabled: "ENABLED",
  Disabled: "DISABLED",
  EnabledWithAllCloudTrailManagementEvents: "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
} as const;
export type RuleState = (typeof RuleState)[keyof typeof RuleState];

/** A rule on a bus: an event pattern and/or a schedule, and targets (stored separately). */
export interface Rule {
  readonly accountId: string;
  readonly busName: string;
  readonly name: string;
  readonly arn: string;
  readonly eventPattern?: string;
  readonly scheduleExpression?: string;
  readonly state: RuleState;
  readonly description?: string;
  readonly roleArn?: string;
  readonly managedBy?: string;
  /** Account that created the rule. */
  readonly createdBy: string;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
}

/**
 * A target of a rule, as PutTargets gave it (the AWS `Target` structure: Id, Arn, RoleArn, Input,
 * InputPath, InputTransformer, RetryPolicy, DeadLetterConfig, SqsParameters, HttpParameters, …).
 * Stored as given; the delivery engine interprets it.
 */
export interface Target {
  readonly id: string;
  readonly arn: string;
  /** The whole AWS Target structure, including Id and Arn. */
  readonly spec: Readonly<Record<string, unknown>>;
}

/** A tag on a resource. */
export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** An accepted event, as stored in the event log. */
export interface StoredEvent {
  readonly id: string;
  readonly accountId: string;
  readonly busName: string;
  /** The event's `time`, in milliseconds since the epoch. */
  readonly time: number;
  /** When Busbar accepted it, in milliseconds since the epoch. */
  readonly ingestedAt: number;
  /** The full envelope as JSON text: version, id, detail-type, source, account, time, region, resources, detail. */
  readonly json: string;
}

/** One (event, rule, target) invocation still to be made. */
export interface PendingDelivery {
  readonly id: string;
  readonly eventId: string;
  readonly accountId: string;
  readonly busName: string;
  readonly ruleName: string;
  readonly targetId: string;
  /** When the next attempt is due, in milliseconds since the epoch. */
  readonly dueAt: number;
  readonly attempts: number;
}

/** Names one pending delivery: its event and its own id. */
export interface DeliveryRef {
  readonly eventId: string;
  readonly id: string;
}

/** A new schedule for a pending delivery after a failed attempt. */
export interface DeliveryReschedule extends DeliveryRef {
  /** When the next attempt is due, in milliseconds since the epoch. */
  readonly dueAt: number;
  /** Attempts made so far. */
  readonly attempts: number;
}

/**
 * Pending deliveries of a bus, or of one of its rules, or of some of a rule's targets: what a deleted
 * bus, a deleted rule or removed targets leave, and must not leave to what later takes their names.
 */
export interface DeliveryScope {
  readonly accountId: string;
  readonly busName: string;
  /** Only the deliveries of this rule; all of the bus's when absent. */
  readonly ruleName?: string;
  /** Only the deliveries to these targets of the rule (with `ruleName`). */
  readonly targetIds?: readonly string[];
}

/** What one accepted event commits: the event and its pending deliveries. */
export interface IngestRecord {
  readonly event: StoredEvent;
  readonly deliveries: readonly PendingDelivery[];
}

/** Paging of list operations: `nextToken` is opaque to callers. */
export interface ListOptions {
  readonly prefix?: string;
  readonly nextToken?: string;
  readonly limit?: number;
}

/** A page of results. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextToken?: string;
}

/** How a connection authorizes calls to its API destinations (CreateConnection's AuthorizationType). */
export type ConnectionAuthorizationType = "BASIC" | "API_KEY" | "OAUTH_CLIENT_CREDENTIALS";

/** Connection states, as EventBridge names them. */
export type ConnectionState =
  "CREATING" | "UPDATING" | "DELETING" | "AUTHORIZED" | "DEAUTHORIZED" | "AUTHORIZING" | "DEAUTHORIZING";

/**
 * A connection (CreateConnection): the authorization an API destination's calls carry. The store
 * keeps `authParameters` as given: the caller encrypts it (it holds passwords, API keys and client
 * secrets) and the store never reads it.
 */
export interface Connection {
  readonly accountId: string;
  readonly name: string;
  /** `arn:aws:events:<region>:<account>:connection/<name>/<uuid>`. */
  readonly arn: string;
  readonly description?: string;
  readonly authorizationType: ConnectionAuthorizationType;
  readonly state: ConnectionState;
  readonly stateReason?: string;
  /** The AuthParameters with their secrets, encrypted by the caller (opaque text to the store). */
  readonly authParameters: string;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
  readonly lastAuthorizedAt?: number;
}

/** An API destination (CreateApiDestination): an HTTP endpoint called through a connection. */
export interface ApiDestination {
  readonly accountId: string;
  readonly name: string;
  /** `arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>`. */
  readonly arn: string;
  readonly description?: string;
  readonly connectionArn: string;
  readonly invocationEndpoint: string;
  readonly httpMethod: string;
  /** Calls per second at most (EventBridge's default is 300). */
  readonly invocationRateLimitPerSecond: number;
  readonly state: "ACTIVE" | "INACTIVE";
  readonly createdAt: number;
  readonly lastModifiedAt: number;
}

/** Options of the connection and API destination listings: a name prefix and paging, plus a filter. */
export interface ConnectionListOptions extends ListOptions {
  readonly state?: ConnectionState;
}
export interface ApiDestinationListOptions extends ListOptions {
  readonly connectionArn?: string;
}

/**
 * An SQS-compatible queue. The queue service validates attribute values and applies defaults; the store
 * keeps `attributes` as given (SQS's own strings, such as `VisibilityTimeout: "30"`).
 */
export interface Queue {
  readonly accountId: string;
  readonly name: string;
  /** `arn:aws:sqs:<region>:<account>:<name>`. */
  readonly arn: string;
  readonly fifo: boolean;
  /** The settable attributes (not the computed ones such as counts and timestamps). */
  readonly attributes: Readonly<Record<string, string>>;
  /** The `deadLetterTargetArn` of the RedrivePolicy, kept apart so that sources can be listed by it. */
  readonly deadLetterTargetArn?: string;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
}

/** Names a queue: its account and name. */
export interface QueueRef {
  readonly accountId: string;
  readonly name: string;
}

/** Where `retireQueue` puts queues being deleted: not an account id (those are 12 digits). */
export const RETIRED_QUEUES_ACCOUNT = "retired";

/** A message to enqueue. Times are milliseconds since the epoch. */
export interface NewMessage {
  /** MessageId; unique within its queue (a message moved to another queue keeps it). */
  readonly id: string;
  readonly body: string;
  /**
   * The body's MD5 as the sender computed it (hex): kept with the body and returned with it, so that
   * a receive does not hash the body again. Absent, a receive computes it.
   */
  readonly bodyMd5?: string;
  /** MessageAttributes as JSON text (opaque to the store); absent when there are none. */
  readonly attributes?: string;
  /** MessageSystemAttributes (AWSTraceHeader) as JSON text; absent when there are none. */
  readonly systemAttributes?: string;
  readonly senderId: string;
  readonly sentAt: number;
  /** When the message first becomes visible: `sentAt` plus its delay. */
  readonly visibleAt: number;
  /**
   * When retention ends under the queue's MessageRetentionPeriod at the send: the message is gone from
   * then on, received or not. A later change of the queue's retention moves it by as much
   * ({@link Store.updateQueue}).
   */
  readonly expiresAt: number;
  /** MessageGroupId (FIFO queues; fair standard queues). */
  readonly groupId?: string;
  /** FIFO: the effective MessageDeduplicationId (explicit or content-based). */
  readonly deduplicationId?: string;
  /**
   * FIFO deduplication: a send whose `key` was sent to the queue before, with that send's `until`
   * still in the future, is a duplicate and is not enqueued.
   */
  readonly deduplication?: { readonly key: string; readonly until: number };
  /** The queue a dead-letter queue got the message from (DeadLetterQueueSourceArn). */
  readonly deadLetterSourceArn?: string;
}

/** The outcome of one sent message. */
export interface SendResult {
  /** The MessageId: the original one for a duplicate. */
  readonly id: string;
  /** FIFO: the SequenceNumber (a decimal string of 20 digits, increasing per queue). */
  readonly sequenceNumber?: string;
  /** Whether this was a duplicate within the deduplication window (nothing was enqueued). */
  readonly duplicate: boolean;
}

/** A message as the store holds it. */
export interface QueueMessage {
  /** The message's position in the store, increasing in send order; identifies it in receipt handles. */
  readonly seq: number;
  readonly id: string;
  readonly body: string;
  /** The body's MD5 (hex), when it was sent with one ({@link NewMessage.bodyMd5}). */
  readonly bodyMd5?: string;
  readonly attributes?: string;
  readonly systemAttributes?: string;
  readonly senderId: string;
  readonly sentAt: number;
  readonly visibleAt: number;
  /** When retention ends, under the queue's current MessageRetentionPeriod. */
  readonly expiresAt: number;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  readonly sequenceNumber?: string;
  readonly deadLetterSourceArn?: string;
  /** How many times the message was received, this receive included. */
  readonly receiveCount: number;
  readonly firstReceivedAt?: number;
  /** When the current (latest) receive happened. */
  readonly lastReceivedAt?: number;
}

/** Options of {@link Store.updateQueue}. */
export interface UpdateQueueOptions {
  readonly redelayUnreceivedMs?: number;
}

/** Options of {@link Store.receiveMessages}. */
export interface ReceiveOptions {
  /** At most this many messages (1–10). */
  readonly max: number;
  readonly now: number;
  /** The received messages stay invisible until then. */
  readonly visibleUntil: number;
  /**
   * The queue's redrive policy: a message already received `maxReceiveCount` times is moved to the
   * dead-letter queue (with `deadLetterSourceArn` set to `sourceArn`) instead of being received again.
   * When the dead-letter queue does not exist, the message is received as usual. The moved message
   * expires `deadLetterRetentionMs` after it was first sent when the dead-letter queue is a standard
   * queue (SQS keeps its enqueue time), and that long after the move in a FIFO one (SQS resets it).
   */
  readonly redrive?: {
    readonly maxReceiveCount: number;
    readonly deadLetterQueue: QueueRef;
    readonly sourceArn: string;
    /** The dead-letter queue's MessageRetentionPeriod, in milliseconds. */
    readonly deadLetterRetentionMs: number;
  };
}

/**
 * The most messages one store call is asked to delete by PurgeQueue and DeleteQueue (`purgeQueue`):
 * each call then takes milliseconds, so that a large deletion never holds the store for long, and the
 * calls of requests run between its chunks.
 */
export const DELETE_CHUNK = 1000;

/**
 * Messages, or events, one step of a retention sweep looks at ({@link Store.sweepExpiredMessages},
 * {@link Store.sweepEventsBefore}).
 */
export const SWEEP_SCAN_LIMIT = 500;

/** What one step of a retention sweep did. */
export interface SweepStep {
  readonly deleted: number;
  /** Where the next step starts; absent when this step reached the end. */
  readonly next?: string;
}

/** A step of dropping deliveries: how many of each rule's target it deleted, besides the count. */
export interface DropStep extends SweepStep {
  readonly byTarget: ReadonlyArray<{
    readonly ruleName: string;
    readonly targetId: string;
    readonly count: number;
  }>;
}

/** A receipt handle's reference to one receive of a message. */
export interface ReceiptRef {
  readonly seq: number;
  /** The `receiveCount` the message had when this handle was issued. */
  readonly receiveCount: number;
}

/**
 * What became of a delete by receipt handle: `deleted`; `gone` (no such message any more: deleted,
 * expired, purged or moved); `expired` (FIFO only: the handle's receive is over, so the message stays).
 * A standard queue deletes the message whatever receive the handle came from (SQS "can delete a message
 * from a queue even if a visibility timeout setting causes the message to be locked by another
 * consumer"; docs/queues.md says what else its reference says).
 */
export type DeleteOutcome = "deleted" | "gone" | "expired";

/** A visibility change by receipt handle. */
export interface VisibilityChange extends ReceiptRef {
  /** The new end of the message's invisibility. */
  readonly visibleUntil: number;
}

/**
 * What became of a visibility change: `changed`; `gone` (no such message); `not-in-flight` (the
 * message is visible: nothing changes); `stale` (the message is in flight under a later receive:
 * nothing changes); `expired` (FIFO only: the handle's receive is over); `limit` (`visibleUntil` is
 * more than `maxInFlightMs` after the handle's receive: nothing changes).
 */
export type VisibilityOutcome = "changed" | "gone" | "not-in-flight" | "stale" | "expired" | "limit";

/** Approximate message counts of a queue. */
export interface QueueCounts {
  /** Visible now (ApproximateNumberOfMessages). */
  readonly visible: number;
  /** Received and not yet visible again (ApproximateNumberOfMessagesNotVisible). */
  readonly inFlight: number;
  /** Never received and not yet visible (ApproximateNumberOfMessagesDelayed). */
  readonly delayed: number;
}

/** One step of {@link Store.countMessagesFrom}: the counts of the messages it looked at. */
export interface QueueCountsStep extends QueueCounts {
  /** Where the next step starts (its `after`), unless this step reached the queue's end. */
  readonly next?: number;
}

/** Where a step of {@link Store.countInFlight} ends: a key of the store's visibility order. */
export interface InFlightCursor {
  readonly visibleAt: number;
  readonly seq: number;
}

/** One step of {@link Store.countInFlight}. */
export interface InFlightStep {
  readonly inFlight: number;
  /** Where the next step starts, unless this one reached the end. */
  readonly next?: InFlightCursor;
}

/** Statuses of a message move task, as SQS names them. */
export type MoveTaskStatus = "RUNNING" | "COMPLETED" | "CANCELLING" | "CANCELLED" | "FAILED";

/** A message move task (StartMessageMoveTask): messages of a dead-letter queue going back. */
export interface MoveTask {
  readonly id: string;
  readonly sourceArn: string;
  /** Absent: each message goes back to the queue it came from (its `deadLetterSourceArn`). */
  readonly destinationArn?: string;
  readonly maxPerSecond?: number;
  readonly status: MoveTaskStatus;
  readonly moved: number;
  /** The source's message count when the task started. */
  readonly toMove: number;
  readonly failureReason?: string;
  readonly startedAt: number;
}

/** The outcome of one step of a move task. */
export interface MoveResult {
  readonly moved: number;
  /** Messages left in the source that can move now. */
  readonly remaining: number;
  /**
   * Why the step stopped early: a message with no `deadLetterSourceArn` and no destination given
   * (`CouldNotDetermineMessageSource`), or a destination queue that does not exist
   * (`AWS.SimpleQueueService.NonExistentQueue`). The message stays in the source.
   */
  readonly failure?: string;
}

/**
 * The store contract. All methods are asynchronous so that networked stores can implement it.
 * Mutations of configuration are atomic per call; `appendEvents` commits all its records durably in
 * one transaction (or none of them) before it resolves.
 */
export interface Store {
  /** Short name of the implementation ("sqlite", "jetstream"). */
  readonly kind: string;
  close(): Promise<void>;

  putAccount(account: Account): Promise<boolean>;
  getAccount(id: string): Promise<Account | undefined>;
  /** Accounts in id order, a page at a time (`prefix` filters ids). */
  listAccounts(options?: ListOptions): Promise<Page<Account>>;

  putAccessKey(key: AccessKey): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKey | undefined>;
  /** Access keys of one account, or of all, in key-id order, a page at a time (`prefix` filters ids). */
  listAccessKeys(accountId?: string, options?: ListOptions): Promise<Page<AccessKey>>;
  deleteAccessKey(accessKeyId: string): Promise<boolean>;

  /**
   * Creates a bus, with `tags` in the same transaction; false (and nothing written) when one with that
   * name already exists in the account.
   */
  createBus(bus: EventBus, tags?: readonly Tag[]): Promise<boolean>;
  getBus(accountId: string, name: string): Promise<EventBus | undefined>;
  /** Buses of an account in name order. */
  listBuses(accountId: string, options?: ListOptions): Promise<Page<EventBus>>;
  /** Replaces an existing bus; false when it does not exist. */
  updateBus(bus: EventBus): Promise<boolean>;
  /** Deletes a bus with its rules, targets and tags; false when it did not exist. */
  deleteBus(accountId: string, name: string): Promise<boolean>;

  /** Creates or replaces a rule (its targets are kept), and adds `tags` to it in the same transaction. */
  putRule(rule: Rule, tags?: readonly Tag[]): Promise<void>;
  getRule(accountId: string, busName: string, name: string): Promise<Rule | undefined>;
  /** Rules of a bus in name order. */
  listRules(accountId: string, busName: string, options?: ListOptions): Promise<Page<Rule>>;
  /** Every rule of every bus (to build the matchers at start-up). */
  listAllRules(): Promise<readonly Rule[]>;
  /** Deletes a rule with its targets and tags; false when it did not exist. */
  deleteRule(accountId: string, busName: string, name: string): Promise<boolean>;

  /** Adds or replaces targets of a rule, by id. */
  putTargets(accountId: string, busName: string, ruleName: string, targets: readonly Target[]): Promise<void>;
  /** Removes targets by id; returns the ids that existed. */
  removeTargets(
    accountId: string,
    busName: string,
    ruleName: string,
    ids: readonly string[],
  ): Promise<readonly string[]>;
  /** Targets of a rule in id order. */
  listTargets(accountId: string, busName: string, ruleName: string): Promise<readonly Target[]>;
  /** Names of the rules of a bus with a target of this ARN, in name order. */
  listRuleNamesByTarget(
    accountId: string,
    busName: string,
    targetArn: string,
    options?: ListOptions,
  ): Promise<Page<string>>;

  getTags(arn: string): Promise<readonly Tag[]>;
  /** Adds or overwrites tags. */
  tagResource(arn: string, tags: readonly Tag[]): Promise<void>;
  untagResource(arn: string, keys: readonly string[]): Promise<void>;

  /** Commits the records durably, all or none, before resolving. */
  appendEvents(records: readonly IngestRecord[]): Promise<void>;
  getEvent(id: string): Promise<StoredEvent | undefined>;
  countEvents(): Promise<number>;
  /**
   * Bytes of the database file that no data holds (its free pages), which new data reuses before the
   * file grows: room for data beside the file system's own (see store/disk-floor.ts).
   */
  reusableBytes(): Promise<number>;
  /** The events with these ids that are stored, in no particular order. */
  getEvents(ids: readonly string[]): Promise<readonly StoredEvent[]>;
  /**
   * Pending deliveries due at or before `dueBy`, by `dueAt` and then in a stable order of the store's,
   * at most `limit`. `after`: a delivery of the previous page (its `dueAt` unchanged since); the page
   * starts after it, so that a caller can walk every due delivery, page by page. When `after`'s event
   * has left the log meanwhile, the page may repeat deliveries due at the same time, never skip one.
   */
  listDueDeliveries(
    dueBy: number,
    limit: number,
    after?: PendingDelivery,
  ): Promise<readonly PendingDelivery[]>;
  /** Pending deliveries of one event. */
  listDeliveriesOfEvent(eventId: string): Promise<readonly PendingDelivery[]>;
  /** How many deliveries are pending. */
  countDeliveries(): Promise<number>;
  /**
   * Deletes deliveries that are done (delivered, sent to a dead-letter queue, or given up); unknown
   * references are ignored. Returns how many were deleted.
   */
  completeDeliveries(refs: readonly DeliveryRef[]): Promise<number>;
  /** Sets when deliveries are next due and their attempt counts; unknown ones are ignored. Returns how many changed. */
  rescheduleDeliveries(changes: readonly DeliveryReschedule[]): Promise<number>;
  /**
   * One step of dropping the pending deliveries in `scope`: looks at no more than `scanLimit` pending
   * deliveries in key order from just after `cursor` (from the first when it is absent) and deletes
   * those in scope. Gives how many it deleted and, unless it reached the end, the cursor of the next
   * step (opaque). No index serves a scope, so a caller runs the steps to the end (`sweepInSteps`):
   * together they read each pending delivery once, and other calls run between them.
   */
  dropDeliveries(scope: DeliveryScope, scanLimit: number, cursor?: string): Promise<DropStep>;
  /**
   * One step of the event log's retention: looks at no more than `scanLimit` events ingested before
   * `before`, oldest first, from just after `cursor` (from the oldest when it is absent), and deletes
   * those with no pending delivery (an event stays while a delivery of it may still be attempted).
   * Gives how many it deleted and, unless it reached the end, the cursor of the next step (opaque).
   */
  sweepEventsBefore(before: number, scanLimit: number, cursor?: string): Promise<SweepStep>;

  /**
   * Creates a queue, with `tags` (on its ARN) in the same transaction; false (and nothing written)
   * when one with that name already exists in the account.
   */
  createQueue(queue: Queue, tags?: readonly Tag[]): Promise<boolean>;
  getQueue(accountId: string, name: string): Promise<Queue | undefined>;
  /** Queues of an account in name order (`prefix` taken literally). */
  listQueues(accountId: string, options?: ListOptions): Promise<Page<Queue>>;
  /**
   * Replaces an existing queue's attributes; false when it does not exist, or is not the queue read
   * (one deleted and made again under its name meanwhile: `createdAt` differs). A changed
   * `MessageRetentionPeriod` (seconds, as the attribute's text) applies to the messages already in the
   * queue, as SQS documents: each one's expiry moves by the change (so it expires that long after the
   * time its retention counts from, by the new period), at once and in the same transaction; messages
   * past the new expiry are gone. With `redelayUnreceivedMs` (a FIFO queue's DelaySeconds changed: SQS
   * applies the new delay to the messages already queued), every message of the queue never received
   * becomes visible that long after it was sent, in the same transaction.
   */
  updateQueue(queue: Queue, options?: UpdateQueueOptions): Promise<boolean>;
  /** Deletes a queue with its messages, deduplication records, tags and move tasks; false when absent. */
  deleteQueue(accountId: string, name: string): Promise<boolean>;
  /**
   * Takes a queue out of its account at once, in one transaction, for a DeleteQueue whose messages are
   * then deleted in steps: the queue moves to the account {@link RETIRED_QUEUES_ACCOUNT} under a name
   * of its own (so its name is free, and nothing finds it by its name or ARN), without attributes, tags,
   * deduplication records or move tasks; its messages stay until `purgeQueue` and `deleteQueue` on the
   * returned reference delete them (`listQueues(RETIRED_QUEUES_ACCOUNT)` lists what a crash left).
   * Undefined when the queue does not exist.
   */
  retireQueue(accountId: string, name: string): Promise<QueueRef | undefined>;
  /** Queues (of any account) whose `deadLetterTargetArn` is `arn`, in account and name order. */
  listDeadLetterSourceQueues(arn: string, options?: ListOptions): Promise<Page<Queue>>;

  /**
   * Enqueues messages durably, all or none, before resolving; one result per message, in order. A FIFO
   * queue numbers its messages (`sequenceNumber`) and drops duplicates (`deduplication`).
   * @throws an error named `QueueNotFoundError` when the queue does not exist.
   */
  sendMessages(queue: QueueRef, messages: readonly NewMessage[]): Promise<readonly SendResult[]>;
  /**
   * Receives up to `max` visible, unexpired messages in send order, making them invisible until
   * `visibleUntil` and counting the receive. On a FIFO queue, a message group with a message in flight
   * gives nothing, and a group's messages come in order. Empty when the queue does not exist.
   */
  receiveMessages(queue: QueueRef, options: ReceiveOptions): Promise<readonly QueueMessage[]>;
  /** Deletes messages by receipt; one outcome per reference, in order. */
  deleteMessages(
    queue: QueueRef,
    refs: readonly ReceiptRef[],
    now: number,
  ): Promise<readonly DeleteOutcome[]>;
  /**
   * Changes the visibility of messages in flight; one outcome per change, in order. A change to `now`
   * or earlier makes the message visible at once.
   */
  changeVisibility(
    queue: QueueRef,
    changes: readonly VisibilityChange[],
    now: number,
    maxInFlightMs: number,
  ): Promise<readonly VisibilityOutcome[]>;
  /**
   * Deletes up to `limit` messages of a queue (visible, delayed or in flight), oldest first; returns
   * how many (0 when the queue does not exist). A caller with more to delete calls again.
   */
  purgeQueue(queue: QueueRef, limit: number): Promise<number>;
  countMessages(queue: QueueRef, now: number): Promise<QueueCounts>;
  /**
   * One step of a count of a queue's messages by state: the next `limit` messages in the store's own
   * order after `after` (0 for the first step), expired ones looked at but not counted. A caller
   * counting a large queue adds the steps up, so that no call holds the store for long (a million
   * messages counted at once held it for 190 ms).
   */
  countMessagesFrom(queue: QueueRef, now: number, after: number, limit: number): Promise<QueueCountsStep>;
  /**
   * One step of a count of the messages of a queue in flight at `now` (received, not yet visible
   * again, unexpired: what `countMessages` gives as `inFlight`, without reading the visible ones): the
   * next `limit` messages not visible at `now` (in flight or delayed) after `after` (from the first
   * when undefined). A caller adds the steps up, with the same `now`, so that a queue of millions of
   * delayed messages does not hold the store for long (a million: 383 ms in one call).
   */
  countInFlight(
    queue: QueueRef,
    now: number,
    after: InFlightCursor | undefined,
    limit: number,
  ): Promise<InFlightStep>;
  /**
   * One step of a sweep of expired messages: looks at no more than `scanLimit` messages, in the
   * store's own order, from just after `cursor` (from the start when it is absent), and deletes those
   * past their `expiresAt` (as the queue's current retention makes it). Gives how many messages it
   * deleted and, unless it reached the end, the cursor of the next step (opaque). Each step is short
   * whatever the backlog, so other calls run between the steps.
   */
  sweepExpiredMessages(now: number, scanLimit: number, cursor?: string): Promise<SweepStep>;
  /**
   * One step of a sweep of FIFO deduplication records: looks at no more than `scanLimit` of them, in
   * the store's own order, from just after `cursor` (from the start when it is absent), and deletes
   * those whose window ended by `now` (`until` at or before it). Gives how many it deleted and, unless
   * it reached the end, the cursor of the next step (opaque), as {@link sweepExpiredMessages} does.
   */
  sweepExpiredDeduplication(now: number, scanLimit: number, cursor?: string): Promise<SweepStep>;
  /**
   * Moves up to `limit` visible messages of `source` to `destination` or, when it is
   * absent, to the queue named by each message's `deadLetterSourceArn`. A moved message is a new
   * message, as SQS's redrive makes it: a new id, sent at `now`, unreceived and visible, expiring after
   * the destination's MessageRetentionPeriod from `now`, with no dead-letter source; it keeps its body,
   * attributes, sender, group and deduplication id. A standard queue's go those visible longest
   * first; a FIFO queue's as a receive takes them (in send order, no group past a message of it in
   * flight or delayed), so that each group arrives in order. With `taskId`, the move task of that id
   * counts what moved (its `moved`) in the same transaction, so that its count survives a crash.
   */
  moveMessages(
    source: QueueRef,
    destination: QueueRef | undefined,
    limit: number,
    now: number,
    taskId?: string,
  ): Promise<MoveResult>;

  /**
   * Creates or replaces a move task by id. A finished task (COMPLETED, CANCELLED, FAILED) that is not
   * among the 10 latest of its source (by `startedAt`, then creation) is deleted when a task of that
   * source is put as finished: what ListMessageMoveTasks can no longer show is not kept.
   */
  putMoveTask(task: MoveTask): Promise<void>;
  getMoveTask(id: string): Promise<MoveTask | undefined>;
  /** Move tasks of a source queue ARN, newest first, at most `limit`. */
  listMoveTasks(sourceArn: string, limit: number): Promise<readonly MoveTask[]>;
  /** Move tasks of every source that are RUNNING or CANCELLING (to resume after a restart), oldest first. */
  listActiveMoveTasks(): Promise<readonly MoveTask[]>;

  /** Creates a connection; false when one with that name already exists in the account. */
  createConnection(connection: Connection): Promise<boolean>;
  getConnection(accountId: string, name: string): Promise<Connection | undefined>;
  /** Connections of an account in name order. */
  listConnections(accountId: string, options?: ConnectionListOptions): Promise<Page<Connection>>;
  /** How many connections an account has (its quota is counted so). */
  countConnections(accountId: string): Promise<number>;
  /** Replaces an existing connection; false when it does not exist. */
  updateConnection(connection: Connection): Promise<boolean>;
  /** Deletes a connection; false when it did not exist. */
  deleteConnection(accountId: string, name: string): Promise<boolean>;

  /** Creates an API destination; false when one with that name already exists in the account. */
  createApiDestination(destination: ApiDestination): Promise<boolean>;
  getApiDestination(accountId: string, name: string): Promise<ApiDestination | undefined>;
  /** API destinations of an account in name order. */
  listApiDestinations(accountId: string, options?: ApiDestinationListOptions): Promise<Page<ApiDestination>>;
  /** How many API destinations an account has (its quota is counted so). */
  countApiDestinations(accountId: string): Promise<number>;
  /** Replaces an existing API destination; false when it does not exist. */
  updateApiDestination(destination: ApiDestination): Promise<boolean>;
  /** Deletes an API destination; false when it did not exist. */
  deleteApiDestination(accountId: string, name: string): Promise<boolean>;

  /**
   * Secrets by key (such as a webhook target's signing secrets), as opaque text the caller encrypts.
   * `putSecret` creates or replaces.
   */
  putSecret(key: string, value: string): Promise<void>;
  getSecret(key: string): Promise<string | undefined>;
  /** Deletes a secret; false when there was none. */
  deleteSecret(key: string): Promise<boolean>;
}
