/**
 * Event bus targets: the event goes onto another bus (in the same account, or in another one whose
 * resource policy allows the rule's account to put events), where that bus's rules match it and its
 * own deliveries are committed, exactly as if it had been put there.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
 */
import { evaluateResourcePolicy, isRoleOf, policyAdmits, policyTests } from "../auth/index.js";
import { PARTITION, parseArn, type RuleRegistry } from "../buses/index.js";
import { forwardedRecord } from "../ingest/index.js";
import type { EventBus, IngestRecord } from "../store/index.js";
import { DeliveryError, heldWhileLow, type Invocation, type TargetInvoker } from "./types.js";

/** Puts events on other buses. */
export class BusTargetInvoker implements TargetInvoker {
  constructor(
    private readonly registry: RuleRegistry,
    /** Commits records durably (the node's group committer), which also dispatches their deliveries. */
    private readonly commit: (records: readonly IngestRecord[]) => Promise<void>,
    /**
     * Reads a bus the registry does not hold from the store: the default bus of an account made
     * outside this node's API (`busbar accounts create` on its data directory) exists there only.
     */
    private readonly loadBus: (accountId: string, busName: string) => Promise<EventBus | undefined> = () =>
      Promise.resolve(undefined),
    private readonly now: () => number = Date.now,
    /**
     * Told of each target a forwarded event does not reach once it is committed on `bus`: an event
     * bus, a second hop (see forwardedRecord).
     */
    private readonly onCut: (bus: EventBus, ruleName: string, targetId: string) => void = () => {},
  ) {}

  async invoke(invocation: Invocation): Promise<void> {
    const { target, event, accountId } = invocation;
    const arn = parseArn(target.arn);
    if (arn === undefined || arn.kind !== "event-bus")
      throw new DeliveryError("INVALID_PARAMETER", `${target.arn} is not an event bus ARN.`, {
        retryable: false,
      });
    // Not cached in the registry: a bus deleted meanwhile must not come back there.
    const bus =
      this.registry.getBus(arn.accountId, arn.busName) ?? (await this.loadBus(arn.accountId, arn.busName));
    const denied = (): DeliveryError =>
      new DeliveryError(
        "NO_PERMISSIONS",
        `The policy of event bus ${target.arn} does not allow account ${accountId} to put events on it.`,
        { retryable: false },
      );
    // A bus of that name in another region (or partition) is not this one. Another account's that
    // does not exist reads as one that does not allow the rule's: whether it exists is its owner's
    // to tell (PutEvents answers so too).
    if (bus === undefined || bus.arn !== target.arn) {
      if (arn.accountId !== accountId) throw denied();
      throw new DeliveryError("NO_RESOURCE", `Event bus ${target.arn} does not exist.`, { retryable: false });
    }
    // Another account's bus must allow the rule's account; any bus's Deny that matches it stops it.
    // The call is the rule's: its aws:PrincipalArn the target's RoleArn (EventBridge calls as that
    // role) when that is a role of the rule's account (PutTargets refuses any other since it checks;
    // one stored before is not believed), else the account's root.
    const role = target.spec["RoleArn"];
    const ownRole = typeof role === "string" && isRoleOf(role, accountId, PARTITION) ? role : undefined;
    const decision =
      bus.policy === undefined
        ? "ImplicitDeny"
        : evaluateResourcePolicy(bus.policy, {
            principalAccountId: accountId,
            principalArn: ownRole ?? `arn:${PARTITION}:iam::${accountId}:root`,
            action: "events:PutEvents",
            resource: bus.arn,
            // Read from the event only for a policy whose conditions test them.
            ...(policyTests(bus.policy, "events:source", "events:detail-type") &&
              eventConditions(event.json)),
          });
    if (!policyAdmits(decision, bus.accountId === accountId)) throw denied();
    let record;
    const cut: Array<{ ruleName: string; targetId: string }> = [];
    try {
      record = forwardedRecord(this.registry, bus, event, this.now(), cut);
    } catch (e) {
      throw new DeliveryError("INVALID_JSON", `The event cannot be matched: ${(e as Error).message}`, {
        retryable: false,
        cause: e,
      });
    }
    try {
      await this.commit([record]);
    } catch (e) {
      // The store's failures and refusals name what failed, and no secret (a full disk, say).
      const reason =
        e instanceof Error && /^(StoreFailureError|DiskLowError)$/.test(e.name) ? `: ${e.message}` : ".";
      throw new DeliveryError("INTERNAL_ERROR", `Committing the event on ${bus.arn} failed${reason}`, {
        retryable: true,
        ...heldWhileLow(e),
        cause: e,
      });
    }
    for (const { ruleName, targetId } of cut) this.onCut(bus, ruleName, targetId);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The event's `events:source` and `events:detail-type`, which a bus policy's conditions may test. */
function eventConditions(json: string): { eventSource?: string; eventDetailType?: string } {
  const event = JSON.parse(json) as { source?: unknown; "detail-type"?: unknown };
  return {
    ...(typeof event.source === "string" && { eventSource: event.source }),
    ...(typeof event["detail-type"] === "string" && { eventDetailType: event["detail-type"] }),
  };
}
