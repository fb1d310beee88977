/**
 * Messages between the store proxy and its worker thread.
 */
import type { IngestRecord, PendingDelivery } from "../types.js";

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
