/**
 * Mutating operations that read, merge and write (a rule's targets against the limit of five, a bus's
 * policy, a rule's state beside its pattern) have no version check in the store: two at once would
 * let the later write undo the earlier, or both pass a check that only one should. Such operations
 * run one at a time per key, each after the previous one finished, so that each reads what the
 * previous one wrote and the outcome is one some serial order gives. On one node only: the store is
 * one process's.
 */
import type { Input } from "./input.js";

/** An operation of either API: a context and the request's input to the reply's output. */
type AnyOperation<C> = (ctx: C, input: Input) => Promise<Record<string, unknown>>;

/** Wraps operations so that those of one key run one at a time, in the order they arrived. */
export function oneAtATime<C>(
  keyOf: (ctx: C, input: Input) => string,
): <O extends AnyOperation<C>>(op: O) => O {
  // The last operation queued per key; a key leaves the map once its queue is empty.
  const queued = new Map<string, Promise<unknown>>();
  return <O extends AnyOperation<C>>(op: O): O =>
    ((ctx: C, input: Input) => {
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
    }) as O;
}
