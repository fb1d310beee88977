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
