/**
 * Messages between the store proxy and its worker thread. Both ways a message is an array: the calls
 * made in one turn of the main thread, and the replies to one group commit of the worker. The hot
 * calls cross in a flat form (arrays of primitives, which structured clone copies about twice as fast
 * as objects): the records of `appendEvents` ("appendFlat"), the messages of `sendMessages`
 * ("sendFlat") and the messages `receiveMessages` returns ("receiveFlat"); on the delivery path, the
 * deliveries `listDueDeliveries` returns ("dueFlat") and the references of `completeDeliveries`
 * ("completeFlat") and `rescheduleDeliveries` ("rescheduleFlat"), which carry only the fields the store
 * reads (a caller may pass whole deliveries as references).
 */
import type {
  DeliveryRef,
  DeliveryReschedule,
  IngestRecord,
  NewMessage,
  PendingDelivery,
  QueueMessage,
} from "../types.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A call of a store method. */
export interface CallMessage {
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
}

/** An error as it crosses the thread boundary: its name, message and AWS shape. */
export interface ErrorShape {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly awsType?: string;
  readonly httpStatus?: number;
  readonly retryable?: boolean;
}

/** The reply to a call. */
export type ReplyMessage =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: ErrorShape };

/** What the worker is started with. */
export interface WorkerData {
  readonly dataDir: string;
  readonly fileName?: string;
}

/**
 * `appendEvents` records as one flat array of primitives, the hot call's wire form: structured clone
 * copies such an array about twice as fast as the objects (no property names per record), and each
 * delivery carries only what differs from its event.
 */
export type FlatRecords = Array<string | number>;

/** Flattens ingest records for {@link unflattenRecords}. */
export function flattenRecords(records: readonly IngestRecord[]): FlatRecords {
  const out: FlatRecords = [];
  for (const { event: e, deliveries } of records) {
    out.push(e.id, e.accountId, e.busName, e.time, e.ingestedAt, e.json, deliveries.length);
    for (const d of deliveries) {
      // A delivery of another event, account or bus cannot be flattened this way.
      if (d.eventId !== e.id || d.accountId !== e.accountId || d.busName !== e.busName) {
        throw new TypeError(`delivery ${d.id} does not belong to event ${e.id}`);
      }
      out.push(d.id, d.ruleName, d.targetId, d.dueAt, d.attempts);
    }
  }
  return out;
}

/** The records of {@link flattenRecords}. */
export function unflattenRecords(flat: FlatRecords): IngestRecord[] {
  const records: IngestRecord[] = [];
  let i = 0;
  while (i < flat.length) {
    const id = flat[i] as string;
    const accountId = flat[i + 1] as string;
    const busName = flat[i + 2] as string;
    const event = {
      id,
      accountId,
      busName,
      time: flat[i + 3] as number,
      ingestedAt: flat[i + 4] as number,
      json: flat[i + 5] as string,
    };
    const count = flat[i + 6] as number;
    i += 7;
    const deliveries: PendingDelivery[] = [];
    for (let k = 0; k < count; k++, i += 5) {
      deliveries.push({
        id: flat[i] as string,
        eventId: id,
        accountId,
        busName,
        ruleName: flat[i + 1] as string,
        targetId: flat[i + 2] as string,
        dueAt: flat[i + 3] as number,
        attempts: flat[i + 4] as number,
      });
    }
    records.push({ event, deliveries });
  }
  return records;
}

/** `sendMessages` messages as one flat array (see {@link FlatRecords}), {@link NEW_MESSAGE_SLOTS} per message. */
export type FlatMessages = Array<string | number | null>;

/** Slots of one message in {@link FlatMessages}; absent optional fields are null. */
const NEW_MESSAGE_SLOTS = 14;

/** Flattens messages to send for {@link unflattenMessages}. */
export function flattenMessages(messages: readonly NewMessage[]): FlatMessages {
  const out: FlatMessages = [];
  for (const m of messages) {
    out.push(
      m.id,
      m.body,
      m.attributes ?? null,
      m.systemAttributes ?? null,
      m.senderId,
      m.sentAt,
      m.visibleAt,
      m.expiresAt,
      m.groupId ?? null,
      m.deduplicationId ?? null,
      m.deduplication?.key ?? null,
      m.deduplication?.until ?? null,
      m.deadLetterSourceArn ?? null,
      m.bodyMd5 ?? null,
    );
  }
  return out;
}

/** The messages of {@link flattenMessages}. */
export function unflattenMessages(flat: FlatMessages): NewMessage[] {
  const messages: NewMessage[] = [];
  for (let i = 0; i < flat.length; i += NEW_MESSAGE_SLOTS) {
    const m: Mutable<NewMessage> = {
      id: flat[i] as string,
      body: flat[i + 1] as string,
      senderId: flat[i + 4] as string,
      sentAt: flat[i + 5] as number,
      visibleAt: flat[i + 6] as number,
      expiresAt: flat[i + 7] as number,
    };
    const [attributes, systemAttributes] = [flat[i + 2], flat[i + 3]];
    if (attributes !== null) m.attributes = attributes as string;
    if (systemAttributes !== null) m.systemAttributes = systemAttributes as string;
    if (flat[i + 8] !== null) m.groupId = flat[i + 8] as string;
    if (flat[i + 9] !== null) m.deduplicationId = flat[i + 9] as string;
    if (flat[i + 10] !== null)
      m.deduplication = { key: flat[i + 10] as string, until: flat[i + 11] as number };
    if (flat[i + 12] !== null) m.deadLetterSourceArn = flat[i + 12] as string;
    if (flat[i + 13] !== null) m.bodyMd5 = flat[i + 13] as string;
    messages.push(m);
  }
  return messages;
}

