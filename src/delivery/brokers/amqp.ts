/**
 * AMQP 0-9-1 (RabbitMQ) targets: a persistent, mandatory publish on a confirm channel that resolves on
 * the broker's basic.ack. A basic.nack fails the attempt; so does a basic.return, which RabbitMQ sends
 * before the ack of a mandatory message no queue took.
 * @see https://www.rabbitmq.com/docs/confirms#publisher-confirms
 * @see https://www.rabbitmq.com/docs/publishers#unroutable
 */
import type { NetConnectOpts } from "node:net";
import type { ChannelModel, ConfirmChannel, Options, SocketOptions } from "amqplib";
import { payloadContentType, type Invocation } from "../types.js";
import { brokerError, describeCause } from "./errors.js";
import { ConnectionPool, type PoolStats } from "./pool.js";
import {
  CONNECTION_NAME,
  connectTimeoutMs,
  onFirstUse,
  retryMissingResource,
  type BrokerPublisher,
  type PublisherSettings,
} from "./publisher.js";
import type { AmqpTarget } from "./uri.js";

const amqplib = onFirstUse(() => import("amqplib"));

/** Heartbeat asked of the broker, in seconds: a dead peer is noticed within about twice this. */
const HEARTBEAT_SECONDS = 30;
/** AMQP reply codes a channel is closed with (AMQP 0-9-1, section 1.9). */
const REPLY = { ACCESS_REFUSED: 403, NOT_FOUND: 404, PRECONDITION_FAILED: 406 } as const;

/** A publish waiting for its confirm, told when RabbitMQ returned it. */
interface Pending {
  returned: string | undefined;
}

/** A confirm channel, with the error the broker closed it with. */
interface ChannelState {
  readonly channel: ConfirmChannel;
  closed: boolean;
  error: (Error & { code?: unknown }) | undefined;
  readonly pending: Map<string, Pending[]>;
}

/** One AMQP connection, with one confirm channel per exchange (a channel error stays with its exchange). */
class AmqpConnection {
  readonly #model: ChannelModel;
  readonly #channels = new Map<string, Promise<ChannelState>>();

  constructor(model: ChannelModel) {
    this.#model = model;
  }

  /** The open confirm channel for `exchange`, creating it if there is none. */
  channel(exchange: string): Promise<ChannelState> {
    const existing = this.#channels.get(exchange);
    if (existing !== undefined) return existing;
    const forget = (): void => {
      if (this.#channels.get(exchange) === created) this.#channels.delete(exchange);
    };
    const created = this.#createChannel(forget);
    this.#channels.set(exchange, created);
    created.catch(forget);
    return created;
  }

  async close(): Promise<void> {
    try {
      await this.#model.close();
    } catch {
      // Already closed.
    }
  }

  destroy(): void {
    // amqplib's connection keeps its socket as `stream` (not in its types). Destroyed with an error,
    // the socket tells amqplib, which then stops its heartbeat timer (a bare destroy would leave it
    // running, and the process alive).
    const socket = (this.#model.connection as unknown as { stream?: { destroy(error: Error): void } }).stream;
    socket?.destroy(new Error("the broker did not answer the connection's close"));
  }

  /** Opens a confirm channel; `forget` drops it from the map once it closes. */
  async #createChannel(forget: () => void): Promise<ChannelState> {
    const channel = await this.#model.createConfirmChannel();
    const state: ChannelState = { channel, closed: false, error: undefined, pending: new Map() };
    channel.on("error", (error: Error) => {
      state.error = error;
    });
    channel.on("close", () => {
      state.closed = true;
      forget();
    });
    channel.on(
      "return",
      (message: { properties: { messageId?: unknown }; fields: { replyText?: unknown } }) => {
        const waiting = state.pending.get(String(message.properties.messageId));
        const first = waiting?.find((p) => p.returned === undefined);
        if (first !== undefined) {
          first.returned =
            typeof message.fields.replyText === "string" ? message.fields.replyText : "NO_ROUTE";
        }
      },
    );
    return state;
  }
}

/** Publishes to RabbitMQ exchanges, one pooled connection per broker, credentials and virtual host. */
export class AmqpPublisher implements BrokerPublisher<AmqpTarget> {
  readonly #pool: ConnectionPool<AmqpConnection>;
  readonly #settings: PublisherSettings;

  constructor(settings: PublisherSettings) {
    this.#settings = settings;
    this.#pool = new ConnectionPool(settings.idleTimeoutMs, connectTimeoutMs(settings));
  }

