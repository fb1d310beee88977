/**
 * Admission at the HTTP front: the request bodies a node holds at once are bounded
 * (BUSBAR_MAX_BYTES_IN_FLIGHT; past it, 503 in each API's error shape, with Retry-After, which the AWS
 * SDKs retry), and so is the time a body may take to arrive (BUSBAR_REQUEST_TIMEOUT_MS; past it, 408
 * in the API's shape and the connection closed). Run on a real server with real sockets, in both HTTP
 * modes (the main thread, and the front thread of BUSBAR_HTTP_THREADS=1).
 */
import assert from "node:assert/strict";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import {
  eventBridgeClient,
  printedJson,
  removeDataDir,
  runBusbar,
  signedHeaders,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./support/index.js";

const BUDGET = 1024 * 1024;
const TIMEOUT_MS = 2000;

/** A reply read whole. */
interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  text: string;
}

function readReply(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () =>
      resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }),
    );
    res.on("error", reject);
  });
}

/**
 * A POST that declares `declared` bytes (or none: chunked) and sends only `first` of them now; `rest()`
 * sends the others. Its own connection.
 */
function partialPost(
  url: string,
  headers: Record<string, string>,
  declared: number | undefined,
  first: number,
): { req: ClientRequest; reply: Promise<Reply>; rest: () => void } {
  const u = new URL(url);
  const req = httpRequest({
    host: u.hostname,
    port: u.port,
    method: "POST",
    path: "/",
    agent: false,
    headers: { ...headers, ...(declared !== undefined && { "content-length": String(declared) }) },
  });
  const reply = new Promise<Reply>((resolve, reject) => {
    req.on("response", (res) => void readReply(res).then(resolve, reject));
    req.on("error", reject);
  });
  req.write("x".repeat(first));
  return {
    req,
    reply,
    rest: () => req.end("x".repeat((declared ?? first) - first)),
  };
}

/**
 * An Authorization header naming the test's key, its signature made up: what a request needs for its
 * body to be let in (a request naming no key this server knows takes no share), answered in the end
 * as a signature that does not match.
 */
