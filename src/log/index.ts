/**
 * Structured JSON logs (pino). Secrets never go into a log record: fields named like credentials are
 * redacted wherever they appear.
 */
import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/** Field paths that are always redacted. */
export const REDACTED_PATHS = [
  "secretAccessKey",
  "*.secretAccessKey",
  "SecretAccessKey",
  "*.SecretAccessKey",
  "authorization",
  "*.authorization",
  "headers.authorization",
];

/** The levels BUSBAR_LOG_LEVEL takes (pino's). */
const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** Creates the process logger; `level` from BUSBAR_LOG_LEVEL (default "info"). */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.BUSBAR_LOG_LEVEL ?? "info";
  if (!LEVELS.includes(level)) {
    throw new Error(`BUSBAR_LOG_LEVEL must be one of ${LEVELS.join(", ")}; got ${JSON.stringify(level)}`);
  }
  return pino(
    { level, base: { service: "busbar" }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } },
    options.destination ?? process.stdout,
  );
}

/** How often, at most, a failure that repeats is logged again ({@link RepeatingFailure}). */
export const REPEAT_LOG_EVERY_MS = 60_000;

/**
 * The log lines of a failure that may repeat on every try (a store write on a full disk, retried each
 * second): the first failure at `error`, then at most one line per `everyMs` carrying how many failures
 * went unlogged since the last line (`failuresSinceLastLine`), and one `info` line when it works again
 * (`failures`: how many in all). A flood of identical lines would hide everything else in the log. A
 * failure whose message differs from the last one logged is logged at once (a full disk, then a
 * corrupt file).
 */
export class RepeatingFailure {
  readonly #log: Pick<Logger, "error" | "info">;
  readonly #message: string;
  readonly #recovered: string;
  readonly #everyMs: number;
  readonly #now: () => number;
  #failures = 0;
  #unlogged = 0;
  #loggedAt = -Infinity;
  #lastMessage: string | undefined;

  constructor(
    log: Pick<Logger, "error" | "info">,
    messages: { failed: string; recovered: string },
    options: { everyMs?: number; now?: () => number } = {},
  ) {
    this.#log = log;
    this.#message = messages.failed;
    this.#recovered = messages.recovered;
    this.#everyMs = options.everyMs ?? REPEAT_LOG_EVERY_MS;
    this.#now = options.now ?? Date.now;
  }

  /** A failure: logged unless one was logged less than `everyMs` ago. */
  failed(err: unknown, context: object = {}): void {
    this.#failures++;
    const now = this.#now();
    const message = err instanceof Error ? err.message : String(err);
    if (now - this.#loggedAt < this.#everyMs && message === this.#lastMessage) {
      this.#unlogged++;
      return;
    }
    const unlogged = this.#unlogged;
    this.#log.error(
      { ...context, err, ...(unlogged > 0 && { failuresSinceLastLine: unlogged }) },
      this.#message,
    );
    this.#loggedAt = now;
    this.#lastMessage = message;
    this.#unlogged = 0;
  }

  /** A success: after failures, one line saying so, and the next failure is logged at once. */
  succeeded(): void {
    if (this.#failures === 0) return;
    this.#log.info({ failures: this.#failures }, this.#recovered);
    this.#failures = 0;
    this.#unlogged = 0;
    this.#loggedAt = -Infinity;
    this.#lastMessage = undefined;
  }
}
