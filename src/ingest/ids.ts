/**
 * Event and delivery ids: UUID version 7 (RFC 9562), a millisecond timestamp followed by random
 * bits. They are valid UUIDs like EventBridge's, and because they grow with time, the store appends
 * them at the end of its indexes instead of at random places (a large share of the cost of a durable
 * insert with random UUIDs).
 * @see https://www.rfc-editor.org/rfc/rfc9562#name-uuid-version-7
 */
import { randomFillSync } from "node:crypto";

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A new UUIDv7 string. */
export function uuidv7(now: number = Date.now()): string {
  if (offset + 10 > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const r = offset;
  offset += 10;
  const ms = Math.floor(now);
  const hi = Math.floor(ms / 0x1000000); // top 24 of the 48 timestamp bits
  const lo = ms % 0x1000000;
  const h = (n: number): string => HEX[n & 0xff] as string;
  const b = (i: number): number => pool[r + i] as number;
  return (
    h(hi >>> 16) +
    h(hi >>> 8) +
    h(hi) +
    h(lo >>> 16) +
    "-" +
    h(lo >>> 8) +
    h(lo) +
    "-" +
    h(0x70 | (b(0) & 0x0f)) +
    h(b(1)) +
    "-" +
    h(0x80 | (b(2) & 0x3f)) +
    h(b(3)) +
    "-" +
    h(b(4)) +
    h(b(5)) +
    h(b(6)) +
    h(b(7)) +
    h(b(8)) +
    h(b(9))
  );
}
