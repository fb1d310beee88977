/**
 * BUSBAR_MAX_CONNECTIONS on a real `busbar serve`, in both HTTP modes: past it, the connection idle
 * longest makes room for a new one; else the one whose request has crawled slowest for a second; else
 * the oldest long poll, answered at once; with every connection in the middle of a request that moves,
 * a new one is closed as it comes, and once one closes, the next is served.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { Agent } from "node:http";
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { clientOf } from "../src/server/index.js";
import {
  removeDataDir,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./support/busbar-process.js";

/** Header lines naming the root key (a made-up signature): a large body is let in, read, then refused. */
const NAMES_A_KEY =
  "x-amz-date: 20261206T000000Z\r\n" +
  `authorization: AWS4-HMAC-SHA256 Credential=${TEST_ROOT.accessKeyId}/20261206/us-east-1/events/aws4_request, ` +
  `SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}\r\n`;

/**
 * A connection to `url` (from `localAddress`, a client of its own to the limit's share), once
 * connected; `answer()` is what came back on it so far.
 */
async function opened(
  url: string,
  localAddress?: string,
): Promise<{ socket: Socket; closed: Promise<void>; answer: () => string }> {
  const { hostname, port } = new URL(url);
  const socket = connect({
    port: Number(port),
    host: hostname,
    ...(localAddress !== undefined && { localAddress }),
  });
  socket.on("error", () => undefined);
  let answer = "";
  socket.on("data", (c: Buffer) => (answer += c.toString()));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise((resolve) => socket.once("connect", resolve));
  return { socket, closed, answer: () => answer };
}

