/**
 * Reading the files the commands take (a pattern, an event, a policy, a secret), or standard input
 * for `-`, up to a cap: a path to an endless source (`/dev/zero`, a pipe that never closes its end,
 * a log file named by mistake) must be refused, not read until memory runs out.
 */
import { closeSync, openSync, readSync } from "node:fs";

/** What any of them may hold: far more than a valid one does (an event is at most 256 KB). */
export const MAX_INPUT_BYTES = 1024 * 1024;

/**
 * The text of `file` (`-`: standard input), as UTF-8.
 * @param what the input as messages name it ("policy file p.json", "standard input").
 * @throws Error "cannot read <what>: <reason>", or "<what> holds more than …" past `maxBytes`.
 */
export function readInput(file: string, what: string, maxBytes = MAX_INPUT_BYTES): string {
  const stdin = file === "-";
  const chunks: Buffer[] = [];
  let total = 0;
  let fd: number | undefined;
  try {
    fd = stdin ? 0 : openSync(file, "r");
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) break;
      chunks.push(chunk.subarray(0, n));
    }
  } catch (e) {
    // fs names the file for some errors (ENOENT) and not for others (EISDIR).
    throw new Error(`cannot read ${what}: ${(e as Error).message}`, { cause: e });
  } finally {
    if (fd !== undefined && !stdin) closeSync(fd);
  }
  if (total > maxBytes)
    throw new Error(`${what} holds more than ${maxBytes / 1024 / 1024} MiB: is it the right file?`);
  return Buffer.concat(chunks).toString("utf8");
}
