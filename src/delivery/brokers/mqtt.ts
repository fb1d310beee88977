/**
 * MQTT targets: a QoS 1 PUBLISH that resolves on the broker's PUBACK (MQTT 5 by default, so a refusal
 * comes back as a PUBACK reason code), or with `?qos=0` once the packet is written to the socket.
 * @see https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html#_Toc3901121 (PUBACK)
 * @see https://docs.oasis-open.org/mqtt/mqtt/v5.0/os/mqtt-v5.0-os.html#_Toc3901031 (reason codes)
 */
import { randomUUID } from "node:crypto";
import type { ErrorWithReasonCode, IClientOptions, MqttClient } from "mqtt";
import { payloadContentType, type Invocation } from "../types.js";
import { brokerError, describeCause } from "./errors.js";
import { connectToPermitted, refusedConnect } from "./network.js";
import { ConnectionPool, type PoolStats } from "./pool.js";
import {
  CONNECTION_NAME,
  connectTimeoutMs,
  onFirstUse,
  type BrokerPublisher,
  type PublisherSettings,
} from "./publisher.js";
import type { MqttTarget } from "./uri.js";

/** Keep-alive asked of the broker, in seconds. */
const KEEPALIVE_SECONDS = 30;

/** CONNACK codes that mean the credentials or the client were refused (3.1.1: 4, 5; 5: 0x86, 0x87, 0x8C). */
const REFUSED_CONNECT = new Set([4, 5, 0x86, 0x87, 0x8c]);
/** CONNACK codes that mean a configuration retrying cannot fix (protocol version, client id, bad packet). */
const INVALID_CONNECT = new Set([1, 2, 0x81, 0x82, 0x84, 0x85]);
/** PUBACK reason codes no retry can fix: not authorized, topic name invalid, payload format invalid. */
const FINAL_PUBACK = new Set([0x87, 0x90, 0x99]);

/** One MQTT client, failing its unacknowledged publishes at once when its connection closes. */
class MqttConnection {
  readonly client: MqttClient;
  readonly #inFlight = new Set<(error: Error) => void>();
  #closing: Promise<void> | undefined;

  constructor(client: MqttClient, gone: () => void) {
    this.client = client;
    client.on("error", () => undefined);
    client.on("close", () => {
      gone();
      const error = new Error("connection closed before the broker acknowledged");
      for (const reject of this.#inFlight) reject(error);
      this.#inFlight.clear();
      // The client keeps QoS 1 messages for a resend after reconnecting, which Busbar never does.
      void this.close();
    });
  }

  /** Publishes and waits for the acknowledgement, or for the connection to close. */
  publish(topic: string, payload: Buffer, options: Parameters<MqttClient["publishAsync"]>[2]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        this.#inFlight.delete(fail);
        reject(error);
      };
      this.#inFlight.add(fail);
      this.client.publishAsync(topic, payload, options).then(
        () => {
          this.#inFlight.delete(fail);
          resolve();
        },
        (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
      );
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.client.endAsync(true).catch(() => undefined);
    return this.#closing;
  }
}

/** Publishes to MQTT topics, one pooled connection per broker and credentials. */
export class MqttPublisher implements BrokerPublisher<MqttTarget> {
  readonly #pool: ConnectionPool<MqttConnection>;
  readonly #settings: PublisherSettings;

  constructor(settings: PublisherSettings) {
    this.#settings = settings;
    this.#pool = new ConnectionPool(settings.idleTimeoutMs, connectTimeoutMs(settings));
  }

  async publish(target: MqttTarget, invocation: Invocation, expired?: AbortSignal): Promise<void> {
    await this.#pool.use(
      target,
      (gone, abandoned) => this.#open(target, gone, abandoned),
      (connection) => send(connection, target, invocation),
      invocation.wanted,
      expired,
    );
  }

