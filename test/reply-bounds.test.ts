/**
 * What large replies may hold of a node. ReceiveMessage can answer ten messages of 1 MiB: receives take
 * their messages from the store a bounded number of bytes at a time (BUSBAR_MAX_BYTES_IN_FLIGHT, each
 * reserving MaxNumberOfMessages times the largest message), and the part of a reply its client does not
 * take counts among the bytes in flight, its connection closed once it falls behind while the room is
 * wanted. Real servers, real sockets, in both HTTP modes.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import {
  removeDataDir,
  signedHeaders,
  signedRequestText,
  callAwsJson,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./support/index.js";

/** Room for one body of a 1,000,000-byte message, and no more. */
const ROOM = 1_100_000;
const MESSAGE = "m".repeat(1_000_000);

/** A ReceiveMessage of ten messages, written on a connection of its own that reads nothing yet. */
function unreadReceive(url: string, queueUrl: string): Socket {
  const u = new URL(url);
  const body = JSON.stringify({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 });
  const socket = connect(Number(u.port), u.hostname);
  socket.on("error", () => undefined);
  socket.pause();
  socket.write(signedRequestText(u.host, "AmazonSQS.ReceiveMessage", body, TEST_ROOT));
  return socket;
}

/** Reads what the connection still gives until it ends or `ms` pass: the reply's declared and read body bytes. */
function readWhatComes(
  socket: Socket,
  ms: number,
): Promise<{ status: number; declared: number; read: number; ended: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = (ended: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      const head = all.subarray(0, end).toString();
      const declared = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1);
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      resolve({ status, declared, read: end === -1 ? 0 : all.length - end - 4, ended });
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("close", () => done(true));
    socket.resume();
  });
}

for (const mode of ["main", "front"] as const) {
  describe(`large replies (HTTP on the ${mode} thread)`, () => {
    let server: BusbarProcess;
    let sqs: SQSClient;
    let QueueUrl: string;
    before(async () => {
      server = await startBusbar({
        env: {
          BUSBAR_MAX_BYTES_IN_FLIGHT: String(ROOM),
          BUSBAR_MAX_BODY_BYTES: String(ROOM),
          BUSBAR_HTTP_THREADS: mode === "front" ? "1" : "0",
        },
        // Far less heap than the replies asked for below (60 x 10 MB): only bounds keep the node up.
        nodeArgs: ["--max-old-space-size=160"],
      });
      sqs = sqsClient(server.url);
      QueueUrl =
        (await sqs.send(new CreateQueueCommand({ QueueName: `large-replies-${mode}` }))).QueueUrl ?? "";
      for (let i = 0; i < 10; i++) await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: MESSAGE }));
    });
    after(async () => {
      sqs.destroy();
      await server.stop();
      removeDataDir(server.dataDir);
    });

    it("closes the connection of a reply its client does not take while it fills the room", async () => {
      const socket = unreadReceive(server.url, QueueUrl);
      // Its 10 MB reply is more than the system's socket buffers take (a few MB): the rest waits in the
      // server, over the room, and is given up once it falls behind its pace (a second of grace, then
      // the rest of its 10 MB in 10 s: past what the buffers took, some 5 s in).
      await new Promise((r) => setTimeout(r, 9000));
      const got = await readWhatComes(socket, 5000);
      assert.ok(got.ended, "the server closed the connection");
      // (Its unread bytes may be lost to the reset, head and all.)
      assert.ok(got.status === 0 || got.status === 200, `status ${got.status}`);
      assert.ok(
        !(got.declared > 0 && got.read === got.declared),
        `the reply was cut off (${got.read} of ${got.declared} bytes)`,
      );
      // It was a receive that took the messages: the next one counts their second receive.
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 0,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      assert.ok(Messages.length > 0);
      for (const m of Messages)
        assert.ok(Number(m.Attributes?.ApproximateReceiveCount) >= 2, JSON.stringify(m.Attributes));
      // The node serves others meanwhile, and after.
      const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "after" }));
      assert.ok(sent.MessageId);
    });

    it("lets the accounts waiting for room take turns", async () => {
      const created = await callAwsJson(
        server.url,
        "AWSEvents.CreateAccount",
        { Name: `turns-${mode}` },
        TEST_ROOT,
      );
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const other = sqsClient(server.url, {
        accessKeyId: created.body.AccessKeyId as string,
        secretAccessKey: created.body.SecretAccessKey as string,
      });
      try {
        const small = (await other.send(new CreateQueueCommand({ QueueName: "small" }))).QueueUrl ?? "";
        await other.send(new SendMessageCommand({ QueueUrl: small, MessageBody: "mine" }));
        // Thirty receives of ten 1 MB messages by this account, read as they come (one at a time fits
        // the room), then one receive by the other account.
        const body = JSON.stringify({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 });
        const done: number[] = [];
        const flood = Array.from({ length: 30 }, async () => {
          const r = await fetch(server.url, {
            method: "POST",
            headers: signedHeaders(new URL(server.url).host, "AmazonSQS.ReceiveMessage", body, TEST_ROOT),
            body,
          });
          assert.equal(r.status, 200);
          await r.arrayBuffer();
          done.push(performance.now());
        });
        await new Promise((r) => setTimeout(r, 200));
        const got = await other.send(new ReceiveMessageCommand({ QueueUrl: small }));
        const at = performance.now();
        assert.equal(got.Messages?.[0]?.Body, "mine");
        await Promise.all(flood);
        const before = done.filter((t) => t < at).length;
        // Its turn came after the receive in the store when it asked and the one let in before it, not
        // after all thirty (a few more may have been answered while its reply was read).
        assert.ok(before <= 10, `${before} of the 30 receives were answered before the other account's`);
      } finally {
        other.destroy();
      }
    });

    it("takes messages from the store for many large receives at once a few at a time", async () => {
      // 60 receives of ten 1 MB messages each (VisibilityTimeout 0: every one gets all ten), none of
      // whose replies is read: 600 MB if taken at once, against a heap of 160 MB.
      const sockets = Array.from({ length: 60 }, () => unreadReceive(server.url, QueueUrl));
      try {
        // The receives are answered in turn; the node stays up and serves others throughout.
        for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
          await new Promise((r) => setTimeout(r, 500));
          assert.equal(
            server.child.exitCode,
            null,
            `the server is still running:\n${server.output().slice(-2000)}`,
          );
          const health = await fetch(`${server.url}/healthz`).catch((e: unknown) => {
            throw new Error(`healthz: ${String(e)}\n${server.output().slice(-3000)}`);
          });
          assert.equal(health.status, 200);
        }
        const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "still up" }));
        assert.ok(sent.MessageId);
      } finally {
        for (const s of sockets) s.destroy();
      }
    });
  });
}
