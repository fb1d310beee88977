/**
 * Event bus operations: CreateEventBus, DescribeEventBus, ListEventBuses, UpdateEventBus,
 * DeleteEventBus.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html
 */
import { busArn, DEFAULT_BUS, elsewhere, parseArn } from "../../buses/index.js";
import { isWebhookArn } from "../../delivery/index.js";
import type { EventBus } from "../../store/index.js";
import { ApiError } from "../errors.js";
import {
  ARN,
  BUS_NAME,
  BUS_NAME_OR_ARN,
  oneOf,
  optionalObject,
  optionalString,
  requiredString,
  type Input,
} from "../input.js";
import { epochSeconds, nextTokenOf, pageOptions, type Operation, type OperationContext } from "./context.js";
import { readTags } from "./tags.js";

/** Resolves a bus name or ARN to (account, name); names are in the caller's account. */
export function resolveBusName(
  ctx: OperationContext,
  nameOrArn: string | undefined,
): { accountId: string; name: string } {
  if (nameOrArn === undefined) return { accountId: ctx.caller.accountId, name: DEFAULT_BUS };
  if (nameOrArn.startsWith("arn:")) {
    const arn = parseArn(nameOrArn);
    if (arn === undefined || arn.kind !== "event-bus") {
      throw new ApiError(
        "ValidationException",
        `Parameter EventBusName is not valid. Reason: ${nameOrArn} is not an event bus ARN.`,
      );
    }
    const away = elsewhere(arn, ctx.region);
    if (away !== undefined) {
      throw new ApiError(
        "ValidationException",
        `Parameter EventBusName is not valid. Reason: ${nameOrArn} is an event bus of ${away}.`,
      );
    }
    return { accountId: arn.accountId, name: arn.busName };
  }
  return { accountId: ctx.caller.accountId, name: nameOrArn };
}

/**
 * Loads a bus or throws ResourceNotFoundException. With `action`, a bus of another account is first
 * authorized (AccessDeniedException), so that a caller who may not use it cannot tell whether it exists.
 */
export async function existingBus(
  ctx: OperationContext,
  nameOrArn: string | undefined,
  action?: string,
): Promise<EventBus> {
  const { accountId, name } = resolveBusName(ctx, nameOrArn);
  if (action !== undefined && accountId !== ctx.caller.accountId)
    ctx.authorize(action, busArn(ctx.region, accountId, name));
  const bus = await ctx.store.getBus(accountId, name);
  if (bus === undefined) {
    // Another account's `default` is not the caller's: say whose.
    const whose = accountId === ctx.caller.accountId ? "" : ` in account ${accountId}`;
    throw new ApiError("ResourceNotFoundException", `Event bus ${name} does not exist${whose}.`);
  }
  return bus;
}

/**
 * What is wrong with a dead-letter queue's ARN (of a bus or a target), if anything: it must name an
 * SQS queue, a standard one (EventBridge cannot send to a FIFO dead-letter queue) in the server's
 * `region` (EventBridge's guide: "The Amazon SQS queue you use must be in the same Region in which you
 * create the rule"). Accepted, either would have every event meant for it dropped at failure time.
 */
export function deadLetterArnProblem(arn: string, region: string): string | undefined {
  const queue = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):\d{12}:[\w.-]+$/.exec(arn);
  if (queue === null) return `${arn} is not an SQS queue ARN.`;
  if (queue[1] !== region)
    return `${arn} is in Region ${queue[1]}; a dead-letter queue must be in the rule's Region, ${region}.`;
  if (arn.endsWith(".fifo")) return `${arn} is a FIFO queue; a dead-letter queue must be a standard queue.`;
  return undefined;
}

/**
 * The bus's dead-letter queue, which the caller's own policies must let it write to (as for a
 * target's): otherwise a key could have the bus write where it may not.
 */
function deadLetterArn(ctx: OperationContext, input: Input): string | undefined {
  const dlc = optionalObject(input, "DeadLetterConfig");
  if (dlc === undefined) return undefined;
  const arn = optionalString(dlc, "Arn", ARN);
  const problem = arn === undefined ? undefined : deadLetterArnProblem(arn, ctx.region);
  if (problem !== undefined) {
    throw new ApiError(
      "ValidationException",
      `Parameter DeadLetterConfig.Arn is not valid. Reason: ${problem}`,
    );
  }
  if (arn !== undefined) ctx.authorizeOnBehalf("sqs:SendMessage", arn);
  return arn;
}

