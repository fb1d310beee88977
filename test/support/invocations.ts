/**
 * Invocations as the delivery engine hands them to invokers, for tests that call an invoker directly.
 */
import { randomUUID } from "node:crypto";
import type { Invocation } from "../../src/delivery/index.js";

/** An invocation of target `arn` (id `t1`) with `payload` as both the event and what is sent. */
export function targetInvocation(arn: string, payload: string, extra: Partial<Invocation> = {}): Invocation {
  const now = Date.now();
  return {
    event: {
      id: randomUUID(),
      accountId: "123456789012",
      busName: "default",
      time: now,
      ingestedAt: now,
      json: payload,
    },
    payload,
    target: { id: "t1", arn, spec: { Id: "t1", Arn: arn } },
    ruleArn: "arn:aws:events:us-east-1:123456789012:rule/r1",
    accountId: "123456789012",
    deliveryId: randomUUID(),
    attempt: 0,
    ...extra,
  };
}
