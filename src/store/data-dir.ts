/**
 * The data directory, made where it is missing. Not with `mkdirSync`'s `recursive` option: on Node.js
 * 20 that loops for ever, on the calling thread, when `mkdir` answers ENOENT under a parent that
 * exists (any path under /proc), so `busbar serve --data-dir /proc/x` spun at 100% CPU and not even
 * SIGTERM could stop it. Here each missing level is made once, and a failure is thrown as it is.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** Mode of a data directory Busbar creates: owner only. */
export const DATA_DIR_MODE = 0o700;

/** Makes `dir` and its missing parents (mode {@link DATA_DIR_MODE}); does nothing when it exists. */
export function makeDataDir(dir: string): void {
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) {
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const path of missing.reverse()) {
    try {
      mkdirSync(path, { mode: DATA_DIR_MODE });
    } catch (error) {
      // Made meanwhile by another process (two servers racing at start-up): what was wanted.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}
