/**
 * NATS targets: a core publish confirmed by a PING/PONG round trip (`flush`), or with `?jetstream=true`
 * a JetStream publish that resolves on the stream's PubAck, with `Nats-Msg-Id` set to the delivery id
 * so a retried delivery is stored once (within the stream's duplicate window).
 * @see https://docs.nats.io/reference/reference-protocols/nats-protocol#pub
 * @see https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication
 */
import type { MsgHdrs, NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import type { JetStreamClient } from "@nats-io/jetstream";
import { DeliveryError, payloadContentType, type Invocation } from "../types.js";
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
import type { NatsTarget } from "./uri.js";
import { natsConnector } from "./nats-transport.js";
import { checkHost } from "../http/index.js";
import { refusedConnect } from "./network.js";

const nats = onFirstUse(async () => {
  const core = await import("@nats-io/transport-node");
  return {
    core,
    js: await import("@nats-io/jetstream"),
    connect: natsConnector(core, await import("@nats-io/transport-node/lib/node_transport.js")),
  };
});

/** Client pings every 20 s; two unanswered pings close the connection. */
const PING_INTERVAL_MS = 20_000;
const MAX_PINGS_OUT = 2;

interface NatsHandle {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  /** The client's message headers, made per publish. */
  headers(): MsgHdrs;
  /**
   * `work`, or its rejection once the connection closes: a pending flush or request is not settled by
   * the client then. (Not a race against one promise of the connection's life: each race would leave
   * its reactions on it until the connection closed, about 420 bytes per publish.)
   */
  whileOpen<T>(work: Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Publishes to NATS subjects, one pooled connection per server and credentials. */
export class NatsPublisher implements BrokerPublisher<NatsTarget> {
  readonly #pool: ConnectionPool<NatsHandle>;
  readonly #settings: PublisherSettings;

  constructor(settings: PublisherSettings) {
    this.#settings = settings;
    this.#pool = new ConnectionPool(settings.idleTimeoutMs, connectTimeoutMs(settings));
  }

  async publish(target: NatsTarget, invocation: Invocation, expired?: AbortSignal): Promise<void> {
    try {
      await this.#pool.use(
        target,
        (gone, abandoned) => this.#open(target, gone, abandoned),
        (handle) => send(handle, target, invocation, this.#settings.timeoutMs),
        invocation.wanted,
        expired,
      );
    } catch (error) {
      throw classify(error, target, invocation, this.#settings);
    }
  }

  stats(): PoolStats {
    return this.#pool.stats();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  async #open(target: NatsTarget, gone: () => void, abandoned: AbortSignal): Promise<NatsHandle> {
    const options: NodeConnectionOptions = {
      servers: `${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port}`,
      name: CONNECTION_NAME,
      // Busbar reconnects itself on the next invocation; the client's own reconnect would hold
      // publishes in a buffer during an outage instead of failing them.
      reconnect: false,
      timeout: connectTimeoutMs(this.#settings),
      pingInterval: PING_INTERVAL_MS,
      // Busbar connects to the server its target names, never to the servers it gossips.
      ignoreClusterUpdates: true,
      maxPingOut: MAX_PINGS_OUT,
    };
    if (target.username !== undefined) options.user = target.username;
    if (target.password !== undefined) options.pass = target.password;
    if (target.token !== undefined) options.token = target.token;
    if (target.tls) options.tls = {};
    const { guard } = this.#settings;
    // An IP literal is refused here, with its reason; a name resolves through the guard, and every
    // address the client dials is checked (nats-transport.ts).
    if (guard !== undefined) {
      const refused = checkHost(target.host, { allowed: guard.allowed });
      if (refused !== undefined) throw refused;
    }
    const { core, js, connect } = await nats();
    const nc = await connect(options, abandoned, guard);
    const open = new WhileOpen();
    void nc.closed().then((error) => {
      gone();
      open.closed(
        new ConnectionLostError("the connection closed before the server acknowledged", { cause: error }),
      );
    });
    return {
      nc,
      whileOpen: (work) => open.wait(work),
      js: js.jetstream(nc, { timeout: this.#settings.timeoutMs }),
      headers: core.headers,
      close: async () => {
        try {
          await nc.close();
        } catch {
          // Already closed.
        }
      },
    };
  }
}

async function send(
  handle: NatsHandle,
  target: NatsTarget,
  invocation: Invocation,
  timeoutMs: number,
): Promise<void> {
  const data = Buffer.from(invocation.payload);
  const h = handle.headers();
  h.set("Content-Type", payloadContentType(invocation));
  h.set("Busbar-Delivery-Id", invocation.deliveryId);
  h.set("Busbar-Event-Id", invocation.event.id);
  if (target.jetstream) {
    // msgID sets Nats-Msg-Id; a duplicate within the window is acknowledged with duplicate: true.
    const ack = handle.js.publish(target.subject, data, {
      msgID: invocation.deliveryId,
      headers: h,
      timeout: timeoutMs,
    });
    await handle.whileOpen(ack);
  } else {
    handle.nc.publish(target.subject, data, { headers: h });
    await handle.whileOpen(handle.nc.flush());
  }
}

/**
 * The calls waiting on a connection, each settled as its own work settles or rejected when the
 * connection closes first; a call holds nothing once it is settled.
 */
export class WhileOpen {
  readonly #waiting = new Set<(error: Error) => void>();
  #lost: Error | undefined;

  /** `work`, or `error` of {@link closed} if that comes first (at once, once closed). */
  wait<T>(work: Promise<T>): Promise<T> {
    if (this.#lost !== undefined) {
      work.catch(() => undefined);
      return Promise.reject(this.#lost);
    }
    return new Promise<T>((resolve, reject) => {
      this.#waiting.add(reject);
      work.then(
        (value) => {
          this.#waiting.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.#waiting.delete(reject);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  /** The connection closed: the calls waiting, and every later one, fail with `error`. */
  closed(error: Error): void {
    this.#lost = error;
    for (const reject of this.#waiting) reject(error);
    this.#waiting.clear();
  }

  /** How many calls wait. */
  get waiting(): number {
    return this.#waiting.size;
  }
}

/** The connection closed under a pending publish. */
class ConnectionLostError extends Error {
  override readonly name = "ConnectionLostError";
}

function classify(
  error: unknown,
  target: NatsTarget,
  invocation: Invocation,
  settings: PublisherSettings,
): unknown {
  if (error instanceof DeliveryError) return error;
  const detail = describeCause(error, target.secrets);
  const what = `NATS publish to ${target.display}`;
  const refused = refusedConnect(error, what);
  if (refused !== undefined) return refused;
  const library = nats.loaded();
  if (library === undefined) return brokerError("CONNECTION_FAILED", `${what}: ${detail}`, true, error);
  const {
    core: {
      AuthorizationError,
      InvalidArgumentError,
      RequestError,
      TimeoutError,
      UserAuthenticationExpiredError,
    },
    js: { JetStreamApiError },
  } = library;
  if (error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError) {
    return brokerError(
      "NO_PERMISSIONS",
      `${what}: the server refused the credentials (${detail})`,
      false,
      error,
    );
  }
  if (error instanceof InvalidArgumentError) {
    return brokerError("PAYLOAD_TOO_LARGE", `${what}: ${detail}`, false, error);
  }
  if (error instanceof Error && error.cause instanceof RequestError && error.cause.isNoResponders()) {
    return brokerError(
      "RESOURCE_NOT_FOUND",
      `${what}: no JetStream stream captures subject ${target.subject} (or JetStream is not enabled)`,
      retryMissingResource(invocation, settings),
      error,
    );
  }
  if (error instanceof JetStreamApiError) {
    // 503s (storage full, no quorum) pass; 4xx (message too large for the stream, …) do not.
    return brokerError(
      "BROKER_REJECTED",
      `${what}: JetStream refused: ${detail}`,
      error.status >= 500,
      error,
    );
  }
  if (error instanceof TimeoutError) {
    return brokerError("TIMEOUT", `${what}: no PubAck within ${settings.timeoutMs} ms`, true, error);
  }
  return brokerError("CONNECTION_FAILED", `${what}: ${detail}`, true, error);
}