/** A connection whose request has sent its headers and the first byte of its 100-byte body. */
async function uploadBegun(url: string, localAddress?: string): ReturnType<typeof opened> {
  const upload = await opened(url, localAddress);
  upload.socket.write(
    "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\n" +
      "x-amz-target: AWSEvents.ListEventBuses\r\ncontent-length: 100\r\n\r\n{",
  );
  return upload;
}

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

    it("closes the connection idle longest to make room: one that sent nothing, then one between requests", async () => {
      const { hostname, port } = new URL(server.url);
      // Opened and left silent (as 10,000 of them kept every client out for two minutes).
      const silent = connect(Number(port), hostname);
      silent.on("error", () => undefined);
      const silentClosed = new Promise<void>((resolve) => silent.once("close", () => resolve()));
      await new Promise((resolve) => silent.once("connect", resolve));
      // Idle for longer than IDLE_AFTER_MS (a connection just opened may have its request on its way).
      await new Promise((resolve) => setTimeout(resolve, 150));
      const held = [await healthz(server.url), await healthz(server.url)];
      // The fourth: the silent one goes.
      const fourth = await healthz(server.url);
      assert.match(fourth.answer, /^HTTP\/1\.1 200 /);
      await silentClosed;
      // The fifth: the one idle longest now, the first that asked for /healthz.
      await new Promise((resolve) => setTimeout(resolve, 150));
      const firstClosed = new Promise<void>((resolve) => held[0]?.socket.once("close", () => resolve()));
      const fifth = await healthz(server.url);
      assert.match(fifth.answer, /^HTTP\/1\.1 200 /);
      await firstClosed;
      for (const h of [...held, fourth, fifth]) h.socket.destroy();
    });

    it("does not take a connection whose request's headers are on their way for an idle one", async () => {
      const sending = await opened(server.url);
      sending.socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n"); // its headers begun, not ended
      await new Promise((resolve) => setTimeout(resolve, 50));
      const silent = await opened(server.url);
      const also = await opened(server.url);
      await new Promise((resolve) => setTimeout(resolve, 150));
      // A fourth: the silent one idle longest goes, not the older one sending its request.
      const fourth = await healthz(server.url);
      assert.match(fourth.answer, /^HTTP\/1\.1 200 /);
      await silent.closed;
      sending.socket.write("\r\n");
      for (let tries = 0; !sending.answer().includes("ok\n") && tries < 50; tries++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.match(sending.answer(), /^HTTP\/1\.1 200 /);
      for (const s of [sending.socket, also.socket, fourth.socket]) s.destroy();
    });

    it("closes at once a connection whose client ended its side in the middle of a request's body", async () => {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      socket.on("error", () => undefined);
      let answer = "";
      socket.on("data", (c: Buffer) => (answer += c.toString()));
      const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write(
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\n" +
          "x-amz-target: AWSEvents.ListEventBuses\r\ncontent-length: 1000\r\n\r\n0123456789",
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const ended = Date.now();
      socket.end();
      // Not held (as a request in hand, past the limit's eviction) until the body's time runs out.
      const at = await Promise.race([
        closed,
        new Promise<number>((resolve) => setTimeout(() => resolve(-1), 3_000)),
      ]);
      assert.ok(at !== -1, "the server kept the connection");
      assert.ok(at - ended < 2_000, `closed ${at - ended} ms after the client ended its side`);
      assert.equal(answer, "");
    });

    it("closes the connection whose request body has crawled slowest for a second to make room", async () => {
      // Three uploads that sent their headers and the body's first byte; one goes on a byte at a time.
      const uploads = await Promise.all([1, 2, 3].map(() => uploadBegun(server.url)));
      const [crawling, ...stalled] = uploads as [(typeof uploads)[0], ...typeof uploads];
      const trickle = setInterval(() => crawling.socket.write(" "), 50);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1_300));
        const fourth = await healthz(server.url);
        assert.match(fourth.answer, /^HTTP\/1\.1 200 /, "a fourth connection is served");
        // One of the two stalled ones went (unanswered), not the one still crawling.
        await Promise.race(stalled.map((u) => u.closed));
        assert.equal(stalled.filter((u) => u.socket.destroyed || u.socket.readableEnded).length, 1);
        assert.ok(!crawling.socket.destroyed && !crawling.socket.readableEnded, "the crawling one stays");
        assert.equal(crawling.answer(), "");
        fourth.socket.destroy();
      } finally {
        clearInterval(trickle);
        for (const u of uploads) u.socket.destroy();
      }
    });

    it("closes at once a connection whose body is read only to be dropped, to make room", async () => {
      // Bodies refused before they are read (over the size limit; large, naming no key), still
      // arriving: read and dropped until they end. The fourth connection takes the place of one.
      const refused = await Promise.all([1, 2, 3].map(() => opened(server.url)));
      const posts = [
        "content-length: 6000000\r\n", // over BUSBAR_MAX_BODY_BYTES
        "content-length: 100000\r\n", // large, and no key named
        "transfer-encoding: chunked\r\n", // chunked, and no key named
      ];
      refused.forEach((r, i) =>
        r.socket.write(
          "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\n" +
            `x-amz-target: AWSEvents.ListEventBuses\r\n${posts[i] ?? ""}\r\n` +
            (i === 2 ? "10\r\n{}{}{}{}{}{}{}{}\r\n" : "{}"),
        ),
      );
      const trickle = setInterval(() => {
        for (const [i, r] of refused.entries()) if (i < 2) r.socket.write(" ");
      }, 50);
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const fourth = await healthz(server.url);
        assert.match(fourth.answer, /^HTTP\/1\.1 200 /, "a fourth connection is served");
        await Promise.race(refused.map((r) => r.closed));
        fourth.socket.destroy();
      } finally {
        clearInterval(trickle);
        for (const r of refused) r.socket.destroy();
      }
    });

    it("counts a body's recent pace, not its average: one sent in a burst that then stops is stalled", async () => {
      // Three bodies of 400 KB naming a key: 100 KB at once, then nothing (100 KB over 2.4 s is 41 KB/s
      // on average, over the 16 KiB/s a stalled body is under).
      const uploads = await Promise.all([1, 2, 3].map(() => opened(server.url)));
      for (const u of uploads) {
        u.socket.write(
          "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\n" +
            `x-amz-target: AWSEvents.PutEvents\r\n${NAMES_A_KEY}content-length: 400000\r\n\r\n`,
        );
      }
      // Once the server reads them.
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const u of uploads) u.socket.write("x".repeat(100_000));
      try {
        // A look at them after a second (a new connection at the limit is what looks), and another
        // after one more: since the first, nothing came.
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        (await healthz(server.url)).socket.destroy();
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        const next = await healthz(server.url);
        assert.match(next.answer, /^HTTP\/1\.1 200 /, "a connection is served");
        await Promise.race(uploads.map((u) => u.closed));
        next.socket.destroy();
      } finally {
        for (const u of uploads) u.socket.destroy();
      }
    });

    it("closes a connection that sends more than headers can hold without a request (empty lines), at any pace", async () => {
      const lines = await Promise.all([1, 2, 3].map(() => opened(server.url)));
      // 40 KB a second of empty lines, which the parser passes over before a request line.
      const stream = setInterval(() => {
        for (const l of lines) l.socket.write("\r\n".repeat(1000));
      }, 50);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        const fourth = await healthz(server.url);
        assert.match(fourth.answer, /^HTTP\/1\.1 200 /, "a fourth connection is served");
        await Promise.race(lines.map((l) => l.closed));
        fourth.socket.destroy();
      } finally {
        clearInterval(stream);
        for (const l of lines) l.socket.destroy();
      }
    });

    it("closes the connection whose request headers have crawled for a second to make room", async () => {
      const sending = await Promise.all([1, 2, 3].map(() => opened(server.url)));
      for (const s of sending) s.socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n"); // not ended
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      const fourth = await healthz(server.url);
      assert.match(fourth.answer, /^HTTP\/1\.1 200 /);
      await Promise.race(sending.map((s) => s.closed));
      for (const s of [...sending.map((s) => s.socket), fourth.socket]) s.destroy();
    });

    it("answers the oldest long poll at once, without messages, to make room when every connection waits on one a second or more", async () => {
      const sqs = sqsClient(server.url);
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `polls-${mode}` }));
      const aborts: AbortController[] = [];
      const started = Date.now();
      const polls = [1, 2, 3].map(async (i) => {
        // One after the other, so that the first is the oldest.
        await new Promise((resolve) => setTimeout(resolve, i * 150));
        const abort = new AbortController();
        aborts.push(abort);
        const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }), {
          abortSignal: abort.signal,
        });
        return { i, out, after: Date.now() - started };
      });
      const settled = polls.map((p) => p.catch(() => undefined));
      try {
        // All three waiting, the oldest for less than a second: none is ended for a new connection
        // (its client may be a poller whose poll was just ended, polling again).
        await new Promise((resolve) => setTimeout(resolve, 600));
        const early = await healthz(server.url);
        if (Date.now() - started < 1_100) assert.equal(early.answer, "", "no poll ended before its second");
        early.socket.destroy();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const fourth = await healthz(server.url);
        assert.match(fourth.answer, /^HTTP\/1\.1 200 /, "a fourth connection is served");
        const first = await Promise.race(polls);
        assert.equal(first.i, 1, "the oldest long poll is the one answered");
        assert.equal(first.out.Messages, undefined);
        assert.ok(first.after < 5_000, `answered after ${first.after} ms`);
        fourth.socket.destroy();
      } finally {
        for (const a of aborts) a.abort();
        await Promise.all(settled);
        sqs.destroy();
      }
    });

    it("closes the youngest connection not being served of the client holding the most, for a new one from a client holding fewer", async () => {
      // From 127.0.0.2: a long poll (its request all there: being served), then two uploads begun,
      // less than a second ago (not stalled yet).
      const sqs = new SQSClient({
        endpoint: server.url,
        region: "us-east-1",
        credentials: TEST_ROOT,
        maxAttempts: 1,
        requestHandler: { httpAgent: new Agent({ keepAlive: true, localAddress: "127.0.0.2" }) },
      });
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `share-${mode}` }));
      const abort = new AbortController();
      const poll = sqs
        .send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }), { abortSignal: abort.signal })
        .then(
          () => "answered",
          () => "aborted",
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const uploads = await Promise.all([1, 2].map(() => uploadBegun(server.url, "127.0.0.2")));
      try {
        // Another client: the youngest upload makes room; the older one and the long poll (being
        // served) stay.
        const other = await healthz(server.url);
        assert.match(other.answer, /^HTTP\/1\.1 200 /, "a connection from 127.0.0.1 is served");
        await uploads[1]?.closed;
        assert.equal(uploads[0]?.socket.destroyed, false);
        other.socket.destroy();
        // (A new connection from the address holding the most is closed as it comes, as before: the
        // next test's, all from 127.0.0.1.)
        assert.equal(
          await Promise.race([poll, new Promise((r) => setTimeout(() => r("waiting"), 100))]),
          "waiting",
        );
      } finally {
        abort.abort();
        await poll;
        for (const u of uploads) u.socket.destroy();
        sqs.destroy();
      }
    });

    it("closes a connection past the limit as it comes while every one has a request in hand, and serves the next once one is answered", async () => {
      // Three uploads under way: each has sent its headers and part of its body.
      const uploading = (await Promise.all([1, 2, 3].map(() => uploadBegun(server.url)))).map(
        (u) => u.socket,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const refused = await healthz(server.url);
      assert.equal(refused.answer, "", "a fourth connection is closed unanswered");
      assert.ok(refused.socket.destroyed || refused.socket.readableEnded);
      // One upload ends (its request is answered: unsigned, refused): its connection makes room.
      uploading[0]?.write(`${" ".repeat(98)}}`);
      let next = await healthz(server.url);
      for (let tries = 0; next.answer === "" && tries < 50; tries++) {
        await new Promise((r) => setTimeout(r, 20));
        next = await healthz(server.url);
      }
      assert.match(next.answer, /^HTTP\/1\.1 200 /);
      for (const s of uploading) s.destroy();
      next.socket.destroy();
    });
  });
}

