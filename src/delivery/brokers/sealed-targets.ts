/**
 * Broker targets at rest. A broker target's URI may carry a password or token (userinfo, `token` or
 * `password` query parameter); before the target reaches the store, that URI is sealed with the
 * node's secrets key, as connection secrets are (`../secrets.ts`), so the database never holds it in
 * plain text.
 *
 * The stored form of such a target: `arn` is the URI as ListTargetsByRule shows it ({@link redactUri},
 * secrets as `***`), so that ListRuleNamesByTarget finds the rule by the URI in either form;
 * `spec.Arn` is {@link SEALED_ARN_PREFIX} followed by the sealed URI. Targets without a secret, and
 * every other kind of target, are stored as given.
 */
import type { Target } from "../../store/index.js";
import type { Sealer } from "../signing-secrets.js";
import { isBrokerUri, redactUri } from "./uri.js";

/** Marks a stored `spec.Arn` that holds a sealed broker URI. */
export const SEALED_ARN_PREFIX = "busbar-sealed:";

/** The form of `target` to store: a broker URI with a secret sealed, anything else unchanged. */
export function sealTarget(sealer: Sealer, target: Target): Target {
  if (!isBrokerUri(target.arn)) return target;
  const shown = redactUri(target.arn);
  if (shown === target.arn) return target;
  return {
    ...target,
    arn: shown,
    spec: { ...target.spec, Arn: SEALED_ARN_PREFIX + sealer.seal(target.arn) },
  };
}

/** Whether a stored target holds a broker secret in plain text (stored before targets were sealed). */
export function holdsPlainSecret(target: Target): boolean {
  return isBrokerUri(target.arn) && redactUri(target.arn) !== target.arn;
}

/**
 * `stored` as PutTargets was given it: a sealed broker URI opened. A URI that cannot be opened (the
 * secrets key changed, or the text was altered) stays redacted, its secrets `***`, so the broker
 * refuses it and the deliveries fail with that reason; `onUnopenable` hears of it.
 */
export function openTarget(sealer: Sealer, stored: Target, onUnopenable?: (error: unknown) => void): Target {
  const sealed = stored.spec["Arn"];
  if (typeof sealed !== "string" || !sealed.startsWith(SEALED_ARN_PREFIX)) return stored;
  let arn: string;
  try {
    arn = sealer.open(sealed.slice(SEALED_ARN_PREFIX.length));
  } catch (error) {
    onUnopenable?.(error);
    arn = stored.arn;
  }
  return { ...stored, arn, spec: { ...stored.spec, Arn: arn } };
}
