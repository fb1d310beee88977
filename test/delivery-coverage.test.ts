/**
 * Delivery behaviours end to end that the other delivery tests leave out, against a real
 * `busbar serve` and real loopback HTTP receivers: OAuth client credentials through the server (token
 * cached, fetched again after a 407 or a 401), a dead-letter queue that does not exist
 * (InvocationsFailedToBeSentToDlq and its error log line), the per-target concurrency limit,
 * transformations that fail at delivery, MaximumEventAgeInSeconds, RetryPolicy's ranges at PutTargets,
 * and the structured log lines of the dead-letter and drop paths (without secrets).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type EventBridgeClient,
  type Target,
} from "@aws-sdk/client-eventbridge";
import { ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import Database from "better-sqlite3";
import {
  TEST_ROOT,
  callAwsJson,
  createQueue,
  eventBridgeClient,
  metric,
  removeDataDir,
  sqsClient,
  startBusbar,
  type BusbarProcess,
} from "./support/index.js";

const ACCOUNT = "000000000000";
const queueArn = (name: string): string => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
const TARGET_CONCURRENCY = 4;

/** A request a receiver got. */
interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  readonly at: number;
}

type Answer = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

/**
 * A loopback HTTP receiver whose answer per request is decided by `respond`; it counts the requests
 * it holds open at once (from their arrival to their answer) and the most it held.
 */
class Receiver {
  readonly got: Received[] = [];
  open = 0;
  maxOpen = 0;
  respond: (r: Received, n: number) => Answer = () => ({ status: 200 });
  private readonly server: Server;

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.open++;
      this.maxOpen = Math.max(this.maxOpen, this.open);
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const r = {
          method: req.method ?? "",
          path: req.url ?? "/",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        };
        this.got.push(r);
        const answer = this.respond(r, this.got.length);
        const send = () => {
          this.open--;
          res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? "{}");
        };
        if (answer.delayMs === undefined) send();
        else setTimeout(send, answer.delayMs);
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** One JSON line of the server's log (pino). */
interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The JSON lines the process has logged so far. */
function logLines(process: BusbarProcess): LogLine[] {
  return process
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
}

/** Waits until `done` holds (polling every 25 ms), failing with `what` after `ms`. */
async function until(what: string, done: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The log lines about event `eventId`, once there is at least one (10 s at most). */
async function loggedFor(process: BusbarProcess, eventId: string): Promise<LogLine[]> {
  let lines: LogLine[] = [];
  await until(`a log line for event ${eventId}`, () => {
    lines = logLines(process).filter((l) => l.eventId === eventId);
    return lines.length > 0;
  });
  return lines;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: BusbarProcess;
let events: EventBridgeClient;
let sqs: SQSClient;
const receivers: Receiver[] = [];

before(async () => {
  server = await startBusbar({
    env: {
      BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8",
      BUSBAR_RETRY_BASE_MS: "50",
      BUSBAR_RETRY_MAX_MS: "200",
      BUSBAR_TARGET_TIMEOUT_MS: "2000",
      BUSBAR_DELIVERY_TARGET_CONCURRENCY: String(TARGET_CONCURRENCY),
    },
  });
  events = eventBridgeClient(server.url);
  sqs = sqsClient(server.url);
});

after(async () => {
  events.destroy();
  sqs.destroy();
  await Promise.all(receivers.map((r) => r.close()));
  await server.stop();
  removeDataDir(server.dataDir);
});

async function receiver(): Promise<{ r: Receiver; url: string }> {
  const r = new Receiver();
  receivers.push(r);
  return { r, url: await r.listen() };
}

async function route(ruleName: string, source: string, targets: Target[], client = events): Promise<string> {
  const rule = await client.send(
    new PutRuleCommand({ Name: ruleName, EventPattern: JSON.stringify({ source: [source] }) }),
  );
  const put = await client.send(new PutTargetsCommand({ Rule: ruleName, Targets: targets }));
  assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.FailedEntries));
  return rule.RuleArn as string;
}

