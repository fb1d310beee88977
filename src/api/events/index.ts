/**
 * The EventBridge operations Busbar serves, by name.
 */
import { accountOperations } from "./accounts.js";
import { apiDestinationOperations } from "./api-destinations.js";
import { busOperations } from "./buses.js";
import { connectionOperations } from "./connections.js";
import type { Operation } from "./context.js";
import { eventOperations } from "./events.js";
import { permissionOperations } from "./permissions.js";
import { ruleOperations } from "./rules.js";
import { signingSecretOperations } from "./signing-secrets.js";
import { tagOperations } from "./tags.js";
import { targetOperations } from "./targets.js";

export type { Caller, Operation, OperationContext } from "./context.js";

/** Every EventBridge operation (and Busbar's own: signing secrets, accounts and keys), by the name in `X-Amz-Target: AWSEvents.<name>`. */
export const eventBridgeOperations: Readonly<Record<string, Operation>> = Object.freeze({
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
});
