/**
 * The `busbar` command line.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/index.js";
import {
  AdminError,
  createAccount,
  createKey,
  deleteKey,
  listAccounts,
  listKeys,
  type Place,
} from "./admin.js";
import { OutputError, processOutput, writeFailure, type Output } from "./output.js";
import { RemoteFailure } from "./remote.js";
import { runServe } from "./serve.js";
import { describeSigningSecrets, rotateSigningSecret, type TargetOptions } from "./targets.js";
import { runTestPattern, TestPatternExit } from "./test-pattern.js";

export { runTestPattern, TestPatternExit, type Output } from "./test-pattern.js";

/**
 * Exit codes of the commands other than `test-pattern` (whose 1 means "no match"): refused (bad
 * options or settings, what the server or the data directory refused) is 2; a failure after which
 * what the command did is unknown or not reported (a server that cannot be reached or did not answer
 * in time, an unexpected error, standard output not written) is 1, as `serve`'s "could not start".
 */
export const CliExit = { Ok: 0, Failed: 1, Refused: 2 } as const;
export type CliExit = (typeof CliExit)[keyof typeof CliExit];

/** The version in package.json (two levels up from this file, in src/ and in dist/ alike). */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

/** An error's message on one line. */
const oneLine = (e: unknown): string => writeFailure(e).replace(/\s*\n\s*/g, " ");