const NAMES_A_KEY = {
  "x-amz-date": "20261206T000000Z",
  authorization:
    `AWS4-HMAC-SHA256 Credential=${TEST_ROOT.accessKeyId}/20261206/us-east-1/events/aws4_request, ` +
    `SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
};
/** {@link NAMES_A_KEY} as header lines, for requests written by hand. */
const NAMES_A_KEY_LINES = Object.entries(NAMES_A_KEY)
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join("");
const EVENTS = {
  "content-type": "application/x-amz-json-1.1",
  "x-amz-target": "AWSEvents.PutEvents",
  ...NAMES_A_KEY,
};
const SQS_JSON = {
  "content-type": "application/x-amz-json-1.0",
  "x-amz-target": "AmazonSQS.SendMessage",
  ...NAMES_A_KEY,
};
const SQS_QUERY = { "content-type": "application/x-www-form-urlencoded", ...NAMES_A_KEY };

/** Resolves once `done()` holds, checking every 20 ms, or fails after `ms`. */
async function until(done: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) assert.fail("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves once the server has taken the first bytes of a request (a probe round trip after them). */
async function settled(url: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
}

for (const mode of ["main", "front"] as const) {
  /**
   * A long poll of `seconds` on `queueUrl` whose body is padded to 900 KB: it holds that much of the
   * room, its body whole (a body still arriving is held to a pace while others wait), until it is
   * answered.
   */
  const holdingPoll = (url: string, queueUrl: string, seconds: number): Promise<Response> => {
    const pad = JSON.stringify({ QueueUrl: queueUrl, WaitTimeSeconds: seconds, Pad: "p".repeat(900 * 1024) });
    return fetch(url, {
      method: "POST",
      headers: signedHeaders(new URL(url).host, "AmazonSQS.ReceiveMessage", pad, TEST_ROOT),
      body: pad,
    });
  };

  describe(`admission (HTTP on the ${mode} thread)`, () => {
    let server: BusbarProcess;
    let sqs: SQSClient;
    let QueueUrl: string;
    before(async () => {
      server = await startBusbar({
        env: {
          BUSBAR_MAX_BYTES_IN_FLIGHT: String(BUDGET),
          BUSBAR_MAX_BODY_BYTES: String(BUDGET),
          BUSBAR_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
          BUSBAR_HTTP_THREADS: mode === "front" ? "1" : "0",
        },
      });
      sqs = sqsClient(server.url);
      QueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `admission-${mode}` }))).QueueUrl ?? "";
    });
    after(async () => {
      sqs.destroy();
      await server.stop();
      removeDataDir(server.dataDir);
    });

    let another: { accessKeyId: string; secretAccessKey: string } | undefined;
    /** {@link NAMES_A_KEY} with the key of another account (made once). */
    const namesAnotherKey = (): { authorization: string } => {
      another ??= printedJson<{ accessKeyId: string; secretAccessKey: string }>(
        runBusbar(["accounts", "create", "--data-dir", server.dataDir]),
      );
      return { authorization: NAMES_A_KEY.authorization.replace(TEST_ROOT.accessKeyId, another.accessKeyId) };
    };

    it("has a body that does not fit wait for room, unread, and serves it once the bodies before it are answered", async () => {
      // A long poll of a second holds 900 KB of the 1 MiB.
      let released = 0;
      const holder = holdingPoll(server.url, QueueUrl, 1).then((r) => {
        released = Date.now();
        assert.ok(sentAt === 0 && putAt === 0, "served before the room was given back");
        return r;
      });
      await settled(server.url);
      const big = "b".repeat(200 * 1024);
      let sentAt = 0;
      const sent = sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: big })).then((r) => {
        sentAt = Date.now();
        return r;
      });
      await settled(server.url);
      // A small body that would fit beside the holder waits behind the one waiting: first come, first
      // served, so that a large body is not passed over for ever.
      let putAt = 0;
      const put = eventBridgeClient(server.url)
        .send(new PutEventsCommand({ Entries: [{ Source: "admission", DetailType: "t", Detail: "{}" }] }))
        .then((r) => {
          putAt = Date.now();
          return r;
        });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sentAt, 0, "the 200 KB SendMessage was served beside the 900 KB held");
      assert.equal(putAt, 0, "the small PutEvents went ahead of the SendMessage waiting");
      assert.equal((await holder).status, 200);
      const { MessageId } = await sent;
      assert.ok(MessageId);
      assert.equal((await put).FailedEntryCount, 0);
      assert.ok(sentAt >= released && putAt >= released);
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
      assert.equal(got.Messages?.[0]?.Body, big);
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl, ReceiptHandle: got.Messages?.[0]?.ReceiptHandle ?? "" }),
      );
    });

    it("answers 503 with Retry-After in each API's shape to a body that found no room in time; the SDKs retry it", async () => {
      // A long poll holds 900 KB (its body padded) until a message comes.
      const pad = JSON.stringify({ QueueUrl, WaitTimeSeconds: 20, Pad: "p".repeat(900 * 1024) });
      const u = new URL(server.url);
      const holding = fetch(server.url, {
        method: "POST",
        headers: signedHeaders(u.host, "AmazonSQS.ReceiveMessage", pad, TEST_ROOT),
        body: pad,
      });
      await settled(server.url);
      const started = Date.now();
      const refused = (headers: Record<string, string>) => {
        const r = partialPost(server.url, headers, 200 * 1024, 0);
        r.rest();
        return r.reply;
      };
      // A chunked body (no declared length) takes its share as it arrives: its chunk that does not
      // fit waits like the others.
      const chunked = partialPost(server.url, EVENTS, undefined, 64 * 1024);
      chunked.req.write("x".repeat(64 * 1024));
      chunked.req.end("x".repeat(64 * 1024));
      const big = "b".repeat(200 * 1024);
      const [c, e, j, f, sdk] = await Promise.all([
        chunked.reply,
        refused(EVENTS),
        refused(SQS_JSON),
        refused(SQS_QUERY),
        sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: big })).then(
          () => assert.fail("sent"),
          (err: Error) => err,
        ),
      ]);
      const waited = Date.now() - started;
      assert.ok(waited >= TIMEOUT_MS - 100, `refused after ${waited} ms`);

      assert.equal(c.status, 503);
      assert.equal(c.headers["x-amzn-errortype"], "ServiceUnavailableException");
      assert.equal(e.status, 503);
      assert.equal(e.headers["retry-after"], "1");
      assert.equal(e.headers["x-amzn-errortype"], "ServiceUnavailableException");
      const body = JSON.parse(e.text) as { __type: string; message: string };
      assert.equal(body.__type, "ServiceUnavailableException");
      assert.match(body.message, /BUSBAR_MAX_BYTES_IN_FLIGHT/);
      assert.equal(j.status, 503);
      assert.equal(j.headers["x-amzn-query-error"], "ServiceUnavailable;Receiver");
      assert.equal((JSON.parse(j.text) as { __type: string }).__type, "com.amazonaws.sqs#ServiceUnavailable");
      assert.equal(f.status, 503);
      assert.match(f.text, /<Code>ServiceUnavailable<\/Code>/);
      assert.equal(sdk.name, "ServiceUnavailable");
      assert.equal(
        (sdk as unknown as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode,
        503,
      );

      // With retries, the SDK gets through once the long poll is answered.
      const retrying = new SQSClient({ endpoint: server.url, region: "us-east-1", credentials: TEST_ROOT });
      const sent = retrying.send(new SendMessageCommand({ QueueUrl, MessageBody: big }));
      await new Promise((r) => setTimeout(r, TIMEOUT_MS + 500)); // its first attempt refused
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "wake" }));
      const poll = (await (await holding).json()) as { Messages?: Array<{ Body: string }> };
      assert.equal(poll.Messages?.[0]?.Body, "wake");
      const { MessageId } = await sent;
      assert.ok(MessageId);
      assert.ok(((await sent).$metadata.attempts ?? 0) >= 2, "the SDK retried the 503");
      retrying.destroy();
      await sqs.send(new PurgeQueueCommand({ QueueUrl }));
    });

    it("lets no request that names no key it knows take any of the bodies' room", async () => {
      // Two requests declare 900 KB each and send 10 bytes: one with no Authorization, one naming a
      // key that does not exist. Neither takes a share: a signed 200 KB request goes through at once.
      const noKey = partialPost(
        server.url,
        { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSEvents.PutEvents" },
        900 * 1024,
        10,
      );
      const unknownKey = partialPost(
        server.url,
        {
          ...SQS_JSON,
          authorization:
            "AWS4-HMAC-SHA256 Credential=BBNOSUCHKEY000000000/20261206/us-east-1/sqs/aws4_request, " +
            `SignedHeaders=host;x-amz-date;x-amz-target, Signature=${"0".repeat(64)}`,
        },
        900 * 1024,
        10,
      );
      await settled(server.url);
      const started = Date.now();
      const { MessageId } = await sqs.send(
        new SendMessageCommand({ QueueUrl, MessageBody: "b".repeat(200 * 1024) }),
      );
      assert.ok(MessageId);
      assert.ok(
        Date.now() - started < TIMEOUT_MS / 2,
        `the signed request waited ${Date.now() - started} ms`,
      );
      // Each is answered as its API answers such a request, once its body has been read and dropped.
      noKey.rest();
      unknownKey.rest();
      const [n, u] = await Promise.all([noKey.reply, unknownKey.reply]);
      assert.equal(n.status, 400);
      assert.equal(n.headers["x-amzn-errortype"], "MissingAuthenticationTokenException");
      assert.equal(n.headers.connection, "close");
      assert.equal(u.status, 403);
      assert.equal(u.headers["x-amzn-query-error"], "InvalidClientTokenId;Sender");
      assert.equal(
        (JSON.parse(u.text) as { __type: string }).__type,
        "com.amazonaws.sqs#InvalidClientTokenId",
      );
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl, ReceiptHandle: got.Messages?.[0]?.ReceiptHandle ?? "" }),
      );
    });

    it("refuses at once a chunked body that would wait for room only other waiting bodies hold", async () => {
      // Two chunked bodies hold 600 KB and 400 KB of the 1 MiB (of two keys: one key's second body
      // would not be let in past half the room); each then needs 100 KB more.
      const a = partialPost(server.url, EVENTS, undefined, 600 * 1024);
      await settled(server.url);
      const b = partialPost(server.url, { ...EVENTS, ...namesAnotherKey() }, undefined, 400 * 1024);
      await settled(server.url);
      a.req.write("x".repeat(100 * 1024)); // waits: b holds the room, and b is being read
      await settled(server.url);
      const started = Date.now();
      b.req.end("x".repeat(100 * 1024)); // would wait for a, which waits for b: refused
      const refused = await b.reply;
      assert.equal(refused.status, 503, refused.text);
      assert.ok(Date.now() - started < TIMEOUT_MS / 2, `refused after ${Date.now() - started} ms`);
      // Its share given back, a goes on.
      a.req.end("x".repeat(1024));
      const served = await a.reply;
      assert.equal(served.status, 400, served.text); // its signature made up: answered, not refused
    });

    it("has a chunked body wait for room chunk by chunk, its waits not counted against its time to arrive", async () => {
      // A long poll of two seconds holds 900 KB of the 1 MiB.
      const holder = holdingPoll(server.url, QueueUrl, 2);
      await settled(server.url);
      // 64 KB fit beside it; 128 KB more, sent a second later, do not.
      const chunked = partialPost(server.url, EVENTS, undefined, 64 * 1024);
      const started = Date.now();
      let answeredAt = 0;
      void chunked.reply.then(() => (answeredAt = Date.now()));
      await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
      chunked.req.write("x".repeat(128 * 1024));
      assert.equal((await holder).status, 200); // answered, and its share given back
      // Past the timeout since its first bytes, a quarter of it spent waiting for room: neither 408 nor 503.
      await new Promise((r) => setTimeout(r, started + TIMEOUT_MS * 1.15 - Date.now()));
      assert.equal(answeredAt, 0, "the chunked request was answered before its end");
      chunked.req.end("x".repeat(1024));
      const reply = await chunked.reply;
      assert.equal(reply.status, 400, reply.text); // its signature made up: answered, not refused
      assert.doesNotMatch(reply.text, /ServiceUnavailable|RequestTimeout/);
    });

    it("gives a request's share back once it is answered, even to a client that does not read its replies", async () => {
      // Replies to many pipelined GET /metrics fill the socket's buffers (the client reads nothing);
      // the POST after them is answered, its reply queued behind theirs for as long as the client waits.
      const { hostname, port } = new URL(server.url);
      const stuck = connect(Number(port), hostname);
      await new Promise<void>((resolve) => stuck.once("connect", resolve));
      stuck.on("error", () => undefined);
      stuck.pause();
      const body = "x".repeat(900 * 1024);
      stuck.write(
        "GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n".repeat(400) +
          "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\n" +
          `x-amz-target: AWSEvents.PutEvents\r\n${NAMES_A_KEY_LINES}content-length: ${body.length}\r\n\r\n${body}`,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      try {
        const started = Date.now();
        const next = partialPost(server.url, EVENTS, 900 * 1024, 0);
        next.rest();
        const r = await next.reply;
        assert.equal(r.status, 400, r.text); // let in and answered (its signature made up), not refused as busy
        assert.ok(Date.now() - started < TIMEOUT_MS - 500, `let in after ${Date.now() - started} ms`);
      } finally {
        stuck.destroy();
      }
    });

    it("lets a request that asks to continue in before its 100 Continue: none while it waits, a 503 without one", async () => {
      const { hostname, port } = new URL(server.url);
      /** Headers with Expect: 100-continue for a 200 KB body; what comes back, as text. */
      const asking = () => {
        const socket = connect(Number(port), hostname);
        let text = "";
        socket.on("data", (c: Buffer) => (text += c.toString()));
        socket.on("error", () => undefined);
        socket.write(
          "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\n" +
            `x-amz-target: AWSEvents.PutEvents\r\n${NAMES_A_KEY_LINES}expect: 100-continue\r\ncontent-length: 204800\r\n\r\n`,
        );
        return { socket, text: () => text };
      };
      const holder = holdingPoll(server.url, QueueUrl, 1);
      await settled(server.url);
      const waiting = asking();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(waiting.text(), "", "no 100 Continue while it waits for room");
      await holder;
      await until(() => waiting.text().startsWith("HTTP/1.1 100 Continue"));
      waiting.socket.write("x".repeat(204800));
      await until(() => / 400 /.test(waiting.text())); // answered (its signature made up)
      waiting.socket.destroy();

      // No room in time: the 503, and the body is never asked for.
      const pad = JSON.stringify({ QueueUrl, WaitTimeSeconds: 20, Pad: "p".repeat(900 * 1024) });
      const { host } = new URL(server.url);
      const holding = fetch(server.url, {
        method: "POST",
        headers: signedHeaders(host, "AmazonSQS.ReceiveMessage", pad, TEST_ROOT),
        body: pad,
      });
      await settled(server.url);
      const refused = asking();
      await until(() => refused.text().includes("ServiceUnavailableException"), TIMEOUT_MS + 3_000);
      assert.match(refused.text(), /^HTTP\/1\.1 503 /);
      assert.doesNotMatch(refused.text(), /100 Continue/);
      refused.socket.destroy();
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "wake" }));
      await holding; // it took the message
    });

    it("gives up a body that falls behind its pace while others wait for room (408), not one that keeps it", async () => {
      // 900 KB declared, 10 bytes sent: no one waits, so it is let be.
      const laggard = partialPost(server.url, EVENTS, 900 * 1024, 10);
      let laggardAt = 0;
      void laggard.reply.then(() => (laggardAt = Date.now()));
      await new Promise((r) => setTimeout(r, TIMEOUT_MS / 4));
      assert.equal(laggardAt, 0, "given up while no one waited");
      // A signed 200 KB request comes: the laggard is given up for it, long before its 503 would come.
      const started = Date.now();
      const { MessageId } = await sqs.send(
        new SendMessageCommand({ QueueUrl, MessageBody: "b".repeat(200 * 1024) }),
      );
      assert.ok(MessageId);
      assert.ok(
        Date.now() - started < TIMEOUT_MS / 2,
        `the signed request waited ${Date.now() - started} ms`,
      );
      const shed = await laggard.reply;
      assert.equal(shed.status, 408);
      assert.equal(shed.headers.connection, "close");
      const body = JSON.parse(shed.text) as { __type: string; message: string };
      assert.equal(body.__type, "RequestTimeoutException");
      assert.match(body.message, /too slowly while other requests waited for room/);

      // 900 KB sent 100 KB every 100 ms keeps its pace: the 200 KB request waits for it, then goes.
      const paced = partialPost(server.url, EVENTS, 900 * 1024, 100 * 1024);
      let sent = 100 * 1024;
      const pacing = setInterval(() => {
        sent += 100 * 1024;
        if (sent < 900 * 1024) paced.req.write("x".repeat(100 * 1024));
        else {
          clearInterval(pacing);
          paced.req.end("x".repeat(100 * 1024));
        }
      }, 100);
      try {
        await settled(server.url);
        const waited = sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "c".repeat(200 * 1024) }));
        const answered = await paced.reply;
        assert.equal(answered.status, 400, answered.text); // its signature made up: answered, not given up
        assert.ok((await waited).MessageId);
      } finally {
        clearInterval(pacing);
      }
      for (let left = 2; left > 0;) {
        const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
        for (const m of got.Messages ?? []) {
          await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle ?? "" }));
          left--;
        }
      }
    });

    it("holds one key's bodies to half the room while others wait: another key's request goes first", async () => {
      // Three bodies of 400 KB of one key, each kept at its pace (80 KB/s: not given up): the first
      // takes 400 KB of the 1 MiB, the second would take the key past half of it, and waits.
      const declared = 400 * 1024;
      const uploads = [1, 2, 3].map(() => ({
        ...partialPost(server.url, EVENTS, declared, 8 * 1024),
        sent: 8 * 1024,
      }));
      const pacing = setInterval(() => {
        for (const u of uploads) {
          if (u.sent + 8 * 1024 >= declared) continue;
          u.req.write("x".repeat(8 * 1024));
          u.sent += 8 * 1024;
        }
      }, 100);
      const otherKey = namesAnotherKey();
      try {
        await settled(server.url);
        // Another account's key: its 300 KB request fits beside the 400 KB, and goes at once rather
        // than behind the first key's waiting bodies (until their time ran out: 2 s).
        const started = Date.now();
        const theirs = partialPost(server.url, { ...EVENTS, ...otherKey }, 300 * 1024, 300 * 1024);
        theirs.rest();
        const answered = await theirs.reply;
        assert.equal(answered.status, 400, answered.text); // its signature made up: read, and answered
        assert.ok(
          Date.now() - started < TIMEOUT_MS / 2,
          `the other key's request waited ${Date.now() - started} ms`,
        );
      } finally {
        clearInterval(pacing);
        // Each sends the rest of its body and is answered (the third once the first two are).
        for (const u of uploads) u.req.end("x".repeat(declared - u.sent));
        const ended = await Promise.all(uploads.map((u) => u.reply));
        assert.deepEqual(
          ended.map((r) => r.status),
          [400, 400, 400],
        );
      }
    });

    it("holds one account's bodies to half the room whichever of its keys they name", async () => {
      // A body of 400 KB with the account's root key, kept at its pace; then 300 KB with a second key
      // of the same account would take the account past half of the 1 MiB: it waits, though the room
      // has it.
      const declared = 400 * 1024;
      const upload = { ...partialPost(server.url, EVENTS, declared, 8 * 1024), sent: 8 * 1024 };
      const pacing = setInterval(() => {
        if (upload.sent + 8 * 1024 >= declared) return;
        upload.req.write("x".repeat(8 * 1024));
        upload.sent += 8 * 1024;
      }, 100);
      const second = printedJson<{ accessKeyId: string }>(
        runBusbar(["keys", "create", "--account", "000000000000", "--data-dir", server.dataDir]),
      );
      const secondKey = {
        authorization: NAMES_A_KEY.authorization.replace(TEST_ROOT.accessKeyId, second.accessKeyId),
      };
      try {
        await settled(server.url);
        const started = Date.now();
        const ours = partialPost(server.url, { ...EVENTS, ...secondKey }, 300 * 1024, 300 * 1024);
        ours.rest();
        const answered = await ours.reply;
        // It waited while the first held its 400 KB (until that one's time ran out, or its room's:
        // 2 s), and was read (400, its signature made up) or not (503) only then.
        const waited = Date.now() - started;
        assert.ok(waited >= TIMEOUT_MS / 2, `the second key's request waited only ${waited} ms`);
        assert.ok([400, 503].includes(answered.status), answered.text);
      } finally {
        clearInterval(pacing);
        upload.req.end("x".repeat(declared - upload.sent));
        // Read and refused (its signature made up), or out of time meanwhile.
        assert.ok([400, 408].includes((await upload.reply).status));
      }
    });

    it("answers a body that does not arrive in time with 408 in the API's shape, and closes the connection", async () => {
      const started = Date.now();
      const slow = partialPost(server.url, EVENTS, 1000, 10);
      const sqsSlow = partialPost(server.url, SQS_JSON, 1000, 10);
      const r = await slow.reply;
      const waited = Date.now() - started;
      assert.equal(r.status, 408);
      assert.equal(r.headers.connection, "close");
      const body = JSON.parse(r.text) as { __type: string; message: string };
      assert.equal(body.__type, "RequestTimeoutException");
      assert.match(body.message, /2000 ms/);
      assert.ok(waited >= TIMEOUT_MS - 100 && waited < TIMEOUT_MS + 3000, `answered after ${waited} ms`);
      const s = await sqsSlow.reply;
      assert.equal(s.status, 408);
      assert.equal(s.headers["x-amzn-query-error"], "RequestTimeout;Sender");
      assert.equal((JSON.parse(s.text) as { __type: string }).__type, "com.amazonaws.sqs#RequestTimeout");
    });

    it("gives back the share of a request whose client goes away, and of one that timed out", async () => {
      // 900 KB declared and abandoned mid-body: once its connection closes, its share is free again.
      const gone = partialPost(server.url, EVENTS, 900 * 1024, 10);
      gone.reply.catch(() => undefined);
      await settled(server.url);
      gone.req.destroy();
      // A raw socket whose body never comes: the 408 gives its share back.
      const raw = connect(Number(new URL(server.url).port), new URL(server.url).hostname);
      raw.write(
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-amz-json-1.1\r\n" +
          `x-amz-target: AWSEvents.PutEvents\r\n${NAMES_A_KEY_LINES}content-length: 900000\r\n\r\n{`,
      );
      const answer = await new Promise<string>((resolve) => {
        let text = "";
        raw.on("data", (c: Buffer) => (text += c.toString()));
        raw.on("close", () => resolve(text));
      });
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.match(answer, /RequestTimeoutException/);
      // Both shares are back: a 900 KB body is taken again.
      const again = partialPost(server.url, EVENTS, 900 * 1024, 0);
      again.rest();
      const r = await again.reply;
      assert.equal(r.status, 400, r.text);
    });
  });
}
