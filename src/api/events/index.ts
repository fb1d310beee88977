/**
 * The EventBridge operations Busbar serves, by name.
 */
import { accountOperations } from "./accounts.js";
import { apiDestinationOperations } from "./api-destinations.js";
import { busOperations } from "./buses.js";
import { connectionOperations } from "./connections.js";
import type { Input } from "../input.js";
import { oneAtATime } from "../one-at-a-time.js";
import type { Operation, OperationContext } from "./context.js";
import { eventOperations } from "./events.js";
import { permissionOperations } from "./permissions.js";
import { ruleOperations } from "./rules.js";
import { signingSecretOperations } from "./signing-secrets.js";
import { tagOperations } from "./tags.js";
import { targetOperations } from "./targets.js";

export type { Caller, Operation, OperationContext } from "./context.js";

/**
 * The operations that change an account's buses, rules, targets (their signing secrets too), tags,
 * bus policies, connections and API destinations.
 */
const ACCOUNT_CHANGES = new Set([
  "CreateEventBus",
  "UpdateEventBus",
  "DeleteEventBus",
  "PutRule",
  "DeleteRule",
  "EnableRule",
  "DisableRule",
  "PutTargets",
  "RemoveTargets",
  "TagResource",
  "UntagResource",
  "PutPermission",
  "RemovePermission",
  // A target's signing secrets are read, merged and written: two rotations at once each kept its own
  // new secret and dropped the other's; and one beside a RemoveTargets outlived the target.
  "RotateTargetSigningSecret",
  // A connection or an API destination is read, merged and written whole, and a change of a
  // connection's state writes its destinations' (UpdateApiDestination calls beside a
  // DeauthorizeConnection were undone); creations check the account's quotas first.
  "CreateConnection",
  "UpdateConnection",
  "DeleteConnection",
  "DeauthorizeConnection",
  "CreateApiDestination",
  "UpdateApiDestination",
  "DeleteApiDestination",
]);

/** The account an ARN of EventBridge's names. */
const EVENTS_ARN_ACCOUNT = /^arn:aws[a-z-]*:events:[^:]*:(\d{12}):/;

/**
 * The account whose resources an operation changes: the caller's, or the one its bus, rule or
 * resource ARN names (the operator's root key may change another account's).
 */
function ownerOf(ctx: OperationContext, input: Input): string {
  for (const name of ["EventBusName", "ResourceARN", "Rule", "Name"]) {
    const value = input[name];
    const owner = typeof value === "string" ? EVENTS_ARN_ACCOUNT.exec(value)?.[1] : undefined;
    if (owner !== undefined) return owner;
  }
  return ctx.caller.accountId;
}

/**
 * One at a time per account: the operations that change an account's buses, rules, targets, tags,
 * bus policies, connections and API destinations (../one-at-a-time.ts), keyed by the account that
 * owns what they change. They are few and quick next to the events they route, so one queue per
 * account costs nothing worth a finer key; a DeleteEventBus or RemoveTargets that drops many pending
 * deliveries holds the account's other changes until it is done.
 */
const oneAtATimePerAccount = oneAtATime(ownerOf);

const operations: Readonly<Record<string, Operation>> = {
  ...busOperations,
  ...ruleOperations,
  ...targetOperations,
  ...eventOperations,
  ...tagOperations,
  ...permissionOperations,
  ...connectionOperations,
  ...apiDestinationOperations,
  ...signingSecretOperations,
  ...accountOperations,
};

/**
 * Every EventBridge operation (and Busbar's own: signing secrets, accounts and keys), by the name in
 * `X-Amz-Target: AWSEvents.<name>`; those that change an account's buses, rules, targets, tags and
 * policies run one at a time per account.
 */
export const eventBridgeOperations: Readonly<Record<string, Operation>> = Object.freeze(
  Object.fromEntries(
    Object.entries(operations).map(([name, op]) => [
      name,
      ACCOUNT_CHANGES.has(name) ? oneAtATimePerAccount(op) : op,
    ]),
  ),
);
