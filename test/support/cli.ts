/**
 * The `busbar` command run as a real process, from the TypeScript sources, for the tests.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { BUSBAR_ENTRY } from "./cli-entry.js";

const root = join(import.meta.dirname, "..", "..");

/** What a run of the command left: its exit code and output. */
export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `busbar <args>` to completion.
 * @param options.env the whole environment (default: this process's); options.input standard input
 */
export function runBusbar(
  args: readonly string[],
  options: { readonly env?: NodeJS.ProcessEnv; readonly input?: string; readonly timeoutMs?: number } = {},
): CliRun {
  const r = spawnSync(process.execPath, [...BUSBAR_ENTRY, ...args], {
    cwd: root,
    encoding: "utf8",
    ...(options.env !== undefined && { env: options.env }),
    ...(options.input !== undefined && { input: options.input }),
    // SIGKILL on time-out: a run stuck in a synchronous loop never sees a SIGTERM.
    ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs, killSignal: "SIGKILL" as const }),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON a successful run printed (the run must have exited 0). */
export function printedJson<T>(run: CliRun): T {
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as T;
}