  stats(): PoolStats {
    return this.#pool.stats();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  async #open(target: MqttTarget, gone: () => void, abandoned: AbortSignal): Promise<MqttConnection> {
    const options: IClientOptions = {
      protocol: target.tls ? "mqtts" : "mqtt",
      host: target.host,
      port: target.port,
      protocolVersion: target.protocolVersion,
      // A client id of its own per connection: two connections with one id would take turns kicking
      // each other off the broker.
      clientId: `${CONNECTION_NAME}-${randomUUID()}`,
      clean: true,
      keepalive: KEEPALIVE_SECONDS,
      // Busbar reconnects itself on the next invocation.
      reconnectPeriod: 0,
      connectTimeout: connectTimeoutMs(this.#settings),
    };
    if (target.username !== undefined) options.username = target.username;
    if (target.password !== undefined) options.password = target.password;
    try {
      // Each permitted address in turn (network.ts), the name kept for TLS.
      const client = await connectToPermitted(target.host, this.#settings.guard, (address) =>
        openClient(
          {
            ...options,
            host: address,
            ...(target.tls && address !== target.host && { servername: target.host }),
          },
          abandoned,
        ),
      );
      return new MqttConnection(client, gone);
    } catch (error) {
      throw classifyConnect(error, target);
    }
  }
}

const mqtt = onFirstUse(() => import("mqtt"));

/** Whether an error is the client's refusal with an MQTT reason code (CONNACK, PUBACK). */
function isReasonCodeError(error: unknown): error is ErrorWithReasonCode {
  const library = mqtt.loaded();
  return library !== undefined && error instanceof library.ErrorWithReasonCode;
}

/**
 * Connects; rejects with the first error, when the connection closes before its CONNACK, or when
 * `abandoned` aborts (the client is then ended).
 */
async function openClient(options: IClientOptions, abandoned: AbortSignal): Promise<MqttClient> {
  const { connect } = await mqtt();
  return new Promise((resolve, reject) => {
    const client = connect(options);
    const settle = (error: Error | undefined): void => {
      client.off("connect", onConnect);
      client.off("error", onError);
      client.off("close", onClose);
      abandoned.removeEventListener("abort", onAbandoned);
      if (error === undefined) {
        resolve(client);
      } else {
        client.on("error", () => undefined);
        client.end(true);
        reject(error);
      }
    };
    const onConnect = (): void => settle(undefined);
    const onError = (error: Error): void => settle(error);
    const onClose = (): void => settle(new Error("the connection closed before the broker's CONNACK"));
    const onAbandoned = (): void => settle(new Error("the connect was abandoned"));
    if (abandoned.aborted) {
      settle(new Error("the connect was abandoned"));
      return;
    }
    abandoned.addEventListener("abort", onAbandoned, { once: true });
    client.on("connect", onConnect);
    client.on("error", onError);
    client.on("close", onClose);
  });
}

async function send(connection: MqttConnection, target: MqttTarget, invocation: Invocation): Promise<void> {
  const properties =
    target.protocolVersion === 5
      ? {
          contentType: payloadContentType(invocation),
          userProperties: {
            "busbar-delivery-id": invocation.deliveryId,
            "busbar-event-id": invocation.event.id,
          },
        }
      : undefined;
  try {
    await connection.publish(target.topic, Buffer.from(invocation.payload), {
      qos: target.qos,
      retain: target.retain,
      ...(properties === undefined ? {} : { properties }),
    });
  } catch (error) {
    const what = `MQTT publish to ${target.display}`;
    const detail = describeCause(error, target.secrets);
    if (isReasonCodeError(error)) {
      if (error.code === 0x87) {
        throw brokerError("NO_PERMISSIONS", `${what}: ${detail}`, false, error);
      }
      throw brokerError("BROKER_REJECTED", `${what}: ${detail}`, !FINAL_PUBACK.has(error.code), error);
    }
    throw brokerError("CONNECTION_FAILED", `${what}: ${detail}`, true, error);
  }
}

function classifyConnect(error: unknown, target: MqttTarget): Error {
  const what = `MQTT connect to ${target.display}`;
  const detail = describeCause(error, target.secrets);
  const refused = refusedConnect(error, what);
  if (refused !== undefined) return refused;
  if (isReasonCodeError(error)) {
    if (REFUSED_CONNECT.has(error.code)) {
      return brokerError(
        "NO_PERMISSIONS",
        `${what}: the broker refused the connection (${detail})`,
        false,
        error,
      );
    }
    if (INVALID_CONNECT.has(error.code)) {
      return brokerError(
        "INVALID_PARAMETER",
        `${what}: the broker refused the connection (${detail})`,
        false,
        error,
      );
    }
  }
  return brokerError("CONNECTION_FAILED", `${what}: ${detail}`, true, error);
}
