/**
 * A TCP proxy in front of a real broker, for outage tests. It can go down (`stop`: every connection
 * dropped, nothing listening) and come back on the same port (`start` again); accept connections and
 * stay silent (`silent`: read, never forwarded nor closed); or stall (`stall`: stop forwarding on the
 * connections made so far, their sockets left open, as a NAT or firewall that lost a flow's state
 * does); or forward new connections only after `delayMs` (a slow connect). Half-open connections stay open, as a hung server keeps them: only a client that destroys
 * its socket gets rid of one.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export class TcpProxy {
  /** The proxy's side of each client connection still open. */
  readonly clients = new Set<Socket>();
  /** Connections accepted so far. */
  accepted = 0;
  /** Whether new connections are accepted and left unanswered rather than forwarded. */
  silent = false;
  /** How long a new connection waits before it is forwarded (its client's bytes held meanwhile). */
  delayMs = 0;
  /** The port listened on: the first start's, kept for the next start. */
  port = 0;
  readonly #upstreams = new Set<Socket>();
  readonly #stalls: Array<() => void> = [];
  #server: Server | undefined;

  /**
   * @param upstreamPort the real broker's port on 127.0.0.1
   * @param ports where the first start listens (the first free port of the range); any free port
   *   without it
   */
  constructor(
    readonly upstreamPort: number,
    readonly ports?: { readonly first: number; readonly last: number },
  ) {}

  async start(): Promise<this> {
    const server = createServer({ allowHalfOpen: true }, (client) => this.#accept(client));
    if (this.port !== 0) await listen(server, this.port);
    else if (this.ports === undefined) await listen(server, 0);
    else {
      for (let port = this.ports.first; port <= this.ports.last && !server.listening; port += 1) {
        await listen(server, port).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "EADDRINUSE") throw error;
        });
      }
      if (!server.listening) throw new Error(`no free port in ${this.ports.first}-${this.ports.last}`);
    }
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
    return this;
  }

  /** Stops forwarding on every connection made so far; new ones are forwarded (unless `silent`). */
  stall(): void {
    for (const stall of this.#stalls.splice(0)) stall();
  }

  /** Drops every connection and stops listening: the broker "goes down". */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of [...this.clients, ...this.#upstreams]) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted += 1;
    this.clients.add(client);
    client.on("close", () => this.clients.delete(client));
    client.on("error", () => undefined);
    if (this.silent) {
      client.resume();
      return;
    }
    if (this.delayMs > 0) {
      client.pause();
      setTimeout(() => {
        if (!client.destroyed) this.#forward(client);
      }, this.delayMs);
      return;
    }
    this.#forward(client);
  }

  #forward(client: Socket): void {
    const upstream = connect({ host: "127.0.0.1", port: this.upstreamPort });
    this.#upstreams.add(upstream);
    upstream.on("error", () => undefined);
    upstream.on("close", () => {
      this.#upstreams.delete(upstream);
      client.destroy();
    });
    client.on("close", () => upstream.destroy());
    client.pipe(upstream).pipe(client);
    this.#stalls.push(() => {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.resume();
      upstream.resume();
    });
  }
}

/** Listens on `port` of 127.0.0.1 (0: any free one); rejects with the listen error. */
function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once("error", onError);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError);
      resolve();
    });
  });
}