/** Puts `count` events of `source` (10 a request) and returns their ids in order. */
async function put(source: string, detail: object = {}, count = 1, client = events): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 10) {
    const r = await client.send(
      new PutEventsCommand({
        Entries: Array.from({ length: Math.min(10, count - i) }, () => ({
          Source: source,
          DetailType: "t",
          Detail: JSON.stringify(detail),
        })),
      }),
    );
    assert.equal(r.FailedEntryCount, 0, JSON.stringify(r.Entries));
    ids.push(...(r.Entries ?? []).map((e) => e.EventId as string));
  }
  return ids;
}

/** The one message a dead-letter queue receives (10 s at most), with its attributes. */
async function deadLetter(queueUrl: string, client = sqs): Promise<Message> {
  const r = await client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 10, MessageAttributeNames: ["All"] }),
  );
  const m = r.Messages?.[0];
  assert.ok(m !== undefined, "a message reached the dead-letter queue");
  return m;
}

const attribute = (m: Message, name: string): string | undefined => m.MessageAttributes?.[name]?.StringValue;
const eventIdOf = (r: Received): string => (JSON.parse(r.body) as { id: string }).id;

describe("OAuth client credentials through the server", () => {
  it("fetch a token once for many events, and a new one when the API answers 407, then 401", async () => {
    const CLIENT_SECRET = "oauth-client-s3cret-7Hq";
    const tokens = await receiver();
    tokens.r.respond = (_, n) => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ access_token: `tok-${n}-abcdef`, token_type: "Bearer", expires_in: 3600 }),
    });
    const api = await receiver();
    /** Tokens the API refuses, with the status it refuses them with. */
    const refused = new Map<string, number>();
    const bearerOf = (r: Received): string => String(r.headers.authorization).replace(/^Bearer /, "");
    api.r.respond = (r) => {
      const status = refused.get(bearerOf(r));
      return status === undefined ? { status: 200 } : { status, body: `token ${bearerOf(r)} refused` };
    };
    const conn = await events.send(
      new CreateConnectionCommand({
        Name: "oauth-conn",
        AuthorizationType: "OAUTH_CLIENT_CREDENTIALS",
        AuthParameters: {
          OAuthParameters: {
            AuthorizationEndpoint: `${tokens.url}/oauth/token`,
            HttpMethod: "POST",
            ClientParameters: { ClientID: "busbar-client", ClientSecret: CLIENT_SECRET },
          },
        },
      }),
    );
    const dest = await events.send(
      new CreateApiDestinationCommand({
        Name: "oauth-dest",
        ConnectionArn: conn.ConnectionArn,
        InvocationEndpoint: `${api.url}/orders`,
        HttpMethod: "POST",
      }),
    );
    const dlq = await createQueue(sqs, "oauth-dlq");
    await route("oauth", "app.oauth", [
      { Id: "api", Arn: dest.ApiDestinationArn, DeadLetterConfig: { Arn: queueArn("oauth-dlq") } },
    ]);

    // Six events at once: one token, fetched once, serves them all.
    const first = await put("app.oauth", {}, 6);
    await until("six calls", () => api.r.got.length >= 6);
    await sleep(300);
    assert.equal(api.r.got.length, 6);
    assert.equal(tokens.r.got.length, 1, "one token request for six events");
    assert.deepEqual(new Set(api.r.got.map(eventIdOf)), new Set(first));
    assert.deepEqual(new Set(api.r.got.map(bearerOf)), new Set(["tok-1-abcdef"]));
    const tokenRequest = tokens.r.got[0] as Received;
    assert.equal(tokenRequest.method, "POST");
    assert.equal(tokenRequest.path, "/oauth/token");
    assert.equal(
      tokenRequest.headers.authorization,
      `Basic ${Buffer.from(`busbar-client:${CLIENT_SECRET}`).toString("base64")}`,
    );
    assert.equal(new URLSearchParams(tokenRequest.body).get("grant_type"), "client_credentials");

    // The API refuses the token: the retry fetches a new one and is delivered with it.
    let successes = 6;
    for (const [status, old, fresh] of [
      [407, "tok-1-abcdef", "tok-2-abcdef"],
      [401, "tok-2-abcdef", "tok-3-abcdef"],
    ] as const) {
      refused.set(old, status);
      const seen: number = api.r.got.length;
      const [id] = await put("app.oauth");
      await until(`${status}: two calls`, () => api.r.got.length >= seen + 2);
      await sleep(300);
      const calls: string[][] = api.r.got.slice(seen).map((r) => [eventIdOf(r), bearerOf(r)]);
      assert.deepEqual(
        calls,
        [
          [id, old],
          [id, fresh],
        ],
        `${status}: refused with the old token, then delivered with a new one`,
      );
      assert.equal(tokens.r.got.length, status === 407 ? 2 : 3, `${status}: one new token request`);
      successes++;
      assert.equal(await metric(server.url, "SuccessfulInvocationAttempts", { rule: "oauth" }), successes);
    }
    assert.equal(await metric(server.url, "RetryInvocationAttempts", { rule: "oauth" }), 2);
    assert.equal(await metric(server.url, "FailedInvocations", { rule: "oauth" }), 0);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 0 }));
    assert.equal(dead.Messages, undefined, "nothing dead-lettered");
    for (const secret of [CLIENT_SECRET, "tok-1-abcdef", "tok-2-abcdef", "tok-3-abcdef"])
      assert.ok(!server.output().includes(secret), `${secret} is not in the log`);
  });
});

