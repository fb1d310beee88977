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
import { connectToPermitted, refusedConnect } from "./network.js";
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

/** Channels one connection keeps open at most; past it, the least recently used idle one is closed. */
const MAX_CHANNELS = 256;

/** An exchange's channel, and when it was last taken for a publish. */
interface ChannelEntry {
  readonly opening: Promise<ChannelState>;
  state: ChannelState | undefined;
  usedAt: number;
}

/**
 * One AMQP connection, with one confirm channel per exchange (a channel error stays with its
 * exchange). A channel unused for `idleMs` is closed, and at most {@link MAX_CHANNELS} are kept: each
 * exchange ever published to kept its channel, and a connection that had used 2,047 exchanges
 * (RabbitMQ's channel_max) could publish to no new one.
 */
class AmqpConnection {
  readonly #model: ChannelModel;
  readonly #channels = new Map<string, ChannelEntry>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(model: ChannelModel, idleMs: number) {
    this.#model = model;
    this.#sweeper = setInterval(() => this.#closeIdle(Date.now() - idleMs), Math.max(10, idleMs / 2));
    this.#sweeper.unref();
  }

  /** Channels open or opening (for tests). */
  get channels(): number {
    return this.#channels.size;
  }

  /** The open confirm channel for `exchange`, creating it if there is none. */
  channel(exchange: string): Promise<ChannelState> {
    const now = Date.now();
    const existing = this.#channels.get(exchange);
    if (existing !== undefined) {
      existing.usedAt = now;
      return existing.opening;
    }
    if (this.#channels.size >= MAX_CHANNELS) this.#closeLeastUsed();
    const forget = (): void => {
      if (this.#channels.get(exchange) === entry) this.#channels.delete(exchange);
    };
    const opening = this.#createChannel(forget);
    const entry: ChannelEntry = { opening, state: undefined, usedAt: now };
    this.#channels.set(exchange, entry);
    opening.then((state) => (entry.state = state), forget);
    return opening;
  }

  /** The connection closed (by either side): its channels with it. */
  ended(): void {
    clearInterval(this.#sweeper);
    this.#channels.clear();
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    try {
      await this.#model.close();
    } catch {
      // Already closed.
    }
  }

  /** Closes the channels unused since `before` with no publish waiting for its confirm. */
  #closeIdle(before: number): void {
    for (const [exchange, entry] of this.#channels) {
      if (entry.usedAt < before && entry.state !== undefined && entry.state.pending.size === 0)
        this.#closeChannel(exchange, entry);
    }
  }

  /** Makes room for a channel: closes the least recently used one with no publish waiting. */
  #closeLeastUsed(): void {
    let oldest: [string, ChannelEntry] | undefined;
    for (const item of this.#channels) {
      const [, entry] = item;
      if (entry.state === undefined || entry.state.pending.size > 0) continue;
      if (oldest === undefined || entry.usedAt < oldest[1].usedAt) oldest = item;
    }
    if (oldest !== undefined) this.#closeChannel(...oldest);
  }

  #closeChannel(exchange: string, entry: ChannelEntry): void {
    this.#channels.delete(exchange);
    entry.state?.channel.close().catch(() => undefined);
  }

  destroy(): void {
    clearInterval(this.#sweeper);
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
  /** The connections open, for their channels' count. */
  readonly #connections = new Set<AmqpConnection>();

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
    let channels = 0;
    for (const connection of this.#connections) channels += connection.channels;
    return { ...this.#pool.stats(), channels };
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
      // Each permitted address in turn (network.ts), the name kept for TLS.
      model = await connectToPermitted(target.host, this.#settings.guard, (address) =>
        connect(
          { ...options, hostname: address },
          target.tls && address !== target.host
            ? { ...socketOptions, servername: target.host }
            : socketOptions,
        ),
      );
    } catch (error) {
      throw classifyConnect(error, target);
    }
    // Without an "error" listener a connection error would be thrown as an uncaught exception.
    model.on("error", () => undefined);
    const connection = new AmqpConnection(model, this.#settings.channelIdleMs);
    this.#connections.add(connection);
    model.on("close", () => {
      this.#connections.delete(connection);
      connection.ended();
      gone();
    });
    return connection;
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
  const refused = refusedConnect(error, what);
  if (refused !== undefined) return refused;
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