function describe(bus: EventBus): Record<string, unknown> {
  return {
    Name: bus.name,
    Arn: bus.arn,
    ...(bus.description !== undefined && { Description: bus.description }),
    ...(bus.kmsKeyIdentifier !== undefined && { KmsKeyIdentifier: bus.kmsKeyIdentifier }),
    ...(bus.deadLetterArn !== undefined && { DeadLetterConfig: { Arn: bus.deadLetterArn } }),
    ...(bus.policy !== undefined && { Policy: bus.policy }),
    ...logConfigOf(bus),
    CreationTime: epochSeconds(bus.createdAt),
    LastModifiedTime: epochSeconds(bus.lastModifiedAt),
  };
}

/**
 * LogConfig as given (`IncludeDetail`: NONE or FULL, `Level`: OFF, ERROR, INFO or TRACE), as stored
 * JSON text; undefined when absent. Busbar keeps and describes it (so that tools that set it see
 * it again) but sends no logs.
 */
function readLogConfig(input: Input): string | undefined {
  const given = optionalObject(input, "LogConfig");
  if (given === undefined) return undefined;
  const detail = optionalString(given, "IncludeDetail");
  const level = optionalString(given, "Level");
  return JSON.stringify({
    ...(detail !== undefined && {
      IncludeDetail: oneOf("LogConfig.IncludeDetail", detail, ["NONE", "FULL"]),
    }),
    ...(level !== undefined && { Level: oneOf("LogConfig.Level", level, ["OFF", "ERROR", "INFO", "TRACE"]) }),
  });
}

/** A bus's LogConfig member for a reply, if it has one. */
function logConfigOf(bus: EventBus): { LogConfig?: unknown } {
  return bus.logConfig === undefined ? {} : { LogConfig: JSON.parse(bus.logConfig) as unknown };
}

/** A KMS key's id, ARN, alias or alias ARN (the API model's KmsKeyIdentifier). */
const KMS_KEY_IDENTIFIER = { max: 2048, pattern: /^[a-zA-Z0-9_\-/:]*$/ } as const;

const createEventBus: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", BUS_NAME);
  const description = optionalString(input, "Description", { max: 512 });
  const kms = optionalString(input, "KmsKeyIdentifier", KMS_KEY_IDENTIFIER);
  const dlq = deadLetterArn(ctx, input);
  const logConfig = readLogConfig(input);
  optionalString(input, "EventSourceName", { min: 1, max: 256 });
  const tags = readTags(input, false);
  const arn = busArn(ctx.region, ctx.caller.accountId, name);
  ctx.authorize("events:CreateEventBus", arn);
  // Tagging a bus as it is created takes events:TagResource as well.
  if (tags.length > 0) ctx.authorize("events:TagResource", arn);
  if (name === DEFAULT_BUS || name.includes("/")) {
    if (name === DEFAULT_BUS)
      throw new ApiError("ResourceAlreadyExistsException", `Event bus ${name} already exists.`);
    throw new ApiError(
      "ValidationException",
      `Event bus name ${name} is reserved for partner event sources.`,
    );
  }
  const { maxBusesPerAccount } = ctx.registry.quotas;
  // The registry holds the buses of the accounts made before the node started, and those made or
  // used since: an account made since (CreateAccount, `busbar accounts create`) has its default bus
  // in the store only until an event is put on it, and the count would leave it out.
  if (ctx.registry.getBus(ctx.caller.accountId, DEFAULT_BUS) === undefined) {
    const stored = await ctx.store.getBus(ctx.caller.accountId, DEFAULT_BUS);
    if (stored !== undefined) ctx.registry.setBus(stored);
  }
  const busCount = ctx.registry.busCount(ctx.caller.accountId);
  if (ctx.registry.getBus(ctx.caller.accountId, name) === undefined && busCount >= maxBusesPerAccount) {
    // More than the limit when it was lowered since (a restart with a smaller setting).
    throw new ApiError(
      "LimitExceededException",
      `The requested resource exceeds the maximum number allowed: account ${ctx.caller.accountId} has ${busCount} event buses, its default bus included, and the limit is ${maxBusesPerAccount} (BUSBAR_MAX_BUSES_PER_ACCOUNT).`,
    );
  }
  const now = Date.now();
  const bus: EventBus = {
    accountId: ctx.caller.accountId,
    name,
    arn,
    ...(description !== undefined && { description }),
    ...(kms !== undefined && { kmsKeyIdentifier: kms }),
    ...(dlq !== undefined && { deadLetterArn: dlq }),
    ...(logConfig !== undefined && { logConfig }),
    createdAt: now,
    lastModifiedAt: now,
  };
  if (!(await ctx.store.createBus(bus, tags)))
    throw new ApiError("ResourceAlreadyExistsException", `Event bus ${name} already exists.`);
  ctx.registry.setBus(bus);
  return {
    EventBusArn: arn,
    ...(description !== undefined && { Description: description }),
    ...(kms !== undefined && { KmsKeyIdentifier: kms }),
    ...(dlq !== undefined && { DeadLetterConfig: { Arn: dlq } }),
    ...logConfigOf(bus),
  };
};