/** `receiveMessages` results as one flat array, {@link RECEIVED_SLOTS} per message. */
export type FlatReceived = Array<string | number | null>;

/** Slots of one message in {@link FlatReceived}; absent optional fields are null. */
const RECEIVED_SLOTS = 17;

/** Flattens received messages for {@link unflattenReceived}. */
export function flattenReceived(messages: readonly QueueMessage[]): FlatReceived {
  const out: FlatReceived = [];
  for (const m of messages) {
    out.push(
      m.seq,
      m.id,
      m.body,
      m.attributes ?? null,
      m.systemAttributes ?? null,
      m.senderId,
      m.sentAt,
      m.visibleAt,
      m.expiresAt,
      m.groupId ?? null,
      m.deduplicationId ?? null,
      m.sequenceNumber ?? null,
      m.deadLetterSourceArn ?? null,
      m.receiveCount,
      m.firstReceivedAt ?? null,
      m.lastReceivedAt ?? null,
      m.bodyMd5 ?? null,
    );
  }
  return out;
}

/** The messages of {@link flattenReceived}. */
export function unflattenReceived(flat: FlatReceived): QueueMessage[] {
  const messages: QueueMessage[] = [];
  for (let i = 0; i < flat.length; i += RECEIVED_SLOTS) {
    const m: Mutable<QueueMessage> = {
      seq: flat[i] as number,
      id: flat[i + 1] as string,
      body: flat[i + 2] as string,
      senderId: flat[i + 5] as string,
      sentAt: flat[i + 6] as number,
      visibleAt: flat[i + 7] as number,
      expiresAt: flat[i + 8] as number,
      receiveCount: flat[i + 13] as number,
    };
    if (flat[i + 3] !== null) m.attributes = flat[i + 3] as string;
    if (flat[i + 4] !== null) m.systemAttributes = flat[i + 4] as string;
    if (flat[i + 9] !== null) m.groupId = flat[i + 9] as string;
    if (flat[i + 10] !== null) m.deduplicationId = flat[i + 10] as string;
    if (flat[i + 11] !== null) m.sequenceNumber = flat[i + 11] as string;
    if (flat[i + 12] !== null) m.deadLetterSourceArn = flat[i + 12] as string;
    if (flat[i + 14] !== null) m.firstReceivedAt = flat[i + 14] as number;
    if (flat[i + 15] !== null) m.lastReceivedAt = flat[i + 15] as number;
    if (flat[i + 16] !== null) m.bodyMd5 = flat[i + 16] as string;
    messages.push(m);
  }
  return messages;
}

/** Pending deliveries as one flat array, {@link DELIVERY_SLOTS} per delivery. */
export type FlatDeliveries = Array<string | number>;

/** Slots of one delivery in {@link FlatDeliveries}. */
const DELIVERY_SLOTS = 8;

/** Flattens pending deliveries for {@link unflattenDeliveries}. */
export function flattenDeliveries(deliveries: readonly PendingDelivery[]): FlatDeliveries {
  const out: FlatDeliveries = [];
  for (const d of deliveries) {
    out.push(d.id, d.eventId, d.accountId, d.busName, d.ruleName, d.targetId, d.dueAt, d.attempts);
  }
  return out;
}

/** The deliveries of {@link flattenDeliveries}. */
export function unflattenDeliveries(flat: FlatDeliveries): PendingDelivery[] {
  const deliveries: PendingDelivery[] = [];
  for (let i = 0; i < flat.length; i += DELIVERY_SLOTS) {
    deliveries.push({
      id: flat[i] as string,
      eventId: flat[i + 1] as string,
      accountId: flat[i + 2] as string,
      busName: flat[i + 3] as string,
      ruleName: flat[i + 4] as string,
      targetId: flat[i + 5] as string,
      dueAt: flat[i + 6] as number,
      attempts: flat[i + 7] as number,
    });
  }
  return deliveries;
}

/** Delivery references as one flat array: event id and delivery id, per reference. */
export type FlatRefs = string[];

/** Flattens delivery references for {@link unflattenRefs}. */
export function flattenRefs(refs: readonly DeliveryRef[]): FlatRefs {
  const out: FlatRefs = [];
  for (const r of refs) out.push(r.eventId, r.id);
  return out;
}

/** The references of {@link flattenRefs}. */
export function unflattenRefs(flat: FlatRefs): DeliveryRef[] {
  const refs: DeliveryRef[] = [];
  for (let i = 0; i < flat.length; i += 2)
    refs.push({ eventId: flat[i] as string, id: flat[i + 1] as string });
  return refs;
}

/** Delivery reschedules as one flat array: event id, delivery id, due time and attempts, per change. */
export type FlatReschedules = Array<string | number>;

/** Flattens delivery reschedules for {@link unflattenReschedules}. */
export function flattenReschedules(changes: readonly DeliveryReschedule[]): FlatReschedules {
  const out: FlatReschedules = [];
  for (const c of changes) out.push(c.eventId, c.id, c.dueAt, c.attempts);
  return out;
}

/** The reschedules of {@link flattenReschedules}. */
export function unflattenReschedules(flat: FlatReschedules): DeliveryReschedule[] {
  const changes: DeliveryReschedule[] = [];
  for (let i = 0; i < flat.length; i += 4) {
    changes.push({
      eventId: flat[i] as string,
      id: flat[i + 1] as string,
      dueAt: flat[i + 2] as number,
      attempts: flat[i + 3] as number,
    });
  }
  return changes;
}
