/**
 * Retention sweeps in steps (sweepExpiredMessages, sweepEventsBefore): each step reads at most
 * `scanLimit` rows in key order from just after a cursor, the key of the last row the step before
 * read, so that a sweep reads each row once and each step is short whatever it keeps or deletes.
 */
import type { SweepStep } from "../types.js";

/** A cursor's key (`<a>:<b>`, two non-negative integers), or one before every key when it is absent. */
export function sweepCursor(
  cursor: string | undefined,
  scanLimit: number,
  method: string,
): readonly [number, number] {
  checkScanLimit(scanLimit, method);
  if (cursor === undefined) return [-1, -1];
  const match = /^(\d{1,15}):(\d{1,15})$/.exec(cursor);
  if (match === null) throw new RangeError(`${method}: ${JSON.stringify(cursor)} is not a cursor`);
  return [Number(match[1]), Number(match[2])];
}

/**
 * A cursor whose key ends with text (`<a>:<text>`: an integer, then any text, colons included), or one
 * before every key when it is absent.
 */
export function textKeyCursor(
  cursor: string | undefined,
  scanLimit: number,
  method: string,
): readonly [number, string] {
  checkScanLimit(scanLimit, method);
  if (cursor === undefined) return [-1, ""];
  const match = /^(\d{1,15}):(.*)$/s.exec(cursor);
  if (match === null) throw new RangeError(`${method}: ${JSON.stringify(cursor)} is not a cursor`);
  return [Number(match[1]), match[2] as string];
}

function checkScanLimit(scanLimit: number, method: string): void {
  if (!Number.isSafeInteger(scanLimit) || scanLimit < 1) {
    throw new RangeError(`${method}: scanLimit must be a positive integer (got ${scanLimit})`);
  }
}

/** What a step did: how many it deleted, and where the next one starts unless it read the last row. */
export function sweepStep(
  deleted: number,
  rows: ReadonlyArray<readonly [number, number | string, ...unknown[]]>,
  scanLimit: number,
): SweepStep {
  const last = rows[rows.length - 1];
  return rows.length < scanLimit || last === undefined
    ? { deleted }
    : { deleted, next: `${last[0]}:${last[1]}` };
}
