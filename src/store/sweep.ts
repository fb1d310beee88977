/** Running a retention sweep (sweepExpiredMessages, sweepEventsBefore) to its end. */
import type { SweepStep } from "./types.js";

/**
 * Runs the steps of a sweep one after another, each from where the last one stopped, until one
 * reaches the end; returns how many rows they deleted in all. Other store calls run between steps.
 */
export async function sweepInSteps(
  step: (cursor: string | undefined) => Promise<SweepStep>,
): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const done = await step(cursor);
    deleted += done.deleted;
    if (done.next !== undefined && done.next === cursor) {
      throw new Error(`a sweep step ended where it began (${cursor}): the sweep would never end`);
    }
    cursor = done.next;
  } while (cursor !== undefined);
  return deleted;
}
