/**
 * Where the commands write, and what happens when standard output cannot be written: a full disk
 * (`> /dev/full`), a reader that went away (`| head -c 10`). The error is reported in one line by the
 * command, which knows what it made (a key whose secret is then lost), instead of a stack trace.
 */

/** Where a command writes. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /**
   * Resolves once every line given to `out` so far is written; rejects with the first write error.
   * Absent where writing cannot fail.
   */
  flushed?(): Promise<void>;
}

/** Standard output could not be written; the message says what the command had done by then. */
export class OutputError extends Error {
  override readonly name = "OutputError";
}

/** Why a write failed, for a message: the error's code and text (`EPIPE: broken pipe, write`). */
export function writeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The process's standard output and error. A write error is kept for {@link Output.flushed} instead of
 * being thrown from the stream's `error` event; errors writing standard error are dropped, as there is
 * nowhere left to report them.
 */
export function processOutput(): Output {
  let failure: Error | undefined;
  let pending: Promise<unknown> = Promise.resolve();
  process.stdout.on("error", (e: Error) => {
    failure ??= e;
  });
  process.stderr.on("error", () => undefined);
  return {
    out(line) {
      const written = new Promise<void>((resolve) =>
        process.stdout.write(`${line}\n`, (e) => {
          if (e !== null && e !== undefined) failure ??= e;
          resolve();
        }),
      );
      pending = Promise.all([pending, written]);
    },
    err(line) {
      process.stderr.write(`${line}\n`);
    },
    async flushed() {
      await pending;
      if (failure !== undefined) throw failure;
    },
  };
}