describe("dead-letter queues that cannot be used", () => {
  it("count InvocationsFailedToBeSentToDlq for a DLQ that does not exist, and log the event with the DLQ's error", async () => {
    const { r, url } = await receiver();
    r.respond = () => ({ status: 400, body: "bad request" });
    const ruleArn = await route("dlq-missing", "app.dlq-missing", [
      { Id: "h", Arn: `${url}/bad`, DeadLetterConfig: { Arn: queueArn("no-such-dlq") } },
    ]);
    const [id] = await put("app.dlq-missing");
    const lines = await loggedFor(server, id as string);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const line = lines[0] as LogLine;
    assert.equal(line.level, 50, "an error line");
    assert.equal(
      line.msg,
      "delivery failed and the event could not be sent to its dead-letter queue; event dropped",
    );
    assert.equal(line.rule, ruleArn);
    assert.equal(line.target, "h");
    assert.equal(line.code, "ERROR_FROM_TARGET");
    assert.match(String(line.reason), /returned HTTP 400 Bad Request: bad request$/);
    assert.equal(line.deadLetterQueue, queueArn("no-such-dlq"));
    assert.match(String(line.dlqError), /no-such-dlq/);
    assert.match(String(line.dlqError), /does not exist/);

    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(
      text,
      /^InvocationsFailedToBeSentToDlq\{account="000000000000",bus="default",rule="dlq-missing",target="h"\} 1$/m,
    );
    assert.equal(
      await metric(server.url, "InvocationsSentToDlq", { bus: "default", rule: "dlq-missing", target: "h" }),
      0,
    );
    assert.equal(
      await metric(server.url, "FailedInvocations", { rule: "dlq-missing", code: "ERROR_FROM_TARGET" }),
      1,
    );
    assert.equal(r.got.length, 1, "a 400 is not retried");
  });
});

describe("per-target concurrency", () => {
  it(`keeps at most BUSBAR_DELIVERY_TARGET_CONCURRENCY (${TARGET_CONCURRENCY}) requests open to a slow target, and uses them all`, async () => {
    const { r, url } = await receiver();
    r.respond = () => ({ status: 200, delayMs: 200 });
    await route("slow-lane", "app.slow-lane", [{ Id: "s", Arn: `${url}/slow` }]);
    const ids = await put("app.slow-lane", {}, 20);
    await until("20 deliveries", () => r.got.length >= 20 && r.open === 0);
    await sleep(200);
    assert.equal(r.got.length, 20, "each event once");
    assert.deepEqual(new Set(r.got.map(eventIdOf)), new Set(ids));
    assert.equal(r.maxOpen, TARGET_CONCURRENCY, "at most, and at some point exactly, the limit at once");
  });
});

