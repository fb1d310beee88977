/**
 * Authentication and authorization of API requests: the SigV4 signature identifies an access key,
 * the key its account and policies; `authorize` then applies them. The root key of the default
 * account may do anything; an account's root key anything in its account; other keys what their
 * IAM-style policies allow (explicit Deny wins). Another account's bus accepts PutEvents when its
 * resource policy allows the caller's account.
 */
import {
  UnrecognizedClientError,
  evaluate,
  evaluateResourcePolicy,
  parsePolicy,
  verifySignature,
  type ParsedPolicy,
} from "../auth/index.js";
import { ApiError, type OperationContext, type RawRequest } from "../api/index.js";
import type { RuleRegistry } from "../buses/index.js";
import type { BusbarConfig } from "../config/index.js";
import type { GroupCommitter } from "../ingest/index.js";
import type { AccessKey, EventBus, Store } from "../store/index.js";

/** What authentication needs. */
export interface AuthenticatorDependencies {
  readonly store: Store;
  readonly registry: RuleRegistry;
  readonly committer: GroupCommitter;
  readonly config: BusbarConfig;
}

const ACCOUNT_OF_ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/;

/**
 * Access keys are looked up on every request: keep them for a few seconds (BUSBAR_KEY_CACHE_MS), so
 * keys created or deleted by `busbar keys` beside a running server take effect within that time.
 */
const KEY_CACHE_MS = Number(process.env.BUSBAR_KEY_CACHE_MS ?? 5_000);

/** Creates the function that authenticates a request and yields its operation context. */
export function createAuthenticator(
  deps: AuthenticatorDependencies,
): (request: RawRequest) => Promise<OperationContext> {
  const { store, registry, committer, config } = deps;
  const cache = new Map<string, { key: AccessKey | undefined; policies: ParsedPolicy[]; at: number }>();

  const lookup = async (accessKeyId: string) => {
    const hit = cache.get(accessKeyId);
    if (hit !== undefined && Date.now() - hit.at < KEY_CACHE_MS) return hit;
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

  return async (request) => {
    let keyEntry: Awaited<ReturnType<typeof lookup>> | undefined;
    await verifySignature(
      request,
      async (id) => {
        keyEntry = await lookup(id);
        return keyEntry.key === undefined ? undefined : { secretAccessKey: keyEntry.key.secretAccessKey };
      },
      { service: "events" },
    );
    const entry = keyEntry;
    if (entry?.key === undefined) throw new UnrecognizedClientError();
    const key = entry.key;
    const superRoot = key.root && key.accountId === config.accountId;
    const allowed = (action: string, resource: string): boolean => {
      if (superRoot) return true;
      const owner = ACCOUNT_OF_ARN.exec(resource)?.[1];
      if (owner !== undefined && owner !== key.accountId) return false;
      if (key.root) return true;
      return evaluate(entry.policies, action, resource) === "Allow";
    };
    const ctx: OperationContext = {
      caller: { accountId: key.accountId, accessKeyId: key.accessKeyId },
      store,
      registry,
      committer,
      region: config.region,
      patternLimits: config.patternLimits,
      authorize(action, resource) {
        if (!allowed(action, resource)) {
          throw new ApiError(
            "AccessDeniedException",
            `User ${key.accessKeyId} of account ${key.accountId} is not authorized to perform ${action} on resource ${resource}.`,
          );
        }
      },
      mayPutEvents(bus: EventBus) {
        if (bus.accountId === key.accountId || superRoot) return allowed("events:PutEvents", bus.arn);
        // Across accounts: the caller's own policies must allow it (root keys do), and the bus's
        // resource policy must admit the caller's account.
        const identity = key.root || evaluate(entry.policies, "events:PutEvents", bus.arn) === "Allow";
        return (
          identity &&
          bus.policy !== undefined &&
          evaluateResourcePolicy(bus.policy, {
            principalAccountId: key.accountId,
            action: "events:PutEvents",
            resource: bus.arn,
          }) === "Allow"
        );
      },
    };
    return ctx;
  };
}