  async publish(target: AmqpTarget, invocation: Invocation, expired?: AbortSignal): Promise<void> {
    await this.#pool.use(
      target,
      (gone, abandoned) => this.#open(target, gone, abandoned),
      (connection) => this.#send(connection, target, invocation),
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

  async #open(target: AmqpTarget, gone: () => void, abandoned: AbortSignal): Promise<AmqpConnection> {
    const options: Options.Connect = {
      protocol: target.tls ? "amqps" : "amqp",
      hostname: target.host,
      port: target.port,
      vhost: target.vhost,
      heartbeat: HEARTBEAT_SECONDS,
    };
    if (target.username !== undefined) options.username = target.username;
    if (target.password !== undefined) options.password = target.password;
    const socketOptions: SocketOptions & Pick<NetConnectOpts, "signal"> = {
      // amqplib's timeout is the socket's idle timeout until the handshake is done.
      timeout: connectTimeoutMs(this.#settings),
      clientProperties: { connection_name: CONNECTION_NAME },
      // amqplib hands its socket options to net.connect (tls.connect), whose `signal` destroys the
      // socket: a connect the pool gave up on fails at once. The pool aborts it only before the
      // connect settled.
      signal: abandoned,
    };
    let model: ChannelModel;
    try {
      const { connect } = await amqplib();
      model = await connect(options, socketOptions);
    } catch (error) {
      throw classifyConnect(error, target);
    }
    // Without an "error" listener a connection error would be thrown as an uncaught exception.
    model.on("error", () => undefined);
    model.on("close", gone);
    return new AmqpConnection(model);
  }

  async #send(connection: AmqpConnection, target: AmqpTarget, invocation: Invocation): Promise<void> {
    const what = `AMQP publish to ${target.display}`;
    let state: ChannelState;
    try {
      state = await connection.channel(target.exchange);
    } catch (error) {
      throw brokerError("CONNECTION_FAILED", `${what}: ${describeCause(error, target.secrets)}`, true, error);
    }
    const id = invocation.deliveryId;
    const pending: Pending = { returned: undefined };
    const waiting = state.pending.get(id) ?? [];
    waiting.push(pending);
    state.pending.set(id, waiting);
    const properties: Options.Publish = {
      persistent: true,
      mandatory: target.mandatory,
      contentType: payloadContentType(invocation),
      messageId: id,
      timestamp: Math.floor(Date.now() / 1000),
      appId: CONNECTION_NAME,
      headers: { "busbar-event-id": invocation.event.id },
    };
    try {
      await new Promise<void>((resolve, reject) => {
        try {
          state.channel.publish(
            target.exchange,
            target.routingKey,
            Buffer.from(invocation.payload),
            properties,
            (error: unknown) => (error ? reject(toError(error)) : resolve()),
          );
        } catch (error) {
          // The channel closed between taking it and publishing.
          reject(toError(error));
        }
      });
    } catch (error) {
      throw this.#classifyPublish(toError(error), state, target, invocation);
    } finally {
      waiting.splice(waiting.indexOf(pending), 1);
      if (waiting.length === 0) state.pending.delete(id);
    }
    if (pending.returned !== undefined) {
      throw brokerError(
        "UNROUTABLE",
        `${what}: returned ${pending.returned}: no queue is bound to exchange "${target.exchange}" for routing key "${target.routingKey}"`,
        retryMissingResource(invocation, this.#settings),
      );
    }
  }

  #classifyPublish(error: Error, state: ChannelState, target: AmqpTarget, invocation: Invocation): Error {
    const what = `AMQP publish to ${target.display}`;
    const closedBy = state.error;
    if (!state.closed) {
      // The confirm callback's own error: the broker nacked the message (it could not take
      // responsibility for it, e.g. an internal error or a full queue with overflow=reject-publish).
      return brokerError("BROKER_REJECTED", `${what}: the broker nacked the message`, true, error);
    }
    const detail = describeCause(closedBy ?? error, target.secrets);
    switch (closedBy?.code) {
      case REPLY.NOT_FOUND:
        return brokerError(
          "RESOURCE_NOT_FOUND",
          `${what}: ${detail}`,
          retryMissingResource(invocation, this.#settings),
          closedBy,
        );
      case REPLY.ACCESS_REFUSED:
        return brokerError("NO_PERMISSIONS", `${what}: ${detail}`, false, closedBy);
      case REPLY.PRECONDITION_FAILED:
        return brokerError("BROKER_REJECTED", `${what}: ${detail}`, false, closedBy);
      default:
        return brokerError("CONNECTION_FAILED", `${what}: ${detail}`, true, closedBy ?? error);
    }
  }
}

/**
 * Classifies a failed connect. amqplib gives handshake refusals no code, so its message is the only
 * signal: "Handshake terminated by server: 403 (ACCESS-REFUSED) …" for bad credentials, and
 * "Expected ConnectionOpenOk; got <ConnectionClose …>" when the virtual host is missing or closed to
 * the user (RabbitMQ answers connection.open with 530 NOT_ALLOWED).
 */
function classifyConnect(error: unknown, target: AmqpTarget): Error {
  const detail = describeCause(error, target.secrets);
  const what = `AMQP connect to ${target.display}`;
  if (/^Handshake terminated by server: 403\b/.test(detail)) {
    return brokerError(
      "NO_PERMISSIONS",
      `${what}: the broker refused the credentials (${detail})`,
      false,
      error,
    );
  }
  if (/^Expected ConnectionOpenOk; got <ConnectionClose/.test(detail)) {
    return brokerError(
      "NO_PERMISSIONS",
      `${what}: the broker refused virtual host "${target.vhost}" (it does not exist or the user may not use it)`,
      false,
      error,
    );
  }
  return brokerError("CONNECTION_FAILED", `${what}: ${detail}`, true, error);
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
