/**
 * PutEvents and TestEventPattern.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
 */
import { PutEventsRequestError, busOf, putEvents } from "../../ingest/index.js";
import {
  InvalidEventJsonError,
  InvalidEventPatternError,
  MatchLimitExceededError,
  testEventProblem,
  testPattern,
} from "../../patterns/index.js";
import { ApiError } from "../errors.js";
import { arrayOf, optionalString, requiredString } from "../input.js";
import { type Operation, type OperationContext } from "./context.js";

const putEventsOperation: Operation = async (ctx, input) => {
  const entries = arrayOf(input, "Entries", 1, 10, true) ?? [];
  optionalString(input, "EndpointId", { min: 1, max: 50, pattern: /^[A-Za-z0-9-]+\.[A-Za-z0-9-]+$/ });
  if (ctx.takePutEvents?.(entries.length) === false) {
    throw new ApiError(
      "ThrottlingException",
      `Rate exceeded: account ${ctx.caller.accountId} may put ${ctx.putEventsPerSecond ?? 0} events a second (BUSBAR_PUT_EVENTS_PER_SECOND).`,
    );
  }
  // Buses the registry was not told of (a new account's default bus, from `busbar accounts` beside the
  // server or from CreateAccount) join it on first use.
  for (const e of entries) {
    const bus =
      e !== null && typeof e === "object"
        ? busOf((e as Record<string, unknown>).EventBusName, ctx.caller.accountId, ctx.region)
        : undefined;
    if (
      bus === undefined ||
      typeof bus === "string" ||
      ctx.registry.getBus(bus.accountId, bus.name) !== undefined
    )
      continue;
    const stored = await ctx.store.getBus(bus.accountId, bus.name);
    if (stored !== undefined) ctx.registry.setBus(stored);
  }
  // Returned, not awaited: the commit is awaited with nothing of the request's input held (putEvents).
  return accept(ctx, entries);
};

/** PutEvents on the entries, its request-level errors as ValidationException. */
function accept(ctx: OperationContext, entries: readonly unknown[]): Promise<Record<string, unknown>> {
  const invalid = (e: unknown): never => {
    if (e instanceof PutEventsRequestError)
      throw new ApiError("ValidationException", e.message, { cause: e });
    throw e;
  };
  return putEvents(
    {
      registry: ctx.registry,
      committer: ctx.committer,
      region: ctx.region,
      accountId: ctx.caller.accountId,
      mayPut: (bus, event) => ctx.mayPutEvents(bus, event),
    },
    entries,
  ).then((results) => {
    const failedCodes = results.flatMap((r) => ("ErrorCode" in r ? [r.ErrorCode] : []));
    ctx.countPutEvents?.(results.length, failedCodes);
    return { FailedEntryCount: failedCodes.length, Entries: results };
  }, invalid);
}

const testEventPattern: Operation = (ctx, input) => {
  // No resource of its own (IAM's TestEventPattern takes "*"): authorized on the account's buses.
  ctx.authorize(
    "events:TestEventPattern",
    `arn:aws:events:${ctx.region}:${ctx.caller.accountId}:event-bus/*`,
  );
  const pattern = requiredString(input, "EventPattern", { max: 4096 });
  const event = requiredString(input, "Event");
  const problem = testEventProblem(event);
  if (problem !== undefined)
    throw new ApiError("ValidationException", `Parameter Event is not valid. Reason: ${problem}`);
  try {
    return Promise.resolve({ Result: testPattern(pattern, event, ctx.patternLimits) });
  } catch (e) {
    if (e instanceof InvalidEventPatternError)
      throw new ApiError("InvalidEventPatternException", e.message, { cause: e });
    if (e instanceof InvalidEventJsonError || e instanceof MatchLimitExceededError)
      throw new ApiError("ValidationException", `Parameter Event is not valid. Reason: ${e.message}`, {
        cause: e,
      });
    throw e;
  }
};

/** The event operations by name. */
export const eventOperations: Readonly<Record<string, Operation>> = {
  PutEvents: putEventsOperation,
  TestEventPattern: testEventPattern,
};