describe("transformations that fail at delivery", () => {
  it("dead-letter an InputPath selecting nothing and an output over 256 KiB at once, sending the target nothing", async () => {
    const { r, url } = await receiver();
    const pathDlq = await createQueue(sqs, "input-path-dlq");
    const largeDlq = await createQueue(sqs, "too-large-dlq");
    await route("no-path", "app.no-path", [
      {
        Id: "p",
        Arn: `${url}/no-path`,
        InputPath: "$.detail.missing",
        DeadLetterConfig: { Arn: queueArn("input-path-dlq") },
      },
    ]);
    await route("too-large", "app.too-large", [
      {
        Id: "l",
        Arn: `${url}/too-large`,
        // Valid at PutTargets; its output (the detail twice) is over 262,144 bytes for this event.
        InputTransformer: { InputPathsMap: { d: "$.detail" }, InputTemplate: "[<d>,<d>]" },
        DeadLetterConfig: { Arn: queueArn("too-large-dlq") },
      },
    ]);
    const [pathId] = await put("app.no-path", { present: 1 });
    const [largeId] = await put("app.too-large", { big: "x".repeat(140_000) });

    const byPath = await deadLetter(pathDlq);
    assert.equal((JSON.parse(byPath.Body as string) as { id: string }).id, pathId);
    assert.equal(attribute(byPath, "ERROR_CODE"), "INPUT_PATH_NOT_FOUND");
    assert.match(attribute(byPath, "ERROR_MESSAGE") ?? "", /InputPath \$\.detail\.missing selects nothing/);
    assert.equal(attribute(byPath, "RETRY_ATTEMPTS"), "0");
    assert.equal(attribute(byPath, "EXHAUSTED_RETRY_CONDITION"), undefined, "not retryable");

    const byLarge = await deadLetter(largeDlq);
    assert.equal((JSON.parse(byLarge.Body as string) as { id: string }).id, largeId);
    assert.equal(attribute(byLarge, "ERROR_CODE"), "PAYLOAD_TOO_LARGE");
    assert.match(attribute(byLarge, "ERROR_MESSAGE") ?? "", /larger than 262144 bytes/);
    assert.equal(attribute(byLarge, "RETRY_ATTEMPTS"), "0");
    assert.equal(attribute(byLarge, "EXHAUSTED_RETRY_CONDITION"), undefined, "not retryable");

    assert.equal(r.got.length, 0, "the targets received nothing");
    for (const [rule, code] of [
      ["no-path", "INPUT_PATH_NOT_FOUND"],
      ["too-large", "PAYLOAD_TOO_LARGE"],
    ] as const)
      assert.equal(await metric(server.url, "FailedInvocations", { rule, code }), 1, rule);
  });

  it('refuse an invalid InputTransformer at PutTargets, and deliver one whose path selects nothing with ""', async () => {
    await events.send(new PutRuleCommand({ Name: "bad-template", EventPattern: '{"source":["x"]}' }));
    // The input's problems fail the whole request (a good target beside them is not stored), in
    // EventBridge's words where they are known (recorded against AWS).
    const good = { Id: "good", Arn: "https://example.com/good" };
    const cases: Array<[Target, RegExp]> = [
      [
        {
          Id: "t",
          Arn: "https://example.com/bad",
          InputTransformer: { InputPathsMap: { a: "$.detail.a" }, InputTemplate: '{"a": <a>' },
        },
        /^Target t: /,
      ],
      [
        {
          Id: "t",
          Arn: "https://example.com/bad",
          InputTransformer: { InputPathsMap: { a: "$.detail.a" }, InputTemplate: '"<a> and <nope>"' },
        },
        /^InputTemplate for target t contains invalid placeholder nope\.$/,
      ],
      [
        { Id: "t", Arn: "https://example.com/bad", Input: "{}", InputPath: "$.detail" },
        /^Only one of Input, InputPath, or InputTransformer must be provided for target t\.$/,
      ],
      [
        { Id: "t", Arn: "https://example.com/bad", Input: "{not json" },
        /^Input for target t is not a valid JSON text\.$/,
      ],
    ];
    for (const [target, message] of cases)
      await assert.rejects(
        events.send(new PutTargetsCommand({ Rule: "bad-template", Targets: [good, target] })),
        (e: Error) => e.name === "ValidationException" && message.test(e.message),
        JSON.stringify(target),
      );
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule: "bad-template" }));
    assert.deepEqual(listed.Targets ?? [], [], "nothing stored");

    const { r, url } = await receiver();
    await route("missing-var", "app.missing-var", [
      {
        Id: "m",
        Arn: `${url}/missing-var`,
        InputTransformer: {
          InputPathsMap: { m: "$.detail.missing", n: "$.detail.n" },
          InputTemplate: '{"m": <m>, "s": "x<m>y", "n": <n>}',
        },
      },
    ]);
    await put("app.missing-var", { n: 5 });
    await until("one delivery", () => r.got.length >= 1);
    assert.equal(r.got[0]?.body, '{"m":"","s":"xy","n":5}');
  });
});

