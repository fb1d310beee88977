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
  listAccounts(): Promise<readonly Account[]>;

  putAccessKey(key: AccessKey): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKey | undefined>;
  listAccessKeys(accountId?: string): Promise<readonly AccessKey[]>;
  deleteAccessKey(accessKeyId: string): Promise<boolean>;

  /** Creates a bus; false when one with that name already exists in the account. */
  createBus(bus: EventBus): Promise<boolean>;
  getBus(accountId: string, name: string): Promise<EventBus | undefined>;
  /** Buses of an account in name order. */
  listBuses(accountId: string, options?: ListOptions): Promise<Page<EventBus>>;
  /** Replaces an existing bus; false when it does not exist. */
  updateBus(bus: EventBus): Promise<boolean>;
  /** Deletes a bus with its rules, targets and tags; false when it did not exist. */
  deleteBus(accountId: string, name: string): Promise<boolean>;

  /** Creates or replaces a rule (its targets are kept). */
  putRule(rule: Rule): Promise<void>;
  getRule(accountId: string, busName: string, name: string): Promise<Rule | undefined>;
  /** Rules of a bus in name order. */
  listRules(accountId: string, busName: string, options?: ListOptions): Promise<Page<Rule>>;
  /** Every rule of every bus (to build the matchers at start-up). */
  listAllRules(): Promise<readonly Rule[]>;
  /** Deletes a rule with its targets; false when it did not exist. */
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
  /** Pending deliveries due at or before `dueBy`, oldest first. */
  listDueDeliveries(dueBy: number, limit: number): Promise<readonly PendingDelivery[]>;
  /** Pending deliveries of one event. */
  listDeliveriesOfEvent(eventId: string): Promise<readonly PendingDelivery[]>;
  /** Deletes events ingested before `before` (retention); returns how many. */
  deleteEventsBefore(before: number): Promise<number>;
}
