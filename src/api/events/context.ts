/**
 * What every EventBridge operation is given: the caller, the store, the rule registry, the committer
 * and settings. Operations authorize through `authorize`, which throws AccessDeniedException.
 */
import type { RuleRegistry } from "../../buses/index.js";
import type { SecretBox, SigningSecrets } from "../../delivery/index.js";
import type { EventConditions, GroupCommitter } from "../../ingest/index.js";
import type { PatternLimits } from "../../patterns/index.js";
import type { DeliveryScope, EventBus, Page, Store } from "../../store/index.js";
import { NEXT_TOKEN, optionalInteger, optionalString, type Input } from "../input.js";

/** The authenticated caller. */
export interface Caller {
  readonly accountId: string;
  readonly accessKeyId: string;
  /** Whether the caller signed with an account's root key. */
  readonly root: boolean;
}

/** The surroundings of an operation. */
export interface OperationContext {
  readonly caller: Caller;
  readonly store: Store;
  readonly registry: RuleRegistry;
  readonly committer: GroupCommitter;
  readonly region: string;
  /** The node's default account (BUSBAR_ACCOUNT_ID): its root key administers the node. */
  readonly defaultAccountId: string;
  readonly patternLimits: PatternLimits;
  /** Seals and opens secrets kept at rest (connection AuthParameters). */
  readonly secrets: SecretBox;
  /** The signing secrets of webhook targets. */
  readonly signingSecrets: SigningSecrets;
  /** Tells the node that an access key was deleted, so that it stops working at once (its caches). */
  keyDeleted(accessKeyId: string): void;
  /**
   * Tells delivery that a connection or API destination changed, so that the next invocation reads it
   * again; with an updated destination's rate, so that the calls waiting for their turns take it at
   * once.
   */
  apiDestinationsChanged(updated?: {
    readonly arn: string;
    readonly invocationRateLimitPerSecond: number;
  }): void;
  /**
   * Drops the pending deliveries of a deleted bus or rule, or of removed targets (held and stored);
   * with `keepMetrics`, their metric series stay (for target ids being added, which only lose what an
   * earlier removal left).
   */
  dropDeliveries(scope: DeliveryScope, options?: { readonly keepMetrics?: boolean }): Promise<void>;
  /** Throws AccessDeniedException unless the caller may perform `action` (e.g. "events:PutRule") on `resource`. */
  authorize(action: string, resource: string): void;
  /**
   * Throws AccessDeniedException unless the caller's own policies allow `action` on `resource` in
   * whichever account owns it: what a rule or bus will do on the caller's behalf (write to a target or a
   * dead-letter queue). Another account's resource policy is asked at delivery.
   */
  authorizeOnBehalf(action: string, resource: string): void;
  /**
   * Whether the caller may put an event of this source and detail-type on a bus (its identity policy,
   * and the bus's resource policy, whose conditions may test `events:source` and `events:detail-type`).
   */
  mayPutEvents(bus: EventBus, event: EventConditions): boolean;
  /**
   * Takes `n` events from the caller's account's quota of events a second (BUSBAR_PUT_EVENTS_PER_SECOND);
   * false when it has not that many left. Without it, no quota.
   */
  takePutEvents?(n: number): boolean;
  /** The quota {@link takePutEvents} keeps, events a second (for its refusal's message). */
  readonly putEventsPerSecond?: number;
  /** Counts a PutEvents request's entries and the ErrorCode of each it refused (metrics); none without. */
  countPutEvents?(entries: number, failedCodes: readonly string[]): void;
}

/** An operation: input in, output out (both JSON-ready). */
export type Operation = (ctx: OperationContext, input: Input) => Promise<Record<string, unknown>>;

/** A listing's `NextToken` and `Limit` (1–100; the store's page is 100 without it), as store list options. */
export function pageOptions(input: Input): { nextToken?: string; limit?: number } {
  const nextToken = optionalString(input, "NextToken", NEXT_TOKEN);
  const limit = optionalInteger(input, "Limit", 1, 100);
  return { ...(nextToken !== undefined && { nextToken }), ...(limit !== undefined && { limit }) };
}

/** The `NextToken` member of a listing's output, when another page follows. */
export const nextTokenOf = (page: Page<unknown>) =>
  page.nextToken !== undefined && { NextToken: page.nextToken };

/** Epoch seconds, as the AWS JSON protocol writes timestamps. */
export const epochSeconds = (ms: number): number => ms / 1000;
