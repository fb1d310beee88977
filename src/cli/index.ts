/**
 * The `busbar` command line.
 */
import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/index.js";
import { AdminError, createAccount, createKey, deleteKey, listAccounts, listKeys } from "./admin.js";
import { runServe } from "./serve.js";
import { describeSigningSecrets, rotateSigningSecret, type TargetOptions } from "./targets.js";
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
  const dataDir = "--data-dir <dir>";
  const dataDirHelp = "data directory (env BUSBAR_DATA_DIR, default ./busbar-data)";
  const endpoint = "--endpoint <url>";
  const endpointHelp =
    "a running server instead of a data directory (env BUSBAR_ENDPOINT), called with the credentials of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
  const accounts = program
    .command("accounts")
    .description("manage accounts in a data directory or on a running server");
  accounts
    .command("create")
    .description("create an account with its default bus and a root access key (printed once)")
    .option("--id <id>", "12-digit account id (default: random)")
    .option("--name <name>", "a name for the account")
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .action((opts: { id?: string; name?: string; dataDir?: string; endpoint?: string }) =>
      createAccount(io, opts),
    );
  accounts
    .command("list")
    .description("list accounts")
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .action((opts: { dataDir?: string; endpoint?: string }) => listAccounts(io, opts));
  const keys = program
    .command("keys")
    .description("manage access keys in a data directory or on a running server");
  keys
    .command("create")
    .description("create an access key for an account (secret printed once)")
    .requiredOption("--account <id>", "the account the key belongs to")
    .option("--policy <file...>", "IAM-style policy document(s) for the key")
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .action((opts: { account: string; policy?: string[]; dataDir?: string; endpoint?: string }) =>
      createKey(io, opts),
    );
  keys
    .command("list")
    .description("list access keys (without secrets)")
    .option(
      "--account <id>",
      "only this account's keys (default: all in a data directory, the caller's on a server)",
    )
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .action((opts: { account?: string; dataDir?: string; endpoint?: string }) => listKeys(io, opts));
  keys
    .command("delete <accessKeyId>")
    .description("delete an access key")
    .option(dataDir, dataDirHelp)
    .option(endpoint, endpointHelp)
    .action((accessKeyId: string, opts: { dataDir?: string; endpoint?: string }) =>
      deleteKey(io, { ...opts, accessKeyId }),
    );
  const targets = program
    .command("targets")
    .description("the signing secrets of webhook targets, on a running server");
  const target = (command: Command): Command =>
    command
      .requiredOption("--rule <name>", "the rule of the target")
      .requiredOption("--target-id <id>", "the target's id")
      .option("--event-bus-name <name>", "the rule's bus (default: default)")
      .option(
        endpoint,
        "the running server (env BUSBAR_ENDPOINT), called with the credentials of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
      );
  target(targets.command("describe-signing-secrets"))
    .description("print the secrets that sign the target's deliveries")
    .action((opts: TargetOptions) => describeSigningSecrets(io, opts));
  target(targets.command("rotate-signing-secret"))
    .description("make a new secret current; the previous ones keep signing for a while")
    .option("--secret <secret>", "the new secret, whsec_ and base64 (default: a new random one)")
    .option(
      "--previous-expires-in <seconds>",
      "how long the previous secrets keep signing (default 86400, at most 604800)",
    )
    .action((opts: TargetOptions & { secret?: string; previousExpiresIn?: string }) =>
      rotateSigningSecret(io, opts),
    );
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError || e instanceof AdminError || isAwsShapedError(e)) {
      io.err(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
  return exitCode;
}

function isAwsShapedError(e: unknown): e is Error {
  return e instanceof Error && typeof (e as { awsType?: unknown }).awsType === "string";
}

const defaultOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};