describe("RetryPolicy", () => {
  it("is refused at PutTargets out of its ranges (0-185 attempts, 60-86400 s), and kept as given within them", async () => {
    await events.send(new PutRuleCommand({ Name: "retry-ranges", EventPattern: '{"source":["x"]}' }));
    const bad: Array<[Record<string, number>, RegExp]> = [
      [
        { MaximumRetryAttempts: 186 },
        /'186' at 'targets\.1\.member\.retryPolicy\.maximumRetryAttempts'.*less than or equal to 185/,
      ],
      [
        { MaximumRetryAttempts: -1 },
        /'-1' at 'targets\.1\.member\.retryPolicy\.maximumRetryAttempts'.*greater than or equal to 0/,
      ],
      [
        { MaximumEventAgeInSeconds: 59 },
        /'59' at 'targets\.1\.member\.retryPolicy\.maximumEventAgeInSeconds'.*greater than or equal to 60/,
      ],
      [
        { MaximumEventAgeInSeconds: 86401 },
        /'86401' at 'targets\.1\.member\.retryPolicy\.maximumEventAgeInSeconds'.*less than or equal to 86400/,
      ],
    ];
    for (const [policy, message] of bad) {
      await assert.rejects(
        events.send(
          new PutTargetsCommand({
            Rule: "retry-ranges",
            Targets: [{ Id: "bad", Arn: "https://example.com/x", RetryPolicy: policy }],
          }),
        ),
        (e: Error) => {
          assert.equal(e.name, "ValidationException", `${JSON.stringify(policy)}: ${e.message}`);
          assert.match(e.message, message);
          return true;
        },
      );
    }
    const good = [
      { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
    ];
    const put = await events.send(
      new PutTargetsCommand({
        Rule: "retry-ranges",
        Targets: good.map((policy, i) => ({
          Id: `ok${i}`,
          Arn: "https://example.com/x",
          RetryPolicy: policy,
        })),
      }),
    );
    assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.FailedEntries));
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule: "retry-ranges" }));
    assert.deepEqual(
      listed.Targets?.map((t) => [t.Id, t.RetryPolicy]),
      good.map((policy, i) => [`ok${i}`, policy]),
      "the refused target was not stored; the accepted ones keep their policies",
    );
  });

  it("ends the retries of a target that always fails once the event is MaximumEventAgeInSeconds old", async () => {
    // MaximumEventAgeInSeconds is at least 60 and Busbar has no clock to set: the events are accepted
    // by a server that does not deliver, their acceptance time moved back in the stopped server's
    // store, and a server that delivers resumes them (ingested_at is what the age counts from).
    const { r, url } = await receiver();
    r.respond = () => ({ status: 500, body: "always failing" });
    const policy = { MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 185 };
    const accepting = await startBusbar({
      env: { BUSBAR_DELIVERY: "off", BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8" },
    });
    let ids: { retried: string; expired: string };
    try {
      const eb = eventBridgeClient(accepting.url);
      const q = sqsClient(accepting.url);
      await createQueue(q, "age-dlq");
      await createQueue(q, "expired-dlq");
      await route(
        "aged",
        "app.aged",
        [
          {
            Id: "a",
            Arn: `${url}/aged`,
            RetryPolicy: policy,
            DeadLetterConfig: { Arn: queueArn("age-dlq") },
          },
        ],
        eb,
      );
      await route(
        "expired",
        "app.expired",
        [
          {
            Id: "e",
            Arn: `${url}/expired`,
            RetryPolicy: policy,
            DeadLetterConfig: { Arn: queueArn("expired-dlq") },
          },
        ],
        eb,
      );
      const [retried] = await put("app.aged", {}, 1, eb);
      const [expired] = await put("app.expired", {}, 1, eb);
      ids = { retried: retried as string, expired: expired as string };
      eb.destroy();
      q.destroy();
    } finally {
      assert.equal(await accepting.stop(), 0);
    }
    const now = Date.now();
    const retriedAt = now - 54_000; // 6 s of age left: a few attempts, then the age runs out
    const db = new Database(join(accepting.dataDir, "busbar.db"));
    try {
      const move = db.prepare("UPDATE events SET ingested_at = ? WHERE id = ?");
      assert.equal(move.run(retriedAt, ids.retried).changes, 1);
      assert.equal(move.run(now - 61_000, ids.expired).changes, 1); // already too old
    } finally {
      db.close();
    }
    const delivering = await startBusbar({
      dataDir: accepting.dataDir,
      env: {
        BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8",
        BUSBAR_RETRY_BASE_MS: "200",
        BUSBAR_RETRY_MAX_MS: "1000",
      },
    });
    const q = sqsClient(delivering.url);
    try {
      const expiredDlq = `${delivering.url}/${ACCOUNT}/expired-dlq`;
      const agedDlq = `${delivering.url}/${ACCOUNT}/age-dlq`;
      const expired = await deadLetter(expiredDlq, q);
      assert.equal((JSON.parse(expired.Body as string) as { id: string }).id, ids.expired);
      assert.equal(attribute(expired, "ERROR_CODE"), "EVENT_EXPIRED");
      assert.equal(attribute(expired, "EXHAUSTED_RETRY_CONDITION"), "MaximumEventAgeInSeconds");
      assert.equal(attribute(expired, "RETRY_ATTEMPTS"), "0");

      const aged = await deadLetter(agedDlq, q);
      const deadAt = Date.now();
      assert.equal((JSON.parse(aged.Body as string) as { id: string }).id, ids.retried);
      assert.equal(attribute(aged, "ERROR_CODE"), "ERROR_FROM_TARGET");
      assert.equal(attribute(aged, "EXHAUSTED_RETRY_CONDITION"), "MaximumEventAgeInSeconds");
      await sleep(1_200); // longer than any retry's wait: none comes after the dead letter
      const attempts = r.got.filter((g) => g.path === "/aged");
      assert.ok(attempts.length >= 2, `retried before the age ran out: ${attempts.length} attempts`);
      assert.equal(attribute(aged, "RETRY_ATTEMPTS"), String(attempts.length - 1));
      const deadline = retriedAt + 60_000;
      // The receiver sees an attempt when it arrives: one begun just before the age ran out arrives
      // a few ms after it on a loaded machine (4 ms in one CI run). None may begin after it.
      const TRANSIT_MS = 50;
      for (const a of attempts)
        assert.ok(
          a.at < deadline + TRANSIT_MS,
          `an attempt ${a.at - deadline} ms after the event's age ran out`,
        );
      assert.ok(deadAt < deadline + 1_000, `dead-lettered ${deadAt - deadline} ms after the age ran out`);
      assert.equal(r.got.filter((g) => g.path === "/expired").length, 0, "an expired event is not sent");
    } finally {
      q.destroy();
      await delivering.stop();
      removeDataDir(accepting.dataDir);
    }
  });
});

