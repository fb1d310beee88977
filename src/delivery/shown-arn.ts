/**
 * How a target's ARN or URI appears where others read it (logs, dead-letter messages, errors): a
 * broker URI without its password or token, a webhook URL without its query values.
 */
import { isBrokerUri, redactUri } from "./brokers/index.js";
import { isWebhookArn, redactWebhookUrl } from "./http/index.js";

/** The target ARN or URI with what may be a secret in it as `***`. */
export function shownTargetArn(arn: string): string {
  return isBrokerUri(arn) ? redactUri(arn) : isWebhookArn(arn) ? redactWebhookUrl(arn) : arn;
}