describe("the connection limit's share between two flooding clients", () => {
  it("takes from the client holding the most, though none holds more than half", async () => {
    const server = await startBusbar({ env: { BUSBAR_MAX_CONNECTIONS: "4" } });
    const sockets: Socket[] = [];
    try {
      // Uploads begun: young, not stalled, not being served.
      const upload = async (localAddress: string): ReturnType<typeof uploadBegun> => {
        const begun = await uploadBegun(server.url, localAddress);
        sockets.push(begun.socket);
        return begun;
      };
      const a = [await upload("127.0.0.2"), await upload("127.0.0.2")];
      const b = [await upload("127.0.0.4"), await upload("127.0.0.4")];
      // 127.0.0.3 holds none: a connection of one of the two makes room (the youngest of 127.0.0.2's).
      const probe = await healthz(server.url);
      assert.match(probe.answer, /^HTTP\/1\.1 200 /, "a third client is served");
      await a[1]?.closed;
      assert.equal(a[0]?.socket.destroyed, false);
      assert.ok(b.every((u) => !u.socket.destroyed));
      probe.socket.destroy();
    } finally {
      for (const s of sockets) s.destroy();
      await server.stop();
      removeDataDir(server.dataDir);
    }
  });
});

describe("the clients the connection limit's share counts", () => {
  it("are IPv4 addresses, IPv4-mapped ones included, and IPv6 /64 networks", () => {
    assert.equal(clientOf("127.0.0.2"), "127.0.0.2");
    assert.equal(clientOf("::ffff:127.0.0.2"), "127.0.0.2");
    assert.equal(clientOf("::FFFF:10.1.2.3"), "10.1.2.3");
    assert.equal(clientOf("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    assert.equal(clientOf("2001:db8:1:2::99"), "2001:db8:1:2::/64", "one host's /64 is one client");
    assert.equal(clientOf("2001:0db8:0001:0002:ffff::1"), "2001:db8:1:2::/64");
    assert.equal(clientOf("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(clientOf("::1"), "0:0:0:0::/64");
    assert.equal(clientOf("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.notEqual(clientOf("2001:db8:1:3::1"), clientOf("2001:db8:1:2::1"));
    assert.equal(clientOf("64:ff9b::192.0.2.33"), "192.0.2.33", "NAT64: each IPv4 host a client");
    assert.equal(clientOf("64:ff9b::c000:221"), "192.0.2.33");
    assert.equal(clientOf(undefined), "");
  });
});
