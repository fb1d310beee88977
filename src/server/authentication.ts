/**
 * Authentication and authorization of API requests: the SigV4 signature identifies an access key,
 * the key its account and policies. A {@link Principal} then answers what the caller may do: the root
 * key of the default account anything; an account's root key anything in its account; other keys
 * what their IAM-style policies allow (explicit Deny wins). Across accounts, the resource's own policy
 * (a bus policy, a queue's Policy attribute) must admit the caller's account as well, and a Deny of
 * it holds in every account.
 */
import {
  UnrecognizedClientError,
  evaluate,
  judgeResourcePolicy,
  policyAdmits,
  parsePolicy,
  verifySignature,
  type ParsedPolicy,
} from "../auth/index.js";
import { ApiError, type OperationContext, type RawRequest } from "../api/index.js";
import { parseArn, type RuleRegistry } from "../buses/index.js";
import { DEFAULT_KEY_CACHE_MS, type BusbarConfig } from "../config/index.js";
import { shownTargetArn, type SecretBox, type SigningSecrets } from "../delivery/index.js";
import type { EventConditions, GroupCommitter } from "../ingest/index.js";
import type { AccessKey, DeliveryScope, EventBus, Store } from "../store/index.js";

/** The authenticated caller and what it may do. */
export interface Principal {
  readonly accountId: string;
  readonly accessKeyId: string;
  /** Whether this is an account's root key. */
  readonly root: boolean;
  /** Whether the caller's identity may perform `action` on `resource` (an ARN) in its own account. */
  allowed(action: string, resource: string): boolean;
  /**
   * Whether the caller's own policies allow `action` on `resource` in any account (a root key's always
   * do), leaving out what the resource's owner allows: for what a rule will do on the caller's behalf
   * in another account, whose policy is asked at delivery.
   */
  identityAllows(action: string, resource: string): boolean;
  /**
   * Whether the caller may perform `action` on a resource owned by `ownerAccountId`: in its own
   * account, as {@link allowed}, or where the resource's `policy` allows the caller by its own ARN or
   * `"*"` (an Allow naming only its account leaves it to the key's policies) and the key's policies do
   * not deny it, as IAM evaluates a same-account resource policy; across accounts, its identity must allow it and the resource's
   * `policy` must admit the caller's account. A `Deny` of the policy that matches the caller applies in
   * every account, its owner's included ("an explicit deny in any policy overrides any allow"); only
   * the operator's root key (of the server's own account) passes it, so that a policy that denies
   * everyone everything can still be changed.
   */
  allowedOn(
    action: string,
    resource: string,
    ownerAccountId: string,
    policy: string | undefined,
    event?: EventConditions,
  ): boolean;
}

/** Authenticates a request signed for `service` (`events`, `sqs`). */
export type Authenticate = (request: RawRequest, service: string) => Promise<Principal>;

/** What every access key id is: root ids are held to it (config), made ones are `BB` and 18 more. */
const KEY_ID = /^[A-Z0-9]{16,128}$/;

const ACCOUNT_OF_ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/;

/** An access key as authentication needs it, with its policies parsed. */
export interface KeyEntry {
  readonly key: AccessKey | undefined;
  readonly policies: readonly ParsedPolicy[];
  readonly at: number;
}

/**
 * Looks up access keys, each kept for `ttlMs` (`fresh` reads the store, and refreshes the entry);
 * `forget` drops what is kept of one (a key this node deleted).
 */
export type KeyLookup = ((accessKeyId: string, fresh?: boolean) => Promise<KeyEntry>) & {
  forget(accessKeyId: string): void;
};

/**
 * Creates a {@link KeyLookup} over the store. Access keys are looked up on every request: each is kept
 * for `ttlMs` (BUSBAR_KEY_CACHE_MS, a few seconds), so keys created or deleted by `busbar keys` beside
 * a running server take effect within that time.
 */
