/**
 * Event and delivery ids: UUID version 7 (RFC 9562), a millisecond timestamp followed by random
 * bits. They are valid UUIDs like EventBridge's, and because they grow with time, the store appends
 * them at the end of its indexes instead of at random places (a large share of the cost of a durable
 * insert with random UUIDs).
 * @see https://www.rfc-editor.org/rfc/rfc9562#name-uuid-version-7
 */
import { randomFillSync } from "node:crypto";

/** Random hex digits, refilled in bulk: each id takes 20 of them. */
const POOL_CHARS = 8192;
let pool = "";
let offset = POOL_CHARS;
const VARIANT = "89ab";

function refill(): void {
  pool = randomFillSync(Buffer.alloc(POOL_CHARS / 2)).toString("hex");
  offset = 0;
}

let lastMs = -1;
let lastPrefix = "";

/** A new UUIDv7 string. */
export function uuidv7(now: number = Date.now()): string {
  if (offset + 20 > POOL_CHARS) refill();
  const r = pool.slice(offset, offset + 20);
  offset += 20;
  const ms = Math.floor(now);
  if (ms !== lastMs) {
    const t = ms.toString(16).padStart(12, "0");
    lastPrefix = `${t.slice(0, 8)}-${t.slice(8, 12)}-7`;
    lastMs = ms;
  }
  // 7xxx: version 7 and 12 random bits; then the variant (10xx) and 14 random bits; then 48 random bits.
  const variant = VARIANT[parseInt(r[3] as string, 16) & 3] as string;
  return `${lastPrefix}${r.slice(0, 3)}-${variant}${r.slice(4, 7)}-${r.slice(7, 19)}`;
}
