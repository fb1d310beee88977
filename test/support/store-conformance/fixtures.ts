/**
 * Fixtures and helpers shared by the conformance tests: fixed ids and times, builders of stored
 * records, and a reader of paged listings.
 */
import assert from "node:assert/strict";
import type {
  AccessKey,
  EventBus,
  IngestRecord,
  Page,
  PendingDelivery,
  Rule,
  StoredEvent,
  Tag,
  Target,
} from "../../../src/store/index.js";

/** The account that owns most fixtures. */
export const ACCOUNT = "111111111111";
/** A second account, to check that accounts are kept apart. */
export const OTHER_ACCOUNT = "222222222222";
/** The fixed time (epoch ms) every fixture is created at. */
export const T0 = 1_700_000_000_000;
/** The ARN of the default target fixture. */
export const TARGET_ARN = "arn:aws:sqs:us-east-1:111111111111:orders";
/** The ARN of a second target. */
export const OTHER_TARGET_ARN = "arn:aws:lambda:us-east-1:111111111111:function:audit";

/** The ARN of the bus `name` of an account. */
export function busArn(name: string, accountId = ACCOUNT): string {
  return `arn:aws:events:us-east-1:${accountId}:event-bus/${name}`;
}

/** A bus of an account, with only the required fields unless `extra` adds more. */
export function bus(name: string, extra: Partial<EventBus> = {}, accountId = ACCOUNT): EventBus {
  return { accountId, name, arn: busArn(name, accountId), createdAt: T0, lastModifiedAt: T0, ...extra };
}

/** A rule of a bus, enabled, matching `{"source": ["shop"]}`, with `extra` merged in. */
export function rule(busName: string, name: string, extra: Partial<Rule> = {}, accountId = ACCOUNT): Rule {
  return {
    accountId,
    busName,
    name,
    arn: `arn:aws:events:us-east-1:${accountId}:rule/${busName}/${name}`,
    eventPattern: JSON.stringify({ source: ["shop"] }),
    state: "ENABLED",
    createdBy: accountId,
    createdAt: T0,
    lastModifiedAt: T0,
    ...extra,
  };
}

/** A target with a full spec: input transformer, retry policy and SQS parameters. */
export function target(id: string, arn = TARGET_ARN): Target {
  return {
    id,
    arn,
    spec: {
      Id: id,
      Arn: arn,
      InputTransformer: { InputPathsMap: { total: "$.detail.total" }, InputTemplate: '{"t": <total>}' },
      RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      SqsParameters: { MessageGroupId: "g" },
      Enabled: true,
    },
  };
}

/** A stored event of the main account, ingested at `ingestedAt`. */
export function event(id: string, ingestedAt = T0, busName = "default"): StoredEvent {
  const envelope = { version: "0", id, "detail-type": "OrderPlaced", source: "shop", account: ACCOUNT };
  const json = JSON.stringify({
    ...envelope,
    time: new Date(T0).toISOString(),
    detail: { id, pad: "x".repeat(64) },
  });
  return { id, accountId: ACCOUNT, busName, time: T0, ingestedAt, json };
}

/** A pending delivery of an event to target `t1` of a rule on the default bus, never attempted. */
export function delivery(id: string, eventId: string, dueAt: number, ruleName = "orders"): PendingDelivery {
  return {
    id,
    eventId,
    accountId: ACCOUNT,
    busName: "default",
    ruleName,
    targetId: "t1",
    dueAt,
    attempts: 0,
  };
}

/** An event with one delivery per due time, ids `<eventId>/<n>`. */
export function record(eventId: string, ingestedAt = T0, dueAts: readonly number[] = [T0]): IngestRecord {
  const deliveries = dueAts.map((dueAt, n) => delivery(`${eventId}/${n}`, eventId, dueAt));
  return { event: event(eventId, ingestedAt), deliveries };
}

/** An access key of an account allowing `events:*`, with `extra` merged in. */
export function accessKey(
  accessKeyId: string,
  accountId = ACCOUNT,
  extra: Partial<AccessKey> = {},
): AccessKey {
  const policy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: "events:*" }],
  });
  return {
    accessKeyId,
    secretAccessKey: `secret-${accessKeyId}`,
    accountId,
    root: false,
    policies: [policy],
    createdAt: T0,
    ...extra,
  };
}

/** Tags sorted by key, to compare tag sets regardless of order. */
export function byKey(tags: readonly Tag[]): Tag[] {
  return [...tags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Items sorted by id, to compare sets regardless of order. */
export function byId<T extends { readonly id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Reads every page of a listing, asserting that none is larger than `limit`. */
export async function allPages<T>(
  limit: number,
  list: (nextToken?: string) => Promise<Page<T>>,
): Promise<T[][]> {
  const pages: T[][] = [];
  let token: string | undefined;
  do {
    const page = await list(token);
    assert.ok(page.items.length <= limit, `a page of ${page.items.length} items exceeds the limit ${limit}`);
    pages.push([...page.items]);
    token = page.nextToken;
    assert.ok(pages.length <= 100, "the listing does not end");
  } while (token !== undefined);
  return pages;
}

/** A `nextToken` no store ever issues. */
export const INVALID_TOKEN = "*** not a token ***";
/** What `assert.rejects` expects of the error for an unissued `nextToken`. */
export const invalidToken = { name: "InvalidNextTokenError" };
