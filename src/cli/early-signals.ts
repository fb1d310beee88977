/**
 * Stop signals that arrive while the `busbar` command's modules load (half a second or so, before
 * `serve` listens for them): remembered, so that `serve` drains and exits 0 as for one that came
 * later, instead of the process ending with 143 at the signal.
 */

/** The signals that stop a node gracefully (SIGHUP too: the terminal it ran in went away). */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];

let received: NodeJS.Signals | undefined;
const remember = (signal: NodeJS.Signals): void => {
  received ??= signal;
};

/** Starts remembering stop signals. */
export function listenEarly(): void {
  for (const name of STOP_SIGNALS) process.on(name, remember);
}

/** Stops remembering stop signals; the first that came meanwhile, if any. */
export function takeEarlySignal(): NodeJS.Signals | undefined {
  for (const name of STOP_SIGNALS) process.off(name, remember);
  return received;
}