describe("log lines of failed deliveries", () => {
  it("name the event, rule, target, code and reason on the dead-letter and drop paths, and no secret", async () => {
    const PASSWORD = "basic-pa55word-Q9z";
    const basic = Buffer.from(`busbar-user:${PASSWORD}`).toString("base64");
    const { r, url } = await receiver();
    // An error page that echoes the credentials the call carried.
    r.respond = (got) => ({
      status: 400,
      body: `refused ${String(got.headers.authorization)} (${PASSWORD})`,
    });
    const conn = await events.send(
      new CreateConnectionCommand({
        Name: "basic-conn",
        AuthorizationType: "BASIC",
        AuthParameters: { BasicAuthParameters: { Username: "busbar-user", Password: PASSWORD } },
      }),
    );
    const dest = await events.send(
      new CreateApiDestinationCommand({
        Name: "basic-dest",
        ConnectionArn: conn.ConnectionArn,
        InvocationEndpoint: `${url}/basic`,
        HttpMethod: "POST",
      }),
    );
    const dlq = await createQueue(sqs, "logged-dlq");
    const dlqRule = await route("logged-dlq", "app.logged-dlq", [
      { Id: "api", Arn: dest.ApiDestinationArn, DeadLetterConfig: { Arn: queueArn("logged-dlq") } },
    ]);
    const dropRule = await route("logged-drop", "app.logged-drop", [{ Id: "hook", Arn: `${url}/gone` }]);
    const secrets = await callAwsJson(
      server.url,
      "AWSEvents.DescribeTargetSigningSecrets",
      { Rule: "logged-drop", TargetId: "hook" },
      TEST_ROOT,
    );
    const [signingSecret] = (secrets.body.Secrets as Array<{ Secret: string }>).map((s) => s.Secret);
    assert.match(signingSecret ?? "", /^whsec_/);

    const [dlqId] = await put("app.logged-dlq");
    const dead = await deadLetter(dlq);
    const [toDlq] = await loggedFor(server, dlqId as string);
    assert.ok(toDlq !== undefined);
    assert.equal(toDlq.level, 40, "a warn line");
    assert.equal(toDlq.msg, "delivery failed; event sent to the dead-letter queue");
    assert.equal(toDlq.eventId, dlqId);
    assert.equal(toDlq.rule, dlqRule);
    assert.equal(toDlq.target, "api");
    assert.equal(toDlq.code, "ERROR_FROM_TARGET");
    assert.equal(toDlq.reason, `POST ${url}/basic returned HTTP 400 Bad Request: refused Basic *** (***)`);
    assert.equal(toDlq.reason, attribute(dead, "ERROR_MESSAGE"), "the dead letter's reason");
    assert.equal(toDlq.deadLetterQueue, queueArn("logged-dlq"));

    r.respond = () => ({ status: 410 });
    const [dropId] = await put("app.logged-drop");
    const [dropped] = await loggedFor(server, dropId as string);
    assert.ok(dropped !== undefined);
    assert.equal(dropped.level, 40, "a warn line");
    assert.equal(dropped.msg, "delivery failed; no dead-letter queue, event dropped");
    assert.equal(dropped.eventId, dropId);
    assert.equal(dropped.rule, dropRule);
    assert.equal(dropped.target, "hook");
    assert.equal(dropped.targetArn, `${url}/gone`);
    assert.equal(dropped.code, "ERROR_FROM_TARGET");
    assert.equal(dropped.reason, `POST ${url}/gone returned HTTP 410 Gone: {}`);
    assert.equal(dropped.deadLetterQueue, undefined);

    assert.equal(r.got.length, 2, "neither is retried");
    const output = server.output();
    for (const secret of [PASSWORD, basic, signingSecret as string, (signingSecret as string).slice(6)])
      assert.ok(!output.includes(secret), `a secret in the log: ${secret.slice(0, 6)}…`);
  });
});
