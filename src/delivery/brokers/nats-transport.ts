/**
 * NATS connects that let go of their socket when they are given up. @nats-io/transport-node 3.3 waits
 * for the server's INFO without a limit of its own; when the client's connect timeout fires it closes
 * the transport, but `NodeTransport.close` ignores a transport that never finished connecting, so the
 * socket stayed open for as long as the silent server kept it: one socket per timed-out connect, for as
 * long as an outage lasted. The transport here closes its socket then, and {@link natsConnector} ties
 * each connect's transports to an AbortSignal, so that the pool can give up on a connect at once.
 * @see https://github.com/nats-io/nats.js/blob/v3.3.1/transport-node/src/node_transport.ts
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Socket } from "node:net";
import type * as TransportNode from "@nats-io/transport-node";
import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import type * as NodeTransportModule from "@nats-io/transport-node/lib/node_transport.js";
import { dialRefusal, guardedResolver, type BrokerGuard } from "./network.js";

type Core = typeof TransportNode;

/**
 * The connect running in this async context: its transports, the signal that gives it up, and the
 * network guard its dials are held to.
 */
interface Attempt {
  readonly abandoned: AbortSignal;
  readonly transports: Set<{ abandon(): void }>;
  readonly guard: BrokerGuard | undefined;
}

const attempts = new AsyncLocalStorage<Attempt>();

/** The most a server may send before its INFO line ends (a server's INFO is a few KB at most). */
export const MAX_INFO_BYTES = 64 * 1024;

/**
 * Opens a NATS connection; rejects soon after `abandoned` aborts, with its socket closed. With a
 * `guard`, a server name resolves to its permitted addresses only (the client connects to them with
 * the name for TLS), and every dial is checked (see {@link dialRefusal}).
 */
export type NatsConnect = (
  options: NodeConnectionOptions,
  abandoned: AbortSignal,
  guard?: BrokerGuard,
) => Promise<NatsConnection>;

/** The connect function over the loaded client libraries. */
export function natsConnector(core: Core, transport: typeof NodeTransportModule): NatsConnect {
  type Dial = Parameters<InstanceType<typeof transport.NodeTransport>["connect"]>;

  class AbandonableTransport extends transport.NodeTransport {
    readonly #guard: BrokerGuard | undefined;

    constructor() {
      super();
      // The client makes its transport after awaits of its own (DNS): the attempt is found through
      // the async context, which follows those awaits, rather than through a shared variable.
      const attempt = attempts.getStore();
      this.#guard = attempt?.guard;
      if (attempt === undefined) return;
      attempt.transports.add(this);
      if (attempt.abandoned.aborted) this.abandon();
    }

    /**
     * Dials a server, unless the connect was given up (the client's dial loop would otherwise go on to
     * every server a server gossiped) or the guard refuses its address (see {@link dialRefusal}).
     */
    override connect(hp: Dial[0], options: Dial[1]): Promise<void> {
      if (this.done) return Promise.reject(new Error("the connect was abandoned"));
      const refused = this.#guard === undefined ? undefined : dialRefusal(hp.hostname, this.#guard);
      if (refused !== undefined) return Promise.reject(refused);
      return super.connect(hp, options);
    }

    override close(err?: Error): Promise<void> {
      // NodeTransport.close does nothing before the transport connected: its socket would stay open.
      if (!this.connected) {
        this.abandon();
        return Promise.resolve();
      }
      return super.close(err);
    }

    /**
     * The server's INFO, given up (its socket destroyed) once more than {@link MAX_INFO_BYTES} came
     * without its line's end: the library joins every chunk received so far on each chunk, so a server
     * that sent bytes without a line break cost time growing with their square (five such connects
     * held another account's webhook deliveries at p50 409 ms, max 1.8 s, in a review).
     */
    override peekInfo(): ReturnType<InstanceType<typeof transport.NodeTransport>["peekInfo"]> {
      const socket = this.socket;
      let seen = 0;
      const guard = (chunk: Buffer): void => {
        seen += chunk.length;
        if (seen > MAX_INFO_BYTES) {
          socket.destroy(new Error(`the server sent ${seen} bytes without completing its INFO line`));
        }
      };
      socket.on("data", guard);
      const info = super.peekInfo();
      void info.then(
        () => socket.off("data", guard),
        () => socket.off("data", guard),
      );
      return info;
    }

    /**
     * Ends the connect: the socket, once dialled, is destroyed, which fails the INFO wait and so the
     * client's connect. (`socket` is unset until the dial completes; `done` makes the transport
     * destroy the socket it then gets.)
     */
    abandon(): void {
      this.done = true;
      (this.socket as Socket | undefined)?.destroy(new Error("the connect was abandoned"));
    }
  }

  return async (options, abandoned, guard) => {
    const attempt: Attempt = { abandoned, transports: new Set(), guard };
    const abandon = (): void => {
      for (const t of attempt.transports) t.abandon();
    };
    abandoned.addEventListener("abort", abandon, { once: true });
    try {
      // What transport-node's connect() does, with this transport. The factory is process-wide, as
      // there: set before each connect, in case another user of the library set its own.
      core.setTransportFactory({
        factory: () => new AbandonableTransport(),
        dnsResolveFn: guard === undefined ? transport.nodeResolveHost : guardedResolver(guard),
      });
      return await attempts.run(attempt, () => core.NatsConnectionImpl.connect(options));
    } finally {
      abandoned.removeEventListener("abort", abandon);
    }
  };
}
