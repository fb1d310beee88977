/**
 * Retention of the event log: events older than the retention setting go, except those a delivery
 * still waits for.
 */
import { DELETE_CHUNK, type Store } from "../store/index.js";

/**
 * Deletes the events ingested before `before` that no delivery waits for, {@link DELETE_CHUNK} per
 * store call, so that the calls of requests run between them; returns how many.
 */
export async function deleteOldEvents(store: Store, before: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = await store.deleteEventsBefore(before, DELETE_CHUNK);
    deleted += n;
    if (n < DELETE_CHUNK) return deleted;
  }
}