const describeEventBus: Operation = async (ctx, input) => {
  const bus = await existingBus(
    ctx,
    optionalString(input, "Name", BUS_NAME_OR_ARN),
    "events:DescribeEventBus",
  );
  ctx.authorize("events:DescribeEventBus", bus.arn);
  return describe(bus);
};

const listEventBuses: Operation = async (ctx, input) => {
  const prefix = optionalString(input, "NamePrefix", BUS_NAME);
  const paging = pageOptions(input);
  ctx.authorize("events:ListEventBuses", `arn:aws:events:${ctx.region}:${ctx.caller.accountId}:event-bus/*`);
  const page = await ctx.store.listBuses(ctx.caller.accountId, {
    ...(prefix !== undefined && { prefix }),
    ...paging,
  });
  return {
    EventBuses: page.items.map((b) => {
      const { KmsKeyIdentifier: _k, DeadLetterConfig: _d, LogConfig: _l, ...rest } = describe(b);
      return rest;
    }),
    ...nextTokenOf(page),
  };
};

const updateEventBus: Operation = async (ctx, input) => {
  const bus = await existingBus(ctx, optionalString(input, "Name", BUS_NAME));
  ctx.authorize("events:UpdateEventBus", bus.arn);
  const description = optionalString(input, "Description", { max: 512 });
  const kms = optionalString(input, "KmsKeyIdentifier", KMS_KEY_IDENTIFIER);
  const dlq = deadLetterArn(ctx, input);
  const logConfig = readLogConfig(input) ?? bus.logConfig;
  // Omitted, DeadLetterConfig stays as it was (as Description and LogConfig do); `{}` (no Arn) removes
  // it. An omitted KmsKeyIdentifier goes back to the default key, as the API reference says.
  const keptDlq = optionalObject(input, "DeadLetterConfig") === undefined ? bus.deadLetterArn : dlq;
  const { description: _d, kmsKeyIdentifier: _k, deadLetterArn: _q, logConfig: _l, ...base } = bus;
  const updated: EventBus = {
    ...base,
    ...(description !== undefined
      ? { description }
      : bus.description !== undefined && { description: bus.description }),
    ...(kms !== undefined && { kmsKeyIdentifier: kms }),
    ...(keptDlq !== undefined && { deadLetterArn: keptDlq }),
    ...(logConfig !== undefined && { logConfig }),
    lastModifiedAt: Date.now(),
  };
  if (!(await ctx.store.updateBus(updated)))
    throw new ApiError("ResourceNotFoundException", `Event bus ${bus.name} does not exist.`);
  ctx.registry.setBus(updated);
  return {
    Arn: updated.arn,
    Name: updated.name,
    ...(updated.description !== undefined && { Description: updated.description }),
    ...(updated.kmsKeyIdentifier !== undefined && { KmsKeyIdentifier: updated.kmsKeyIdentifier }),
    ...(updated.deadLetterArn !== undefined && { DeadLetterConfig: { Arn: updated.deadLetterArn } }),
    ...logConfigOf(updated),
  };
};

const deleteEventBus: Operation = async (ctx, input) => {
  const name = requiredString(input, "Name", BUS_NAME);
  ctx.authorize("events:DeleteEventBus", busArn(ctx.region, ctx.caller.accountId, name));
  if (name === DEFAULT_BUS) throw new ApiError("ValidationException", "Cannot delete event bus default.");
  const rules = ctx.registry.rulesOf(ctx.caller.accountId, name);
  // As EventBridge: deleting a bus that does not exist succeeds.
  if (await ctx.store.deleteBus(ctx.caller.accountId, name)) {
    ctx.registry.deleteBus(ctx.caller.accountId, name);
    // The signing secrets of its webhook targets go with the bus's rules.
    for (const { rule, targets } of rules)
      for (const t of targets.values())
        if (isWebhookArn(t.arn)) await ctx.signingSecrets.remove(rule.arn, t.id);
  }
  // Nothing of the bus survives it: its pending deliveries would go to a new bus's targets of the same names.
  await ctx.dropDeliveries({ accountId: ctx.caller.accountId, busName: name });
  return {};
};

/** The bus operations by name. */
export const busOperations: Readonly<Record<string, Operation>> = {
  CreateEventBus: createEventBus,
  DescribeEventBus: describeEventBus,
  ListEventBuses: listEventBuses,
  UpdateEventBus: updateEventBus,
  DeleteEventBus: deleteEventBus,
};
