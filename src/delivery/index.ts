/**
 * Delivery: the engine that turns pending deliveries into target invocations (retries, dead-letter
 * queues, metrics), the target invokers, input transformation, and the secrets delivery needs kept
 * encrypted at rest.
 */
export {
  DeliveryError,
  deadLetterArnOf,
  type DeliveryErrorOptions,
  type Invocation,
  type TargetInvoker,
} from "./types.js";
export {
  SECRETS_KEY_BYTES,
  SECRETS_KEY_ENV,
  SECRETS_KEY_FILE,
  SecretBox,
  SecretBoxError,
  SecretBoxErrorCode,
  openSecretBox,
  readAuthParameters,
} from "./secrets.js";
export {
  DEFAULT_ROTATION_GRACE_SECONDS,
  MAX_SIGNING_SECRETS,
  SigningSecrets,
  TooManySigningSecretsError,
  isSigningSecret,
  newSigningSecret,
  type Sealer,
  type SigningSecret,
} from "./signing-secrets.js";
export { shownTargetArn } from "./shown-arn.js";
export { createDelivery, type Delivery, type DeliveryDependencies } from "./system.js";
export { countAccepted, DeliveryEngine, type DeliveryEngineOptions } from "./engine.js";
export {
  checkBrokerUri,
  holdsPlainSecret,
  isBrokerUri,
  openTarget,
  parseBrokerUri,
  redactUri,
  sealTarget,
} from "./brokers/index.js";
export {
  checkWebhookUrl,
  httpParameterValueProblem,
  isReservedHeader,
  isWebhookArn,
  parseAllowedNetworks,
} from "./http/index.js";
export { TransformError, compileTransform, type TransformContext } from "./transform.js";
