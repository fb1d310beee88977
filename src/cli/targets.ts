/**
 * `busbar targets describe-signing-secrets` and `busbar targets rotate-signing-secret`: the signing
 * secrets of a webhook target, read and rotated on a running server through Busbar's own operations
 * DescribeTargetSigningSecrets and RotateTargetSigningSecret (docs/delivery.md), which no AWS SDK or
 * CLI models. Prints the operation's output as the AWS CLI would.
 */
import { readInput } from "./read-input.js";
import type { Output } from "./output.js";
import { AdminError, callRemote, printJson, requireRemote } from "./remote.js";

/** Which target: its rule (on a bus) and id, and the server to ask (and its region). */
export interface TargetOptions {
  readonly endpoint?: string;
  readonly region?: string;
  readonly rule: string;
  readonly targetId: string;
  readonly eventBusName?: string;
}

const targetInput = (opts: TargetOptions) => ({
  Rule: opts.rule,
  TargetId: opts.targetId,
  ...(opts.eventBusName !== undefined && { EventBusName: opts.eventBusName }),
});

/** `targets describe-signing-secrets`: the secrets that sign the target's deliveries now. */
export async function describeSigningSecrets(io: Output, opts: TargetOptions): Promise<void> {
  printJson(io, await callRemote(requireRemote(opts), "DescribeTargetSigningSecrets", targetInput(opts)));
}

/** `targets rotate-signing-secret`: a new current secret; the previous ones sign on for a while. */
export async function rotateSigningSecret(
  io: Output,
  opts: TargetOptions & {
    readonly secret?: string;
    readonly secretFile?: string;
    readonly previousExpiresIn?: string;
  },
): Promise<void> {
  const input: Record<string, unknown> = targetInput(opts);
  if (opts.secret !== undefined && opts.secretFile !== undefined)
    throw new AdminError("give --secret or --secret-file, not both");
  if (opts.secret !== undefined) input.Secret = opts.secret;
  if (opts.secretFile !== undefined) input.Secret = readSecretFile(opts.secretFile);
  if (opts.previousExpiresIn !== undefined) {
    // Decimal digits only: Number() reads "" (an unset shell variable) as 0, which would retire the
    // previous secrets at once, and takes "0x10" and "1e2". The server checks the range.
    if (!/^\d+$/.test(opts.previousExpiresIn)) {
      throw new AdminError(
        `--previous-expires-in must be a whole number of seconds, got "${opts.previousExpiresIn}"`,
      );
    }
    input.PreviousSecretExpiresInSeconds = Number(opts.previousExpiresIn);
  }
  printJson(io, await callRemote(requireRemote(opts), "RotateTargetSigningSecret", input));
}

/**
 * The secret in a file (`-`: standard input), without the line break that ends it: a secret on the
 * command line is in every user's process listing while the command runs.
 */
function readSecretFile(path: string): string {
  let text: string;
  try {
    text = readInput(path, `--secret-file ${path === "-" ? "(standard input)" : path}`);
  } catch (e) {
    throw new AdminError((e as Error).message);
  }
  const secret = text.replace(/\r?\n$/, "");
  if (secret === "") throw new AdminError(`--secret-file ${path} is empty`);
  return secret;
}