export function createKeyLookup(store: Store, ttlMs: number = DEFAULT_KEY_CACHE_MS): KeyLookup {
  const cache = new Map<string, KeyEntry>();
  const lookup = async (accessKeyId: string, fresh = false): Promise<KeyEntry> => {
    // Not a key id any key has (16 to 128 upper-case letters and digits): not looked up, nor kept, so
    // that long made-up ids neither reach the store nor fill the cache.
    if (!KEY_ID.test(accessKeyId)) return { key: undefined, policies: [], at: Date.now() };
    const hit = cache.get(accessKeyId);
    if (!fresh && hit !== undefined && Date.now() - hit.at < ttlMs) return hit;
    const key = await store.getAccessKey(accessKeyId);
    const entry = {
      key,
      policies: key === undefined ? [] : key.policies.map((p) => parsePolicy(p)),
      at: Date.now(),
    };
    if (cache.size > 10_000) cache.clear();
    cache.set(accessKeyId, entry);
    return entry;
  };
  return Object.assign(lookup, { forget: (accessKeyId: string) => void cache.delete(accessKeyId) });
}

/** What a known access key may do. */
export function principalOf(
  key: AccessKey,
  policies: readonly ParsedPolicy[],
  config: BusbarConfig,
): Principal {
  const superRoot = key.root && key.accountId === config.accountId;
  // `aws:PrincipalArn`: an account's root user, as IAM names it; another key, as an IAM user named by
  // its access key id (Busbar's keys have no other name).
  const principalArn = key.root
    ? `arn:aws:iam::${key.accountId}:root`
    : `arn:aws:iam::${key.accountId}:user/${key.accessKeyId}`;
  const identityAllows = (action: string, resource: string): boolean =>
    key.root || evaluate(policies, action, resource) === "Allow";
  const allowed = (action: string, resource: string): boolean => {
    if (superRoot) return true;
    const owner = ACCOUNT_OF_ARN.exec(resource)?.[1];
    if (owner !== undefined && owner !== key.accountId) return false;
    return identityAllows(action, resource);
  };
  return {
    accountId: key.accountId,
    accessKeyId: key.accessKeyId,
    root: key.root,
    allowed,
    identityAllows,
    allowedOn(action, resource, ownerAccountId, policy, event) {
      if (superRoot) return true;
      const { decision, namesCaller } =
        policy === undefined
          ? { decision: "ImplicitDeny" as const, namesCaller: false }
          : judgeResourcePolicy(policy, {
              principalAccountId: key.accountId,
              principalArn,
              action,
              resource,
              eventSource: event?.source,
              eventDetailType: event?.detailType,
            });
      const ownAccount = ownerAccountId === key.accountId;
      if (!policyAdmits(decision, ownAccount)) return false;
      if (!ownAccount) return identityAllows(action, resource);
      if (allowed(action, resource)) return true;
      // In its own account, an Allow naming the key itself grants unless the key's policies deny.
      return decision === "Allow" && namesCaller && evaluate(policies, action, resource) !== "ExplicitDeny";
    },
  };
}

/**
 * The principal of an access key whose signature was verified elsewhere (on a front thread).
 * @throws UnrecognizedClientError when the key no longer exists.
 */
export async function principalFor(
  lookup: KeyLookup,
  accessKeyId: string,
  config: BusbarConfig,
): Promise<Principal> {
  const entry = await lookup(accessKeyId);
  if (entry.key === undefined) throw new UnrecognizedClientError();
  return principalOf(entry.key, entry.policies, config);
}

/** Creates the function that authenticates requests: the signature, then the key's principal. */
export function createAuthenticator(lookup: KeyLookup, config: BusbarConfig): Authenticate {
  return async (request, service) => {
    let keyEntry: KeyEntry | undefined;
    await verifySignature(
      request,
      async (id) => {
        keyEntry = await lookup(id);
        return keyEntry.key === undefined ? undefined : { secretAccessKey: keyEntry.key.secretAccessKey };
      },
      // A node serves one region: a signature scoped to another is for another endpoint, as in AWS.
      { service, region: config.region },
    );
    const entry = keyEntry;
    if (entry?.key === undefined) throw new UnrecognizedClientError();
    return principalOf(entry.key, entry.policies, config);
  };
}

