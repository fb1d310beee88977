/**
 * Busbar's own operations (not in EventBridge's API) for the signing secrets of webhook targets:
 * DescribeTargetSigningSecrets and RotateTargetSigningSecret, on the same endpoint and protocol as the
 * EventBridge operations, authorized as `events:DescribeTargetSigningSecrets` and
 * `events:RotateTargetSigningSecret` on the rule's ARN. They are reached with a plain AWS JSON 1.1
 * request (`X-Amz-Target: AWSEvents.DescribeTargetSigningSecrets`) or with
 * `busbar targets describe-signing-secrets|rotate-signing-secret --endpoint URL`.
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
import {
  isSigningSecret,
  isWebhookArn,
  TooManySigningSecretsError,
  type SigningSecret,
} from "../../delivery/index.js";
import type { Rule, Target } from "../../store/index.js";
import { ApiError } from "../errors.js";
import { TARGET_ID, optionalInteger, optionalString, requiredString, type Input } from "../input.js";
import { epochSeconds, type Operation, type OperationContext } from "./context.js";
import { existingRule } from "./rules.js";
import { ruleTargets } from "./targets.js";

/** Most seconds a retired secret may keep signing after a rotation (7 days). */
export const MAX_ROTATION_GRACE_SECONDS = 7 * 86_400;

const describe = (secrets: readonly SigningSecret[]) => ({
  Secrets: secrets.map((s) => ({
    Secret: s.secret,
    CreatedAt: epochSeconds(s.createdAt),
    ...(s.expiresAt !== undefined && { ExpiresAt: epochSeconds(s.expiresAt) }),
  })),
});

/**
 * The rule and its webhook target named by the input, or the error that says why not. The caller is
 * authorized for `action` before the target is looked up (and, on another account's bus, before the
 * rule is): one who may not use it cannot tell what exists.
 */
async function webhookTarget(
  ctx: OperationContext,
  input: Input,
  action: string,
): Promise<{ rule: Rule; target: Target }> {
  const rule = await existingRule(ctx, input, "Rule", action);
  ctx.authorize(action, rule.arn);
  const id = requiredString(input, "TargetId", TARGET_ID);
  const target = (await ruleTargets(ctx, rule)).find((t) => t.id === id);
  if (target === undefined)
    throw new ApiError("ResourceNotFoundException", `Target ${id} does not exist on rule ${rule.name}.`);
  if (!isWebhookArn(target.arn))
    throw new ApiError("ValidationException", `Target ${id} is not a webhook (http or https) target.`);
  return { rule, target };
}

const describeTargetSigningSecrets: Operation = async (ctx, input) => {
  const { rule, target } = await webhookTarget(ctx, input, "events:DescribeTargetSigningSecrets");
  return describe(await ctx.signingSecrets.list(rule.arn, target.id));
};

const rotateTargetSigningSecret: Operation = async (ctx, input) => {
  const { rule, target } = await webhookTarget(ctx, input, "events:RotateTargetSigningSecret");
  const secret = optionalString(input, "Secret", { min: 1, max: 256, sensitive: true });
  if (secret !== undefined && !isSigningSecret(secret))
    throw new ApiError(
      "ValidationException",
      "Parameter Secret is not valid. Reason: a signing secret is whsec_ followed by 24 to 64 bytes in padded base64 (its length a multiple of 4, with = at the end as needed).",
    );
  const graceSeconds = optionalInteger(
    input,
    "PreviousSecretExpiresInSeconds",
    0,
    MAX_ROTATION_GRACE_SECONDS,
  );
  try {
    return describe(
      await ctx.signingSecrets.rotate(rule.arn, target.id, {
        ...(secret !== undefined && { secret }),
        ...(graceSeconds !== undefined && { graceSeconds }),
      }),
    );
  } catch (e) {
    if (!(e instanceof TooManySigningSecretsError)) throw e;
    throw new ApiError("LimitExceededException", `Target ${target.id} of rule ${rule.name}: ${e.message}.`);
  }
};

/** The signing-secret operations by name. */
export const signingSecretOperations: Readonly<Record<string, Operation>> = {
  DescribeTargetSigningSecrets: describeTargetSigningSecrets,
  RotateTargetSigningSecret: rotateTargetSigningSecret,
};
