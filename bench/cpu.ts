/**
 * CPU time of the servers under test, read from /proc (Linux): what a step cost the server in CPU, per
 * event or message. On a shared machine whose speed varies from run to run, the CPU a unit of work
 * takes compares better across runs than the rate alone. Elsewhere (no /proc) the figures are absent.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (ms, user + system) process `pid` has used so far: all its threads, or with `mainThread`
 * only its main thread (Busbar's event loop: HTTP, SigV4, the operations; the store thread and
 * libuv's pool are the rest). Undefined without /proc.
 */
export function cpuMs(pid: number | undefined, mainThread = false): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The pid of the RabbitMQ node on this machine (its Erlang VM), when there is one and /proc shows it. */
export function rabbitPid(): number | undefined {
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
        if (cmdline.includes("beam.smp") && cmdline.includes("rabbit")) return Number(entry);
      } catch {
        // the process ended while we looked
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}

/**
 * Runs `step` and returns its result with the CPU microseconds process `pid` spent per unit of work
 * meanwhile (`units` reads the count from the result); undefined when the CPU time cannot be read.
 */
export async function withCpu<T>(
  pid: number | undefined,
  units: (result: T) => number,
  step: () => T | Promise<T>,
): Promise<T & { cpuUsPerUnit: number | undefined }> {
  const before = cpuMs(pid);
  const result = await step();
  return { ...result, cpuUsPerUnit: perUnit(before, cpuMs(pid), units(result)) };
}

/** CPU microseconds per unit between two readings of {@link cpuMs}; undefined when either is. */
export function perUnit(
  before: number | undefined,
  after: number | undefined,
  units: number,
): number | undefined {
  return before === undefined || after === undefined || units <= 0
    ? undefined
    : ((after - before) * 1000) / units;
}