/** What EventBridge operations need besides the caller. */
export interface EventBridgeDependencies {
  readonly store: Store;
  readonly registry: RuleRegistry;
  readonly committer: GroupCommitter;
  readonly config: BusbarConfig;
  readonly secrets: SecretBox;
  readonly signingSecrets: SigningSecrets;
  /** Called once an operation deleted an access key: what is kept of it must go. */
  readonly keyDeleted: (accessKeyId: string) => void;
  /** Called once an operation changed a connection or an API destination. */
  readonly apiDestinationsChanged: OperationContext["apiDestinationsChanged"];
  /** Takes events from an account's quota of events a second (false: not that many left); none without. */
  readonly takePutEvents?: (accountId: string, n: number) => boolean;
  /** Counts a PutEvents request of an account: its entries, and the ErrorCode of each refused. */
  readonly countPutEvents?: (accountId: string, entries: number, failedCodes: readonly string[]) => void;
  /** Drops the pending deliveries of a deleted bus or rule, or of removed targets (see OperationContext). */
  readonly dropDeliveries: (
    scope: DeliveryScope,
    options?: { readonly keepMetrics?: boolean },
  ) => Promise<void>;
}

/** The refusal of an action, naming the resource as logs do (a webhook URL's query values `***`). */
function accessDenied(principal: Principal, action: string, resource: string): ApiError {
  return new ApiError(
    "AccessDeniedException",
    `User ${principal.accessKeyId} of account ${principal.accountId} is not authorized to perform ${action} on resource ${shownTargetArn(resource)}.`,
  );
}

/**
 * Whether the policy of the bus `resource` names (the bus, or a rule on it) denies the caller `action`:
 * a Deny holds for the keys of the bus's own account too (see {@link Principal.allowedOn}), for rule
 * management as for PutEvents.
 */
function busDenies(principal: Principal, registry: RuleRegistry, action: string, resource: string): boolean {
  const arn = parseArn(resource);
  const bus = arn === undefined ? undefined : registry.getBus(arn.accountId, arn.busName);
  return bus?.policy !== undefined && !principal.allowedOn(action, resource, bus.accountId, bus.policy);
}

/** The context EventBridge operations run in, for an authenticated caller. */
export function eventBridgeContext(principal: Principal, deps: EventBridgeDependencies): OperationContext {
  const {
    store,
    registry,
    committer,
    config,
    secrets,
    signingSecrets,
    keyDeleted,
    apiDestinationsChanged,
    dropDeliveries,
    takePutEvents,
    countPutEvents,
  } = deps;
  return {
    caller: { accountId: principal.accountId, accessKeyId: principal.accessKeyId, root: principal.root },
    store,
    registry,
    committer,
    secrets,
    signingSecrets,
    region: config.region,
    defaultAccountId: config.accountId,
    keyDeleted,
    apiDestinationsChanged,
    dropDeliveries,
    patternLimits: config.patternLimits,
    ...(takePutEvents !== undefined && {
      takePutEvents: (n: number) => takePutEvents(principal.accountId, n),
      putEventsPerSecond: config.putEventsPerSecond,
    }),
    ...(countPutEvents !== undefined && {
      countPutEvents: (entries: number, failedCodes: readonly string[]) =>
        countPutEvents(principal.accountId, entries, failedCodes),
    }),
    authorize(action, resource) {
      if (!principal.allowed(action, resource) || busDenies(principal, registry, action, resource))
        throw accessDenied(principal, action, resource);
    },
    authorizeOnBehalf(action, resource) {
      if (!principal.identityAllows(action, resource)) throw accessDenied(principal, action, resource);
    },
    mayPutEvents(bus: EventBus, event: EventConditions) {
      return principal.allowedOn("events:PutEvents", bus.arn, bus.accountId, bus.policy, event);
    },
  };
}
