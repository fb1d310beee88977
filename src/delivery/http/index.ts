/**
 * HTTP delivery: signed webhooks (Standard Webhooks, optionally CloudEvents) and EventBridge API
 * destinations, over one guarded HTTP client.
 */
export {
  createApiDestinationInvoker,
  httpParameterValueProblem,
  isApiDestinationArn,
  isReservedHeader,
  type ApiDestinationInvokerOptions,
  type ResolvedApiDestination,
} from "./api-destination.js";
export {
  ERROR_BODY_EXCERPT_CHARS,
  HttpErrorCode,
  errorForResponse,
  isRetryableStatus,
  parseRetryAfter,
} from "./classify.js";
export {
  BUSBAR_VERSION,
  DEFAULT_MAX_RESPONSE_BODY_BYTES,
  DEFAULT_MAX_SOCKETS_PER_ORIGIN,
  DEFAULT_TIMEOUT_MS,
  HttpClient,
  type HttpClientOptions,
  type HttpRequest,
  type HttpResponse,
} from "./client.js";
export { CloudEventsMode, toCloudEventsMessage, type CloudEventsMessage } from "./cloudevents.js";
export {
  ALLOW_TARGET_NETWORKS_ENV,
  AddressRefusedError,
  NO_ALLOWED_NETWORKS,
  checkHost,
  createGuardedLookup,
  parseAllowedNetworks,
  refusalReason,
  type AllowedNetworks,
  type GuardPolicy,
  type LookupFunction,
} from "./network-guard.js";
export { DEFAULT_MAX_RATE_WAIT_MS } from "./rate-limit.js";
export {
  MAX_WEBHOOK_URL_LENGTH,
  checkWebhookUrl,
  createWebhookInvoker,
  isWebhookArn,
  parseWebhookTarget,
  redactWebhookUrl,
  type WebhookInvokerOptions,
  type WebhookTarget,
} from "./webhook.js";
