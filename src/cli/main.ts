/** Entry point of the `busbar` command. */
import { listenEarly, takeEarlySignal } from "./early-signals.js";

// Before the rest loads: a stop signal meanwhile is kept for `serve` (see early-signals.ts).
listenEarly();
const { runCli } = await import("./index.js");
const argv = process.argv.slice(2);
if (argv.find((a) => !a.startsWith("-")) !== "serve") {
  // Any other command ends at a signal as it would have without the listeners.
  const signal = takeEarlySignal();
  if (signal !== undefined) process.kill(process.pid, signal);
}
process.exitCode = await runCli(argv);
