/**
 * Target operations: PutTargets, RemoveTargets, ListTargetsByRule. Targets are validated and stored
 * here; the delivery engine invokes them.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
 */
import {
  checkBrokerUri,
  checkWebhookUrl,
  compileTransform,
  deadLetterArnOf,
  isBrokerUri,
  isWebhookArn,
  openTarget,
  parseBrokerUri,
  redactUri,
  sealTarget,
  shownTargetArn,
} from "../../delivery/index.js";
import { PASS_ROLE_ACTION, isRoleOf } from "../../auth/index.js";
import { PARTITION, busArn } from "../../buses/index.js";
import type { Rule, Target } from "../../store/index.js";
import { ApiError } from "../errors.js";
import {
  ARN,
  TARGET_ID,
  arrayOf,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  requiredString,
  within,
  type Input,
} from "../input.js";
import { type Operation, type OperationContext } from "./context.js";
import { deadLetterArnProblem } from "./buses.js";
import { existingRule } from "./rules.js";
import { httpParametersProblem } from "./target-http-parameters.js";

/** Most targets one rule may have (EventBridge's quota). */
export const MAX_TARGETS_PER_RULE = 5;

/** Target ARNs and URIs Busbar can deliver to (see the delivery docs). */
const SUPPORTED_TARGETS = [
  /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[/.\-_A-Za-z0-9]+$/,
  /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:api-destination\/[.\-_A-Za-z0-9]+(\/[\w-]+)?$/,
  /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[\w.-]+$/,
  /^https?:\/\/\S+$/i,
  // A broker scheme in any case: the broker URI's own check then names what is wrong with the rest.
  /^(nats|amqps?|mqtts?|rediss?):\/\//i,
];

/**
 * The action a target performs on its ARN each time it is invoked: on Busbar's own resources, or
 * `events:InvokeEndpoint` (Busbar's own action, which `events:*` includes) on a webhook URL or broker
 * URI, so that a key allowed only PutRule and PutTargets cannot send every event to an address of its
 * choosing (EventBridge reaches HTTP endpoints only through API destinations, which need
 * events:InvokeApiDestination).
 */
