/**
 * Bus resource policies: PutPermission (a grant, or a whole policy document) and RemovePermission.
 * They let other accounts put events on a bus.
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutPermission.html
 */
import { addPermission, removePermission, validateResourcePolicy } from "../../auth/index.js";
import type { EventBus } from "../../store/index.js";
import { ApiError } from "../errors.js";
import {
  NON_PARTNER_BUS_NAME,
  optionalBoolean,
  optionalObject,
  optionalString,
  requiredString,
} from "../input.js";
import { existingBus } from "./buses.js";
import { type Operation, type OperationContext } from "./context.js";

async function savePolicy(ctx: OperationContext, bus: EventBus, policy: string | undefined): Promise<void> {
  const { policy: _old, ...rest } = bus;
  const updated: EventBus = { ...rest, ...(policy !== undefined && { policy }), lastModifiedAt: Date.now() };
  if (!(await ctx.store.updateBus(updated)))
    throw new ApiError("ResourceNotFoundException", `Event bus ${bus.name} does not exist.`);
  ctx.registry.setBus(updated);
}

const putPermission: Operation = async (ctx, input) => {
  const bus = await existingBus(ctx, optionalString(input, "EventBusName", NON_PARTNER_BUS_NAME));
  ctx.authorize("events:PutPermission", bus.arn);
  const policy = optionalString(input, "Policy", { min: 1 });
  if (policy !== undefined) {
    validateResourcePolicy(policy);
    await savePolicy(ctx, bus, policy);
    return {};
  }
  const statementId = requiredString(input, "StatementId", { min: 1, max: 64, pattern: /^[a-zA-Z0-9-_]+$/ });
  const action = requiredString(input, "Action", { min: 1, max: 64, pattern: /^events:[a-zA-Z]+$/ });
  const principal = requiredString(input, "Principal", { min: 1, max: 12, pattern: /^(\d{12}|\*)$/ });
  const condition = optionalObject(input, "Condition");
  const grant = {
    statementId,
    action,
    principal,
    resourceArn: bus.arn,
    ...(condition !== undefined && {
      condition: {
        type: requiredString(condition, "Type", { min: 1, max: 255 }),
        key: requiredString(condition, "Key", { min: 1, max: 255 }),
        value: requiredString(condition, "Value", { min: 1, max: 255 }),
      },
    }),
  };
  await savePolicy(ctx, bus, addPermission(bus.policy, grant));
  return {};
};

const removePermissionOperation: Operation = async (ctx, input) => {
  const bus = await existingBus(ctx, optionalString(input, "EventBusName", NON_PARTNER_BUS_NAME));
  ctx.authorize("events:RemovePermission", bus.arn);
  if (optionalBoolean(input, "RemoveAllPermissions") === true) {
    await savePolicy(ctx, bus, undefined);
    return {};
  }
  const statementId = requiredString(input, "StatementId", { min: 1, max: 64, pattern: /^[a-zA-Z0-9-_]+$/ });
  await savePolicy(ctx, bus, removePermission(bus.policy, statementId));
  return {};
};

/** The permission operations by name. */
export const permissionOperations: Readonly<Record<string, Operation>> = {
  PutPermission: putPermission,
  RemovePermission: removePermissionOperation,
};
