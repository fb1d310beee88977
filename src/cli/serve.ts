/**
 * `busbar serve`: runs a node until SIGTERM or SIGINT, then drains (stops accepting, finishes
 * in-flight requests and commits) and exits 0.
 */
import { loadConfig, type ConfigFlags } from "../config/index.js";
import { createLogger } from "../log/index.js";
import { startNode } from "../server/index.js";

/** Starts the server; resolves once it has stopped after a signal. */
export async function runServe(flags: ConfigFlags): Promise<number> {
  const config = loadConfig(flags);
  const log = createLogger();
  // Listen for signals before starting, so that one arriving during start-up still drains and exits 0.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  const node = await startNode(config, log, (c, file) => {
    process.stdout.write(
      `\nBusbar generated root credentials for account ${config.accountId} (shown once; saved to ${file}, mode 0600):\n` +
        `  BUSBAR_ROOT_ACCESS_KEY_ID=${c.accessKeyId}\n  BUSBAR_ROOT_SECRET_ACCESS_KEY=${c.secretAccessKey}\n\n`,
    );
  });
  const signal = await signalled;
  log.info({ signal }, "stopping");
  try {
    await node.close();
  } catch (err) {
    log.error({ err }, "error while stopping");
    return 1;
  }
  return 0;
}