function targetAction(arn: string): string | undefined {
  if (/^arn:aws[a-z-]*:sqs:/.test(arn)) return "sqs:SendMessage";
  if (/^arn:aws[a-z-]*:events:[^:]*:\d{12}:event-bus\//.test(arn)) return "events:PutEvents";
  if (/^arn:aws[a-z-]*:events:[^:]*:\d{12}:api-destination\//.test(arn)) return "events:InvokeApiDestination";
  if (isWebhookArn(arn) || isBrokerUri(arn)) return "events:InvokeEndpoint";
  return undefined;
}

/** The account in an API destination ARN, when `arn` is one. */
const API_DESTINATION_ACCOUNT = /^arn:aws[a-z-]*:events:[a-z0-9-]+:(\d{12}):api-destination\//;
const EVENT_BUS_ACCOUNT = /^arn:aws[a-z-]*:events:[a-z0-9-]+:(\d{12}):event-bus\//;

/**
 * Validates one target of a rule of account `accountId` in `region`; returns the stored form or a reason it is
 * not valid.
 */
function readTarget(
  raw: unknown,
  accountId: string,
  region: string,
  ownBus: string,
): Target | { id: string; error: string } {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ApiError("SerializationException", "Targets must be a list of structures");
  }
  const t = raw as Input;
  const id = requiredString(t, "Id", TARGET_ID);
  const arn = requiredString(t, "Arn", ARN);
  if (!SUPPORTED_TARGETS.some((r) => r.test(arn)))
    return { id, error: `Target ${shownTargetArn(arn)} is not a supported target.` };
  // The event would come back to the rules of the bus it came from: its other targets twice.
  if (arn === ownBus)
    return {
      id,
      error: `Target ${id} is the event bus the rule is on; a rule cannot send events to its own bus.`,
    };
  // A queue, bus or API destination of another Region (or partition) is no resource of this node,
  // which serves one: every delivery to it would fail.
  const arnRegion = /^arn:(aws[a-z-]*):(?:sqs|events):([a-z0-9-]+):/.exec(arn);
  if (arnRegion !== null && (arnRegion[1] !== PARTITION || arnRegion[2] !== region))
    return {
      id,
      error: `Target ${id}: ${arn} is in ${arnRegion[1] !== PARTITION ? `partition ${arnRegion[1]}` : `Region ${arnRegion[2]}`}; this endpoint serves ${region} (${PARTITION}), and delivers to its own queues, buses and API destinations only.`,
    };
  // EventBridge calls API destinations of the rule's own account only.
  const destinationAccount = API_DESTINATION_ACCOUNT.exec(arn)?.[1];
  if (destinationAccount !== undefined && destinationAccount !== accountId)
    return { id, error: `Target ${id}: an API destination must be in the rule's account (${accountId}).` };
  const uriProblem = isWebhookArn(arn)
    ? checkWebhookUrl(arn)
    : isBrokerUri(arn)
      ? checkBrokerUri(arn)
      : undefined;
  if (uriProblem !== undefined) return { id, error: `Target ${id}: ${uriProblem}` };
  const role = optionalString(t, "RoleArn", ARN);
  // A target runs as a role of the rule's account, which a bus target's call names to that bus's
  // policy (aws:PrincipalArn): another account's role, or a user, would let the rule claim an
  // identity that is not its account's.
  if (role !== undefined && !isRoleOf(role, accountId, PARTITION))
    return {
      id,
      error: `Target ${id}: RoleArn ${role} is not a role of the rule's account (arn:${PARTITION}:iam::${accountId}:role/<name>); a target runs as a role of the account the rule is in.`,
    };
  const input = optionalString(t, "Input", { max: 8192 });
  const inputPath = optionalString(t, "InputPath", { max: 256 });
  const transformer = optionalObject(t, "InputTransformer");
  const given = [input, inputPath, transformer].filter((x) => x !== undefined).length;
  // The input's problems fail the whole request, in EventBridge's words (recorded against AWS).
  if (given > 1)
    throw new ApiError(
      "ValidationException",
      `Only one of Input, InputPath, or InputTransformer must be provided for target ${id}.`,
    );
  // As EventBridge documents for PutTargets (a bus of the rule's own account gets the event as it is).
  const busAccount = EVENT_BUS_ACCOUNT.exec(arn)?.[1];
  if (given > 0 && busAccount !== undefined && busAccount !== accountId)
    return {
      id,
      error: `Target ${id}: Input, InputPath and InputTransformer are not available for an event bus of another account.`,
    };
  if (input !== undefined) {
    try {
      JSON.parse(input);
    } catch {
      throw new ApiError("ValidationException", `Input for target ${id} is not a valid JSON text.`);
    }
  }
  if (transformer !== undefined) within("inputTransformer", () => checkTransformerLimits(transformer));
  try {
    compileTransform(t);
  } catch (e) {
    const message = (e as Error).message;
    throw new ApiError(
      "ValidationException",
      message.startsWith("InputTemplate contains invalid placeholder")
        ? message.replace("InputTemplate", `InputTemplate for target ${id}`)
        : `Target ${id}: ${message}`,
    );
  }
  const httpProblem = httpParametersProblem(t.HttpParameters);
  if (httpProblem !== undefined) return { id, error: `Target ${id}: ${httpProblem}` };
  const sqs = optionalObject(t, "SqsParameters");
  const groupId =
    sqs === undefined
      ? undefined
      : within("sqsParameters", () => optionalString(sqs, "MessageGroupId", { min: 1, max: 100 }));
  if (/^arn:aws[a-z-]*:sqs:.*\.fifo$/.test(arn) && groupId === undefined)
    return { id, error: `Target ${id} is a FIFO queue: SqsParameters.MessageGroupId is required.` };
  // A queue takes only these characters (checkFifoId); EventBridge would accept others here and fail
  // every delivery, so the mistake is named now.
  if (groupId !== undefined && /^arn:aws[a-z-]*:sqs:/.test(arn) && !/^[\x21-\x7E]+$/.test(groupId))
    return {
      id,
      error: `Target ${id}: SqsParameters.MessageGroupId can only include alphanumeric and punctuation characters, as a queue requires.`,
    };
  const retry = optionalObject(t, "RetryPolicy");
  if (retry !== undefined) {
    within("retryPolicy", () => {
      optionalInteger(retry, "MaximumRetryAttempts", 0, 185);
      optionalInteger(retry, "MaximumEventAgeInSeconds", 60, 86400);
    });
  }
  const dlc = optionalObject(t, "DeadLetterConfig");
  if (dlc !== undefined) {
    const dlq = within("deadLetterConfig", () => optionalString(dlc, "Arn", ARN));
    const problem = dlq === undefined ? undefined : deadLetterArnProblem(dlq, region);
    if (problem !== undefined) return { id, error: `DeadLetterConfig.Arn ${problem}` };
  }
  return { id, arn, spec: t };
}

/**
 * The API's limits on an InputTransformer (the template's length; at most 100 paths, each named by 1
 * to 256 letters, digits, `_` or `-` and at most 256 characters long), each a ValidationException of
 * the whole request, as the API's other length limits are; what its paths and template mean is
 * checked by compileTransform, entry by entry.
 */
function checkTransformerLimits(transformer: Input): void {
  requiredString(transformer, "InputTemplate", { min: 1, max: 8192 });
  const map = optionalObject(transformer, "InputPathsMap");
  if (map === undefined) return;
  const keys = Object.keys(map);
  const invalid = (constraint: string): ApiError =>
    new ApiError(
      "ValidationException",
      `1 validation error detected: Value at 'inputPathsMap' failed to satisfy constraint: ${constraint}`,
    );
  if (keys.length > 100) throw invalid("Member must have length less than or equal to 100");
  for (const k of keys) {
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(k))
      throw invalid(
        `Map keys must satisfy constraint: [Member must have length between 1 and 256, Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+] (key ${k.length > 256 ? `${k.slice(0, 32)}… (${k.length} characters)` : JSON.stringify(k)})`,
      );
    const path = map[k];
    // A map of strings: another JSON type is refused as AWS's deserializer refuses a member of the
    // wrong type (docs/errors.md).
    if (typeof path !== "string")
      throw new ApiError("SerializationException", `InputTransformer.InputPathsMap.${k} must be a string`);
    if (path.length > 256)
      throw invalid(
        `Map value must satisfy constraint: [Member must have length less than or equal to 256] (the value of ${k} is ${path.length} characters long)`,
      );
  }
}

