/**
 * BUSBAR_MAX_CONNECTIONS on a real `busbar serve`, in both HTTP modes: past it, a new connection is
 * closed as it comes; once one closes, the next is served.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { removeDataDir, startBusbar, type BusbarProcess } from "./support/busbar-process.js";

/** A keep-alive connection that asked for /healthz: what came back once the reply (or the close) came. */
async function healthz(url: string): Promise<{ socket: Socket; answer: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on("error", () => undefined);
  let answer = "";
  await new Promise<void>((resolve) => {
    socket.on("data", (c: Buffer) => {
      answer += c.toString();
      if (answer.includes("ok\n")) resolve();
    });
    socket.on("close", () => resolve());
    socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
  });
  return { socket, answer };
}

for (const mode of ["main", "front"] as const) {
  describe(`BUSBAR_MAX_CONNECTIONS (HTTP on the ${mode} thread)`, () => {
    let server: BusbarProcess;
    before(async () => {
      server = await startBusbar({
        env: { BUSBAR_MAX_CONNECTIONS: "3", BUSBAR_HTTP_THREADS: mode === "front" ? "1" : "0" },
      });
    });
    after(async () => {
      await server.stop();
      removeDataDir(server.dataDir);
    });

    it("closes a connection past the limit as it comes, and serves the next once one has closed", async () => {
      const held = await Promise.all([1, 2, 3].map(() => healthz(server.url)));
      for (const h of held) assert.match(h.answer, /^HTTP\/1\.1 200 /);
      const refused = await healthz(server.url);
      assert.equal(refused.answer, "", "a fourth connection is closed unanswered");
      assert.ok(refused.socket.destroyed || refused.socket.readableEnded);
      const first = held[0];
      first?.socket.destroy();
      // The server sees the close on its next turn.
      let next = await healthz(server.url);
      for (let tries = 0; next.answer === "" && tries < 50; tries++) {
        await new Promise((r) => setTimeout(r, 20));
        next = await healthz(server.url);
      }
      assert.match(next.answer, /^HTTP\/1\.1 200 /);
      for (const h of [...held, next]) h.socket.destroy();
    });
  });
}
