/**
 * `busbar serve`: runs a node until SIGTERM, SIGINT or SIGHUP, then drains (stops accepting, finishes
 * in-flight requests and commits) and exits 0.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { ConfigError, loadConfig, setting, type BusbarConfig, type ConfigFlags } from "../config/index.js";
import { createLogger } from "../log/index.js";
import { startNode } from "../server/index.js";
import { STOP_SIGNALS, takeEarlySignal } from "./early-signals.js";

/**
 * The process's logger, at BUSBAR_LOG_LEVEL (an empty one counting as unset: "info").
 * @throws ConfigError naming the setting when the level is not one of pino's.
 */
function startLogger(): ReturnType<typeof createLogger> {
  try {
    return createLogger({ level: setting(process.env, "BUSBAR_LOG_LEVEL") ?? "info" });
  } catch (e) {
    throw new ConfigError(e instanceof Error ? e.message : String(e), { cause: e });
  }
}

/**
 * That the listen address resolves, checked before anything is made in the data directory.
 * @throws ConfigError naming --host or BUSBAR_HOST.
 */
async function checkHost(config: BusbarConfig, flags: ConfigFlags): Promise<void> {
  if (isIP(config.host) !== 0) return;
  try {
    await lookup(config.host);
  } catch (e) {
    const from = flags.host !== undefined ? "--host" : "BUSBAR_HOST";
    throw new ConfigError(
      `${from} "${config.host}" cannot be resolved to an address: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

/** Starts the server; resolves once it has stopped after a signal. */
export async function runServe(flags: ConfigFlags): Promise<number> {
  const config = loadConfig(flags);
  const log = startLogger();
  await checkHost(config, flags);
  // Listen for signals before starting, so that one arriving during start-up still drains and exits 0.
  // The first stops the node; one after it cuts BUSBAR_SHUTDOWN_DELAY_MS short, and is otherwise
  // ignored (without a handler, a second SIGTERM would end the process with the drain half done).
  let stopping: (signal: NodeJS.Signals) => void = () => undefined;
  let again: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => (stopping = resolve));
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => (signals++ === 0 ? stopping(signal) : again(signal));
  for (const name of STOP_SIGNALS) process.on(name, onSignal);
  // One that came while the modules loaded (see early-signals.ts).
  const early = takeEarlySignal();
  if (early !== undefined) onSignal(early);
  let node: Awaited<ReturnType<typeof startNode>>;
  try {
    node = await startNode(config, log, (c, file) => {
      process.stdout.write(
        `\nBusbar generated root credentials for account ${config.accountId} (shown once; saved to ${file}, mode 0600):\n` +
          `  BUSBAR_ROOT_ACCESS_KEY_ID=${c.accessKeyId}\n  BUSBAR_ROOT_SECRET_ACCESS_KEY=${c.secretAccessKey}\n\n`,
      );
    });
  } catch (err) {
    // The port taken, the data directory not writable, a setting read at start: a line, not a stack.
    process.stderr.write(
      `error: Busbar could not start: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    // What start-up opened before it failed (the store's thread, say) must not keep the process up.
    setTimeout(() => process.exit(1), 100).unref();
    return 1;
  }
  const stop = await Promise.race([
    signalled.then((signal) => ({ signal })),
    node.failed.then((reason) => ({ reason })),
  ]);
  if ("signal" in stop && config.shutdownDelayMs > 0) {
    // Serving on, not ready, so that load balancers take the node out before it stops accepting; a
    // second signal cuts the wait short.
    node.unready();
    log.info({ ...stop, delayMs: config.shutdownDelayMs }, "not ready; stopping after the delay");
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, config.shutdownDelayMs);
      again = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  again = (signal) =>
    log.warn(
      { signal },
      "already stopping: the requests in progress are being finished (SIGKILL ends it at once)",
    );
  log.info(stop, "stopping");
  try {
    await node.close();
  } catch (err) {
    log.error({ err }, "error while stopping");
    return 1;
  }
  exitIfHeldOpen(log);
  return "reason" in stop ? 1 : 0;
}

/** How long the process may stay up once the node has stopped. */
const EXIT_GRACE_MS = 3000;

/**
 * Everything Busbar holds is closed once the node has stopped, so the process ends by itself; a
 * handle some library left open (a timer, a socket) would keep it up without end. This timer does
 * not keep the process up itself; if it ever fires, it names the leftovers and exits.
 */
function exitIfHeldOpen(log: ReturnType<typeof createLogger>): void {
  setTimeout(() => {
    const held = process.getActiveResourcesInfo().filter((r) => r !== "Timeout");
    log.warn({ held }, "still running after the node stopped; exiting");
    log.flush(() => process.exit(process.exitCode ?? 0));
  }, EXIT_GRACE_MS).unref();
}