/**
 * A broker target given back as ListTargetsByRule shows it (its password or token as `***`) keeps the
 * credentials stored for that target id: a listing put back as it is changes nothing. One whose
 * password or token is `***` but that differs from the stored target otherwise (or has none stored)
 * is refused: its `***` would be taken as the password, and every delivery refused by the broker.
 */
function keepBrokerSecrets(
  target: Target,
  existing: readonly Target[],
): Target | { id: string; error: string } {
  if (!isBrokerUri(target.arn) || !target.arn.includes("***")) return target;
  const stored = existing.find((t) => t.id === target.id);
  if (stored !== undefined && stored.arn !== target.arn && redactUri(stored.arn) === target.arn)
    return { ...target, arn: stored.arn, spec: { ...target.spec, Arn: stored.arn } };
  if (parseBrokerUri(target.arn).secrets.includes("***"))
    return {
      id: target.id,
      error: `Target ${target.id}: its password or token is *** as ListTargetsByRule shows it; give the real one (the stored one is kept only when the rest of the URI is unchanged).`,
    };
  return target;
}

/** The targets of `rule` as PutTargets was given them (broker secrets are sealed in the store). */
export async function ruleTargets(ctx: OperationContext, rule: Rule): Promise<readonly Target[]> {
  const stored = await ctx.store.listTargets(rule.accountId, rule.busName, rule.name);
  return stored.map((t) => openTarget(ctx.secrets, t));
}

/**
 * Drops the pending deliveries of these targets of `rule` (none when there are none), and their metric
 * series a while later unless `keepMetrics` (target ids being added: their series are the new targets').
 */
async function dropDeliveriesOf(
  ctx: OperationContext,
  rule: Rule,
  targetIds: readonly string[],
  keepMetrics = false,
): Promise<void> {
  if (targetIds.length === 0) return;
  await ctx.dropDeliveries(
    { accountId: rule.accountId, busName: rule.busName, ruleName: rule.name, targetIds },
    { keepMetrics },
  );
}