/** Runs the CLI with `argv` (without the node and script paths); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: Output = processOutput()): Promise<number> {
  let exitCode = 0;
  // What a failure the command did not report exits with: test-pattern's 1 and 2 are answers.
  let failed: number = CliExit.Failed;
  // Whether standard output carries only logs, whose failed writes are no failure of the command.
  let logsOnly = false;
  const program = new Command("busbar")
    .description("Busbar: a self-hosted event bus that speaks the EventBridge API")
    .version(packageVersion(), "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  program
    .command("test-pattern")
    .description(
      "test whether an event matches an event pattern (exit 0 match, 1 no match, 2 invalid, 3 could not be evaluated)",
    )
    .requiredOption("--pattern <file>", "event pattern JSON file ('-' for standard input)")
    .requiredOption("--event <file>", "event JSON file ('-' for standard input)")
    .action((opts: { pattern: string; event: string }) => {
      failed = TestPatternExit.NotEvaluated;
      exitCode = runTestPattern(opts.pattern, opts.event, io);
      // Evaluated: its exit code is the answer, whether or not standard output takes the word.
      if (exitCode === TestPatternExit.Match || exitCode === TestPatternExit.NoMatch) failed = exitCode;
    });
  program
    .command("serve")
    .description(
      "run the Busbar server (the EventBridge and SQS APIs on one port; data in the data directory)",
    )
    .option("--host <host>", "listen address (env BUSBAR_HOST, default 127.0.0.1)")
    .option("--port <port>", "listen port (env BUSBAR_PORT, default 8380)")
    .option("--data-dir <dir>", "data directory (env BUSBAR_DATA_DIR, default ./busbar-data)")
    .action(async (opts: { host?: string; port?: string; dataDir?: string }) => {
      // Its standard output is its log: a reader gone (a log shipper restarted) loses lines, and does
      // not make a clean stop a failed one.
      logsOnly = true;
      exitCode = await runServe(opts);
    });
  const dataDir = "--data-dir <dir>";
  const dataDirHelp = "data directory (env BUSBAR_DATA_DIR, default ./busbar-data)";
  const endpoint = "--endpoint <url>";
  const endpointHelp =
    "a running server instead of a data directory (env BUSBAR_ENDPOINT), called with the credentials of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, waiting up to BUSBAR_ENDPOINT_TIMEOUT_MS (default 20000) for its answer";
  const region = "--region <region>";
  const regionHelp =
    "the server's region, which --endpoint requests are signed for and a data directory's ARNs name (env BUSBAR_REGION, default us-east-1; not AWS_REGION)";
  const accounts = program
    .command("accounts")
    .description(
      "manage accounts in a data directory or on a running server (exit 0 done, 2 refused, 1 failed)",
    );
  accounts
    .command("create")
    .description("create an account with its default bus and a root access key (printed once)")
    .option("--id <id>", "12-digit account id (default: random)")
    .option("--name <name>", "a name for the account")
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .option(region, regionHelp)
    .action((opts: Place & { id?: string; name?: string }) => createAccount(io, opts));
  accounts
    .command("list")
    .description("list accounts")
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .option(region, regionHelp)
    .action((opts: Place) => listAccounts(io, opts));
  const keys = program
    .command("keys")
    .description(
      "manage access keys in a data directory or on a running server (exit 0 done, 2 refused, 1 failed)",
    );
  keys
    .command("create")
    .description("create an access key for an account (secret printed once)")
    .requiredOption("--account <id>", "the account the key belongs to")
    .option("--policy <file...>", "IAM-style policy document(s) for the key ('-' for standard input)")
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .option(region, regionHelp)
    .action((opts: Place & { account: string; policy?: string[] }) => createKey(io, opts));
  keys
    .command("list")
    .description("list access keys (without secrets)")
    .option(
      "--account <id>",
      "only this account's keys (default: all in a data directory, the caller's on a server)",
    )
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .option(region, regionHelp)
    .action((opts: Place & { account?: string }) => listKeys(io, opts));
  keys
    .command("delete <accessKeyId>")
    .description("delete an access key")
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .option(region, regionHelp)
    .action((accessKeyId: string, opts: Place) => deleteKey(io, { ...opts, accessKeyId }));
  const targets = program
    .command("targets")
    .description(
      "the signing secrets of webhook targets, on a running server (exit 0 done, 2 refused, 1 failed)",
    );
  const target = (command: Command): Command =>
    command
      .requiredOption("--rule <name>", "the rule of the target")
      .requiredOption("--target-id <id>", "the target's id")
      .option("--event-bus-name <name>", "the rule's bus (default: default)")
      .option(
        endpoint,
        "the running server (env BUSBAR_ENDPOINT), called with the credentials of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, waiting up to BUSBAR_ENDPOINT_TIMEOUT_MS (default 20000) for its answer",
      )
      .option(
        region,
        "the server's region, which requests are signed for (env BUSBAR_REGION, default us-east-1)",
      );
  target(targets.command("describe-signing-secrets"))
    .description("print the secrets that sign the target's deliveries")
    .action((opts: TargetOptions) => describeSigningSecrets(io, opts));
  target(targets.command("rotate-signing-secret"))
    .description("make a new secret current; the previous ones keep signing for a while")
    .option(
      "--secret <secret>",
      "the new secret, whsec_ and base64 (default: a new random one); other users see it in the process list while the command runs: prefer --secret-file",
    )
    .option("--secret-file <path>", "read the new secret from a file (- for standard input)")
    .option(
      "--previous-expires-in <seconds>",
      "how long the previous secrets keep signing (default 86400, at most 604800)",
    )
    .action((opts: TargetOptions & { secret?: string; secretFile?: string; previousExpiresIn?: string }) =>
      rotateSigningSecret(io, opts),
    );
  try {
    await program.parseAsync([...argv], { from: "user" });
    if (!logsOnly) await io.flushed?.();
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode !== 0) return CliExit.Refused;
      // --help and --version: printed, unless standard output could not take them.
      try {
        await io.flushed?.();
      } catch (failure) {
        io.err(`error: could not write to standard output: ${oneLine(failure)}`);
        return CliExit.Failed;
      }
      return CliExit.Ok;
    }
    if (e instanceof ConfigError || e instanceof AdminError || isAwsShapedError(e)) {
      io.err(`error: ${oneLine(e)}`);
      return CliExit.Refused;
    }
    // A server that did not answer, a write to standard output that failed, and anything
    // unexpected: one line, never a stack.
    const why =
      e instanceof OutputError || e instanceof RemoteFailure
        ? oneLine(e)
        : isWriteError(e)
          ? `could not write to standard output: ${oneLine(e)}`
          : `unexpected failure: ${oneLine(String(e))}`;
    io.err(`error: ${why}`);
    return failed;
  }
  return exitCode;
}

/** An error of a system call (a write's EPIPE or ENOSPC, which `flushed` passes on). */
function isWriteError(e: unknown): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).syscall === "write";
}

function isAwsShapedError(e: unknown): e is Error {
  return e instanceof Error && typeof (e as { awsType?: unknown }).awsType === "string";
}
