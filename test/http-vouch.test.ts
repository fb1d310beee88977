/**
 * The HTTP front's share of the bodies held (BUSBAR_MAX_BYTES_IN_FLIGHT) per access key, on a real
 * server and real sockets, with a vouch that takes a while (a key looked up in the store): a client
 * that goes away while its key is looked up leaves no share behind, counted against its key.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { createHttpServer } from "../src/server/index.js";

const head = (key: string, length: number): string =>
  `POST / HTTP/1.1\r\nHost: x\r\nX-Key: ${key}\r\nContent-Length: ${length}\r\n\r\n`;

describe("the bodies' room per access key", () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createHttpServer({
      maxBodyBytes: 1024 * 1024,
      maxBytesInFlight: 2 * 1024 * 1024,
      requestTimeoutMs: 30_000,
      ready: () => true,
      api: () => Promise.resolve({ status: 200, headers: { "content-type": "text/plain" }, body: "ok" }),
      // A key looked up in the store: 30 ms.
      vouch: async (req) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return String(req.headers["x-key"]);
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  /** Sends a whole body of `length` under `key`; the status line and how long it took. */
  const send = (key: string, length: number): Promise<{ status: string; ms: number }> =>
    new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(head(key, length));
        socket.write(Buffer.alloc(length, 97));
      });
      let got = "";
      socket.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.includes("\r\n\r\n")) {
          socket.destroy();
          resolve({ status: got.split("\r\n")[0] ?? "", ms: Date.now() - started });
        }
      });
      socket.on("error", reject);
    });

  it("takes no share for a request whose client left while its key was looked up", async () => {
    assert.equal((await send("KEYA", 900_000)).status, "HTTP/1.1 200 OK");
    // Headers of a 900 KB body, then gone (reset) before the lookup ends.
    await new Promise<void>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.write(head("KEYA", 900_000));
        setTimeout(() => {
          socket.resetAndDestroy();
          resolve();
        }, 5);
      });
      socket.on("error", () => undefined);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The key's next 900 KB body: let in at once (it waited for room its gone request held, 10 s).
    const next = await send("KEYA", 900_000);
    assert.equal(next.status, "HTTP/1.1 200 OK");
    assert.ok(next.ms < 2_000, `the key's next body waited ${next.ms} ms`);
  });
});