const putTargets: Operation = async (ctx, input) => {
  const rule = await existingRule(ctx, input, "Rule", "events:PutTargets");
  ctx.authorize("events:PutTargets", rule.arn);
  const ownBus = busArn(ctx.region, rule.accountId, rule.busName);
  const read = (arrayOf(input, "Targets", 1, 10, true) ?? []).map((t, i) =>
    within(`targets.${i + 1}.member`, () => readTarget(t, rule.accountId, ctx.region, ownBus)),
  );
  const ids = read.map((t) => t.id);
  if (new Set(ids).size !== ids.length)
    throw new ApiError("ValidationException", "Target ids must be unique within a request.");
  const existing = await ruleTargets(ctx, rule);
  const checked = read.map((t) => ("error" in t ? t : keepBrokerSecrets(t, existing)));
  const good = checked.filter((t): t is Target => !("error" in t));
  // What a target will do, the caller's own policies must allow (EventBridge asks the same of the role
  // a target runs as): a key without sqs:SendMessage on a queue cannot have a rule write to it, as its
  // target or as its dead-letter queue, an explicit Deny holds in any account, and another account's
  // queue or bus also asks its own policy, at delivery.
  for (const t of good) {
    const action = targetAction(t.arn);
    if (action !== undefined) ctx.authorizeOnBehalf(action, t.arn);
    const dlq = deadLetterArnOf(t);
    if (dlq !== undefined) ctx.authorizeOnBehalf("sqs:SendMessage", dlq);
    const role = t.spec["RoleArn"];
    if (typeof role === "string") ctx.authorizeOnBehalf(PASS_ROLE_ACTION, role);
  }
  const after = new Set([...existing.map((t) => t.id), ...good.map((t) => t.id)]);
  if (after.size > MAX_TARGETS_PER_RULE) {
    throw new ApiError(
      "LimitExceededException",
      `The requested resource exceeds the maximum number allowed: a rule can have at most ${MAX_TARGETS_PER_RULE} targets.`,
    );
  }
  if (good.length > 0) {
    // A new target starts with no pending delivery: any left under its names (by a removal of an
    // earlier target cut short by a crash) were for that one, and go now, before it can match.
    const known = new Set(existing.map((t) => t.id));
    const added = good.filter((t) => !known.has(t.id)).map((t) => t.id);
    await dropDeliveriesOf(ctx, rule, added, true);
    // Nor a signing secret: one left under its id was the earlier target's, whose receiver could
    // otherwise sign what this one's receiver would take for Busbar's.
    for (const id of added) await ctx.signingSecrets.remove(rule.arn, id);
    const sealed = good.map((t) => sealTarget(ctx.secrets, t));
    await ctx.store.putTargets(rule.accountId, rule.busName, rule.name, sealed);
    ctx.registry.setTargets(rule.accountId, rule.busName, rule.name, await ruleTargets(ctx, rule));
    // A webhook target has its signing secret from the start, so receivers can be set up before the first event.
    for (const t of good) if (isWebhookArn(t.arn)) await ctx.signingSecrets.list(rule.arn, t.id);
  }
  const failed = checked.filter((t): t is { id: string; error: string } => "error" in t);
  return {
    FailedEntryCount: failed.length,
    FailedEntries: failed.map((f) => ({
      TargetId: f.id,
      ErrorCode: "ValidationException",
      ErrorMessage: f.error,
    })),
  };
};

const removeTargets: Operation = async (ctx, input) => {
  // Force deletes the targets of a managed rule; no rule of Busbar's is managed (read for its type).
  optionalBoolean(input, "Force");
  const rule = await existingRule(ctx, input, "Rule", "events:RemoveTargets");
  ctx.authorize("events:RemoveTargets", rule.arn);
  const ids = (arrayOf(input, "Ids", 1, 100, true) ?? []).map((v, i) => {
    if (typeof v !== "string" || !/^[.\-_A-Za-z0-9]{1,64}$/.test(v)) {
      throw new ApiError("ValidationException", `Ids[${i}] is not a valid target id.`);
    }
    return v;
  });
  const removed = await ctx.store.removeTargets(rule.accountId, rule.busName, rule.name, ids);
  // Out of the registry first, so that no event matches them from here on.
  ctx.registry.setTargets(rule.accountId, rule.busName, rule.name, await ruleTargets(ctx, rule));
  for (const id of removed) await ctx.signingSecrets.remove(rule.arn, id);
  // Events accepted before may reach a removed target, never a target added later under its id.
  await dropDeliveriesOf(ctx, rule, removed);
  return { FailedEntryCount: 0, FailedEntries: [] };
};

const listTargetsByRule: Operation = async (ctx, input) => {
  const rule = await existingRule(ctx, input, "Rule", "events:ListTargetsByRule");
  ctx.authorize("events:ListTargetsByRule", rule.arn);
  const limit = optionalInteger(input, "Limit", 1, 100) ?? 100;
  const token = optionalString(input, "NextToken", { min: 1, max: 2048 });
  const all = await ruleTargets(ctx, rule);
  let start = 0;
  if (token !== undefined) {
    const after = Buffer.from(token, "base64url").toString("utf8");
    start = all.findIndex((t) => t.id > after);
    if (!/^[.\-_A-Za-z0-9]{1,64}$/.test(after))
      throw new ApiError("ValidationException", "The NextToken is not valid.");
    if (start === -1) start = all.length;
  }
  const page = all.slice(start, start + limit);
  const last = page[page.length - 1];
  return {
    // A broker URI's password or token is not given back (docs/targets-brokers.md).
    Targets: page.map((t) => (isBrokerUri(t.arn) ? { ...t.spec, Arn: redactUri(t.arn) } : t.spec)),
    ...(start + limit < all.length &&
      last !== undefined && { NextToken: Buffer.from(last.id).toString("base64url") }),
  };
};

/** The target operations by name. */
export const targetOperations: Readonly<Record<string, Operation>> = {
  PutTargets: putTargets,
  RemoveTargets: removeTargets,
  ListTargetsByRule: listTargetsByRule,
};
