/**
 * Fixtures of the queue conformance tests: queues, messages, receive options and move tasks with
 * explicit times, so that every test is deterministic.
 */
import assert from "node:assert/strict";
import {
  SWEEP_SCAN_LIMIT,
  sweepInSteps,
  type MoveTask,
  type NewMessage,
  type Queue,
  type QueueMessage,
  type QueueRef,
  type ReceiveOptions,
  type Store,
} from "../../../src/store/index.js";
import { ACCOUNT, T0 } from "./fixtures.js";

export const SECOND = 1000;
export const DAY = 86_400 * SECOND;
/** How long a receive hides its messages in these tests. */
export const VISIBILITY = 30 * SECOND;
/** The FIFO deduplication window. */
export const DEDUP_WINDOW = 5 * 60 * SECOND;

/** The ARN of queue `name` of an account. */
export function queueArn(name: string, accountId = ACCOUNT): string {
  return `arn:aws:sqs:us-east-1:${accountId}:${name}`;
}

/** A queue of an account (FIFO when its name ends in `.fifo`), with `extra` merged in. */
export function queue(name: string, extra: Partial<Queue> = {}, accountId = ACCOUNT): Queue {
  return {
    accountId,
    name,
    arn: queueArn(name, accountId),
    fifo: name.endsWith(".fifo"),
    attributes: { VisibilityTimeout: "30", MessageRetentionPeriod: "345600" },
    createdAt: T0,
    lastModifiedAt: T0,
    ...extra,
  };
}

/** The reference of queue `name` of an account. */
export function ref(name: string, accountId = ACCOUNT): QueueRef {
  return { accountId, name };
}

/** A message sent at T0, visible at once, kept a day, with `extra` merged in. */
export function message(id: string, extra: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    body: `body of ${id}`,
    senderId: ACCOUNT,
    sentAt: T0,
    visibleAt: T0,
    expiresAt: T0 + DAY,
    ...extra,
  };
}

/** A FIFO message of a group, deduplicated by `dedupKey` (its id unless given) for five minutes. */
export function fifoMessage(
  id: string,
  groupId: string,
  extra: Partial<NewMessage> = {},
  dedupKey = id,
): NewMessage {
  const sentAt = extra.sentAt ?? T0;
  return message(id, {
    groupId,
    deduplicationId: dedupKey,
    deduplication: { key: dedupKey, until: sentAt + DEDUP_WINDOW },
    ...extra,
  });
}

/** Options of a receive at `now` (T0 by default) hiding messages for {@link VISIBILITY}. */
export function at(now = T0, max = 10, extra: Partial<ReceiveOptions> = {}): ReceiveOptions {
  return { max, now, visibleUntil: now + VISIBILITY, ...extra };
}

/** Ids of messages. */
export function ids(messages: readonly QueueMessage[]): string[] {
  return messages.map((m) => m.id);
}

/** Receives from queue `name` and returns the ids. */
export async function receiveIds(
  store: Store,
  name: string,
  options: ReceiveOptions = at(),
): Promise<string[]> {
  return ids(await store.receiveMessages(ref(name), options));
}

/**
 * A whole retention sweep, in steps of `scanLimit`: how many messages it deleted, and how many steps
 * it took (each step must look at no more than `scanLimit` messages).
 */
export async function sweep(
  store: Store,
  now: number,
  scanLimit = SWEEP_SCAN_LIMIT,
): Promise<{ deleted: number; steps: number }> {
  let steps = 0;
  const deleted = await sweepInSteps(async (cursor) => {
    const step = await store.sweepExpiredMessages(now, scanLimit, cursor);
    assert.ok(step.deleted <= scanLimit, `a step deleted ${step.deleted}, more than it may look at`);
    steps++;
    return step;
  });
  return { deleted, steps };
}

/** Creates queues by name. */
export async function createQueues(store: Store, ...names: string[]): Promise<void> {
  for (const name of names) assert.equal(await store.createQueue(queue(name)), true);
}

/** A move task of a source queue. */
export function moveTask(id: string, startedAt: number, extra: Partial<MoveTask> = {}): MoveTask {
  return {
    id,
    sourceArn: queueArn("dlq"),
    status: "RUNNING",
    moved: 0,
    toMove: 10,
    startedAt,
    ...extra,
  };
}
