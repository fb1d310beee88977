/**
 * The `busbar` command line.
 */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/index.js";
import { runServe } from "./serve.js";
import { runTestPattern, type Output } from "./test-pattern.js";

export { runTestPattern, TestPatternExit, type Output } from "./test-pattern.js";

/** Runs the CLI with `argv` (without the node and script paths); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: Output = defaultOutput): Promise<number> {
  let exitCode = 0;
  const program = new Command("busbar")
    .description("Busbar: a self-hosted event bus that speaks the EventBridge API")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  program
    .command("test-pattern")
    .description("test whether an event matches an event pattern (exit 0 match, 1 no match, 2 invalid)")
    .requiredOption("--pattern <file>", "event pattern JSON file ('-' for standard input)")
    .requiredOption("--event <file>", "event JSON file ('-' for standard input)")
    .action((opts: { pattern: string; event: string }) => {
      exitCode = runTestPattern(opts.pattern, opts.event, io);
    });
  program
    .command("serve")
    .description("run the Busbar server (EventBridge API on one port; data in the data directory)")
    .option("--host <host>", "listen address (env BUSBAR_HOST, default 127.0.0.1)")
    .option("--port <port>", "listen port (env BUSBAR_PORT, default 8380)")
    .option("--data-dir <dir>", "data directory (env BUSBAR_DATA_DIR, default ./busbar-data)")
    .action(async (opts: { host?: string; port?: string; dataDir?: string }) => {
      exitCode = await runServe(opts);
    });
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      io.err(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
  return exitCode;
}

const defaultOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};
