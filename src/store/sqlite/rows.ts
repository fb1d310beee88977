/**
 * Rows as SQLite returns them, and their conversions to and from the domain types. Optional fields are
 * stored as NULL and come back absent (no `undefined`-valued keys), as `exactOptionalPropertyTypes`
 * requires.
 */
import type {
  AccessKey,
  Account,
  EventBus,
  PendingDelivery,
  Rule,
  RuleState,
  StoredEvent,
  Target,
} from "../types.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A row of `accounts`. */
export interface AccountRow {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
}

/** A row of `access_keys`, also the bind parameters of its upsert. */
export interface AccessKeyRow {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly accountId: string;
  readonly root: number;
  readonly policies: string;
  readonly createdAt: number;
}

/** A row of `buses`, also the bind parameters of its insert and update. */
export interface BusRow {
  readonly accountId: string;
  readonly name: string;
  readonly arn: string;
  readonly description: string | null;
  readonly kmsKeyIdentifier: string | null;
  readonly deadLetterArn: string | null;
  readonly policy: string | null;
  readonly logConfig: string | null;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
}

/** A row of `rules`, also the bind parameters of its upsert. */
export interface RuleRow {
  readonly accountId: string;
  readonly busName: string;
  readonly name: string;
  readonly arn: string;
  readonly eventPattern: string | null;
  readonly scheduleExpression: string | null;
  readonly state: string;
  readonly description: string | null;
  readonly roleArn: string | null;
  readonly managedBy: string | null;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly lastModifiedAt: number;
}

/** A row of `targets` as read. */
export interface TargetRow {
  readonly id: string;
  readonly arn: string;
  readonly spec: string;
}

/** A row of `events`. */
export type EventRow = StoredEvent;

/** A row of `deliveries`. */
export type DeliveryRow = PendingDelivery;

/** Converts an access-key row. */
export function toAccessKey(row: AccessKeyRow): AccessKey {
  return {
    accessKeyId: row.accessKeyId,
    secretAccessKey: row.secretAccessKey,
    accountId: row.accountId,
    root: row.root !== 0,
    policies: JSON.parse(row.policies) as string[],
    createdAt: row.createdAt,
  };
}

/** The bind parameters of an access key. */
export function fromAccessKey(key: AccessKey): AccessKeyRow {
  return { ...key, root: key.root ? 1 : 0, policies: JSON.stringify(key.policies) };
}

/** Converts an account row (columns are already named as the domain fields). */
export function toAccount(row: AccountRow): Account {
  return { id: row.id, name: row.name, createdAt: row.createdAt };
}

/** Converts a bus row, leaving NULL optional fields absent. */
export function toBus(row: BusRow): EventBus {
  const bus: Mutable<EventBus> = {
    accountId: row.accountId,
    name: row.name,
    arn: row.arn,
    createdAt: row.createdAt,
    lastModifiedAt: row.lastModifiedAt,
  };
  if (row.description !== null) bus.description = row.description;
  if (row.kmsKeyIdentifier !== null) bus.kmsKeyIdentifier = row.kmsKeyIdentifier;
  if (row.deadLetterArn !== null) bus.deadLetterArn = row.deadLetterArn;
  if (row.policy !== null) bus.policy = row.policy;
  if (row.logConfig !== null) bus.logConfig = row.logConfig;
  return bus;
}

/** The bind parameters of a bus, with absent optional fields as NULL. */
export function fromBus(bus: EventBus): BusRow {
  return {
    accountId: bus.accountId,
    name: bus.name,
    arn: bus.arn,
    description: bus.description ?? null,
    kmsKeyIdentifier: bus.kmsKeyIdentifier ?? null,
    deadLetterArn: bus.deadLetterArn ?? null,
    policy: bus.policy ?? null,
    logConfig: bus.logConfig ?? null,
    createdAt: bus.createdAt,
    lastModifiedAt: bus.lastModifiedAt,
  };
}

/** Converts a rule row, leaving NULL optional fields absent. */
export function toRule(row: RuleRow): Rule {
  const rule: Mutable<Rule> = {
    accountId: row.accountId,
    busName: row.busName,
    name: row.name,
    arn: row.arn,
    state: row.state as RuleState,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    lastModifiedAt: row.lastModifiedAt,
  };
  if (row.eventPattern !== null) rule.eventPattern = row.eventPattern;
  if (row.scheduleExpression !== null) rule.scheduleExpression = row.scheduleExpression;
  if (row.description !== null) rule.description = row.description;
  if (row.roleArn !== null) rule.roleArn = row.roleArn;
  if (row.managedBy !== null) rule.managedBy = row.managedBy;
  return rule;
}

/** The bind parameters of a rule, with absent optional fields as NULL. */
export function fromRule(rule: Rule): RuleRow {
  return {
    accountId: rule.accountId,
    busName: rule.busName,
    name: rule.name,
    arn: rule.arn,
    eventPattern: rule.eventPattern ?? null,
    scheduleExpression: rule.scheduleExpression ?? null,
    state: rule.state,
    description: rule.description ?? null,
    roleArn: rule.roleArn ?? null,
    managedBy: rule.managedBy ?? null,
    createdBy: rule.createdBy,
    createdAt: rule.createdAt,
    lastModifiedAt: rule.lastModifiedAt,
  };
}

/** Converts a target row, parsing the stored spec. */
export function toTarget(row: TargetRow): Target {
  return { id: row.id, arn: row.arn, spec: JSON.parse(row.spec) as Record<string, unknown> };
}
