/**
 * How a target's ARN or URI appears where others read it (logs, dead-letter messages, errors): a
 * broker URI without its password or token, a webhook URL without its query values.
 */
import { isBrokerUri, redactUri } from "./brokers/index.js";
import { redactWebhookUrl } from "./http/index.js";

/**
 * The target ARN or URI with what may be a secret in it as `***`: a broker URI's credentials; of a
 * webhook URL, or anything else written with a scheme (a URL PutTargets refuses), its credentials,
 * query values and fragment.
 */
export function shownTargetArn(arn: string): string {
  if (isBrokerUri(arn)) return redactUri(arn);
  if (arn.startsWith("arn:")) return arn;
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(arn) ? redactWebhookUrl(arn) : arn;
}
