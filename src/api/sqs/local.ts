/**
 * The SQS operations as the main thread runs them, against the node's queue service. Apart from the
 * protocol (protocol.ts), which the front thread loads without the operations.
 */
import type { MoveTasks, QueueService } from "../../queues/index.js";
import type { SqsCaller, SqsContext } from "./context.js";
import { sqsOperations } from "./operations.js";
import type { BoundSqsOperation } from "./protocol.js";

/** The SQS operations of a node, run against its queue service. */
export function localSqsOperations(deps: {
  readonly queues: QueueService;
  readonly moveTasks: MoveTasks;
  readonly region: string;
  /** The caller of an access key as it is now (see SqsContext.callerNow). */
  readonly callerNow?: (accessKeyId: string) => Promise<SqsCaller>;
}): (name: string) => BoundSqsOperation<SqsCaller> | undefined {
  const { callerNow } = deps;
  return (name) => {
    const operation = Object.hasOwn(sqsOperations, name) ? sqsOperations[name] : undefined;
    if (operation === undefined) return undefined;
    return (caller, baseUrl, input, client) => {
      const ctx: SqsContext = {
        caller,
        queues: deps.queues,
        moveTasks: deps.moveTasks,
        region: deps.region,
        baseUrl,
        ...(client !== undefined && { client }),
        ...(callerNow !== undefined && { callerNow: () => callerNow(caller.accessKeyId) }),
      };
      return operation(ctx, input);
    };
  };
}
