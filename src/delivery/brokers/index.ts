/**
 * Target invokers for the message brokers users already run: NATS (core and JetStream), RabbitMQ
 * (AMQP 0-9-1), MQTT brokers and Redis streams. A target's ARN is a URI; its scheme picks the broker.
 * docs/targets-brokers.md is the user-facing version of this comment.
 *
 * URI forms (userinfo and query values percent-encoded; unknown query parameters are refused):
 *
 * - `nats://[user:pass@ | token@]host[:4222]/<subject>[?jetstream=true][&token=<t>][&tls=true]`
 *   Core publish, resolved after a PING/PONG round trip proves the server read it (core NATS has no
 *   acknowledgement). With `jetstream=true`, a JetStream publish resolved on the stream's PubAck, with
 *   `Nats-Msg-Id: <deliveryId>` so a retried delivery is stored once within the duplicate window.
 *   Headers: `Content-Type: application/json` (`text/plain; charset=utf-8` for text an InputTransformer made), `Busbar-Delivery-Id`, `Busbar-Event-Id`. A user name
 *   without a password is a token, as in the other NATS clients. The subject may not hold wildcards.
 * - `amqp[s]://[user:pass@]host[:5672|5671][/<vhost>]?exchange=<x>[&routingKey=<k>][&mandatory=false]`
 *   The path is the virtual host, as in RabbitMQ's URI spec (none, `/` or `/%2F` is the default `/`),
 *   so exchange and routing key are query parameters; `?routingKey=<queue>` alone publishes through
 *   the default exchange straight to a queue. A persistent, mandatory message on a confirm channel,
 *   resolved on basic.ack; properties `content_type: application/json` (or `text/plain; charset=utf-8`, as for NATS), `message_id: <deliveryId>`,
 *   `app_id: busbar`, `timestamp`, header `busbar-event-id`.
 * - `mqtt[s]://[user:pass@]host[:1883|8883]/<topic>[?qos=0|1][&retain=true][&protocolVersion=4|5]`
 *   The whole path after the first `/` is the topic (it may contain `/`; `%2B`/`%23` wildcards are
 *   refused). QoS 1 (default) resolves on PUBACK; QoS 0 once written. MQTT 5 by default, with
 *   `content-type: application/json` (or `text/plain; charset=utf-8`, as for NATS) and user properties `busbar-delivery-id`, `busbar-event-id`.
 * - `redis[s]://[[user]:pass@]host[:6379][/<db>]?stream=<key>[&maxlen=<n>]`
 *   The path is the database number (IANA's redis URI scheme), so the stream is a query parameter.
 *   `XADD <key> [MAXLEN ~ <n>] * event <payload> delivery-id <deliveryId> event-id <eventId>`.
 *
 * Connections are pooled per endpoint, credentials and connection options (not per subject, exchange,
 * topic or stream), opened by the first invocation that needs one, shared by all later ones, forgotten
 * when the broker drops them or stops answering (heartbeats; for Redis, a command unanswered for
 * `timeoutMs`), the next invocation reconnecting (none of the clients' own reconnect loops or offline
 * buffers are used, so a publish during an outage fails at once and retryably), and closed after
 * {@link BrokerInvokerOptions.idleTimeoutMs} unused. A connect not finished within `timeoutMs` + 1 s is
 * given up and its socket closed; `close()` ends within 2 s whatever state the connections are in.
 *
 * Connections go only to public addresses and to the networks listed in BUSBAR_ALLOW_TARGET_NETWORKS
 * (network.ts; the invoker's `allowedNetworks`), as HTTP targets' do.
 *
 * Failures are {@link DeliveryError}s with a code from {@link BROKER_ERROR_CODES}: connection loss,
 * timeouts, nacks and transient broker refusals are retryable; an invalid URI, refused credentials or
 * permissions, an oversized payload or a wrong-type key are not; a missing stream or exchange and an
 * unroutable message are retryable for `resourceNotFoundAttempts` attempts, then final. Messages carry
 * the redacted URI ({@link redactUri}), never a password or token.
 */
export { BROKER_ERROR_CODES, type BrokerErrorCode } from "./errors.js";
export {
  createBrokerInvoker,
  DEFAULT_BROKER_IDLE_TIMEOUT_MS,
  DEFAULT_BROKER_TIMEOUT_MS,
  DEFAULT_RESOURCE_NOT_FOUND_ATTEMPTS,
  type BrokerInvoker,
  type BrokerInvokerOptions,
  type BrokerInvokerStats,
} from "./invoker.js";
export type { PoolStats } from "./pool.js";
export { SEALED_ARN_PREFIX, holdsPlainSecret, openTarget, sealTarget } from "./sealed-targets.js";
export {
  checkBrokerUri,
  isBrokerUri,
  parseBrokerUri,
  redactUri,
  BrokerUriError,
  type AmqpTarget,
  type BrokerTarget,
  type MqttTarget,
  type NatsTarget,
  type RedisTarget,
} from "./uri.js";
