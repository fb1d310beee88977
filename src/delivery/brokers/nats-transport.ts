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

type Core = typeof TransportNode;

/** The connect running in this async context: its transports, and the signal that gives it up. */
interface Attempt {
  readonly abandoned: AbortSignal;
  readonly transports: Set<{ abandon(): void }>;
}

const attempts = new AsyncLocalStorage<Attempt>();

/** The most a server may send before its INFO line ends (a server's INFO is a few KB at most). */
export const MAX_INFO_BYTES = 64 * 1024;

/**
 * Opens a NATS connection; rejects soon after `abandoned` aborts, with its socket closed. `resolve`
 * gives a server name's addresses (the client connects to them with the name for TLS); the system's
 * resolver unless given.
 */
export type NatsConnect = (
  options: NodeConnectionOptions,
  abandoned: AbortSignal,
  resolve?: (host: string) => Promise<string[]>,
) => Promise<NatsConnection>;

/** The connect function over the loaded client libraries. */
export function natsConnector(core: Core, transport: typeof NodeTransportModule): NatsConnect {
  class AbandonableTransport extends transport.NodeTransport {
    constructor() {
      super();
      // The client makes its transport after awaits of its own (DNS): the attempt is found through
      // the async context, which follows those awaits, rather than through a shared variable.
      const attempt = attempts.getStore();
      if (attempt === undefined) return;
      attempt.transports.add(this);
      if (attempt.abandoned.aborted) this.abandon();
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

  return async (options, abandoned, resolve) => {
    const attempt: Attempt = { abandoned, transports: new Set() };
    const abandon = (): void => {
      for (const t of attempt.transports) t.abandon();
    };
    abandoned.addEventListener("abort", abandon, { once: true });
    try {
      // What transport-node's connect() does, with this transport. The factory is process-wide, as
      // there: set before each connect, in case another user of the library set its own.
      core.setTransportFactory({
        factory: () => new AbandonableTransport(),
        dnsResolveFn: resolve ?? transport.nodeResolveHost,
      });
      return await attempts.run(attempt, () => core.NatsConnectionImpl.connect(options));
    } finally {
      abandoned.removeEventListener("abort", abandon);
    }
  };
}
