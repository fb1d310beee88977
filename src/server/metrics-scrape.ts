/**
 * `GET /metrics` for a caller. An access key given as HTTP Basic credentials (`<access key id>:<secret
 * access key>`, what Prometheus's `basic_auth` sends) sees its own account's series alone, if its
 * policies allow `busbar:GetMetrics` on the account (`arn:aws:iam::<account>:root`, as Busbar's own
 * operations name it; an account's root key always may); the server's own root
 * key sees every account's, as the bearer token does. So that each team scrapes its own rules and
 * targets without learning another's names.
 */
import { timingSafeEqual } from "node:crypto";
import type { BusbarConfig } from "../config/index.js";
import type { Metrics, MetricsScrape } from "../metrics/index.js";
import { principalOf, type KeyLookup } from "./authentication.js";

/** The IAM action a key's policies must allow, on its account, for it to scrape its account's metrics. */
export const METRICS_ACTION = "busbar:GetMetrics";

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Renders scrapes of `metrics`: every account's without a caller, the caller's account's with one. */
export function metricsScrape(metrics: Metrics, keys: KeyLookup, config: BusbarConfig): MetricsScrape {
  return async (gzip, caller) => {
    if (caller === undefined) return metrics.render(gzip);
    // Open (no BUSBAR_METRICS_TOKEN), /metrics answers anyone every account's series: credentials that
    // do not get an account's are ignored there, as before keys could be given (a proxy's Basic auth).
    const open = config.metricsToken === undefined;
    const { key, policies } = await keys(caller.accessKeyId);
    if (key === undefined || !sameSecret(caller.secretAccessKey, key.secretAccessKey)) {
      if (open) return metrics.render(gzip);
      return { status: 401, message: "/metrics: the access key id or its secret access key is not valid" };
    }
    const account = `arn:aws:iam::${key.accountId}:root`;
    if (!principalOf(key, policies, config).allowed(METRICS_ACTION, account)) {
      if (open) return metrics.render(gzip);
      return {
        status: 403,
        message: `/metrics: access key ${key.accessKeyId} is not allowed ${METRICS_ACTION} on ${account}`,
      };
    }
    const everyAccount = key.root && key.accountId === config.accountId;
    return metrics.render(gzip, everyAccount ? undefined : key.accountId);
  };
}
