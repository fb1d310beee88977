/**
 * Mutating operations that read, merge and write (a rule's targets against the limit of five, a bus's
 * policy, a rule's state beside its pattern) have no version check in the store: two at once would
 * let the later write undo the earlier, or both pass a check that only one should. Such operations
 * run one at a time per key, each after the previous one finished, so that each reads what the
 * previous one wrote and the outcome is one some serial order gives. On one node only: the store is
 * one process's.
 */
import type { Input } from "../input.js";
import type { Operation, OperationContext } from "./context.js";

/** Wraps operations so that those of one key run one at a time, in the order they arrived. */
export function oneAtATime(
  keyOf: (ctx: OperationContext, input: Input) => string,
): (op: Operation) => Operation {
  // The last operation queued per key; a key leaves the map once its queue is empty.
  const queued = new Map<string, Promise<unknown>>();
  return (op) => (ctx, input) => {
    const key = keyOf(ctx, input);
    const run = (): Promise<Record<string, unknown>> => op(ctx, input);
    const result = (queued.get(key) ?? Promise.resolve()).then(run, run);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    queued.set(key, settled);
    void settled.then(() => {
      if (queued.get(key) === settled) queued.delete(key);
    });
    return result;
  };
}

/**
 * One at a time per account: the operations that change an account's buses, rules, targets, tags and
 * bus policies. They are few and quick next to the events they route, so one queue per account costs
 * nothing worth a finer key; a DeleteEventBus or RemoveTargets that drops many pending deliveries holds
 * the account's other changes until it is done.
 */
export const oneAtATimePerAccount = oneAtATime((ctx) => ctx.caller.accountId);
