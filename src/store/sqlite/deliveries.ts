/**
 * Pending deliveries on the delivery engine's path: read the events of a batch, walk the due
 * deliveries page by page, and complete or reschedule deliveries in batches.
 *
 * Deliveries are keyed by (event_seq, id) (schema.ts), and callers name them by (eventId, id): an
 * operation looks each distinct event's `seq` up once, by the unique index on `events.id`, and then
 * reaches each delivery by its primary key. Completing and rescheduling are each one IMMEDIATE
 * transaction (a savepoint inside a group commit).
 */
import type Database from "better-sqlite3";
import type {
  DeliveryRef,
  DeliveryReschedule,
  DeliveryScope,
  PendingDelivery,
  StoredEvent,
  DropStep,
} from "../types.js";
import type { Statements } from "./statements.js";
import { sweepStep, textKeyCursor } from "./sweep.js";

/**
 * An `event_seq` before every real one (sequence numbers are rowids, from 1): a page that resumes
 * after a delivery whose event is gone starts again at the first delivery due at the same time.
 */
const BEFORE_EVERY_SEQ = 0;

/** Builds the delivery operations over prepared statements. */
export function prepareDeliveryOperations(db: Database.Database, sql: Statements) {
  const tx = <F extends (...args: never[]) => unknown>(fn: F): Database.Transaction<F> =>
    db.transaction(fn).immediate;

  /** A look-up of `events.seq` by event id that asks SQLite once per distinct id. */
  const seqLookup = (): ((eventId: string) => number | undefined) => {
    const seqs = new Map<string, number | undefined>();
    return (eventId) => {
      if (seqs.has(eventId)) return seqs.get(eventId);
      const seq = sql.eventSeq.get(eventId);
      seqs.set(eventId, seq);
      return seq;
    };
  };

  /** Deletes the referenced deliveries; returns how many existed. */
  const complete = tx((refs: readonly DeliveryRef[]): number => {
    const seqOf = seqLookup();
    let deleted = 0;
    for (const { eventId, id } of refs) {
      const seq = seqOf(eventId);
      if (seq !== undefined) deleted += sql.deleteDelivery.run(seq, id).changes;
    }
    return deleted;
  });

  /** Applies the changes in order; returns how many distinct deliveries they found. */
  const reschedule = tx((changes: readonly DeliveryReschedule[]): number => {
    const seqOf = seqLookup();
    const changed = new Set<string>();
    for (const { eventId, id, dueAt, attempts } of changes) {
      const seq = seqOf(eventId);
      if (seq === undefined) continue;
      if (sql.rescheduleDelivery.run(dueAt, attempts, seq, id).changes > 0) changed.add(`${seq}/${id}`);
    }
    return changed.size;
  });

  return {
    /**
     * One step of dropping the deliveries in `scope`: the pending deliveries after `cursor`
     * (`<event seq>:<id>`) in key order, at most `scanLimit` of them, deleted where in scope.
     */
    drop: tx((scope: DeliveryScope, scanLimit: number, cursor?: string): DropStep => {
      const [seq, id] = textKeyCursor(cursor, scanLimit, "dropDeliveries");
      const rows = sql.deliveriesInScopeAfter.all({
        accountId: scope.accountId,
        busName: scope.busName,
        ruleName: scope.ruleName ?? null,
        targetIds: scope.targetIds === undefined ? null : JSON.stringify(scope.targetIds),
        seq,
        id,
        limit: scanLimit,
      });
      let deleted = 0;
      const byTarget = new Map<string, { ruleName: string; targetId: string; count: number }>();
      for (const [eventSeq, deliveryId, inScope, ruleName, targetId] of rows) {
        if (inScope !== 1 || sql.deleteDelivery.run(eventSeq, deliveryId).changes === 0) continue;
        deleted++;
        const key = `${ruleName}\u0000${targetId}`;
        const counted = byTarget.get(key);
        if (counted === undefined) byTarget.set(key, { ruleName, targetId, count: 1 });
        else counted.count++;
      }
      return { ...sweepStep(deleted, rows, scanLimit), byTarget: [...byTarget.values()] };
    }),

    /** The stored events of `ids`, each once, in the order of `ids`; unknown ids are skipped. */
    getEvents(ids: readonly string[]): StoredEvent[] {
      const events: StoredEvent[] = [];
      for (const id of new Set(ids)) {
        const event = sql.getEvent.get(id);
        if (event !== undefined) events.push(event);
      }
      return events;
    },

    /**
     * Deliveries due at or before `dueBy` in (dueAt, event's append order, id) order, at most `limit`
     * (none when it is below 1). With `after`, the page starts after that delivery's place in the order,
     * whether or not it still exists; when its event is gone (its deliveries done and the event
     * deleted by retention, which may come between two pages), at the first delivery due at its
     * `dueAt`: those of that time already walked may come again, and none of the others is skipped.
     */
    listDue(dueBy: number, limit: number, after: PendingDelivery | undefined): PendingDelivery[] {
      const count = Math.floor(limit);
      if (!(count >= 1)) return [];
      if (after === undefined) return sql.listDueDeliveries.all(dueBy, count);
      const seq = sql.eventSeq.get(after.eventId);
      if (seq === undefined)
        return sql.listDueDeliveriesAfter.all(dueBy, after.dueAt, BEFORE_EVERY_SEQ, "", count);
      return sql.listDueDeliveriesAfter.all(dueBy, after.dueAt, seq, after.id, count);
    },

    count(): number {
      return sql.countDeliveries.get() ?? 0;
    },

    /** Deletes deliveries by reference, in one transaction; unknown ones are ignored. */
    complete(refs: readonly DeliveryRef[]): number {
      return refs.length === 0 ? 0 : complete(refs);
    },

    /**
     * Sets the due time and attempts of deliveries, in one transaction; unknown ones are ignored. A
     * delivery named twice takes the later change and counts once.
     */
    reschedule(changes: readonly DeliveryReschedule[]): number {
      return changes.length === 0 ? 0 : reschedule(changes);
    },
  };
}

/** The delivery operations of a store. */
export type DeliveryOperations = ReturnType<typeof prepareDeliveryOperations>;
