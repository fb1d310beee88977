/**
 * A small file system of its own (tmpfs, root needed) for the tests of a full disk.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";

/** Mounts a tmpfs of `mib` MiB on a new directory; says why not when it cannot (not root). */
export function mountTmpfs(mib: number): { dir: string } | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), "busbar-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${mib}m,mode=0700`, "tmpfs", dir], { stdio: "pipe" });
    return { dir };
  } catch (e) {
    rmdirSync(dir);
    return { skip: `cannot mount a tmpfs (root needed): ${(e as Error).message.split("\n")[0]}` };
  }
}

/**
 * A tmpfs of `mib` MiB for test `t`, or undefined once `t` is skipped loudly because none can be
 * mounted (a failure under CI=true, where every test must run).
 */
export function tmpfsFor(t: TestContext, mib: number): string | undefined {
  const mounted = mountTmpfs(mib);
  if (!("skip" in mounted)) return mounted.dir;
  if (process.env.CI === "true") throw new Error(`CI=true: ${mounted.skip}`);
  t.skip(`*** ${mounted.skip}: the full disk is not tested ***`);
  return undefined;
}

/** Unmounts a tmpfs {@link mountTmpfs} mounted, and removes its directory. */
export function unmountTmpfs(dir: string): void {
  execFileSync("umount", [dir]);
  rmdirSync(dir);
}

/** Fills the file system of `dir` to its last byte with the file `name` in it. */
export function fillDisk(dir: string, name = "filler"): void {
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) appendFileSync(join(dir, name), chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  }
}
