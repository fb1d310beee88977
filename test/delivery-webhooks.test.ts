/**
 * Signed webhooks and API destinations end to end: a real `busbar serve` delivers to real HTTP
 * receivers on loopback (allowed with BUSBAR_ALLOW_TARGET_NETWORKS), which verify the Standard
 * Webhooks signatures with the `standardwebhooks` package and parse CloudEvents with the `cloudevents`
 * SDK. Covers retries of 500s and connection resets, Retry-After on 429, 410 straight to the
 * dead-letter queue, secret rotation, the network guard, and API destinations with a connection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateApiDestinationCommand,
  DeauthorizeConnectionCommand,
  DeleteConnectionCommand,
  CreateConnectionCommand,
  CreateEventBusCommand,
  DeleteEventBusCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  UpdateApiDestinationCommand,
  type EventBridgeClient,
  type Target,
} from "@aws-sdk/client-eventbridge";
import { ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { HTTP } from "cloudevents";
import { Webhook } from "standardwebhooks";
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

/** A request a receiver got. */
interface Received {
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  readonly at: number;
}

/** A loopback HTTP receiver whose answer per request is decided by `respond`. */
class Receiver {
  readonly got: Received[] = [];
  respond: (
    r: Received,
    n: number,
  ) => { status: number; headers?: Record<string, string>; body?: string } | "reset" = () => ({
    status: 200,
  });
  private readonly server: Server;
  private waiters: Array<() => void> = [];

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const r = {
          path: req.url ?? "/",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        };
        this.got.push(r);
        const answer = this.respond(r, this.got.length);
        if (answer === "reset") req.socket.destroy();
        else res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? "{}");
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Waits until `n` requests arrived (10 s at most). */
  async waitFor(n: number, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.got.length < n) {
      assert.ok(Date.now() < deadline, `expected ${n} requests, got ${this.got.length}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let server: BusbarProcess;
let events: EventBridgeClient;
let sqs: SQSClient;
const receivers: Receiver[] = [];

before(async () => {
  server = await startBusbar({
    env: {
      BUSBAR_ALLOW_TARGET_NETWORKS: "127.0.0.0/8,::1/128",
      BUSBAR_RETRY_BASE_MS: "50",
      BUSBAR_RETRY_MAX_MS: "200",
      BUSBAR_TARGET_TIMEOUT_MS: "2000",
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

async function route(ruleName: string, source: string, targets: Target[]): Promise<string> {
  const rule = await events.send(
    new PutRuleCommand({ Name: ruleName, EventPattern: JSON.stringify({ source: [source] }) }),
  );
  const put = await events.send(new PutTargetsCommand({ Rule: ruleName, Targets: targets }));
  assert.equal(put.FailedEntryCount, 0, JSON.stringify(put.FailedEntries));
  return rule.RuleArn as string;
}

async function put(source: string, detail: object = {}): Promise<string> {
  const r = await events.send(
    new PutEventsCommand({ Entries: [{ Source: source, DetailType: "t", Detail: JSON.stringify(detail) }] }),
  );
  assert.equal(r.FailedEntryCount, 0);
  return r.Entries?.[0]?.EventId as string;
}

/** Calls one of Busbar's own operations (not in the SDK) with a signed AWS JSON 1.1 request. */
async function busbarOp(
  op: string,
  input: object,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return callAwsJson(server.url, `AWSEvents.${op}`, input, TEST_ROOT);
}

async function secretsOf(rule: string, targetId: string): Promise<string[]> {
  const r = await busbarOp("DescribeTargetSigningSecrets", { Rule: rule, TargetId: targetId });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body.Secrets as Array<{ Secret: string }>).map((s) => s.Secret);
}

describe("webhook targets", () => {
  it("deliver the event signed with the target's secret, verifiable with standardwebhooks", async () => {
    const { r, url } = await receiver();
    await route("hook", "app.hook", [{ Id: "h", Arn: `${url}/in` }]);
    const [secret] = await secretsOf("hook", "h");
    assert.match(secret ?? "", /^whsec_/);
    const id = await put("app.hook", { a: 1 });
    await r.waitFor(1);
    const got = r.got[0] as Received;
    assert.equal(got.path, "/in");
    const verified = new Webhook(secret as string).verify(
      got.body,
      got.headers as Record<string, string>,
    ) as {
      id: string;
      detail: unknown;
    };
    assert.equal(verified.id, id);
    assert.deepEqual(verified.detail, { a: 1 });
  });

  it("deliver many at once to one target without a warning on the server's output", async () => {
    // Held answers keep every attempt in flight together, so that many share one stop signal.
    const held: ServerResponse[] = [];
    const hold = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        held.push(res);
        if (held.length === 40) for (const h of held) h.writeHead(200).end();
        else if (held.length > 40) res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => hold.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(hold.address() as AddressInfo).port}`;
      await route("many", "app.many", [{ Id: "h", Arn: `${url}/many` }]);
      const entries = Array.from({ length: 10 }, () => ({
        Source: "app.many",
        DetailType: "t",
        Detail: "{}",
      }));
      for (let i = 0; i < 4; i++) {
        const r = await events.send(new PutEventsCommand({ Entries: entries }));
        assert.equal(r.FailedEntryCount, 0);
      }
      const deadline = Date.now() + 10_000;
      while (held.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(held.length, 40, "every event delivered, the first 40 at once");
      assert.doesNotMatch(server.output(), /Warning/);
    } finally {
      hold.closeAllConnections();
      await new Promise<void>((resolve) => hold.close(() => resolve()));
    }
  });

  it("retry 500s and resets with the same webhook-id, then deliver", async () => {
    const { r, url } = await receiver();
    r.respond = (_, n) => (n === 1 ? { status: 500 } : n === 2 ? "reset" : { status: 204 });
    await route("flaky", "app.flaky", [{ Id: "f", Arn: url }]);
    await put("app.flaky");
    await r.waitFor(3);
    const ids = r.got.map((g) => g.headers["webhook-id"]);
    assert.equal(new Set(ids).size, 1, "webhook-id is stable across retries");
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(r.got.length, 3, "no attempt after the 2xx");
  });

  it("wait for Retry-After on 429 before retrying", async () => {
    const { r, url } = await receiver();
    r.respond = (_, n) => (n === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 });
    await route("throttled", "app.throttled", [{ Id: "t", Arn: url }]);
    await put("app.throttled");
    await r.waitFor(2, 5000);
    const gap = (r.got[1] as Received).at - (r.got[0] as Received).at;
    assert.ok(gap >= 950, `retried after ${gap} ms, Retry-After was 1 s`);
  });

  it("send a 410 straight to the dead-letter queue, with no retries", async () => {
    const { r, url } = await receiver();
    r.respond = () => ({ status: 410 });
    const dlq = await createQueue(sqs, "webhook-dlq");
    await route("gone", "app.gone", [
      { Id: "g", Arn: url, DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:webhook-dlq" } },
    ]);
    const id = await put("app.gone");
    const m = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }),
    );
    const dead = m.Messages?.[0];
    assert.equal((JSON.parse(dead?.Body as string) as { id: string }).id, id);
    assert.equal(dead?.MessageAttributes?.ERROR_CODE?.StringValue, "ERROR_FROM_TARGET");
    assert.equal(dead?.MessageAttributes?.RETRY_ATTEMPTS?.StringValue, "0");
    assert.equal(r.got.length, 1);
  });

  it("name a webhook URL without its query values in the dead-letter message and the log", async () => {
    const { r, url } = await receiver();
    r.respond = () => ({ status: 410 });
    const dlq = await createQueue(sqs, "query-dlq");
    await route("with-query", "app.query", [
      {
        Id: "q",
        Arn: `${url}/in?api_key=QS-s3cr3t-zz&tenant=7`,
        DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:query-dlq" },
      },
    ]);
    await put("app.query");
    const m = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }),
    );
    assert.equal(
      m.Messages?.[0]?.MessageAttributes?.TARGET_ARN?.StringValue,
      `${url}/in?api_key=***&tenant=***`,
    );
    assert.equal(r.got[0]?.path, "/in?api_key=QS-s3cr3t-zz&tenant=7", "the target still gets its query");
    assert.doesNotMatch(server.output(), /QS-s3cr3t-zz/);
  });

  it("keep a webhook URL's query values out of ERROR_MESSAGE and the log when its error page echoes them", async () => {
    const { r, url } = await receiver();
    r.respond = (got) => ({ status: 404, body: `No route for POST ${got.path}` });
    const dlq = await createQueue(sqs, "echo-dlq");
    await route("echoed-query", "app.echo", [
      {
        Id: "q",
        Arn: `${url}/hooks?token=ECHO-s3cr3t-token&sig=a%2Fb%20c`,
        DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:echo-dlq" },
      },
    ]);
    await put("app.echo");
    const m = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }),
    );
    const message = m.Messages?.[0]?.MessageAttributes?.ERROR_MESSAGE?.StringValue ?? "";
    assert.match(message, /returned HTTP 404 Not Found: No route for POST \/hooks\?token=\*\*\*&sig=\*\*\*$/);
    assert.equal(
      r.got[0]?.path,
      "/hooks?token=ECHO-s3cr3t-token&sig=a%2Fb%20c",
      "the target still gets its query",
    );
    assert.doesNotMatch(server.output(), /ECHO-s3cr3t-token|a%2Fb%20c|a\/b c/);
  });

  it("keep a connection's secrets out of ERROR_MESSAGE and the log in whatever encoding its error page echoes them", async () => {
    const { r, url } = await receiver();
    const apiKey = 'Api"Key\\Value1234';
    const header = 'Hdr"Secret\\Value';
    const query = "Qs Secret~(value)!";
    // The query as the request carried it (form-encoded), the headers in JSON strings.
    r.respond = (got) => ({
      status: 400,
      body: `${got.path} ${JSON.stringify(got.headers["x-api-key"])} ${JSON.stringify(got.headers["x-tenant-token"])}`,
    });
    const conn = await events.send(
      new CreateConnectionCommand({
        Name: "echoed-secrets",
        AuthorizationType: "API_KEY",
        AuthParameters: {
          ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: apiKey },
          InvocationHttpParameters: {
            HeaderParameters: [{ Key: "x-tenant-token", Value: header, IsValueSecret: true }],
            QueryStringParameters: [{ Key: "sig", Value: query, IsValueSecret: true }],
          },
        },
      }),
    );
    const dest = await events.send(
      new CreateApiDestinationCommand({
        Name: "echoing-api",
        ConnectionArn: conn.ConnectionArn,
        InvocationEndpoint: `${url}/fail`,
        HttpMethod: "POST",
      }),
    );
    const dlq = await createQueue(sqs, "secrets-dlq");
    await route("echoed-secrets", "app.secrets", [
      {
        Id: "api",
        Arn: dest.ApiDestinationArn,
        DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:secrets-dlq" },
      },
    ]);
    await put("app.secrets");
    const m = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }),
    );
    const message = m.Messages?.[0]?.MessageAttributes?.ERROR_MESSAGE?.StringValue ?? "";
    assert.equal(r.got[0]?.headers["x-api-key"], apiKey, "the target got the secrets");
    assert.match(r.got[0]?.path ?? "", /^\/fail\?sig=Qs\+Secret%7E%28value%29%21$/);
    assert.match(message, /returned HTTP 400 Bad Request: \/fail\?sig=\*\*\* "\*\*\*" "\*\*\*"$/);
    assert.doesNotMatch(`${message}\n${server.output()}`, /Secret|Value1234/);
  });

  it("send an error page with control characters to the dead-letter queue, as U+FFFD in ERROR_MESSAGE", async () => {
    const { r, url } = await receiver();
    r.respond = () => ({ status: 400, body: "\u001b[31mError: bad payload\u001b[0m\u0000" });
    const dlq = await createQueue(sqs, "ansi-dlq");
    await route("ansi", "app.ansi", [
      { Id: "a", Arn: url, DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:ansi-dlq" } },
    ]);
    const id = await put("app.ansi");
    const m = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }),
    );
    const dead = m.Messages?.[0];
    assert.equal((JSON.parse(dead?.Body ?? "{}") as { id?: string }).id, id, "not dropped");
    assert.match(
      dead?.MessageAttributes?.ERROR_MESSAGE?.StringValue ?? "",
      /returned HTTP 400 Bad Request: \uFFFD\[31mError: bad payload\uFFFD\[0m\uFFFD$/,
    );
  });

  it("give up after MaximumRetryAttempts, marking the condition", async () => {
    const { r, url } = await receiver();
    r.respond = () => ({ status: 503 });
    const dlq = await createQueue(sqs, "exhausted-dlq");
    await route("exhausted", "app.exhausted", [
      {
        Id: "e",
        Arn: url,
        RetryPolicy: { MaximumRetryAttempts: 2 },
        DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:exhausted-dlq" },
      },
    ]);
    await put("app.exhausted");
    const m = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 10, MessageAttributeNames: ["All"] }),
    );
    const attrs = m.Messages?.[0]?.MessageAttributes;
    assert.equal(attrs?.EXHAUSTED_RETRY_CONDITION?.StringValue, "MaximumRetryAttempts");
    assert.equal(attrs?.RETRY_ATTEMPTS?.StringValue, "2");
    assert.equal(r.got.length, 3, "one attempt and two retries");
    // Three attempts, one event-target: the latency to the first invocation is counted once.
    assert.equal(await metric(server.url, "RetryInvocationAttempts", { rule: "exhausted" }), 2);
    assert.equal(
      await metric(server.url, "IngestiontoInvocationStartLatency_count", { rule: "exhausted" }),
      1,
    );
    assert.equal(
      await metric(server.url, "IngestiontoInvocationCompleteLatency_count", { rule: "exhausted" }),
      0,
    );
  });

  it("never take the retries of a removed target, deleted rule or deleted bus under the same names", async () => {
    const failing = await receiver();
    failing.r.respond = () => ({ status: 500 });
    const fresh = await receiver();
    /** Five events failing at the old target, retrying; then `replace` sets up the same names anew. */
    const reused = async (bus: string, replace: () => Promise<void>) => {
      await events.send(new CreateEventBusCommand({ Name: bus }));
      const setUp = async (url: string) => {
        await events.send(
          new PutRuleCommand({ Name: "r", EventBusName: bus, EventPattern: `{"source":["${bus}"]}` }),
        );
        await events.send(
          new PutTargetsCommand({ Rule: "r", EventBusName: bus, Targets: [{ Id: "t", Arn: url }] }),
        );
      };
      await setUp(`${failing.url}/${bus}`);
      const before = failing.r.got.length;
      const entries = Array.from({ length: 5 }, () => ({
        Source: bus,
        DetailType: "t",
        Detail: "{}",
        EventBusName: bus,
      }));
      await events.send(new PutEventsCommand({ Entries: entries }));
      await failing.r.waitFor(before + 10); // every event tried, and retried
      await replace();
      await setUp(`${fresh.url}/${bus}`);
      const r = await events.send(
        new PutEventsCommand({
          Entries: [{ Source: bus, DetailType: "t", Detail: "{}", EventBusName: bus }],
        }),
      );
      const id = r.Entries?.[0]?.EventId;
      const seen = fresh.r.got.length;
      await fresh.r.waitFor(seen + 1);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // retries come every 200 ms at most
      const got = fresh.r.got.slice(seen).map((g) => (JSON.parse(g.body) as { id: string }).id);
      assert.deepEqual(got, [id], `${bus}: only the event accepted after the change`);
    };
    await reused("reused-target", () =>
      events
        .send(new RemoveTargetsCommand({ Rule: "r", EventBusName: "reused-target", Ids: ["t"] }))
        .then(() => undefined),
    );
    await reused("reused-bus", () =>
      events.send(new DeleteEventBusCommand({ Name: "reused-bus" })).then(async () => {
        await events.send(new CreateEventBusCommand({ Name: "reused-bus" }));
      }),
    );
  });

  it("lose their signing secrets with their bus: a bus made again under the name signs anew", async () => {
    const onBus = async () => {
      await events.send(new CreateEventBusCommand({ Name: "short-lived" }));
      await events.send(
        new PutRuleCommand({ Name: "hook", EventBusName: "short-lived", EventPattern: '{"source":["x"]}' }),
      );
      const put = await events.send(
        new PutTargetsCommand({
          Rule: "hook",
          EventBusName: "short-lived",
          Targets: [{ Id: "h", Arn: "https://example.com/short-lived" }],
        }),
      );
      assert.equal(put.FailedEntryCount, 0);
      const r = await busbarOp("DescribeTargetSigningSecrets", {
        Rule: "hook",
        EventBusName: "short-lived",
        TargetId: "h",
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body.Secrets as Array<{ Secret: string }>).map((x) => x.Secret);
    };
    const [first] = await onBus();
    await events.send(new DeleteEventBusCommand({ Name: "short-lived" }));
    const [second] = await onBus();
    assert.match(second ?? "", /^whsec_/);
    assert.notEqual(second, first, "the deleted bus's secret was not kept for the new one");
  });

  it("sign with both secrets during a rotation", async () => {
    const { r, url } = await receiver();
    await route("rotating", "app.rotating", [{ Id: "r", Arn: url }]);
    const [old] = await secretsOf("rotating", "r");
    const rotated = await busbarOp("RotateTargetSigningSecret", { Rule: "rotating", TargetId: "r" });
    assert.equal(rotated.status, 200);
    const [fresh, previous] = await secretsOf("rotating", "r");
    assert.equal(previous, old);
    await put("app.rotating");
    await r.waitFor(1);
    const got = r.got[0] as Received;
    assert.equal(String(got.headers["webhook-signature"]).split(" ").length, 2);
    for (const s of [old, fresh])
      new Webhook(s as string).verify(got.body, got.headers as Record<string, string>);
    // Rotating to the secret already current keeps it once (it signed every delivery twice).
    const again = await busbarOp("RotateTargetSigningSecret", {
      Rule: "rotating",
      TargetId: "r",
      Secret: fresh,
    });
    assert.equal(again.status, 200);
    assert.deepEqual(await secretsOf("rotating", "r"), [fresh, old]);
    const bad = await busbarOp("RotateTargetSigningSecret", {
      Rule: "rotating",
      TargetId: "r",
      Secret: "nope",
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.__type, "ValidationException");
    const long = `whsec_${"B".repeat(300)}`;
    const tooLong = await busbarOp("RotateTargetSigningSecret", {
      Rule: "rotating",
      TargetId: "r",
      Secret: long,
    });
    assert.equal(tooLong.status, 400);
    assert.match(JSON.stringify(tooLong.body), /length less than or equal to 256/);
    assert.doesNotMatch(JSON.stringify(tooLong.body), /BBBB/, "the secret is not quoted back");
  });

  it("keep every secret of rotations made at once, and sign with ten secrets at most", async () => {
    const { url } = await receiver();
    await route("rotated-at-once", "app.rotated-at-once", [{ Id: "r", Arn: url }]);
    const [first] = await secretsOf("rotated-at-once", "r");
    const mine = Array.from({ length: 8 }, (_, i) => `whsec_${Buffer.alloc(32, i + 1).toString("base64")}`);
    const rotations = await Promise.all(
      mine.map((Secret) =>
        busbarOp("RotateTargetSigningSecret", { Rule: "rotated-at-once", TargetId: "r", Secret }),
      ),
    );
    for (const r of rotations) assert.equal(r.status, 200, JSON.stringify(r.body));
    const kept = await secretsOf("rotated-at-once", "r");
    assert.equal(kept.length, 9, "the first secret and the eight given");
    assert.deepEqual(new Set(kept), new Set([first, ...mine]));
    // Each rotation was answered with what it left: its secret current, the ones before it retiring.
    const answers = rotations.map((r) => (r.body.Secrets as Array<{ Secret: string }>).map((x) => x.Secret));
    const last = answers.find((a) => a.length === 9);
    assert.deepEqual(last, kept);

    // A tenth secret in use is allowed; an eleventh is refused, and the secrets stay as they were.
    const tenth = await busbarOp("RotateTargetSigningSecret", { Rule: "rotated-at-once", TargetId: "r" });
    assert.equal(tenth.status, 200);
    const ten = await secretsOf("rotated-at-once", "r");
    assert.equal(ten.length, 10);
    const eleventh = await busbarOp("RotateTargetSigningSecret", { Rule: "rotated-at-once", TargetId: "r" });
    assert.equal(eleventh.status, 400);
    assert.equal(eleventh.body.__type, "LimitExceededException");
    assert.match(
      String(eleventh.body.message),
      /^Target r of rule rotated-at-once: it signs with 10 secrets \(the current one and 9 retiring\), and 10 at most/,
    );
    assert.deepEqual(await secretsOf("rotated-at-once", "r"), ten);
    // Retiring the previous secrets at once makes room.
    const clean = await busbarOp("RotateTargetSigningSecret", {
      Rule: "rotated-at-once",
      TargetId: "r",
      PreviousSecretExpiresInSeconds: 0,
    });
    assert.equal(clean.status, 200);
    assert.equal((await secretsOf("rotated-at-once", "r")).length, 1);
  });

  it("keep every secret of rotations made at once by an account and by the operator's key for it", async () => {
    const created = await busbarOp("CreateAccount", { Name: "rotated-by-two" });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const owner = {
      accessKeyId: created.body.AccessKeyId as string,
      secretAccessKey: created.body.SecretAccessKey as string,
    };
    const accountId = created.body.AccountId as string;
    const theirs = eventBridgeClient(server.url, owner);
    try {
      await theirs.send(new PutRuleCommand({ Name: "theirs", EventPattern: '{"source":["x"]}' }));
      await theirs.send(
        new PutTargetsCommand({ Rule: "theirs", Targets: [{ Id: "w", Arn: "https://example.com/theirs" }] }),
      );
      const bus = `arn:aws:events:us-east-1:${accountId}:event-bus/default`;
      const secret = (i: number) => `whsec_${Buffer.alloc(32, 100 + i).toString("base64")}`;
      const rotations = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          i % 2 === 0
            ? busbarOp("RotateTargetSigningSecret", {
                Rule: "theirs",
                EventBusName: bus,
                TargetId: "w",
                Secret: secret(i),
              })
            : callAwsJson(
                server.url,
                "AWSEvents.RotateTargetSigningSecret",
                { Rule: "theirs", TargetId: "w", Secret: secret(i) },
                owner,
              ),
        ),
      );
      for (const r of rotations) assert.equal(r.status, 200, JSON.stringify(r.body));
      const described = await callAwsJson(
        server.url,
        "AWSEvents.DescribeTargetSigningSecrets",
        { Rule: "theirs", TargetId: "w" },
        owner,
      );
      const kept = (described.body.Secrets as Array<{ Secret: string }>).map((x) => x.Secret);
      assert.equal(kept.length, 9, "the first secret and the eight given");
      for (let i = 0; i < 8; i++) assert.ok(kept.includes(secret(i)), `secret ${i} kept`);
    } finally {
      theirs.destroy();
    }
  });

  it("deliver CloudEvents in binary and structured mode", async () => {
    const { r, url } = await receiver();
    await route("ce", "app.ce", [
      { Id: "bin", Arn: `${url}/binary#cloudevents=binary` },
      { Id: "str", Arn: `${url}/structured#cloudevents=structured` },
    ]);
    const id = await put("app.ce", { k: "v" });
    await r.waitFor(2);
    for (const got of r.got) {
      const ce = HTTP.toEvent({ headers: got.headers, body: got.body });
      const one = Array.isArray(ce) ? ce[0] : ce;
      assert.equal(one?.id, id);
      assert.equal(one?.source, "app.ce");
      assert.equal(one?.type, "t");
    }
    assert.deepEqual(new Set(r.got.map((g) => g.path)), new Set(["/binary", "/structured"]));
  });

  it("refuse at PutTargets a webhook URL that is not valid", async () => {
    await events.send(new PutRuleCommand({ Name: "bad-url", EventPattern: '{"source":["x"]}' }));
    const r = await events.send(
      new PutTargetsCommand({
        Rule: "bad-url",
        Targets: [{ Id: "u", Arn: "https://user:pw@example.com/x" }],
      }),
    );
    assert.equal(r.FailedEntryCount, 1);
    assert.equal(r.FailedEntries?.[0]?.ErrorCode, "ValidationException");
    // One refused without a word of its query values, which may hold a token.
    const spaced = await events.send(
      new PutTargetsCommand({
        Rule: "bad-url",
        Targets: [{ Id: "s", Arn: "https://exa mple.com/hook?token=SECRETTOKEN123" }],
      }),
    );
    assert.equal(spaced.FailedEntryCount, 1);
    assert.equal(
      spaced.FailedEntries?.[0]?.ErrorMessage,
      "Target https://exa mple.com/hook?*** is not a supported target.",
    );
    // Nor its credentials, parameters or fragment, in a URL that does not parse or that no webhook has.
    for (const [Arn, shown] of [
      ["https://u:SECRETPASS99@exa mple.com/x", "https://***@exa mple.com/x"],
      ["https://exa mple.com/x#token=SECRET99", "https://exa mple.com/x#***"],
      ["https://exa mple.com/x;token=SECRET99", "https://exa mple.com/x;***"],
      // (A URL parser reads one slash after https: as two.)
      ["https:/example.com/x?token=SECRET99", "https://example.com/x?token=***"],
    ] as const) {
      const r = await events.send(new PutTargetsCommand({ Rule: "bad-url", Targets: [{ Id: "s", Arn }] }));
      assert.equal(r.FailedEntries?.[0]?.ErrorMessage, `Target ${shown} is not a supported target.`, Arn);
    }
    // A scheme is case-insensitive (RFC 3986): HTTPS:// is a webhook URL.
    const upper = await events.send(
      new PutTargetsCommand({ Rule: "bad-url", Targets: [{ Id: "u", Arn: "HTTPS://example.com/upper" }] }),
    );
    assert.equal(upper.FailedEntryCount, 0, JSON.stringify(upper.FailedEntries));
    const { r: got, url } = await receiver();
    await route("upper-scheme", "app.upper-scheme", [{ Id: "u", Arn: url.replace(/^http:/, "HTTP:") }]);
    const id = await put("app.upper-scheme");
    await got.waitFor(1);
    assert.equal((JSON.parse(got.got[0]?.body ?? "{}") as { id?: string }).id, id);
  });
});

describe("API destinations", () => {
  it("call the endpoint with the connection's authorization and the target's HTTP parameters", async () => {
    const { r, url } = await receiver();
    const conn = await events.send(
      new CreateConnectionCommand({
        Name: "api-key-conn",
        AuthorizationType: "API_KEY",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "s3cret-value" } },
      }),
    );
    const dest = await events.send(
      new CreateApiDestinationCommand({
        Name: "orders-api",
        ConnectionArn: conn.ConnectionArn,
        InvocationEndpoint: `${url}/orders/*`,
        HttpMethod: "PUT",
      }),
    );
    await route("to-api", "app.api", [
      {
        Id: "api",
        Arn: dest.ApiDestinationArn,
        HttpParameters: { PathParameterValues: ["o-1"], QueryStringParameters: { v: "2" } },
        InputPath: "$.detail",
      },
    ]);
    await put("app.api", { order: 1 });
    await r.waitFor(1);
    const got = r.got[0] as Received;
    assert.equal(got.path, "/orders/o-1?v=2");
    assert.equal(got.headers["x-api-key"], "s3cret-value");
    assert.deepEqual(JSON.parse(got.body), { order: 1 });
    assert.doesNotMatch(server.output(), /s3cret-value/, "the secret never reaches the log");
  });

  it("hold a burst back to InvocationRateLimitPerSecond without using up the retry attempts", async () => {
    const { r, url } = await receiver();
    const conn = await events.send(
      new CreateConnectionCommand({
        Name: "rate-conn",
        AuthorizationType: "API_KEY",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "k" } },
      }),
    );
    const dest = await events.send(
      new CreateApiDestinationCommand({
        Name: "rate-dest",
        ConnectionArn: conn.ConnectionArn,
        InvocationEndpoint: `${url}/rated`,
        HttpMethod: "POST",
        InvocationRateLimitPerSecond: 2,
      }),
    );
    const dlq = await createQueue(sqs, "rate-dlq");
    await route("rated", "app.rated", [
      {
        Id: "api",
        Arn: dest.ApiDestinationArn,
        RetryPolicy: { MaximumRetryAttempts: 0 },
        DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:rate-dlq" },
      },
    ]);
    const entries = Array.from({ length: 8 }, () => ({ Source: "app.rated", DetailType: "t", Detail: "{}" }));
    const sent = await events.send(new PutEventsCommand({ Entries: entries }));
    assert.equal(sent.FailedEntryCount, 0);
    await r.waitFor(8, 15_000);
    const at = r.got.map((g) => g.at).sort((a, b) => a - b);
    // Any second holds two calls at most (a little slack for the receiver's clock reading).
    for (const start of at) {
      const inSecond = at.filter((t) => t >= start && t < start + 950).length;
      assert.ok(
        inSecond <= 2,
        `${inSecond} calls within a second: ${at.map((t) => t - (at[0] ?? 0)).join(", ")}`,
      );
    }
    // Each at its turn (500 ms apart), not held 5 s as if the disk had refused it (a598c56 did).
    const gaps = at.slice(1).map((t, i) => Math.round(t - (at[i] as number)));
    assert.ok(Math.max(...gaps) < 1500, `gaps between the calls: ${gaps.join(", ")} ms`);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 0 }));
    assert.equal(dead.Messages?.length ?? 0, 0, "nothing went to the dead-letter queue");
  });

  it("hold the calls waiting for their turns to a lowered InvocationRateLimitPerSecond at once", async () => {
    const { r, url } = await receiver();
    const conn = await events.send(
      new CreateConnectionCommand({
        Name: "lowered-conn",
        AuthorizationType: "API_KEY",
        AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "k" } },
      }),
    );
    const dest = await events.send(
      new CreateApiDestinationCommand({
        Name: "lowered-dest",
        ConnectionArn: conn.ConnectionArn,
        InvocationEndpoint: `${url}/lowered`,
        HttpMethod: "POST",
        InvocationRateLimitPerSecond: 10,
      }),
    );
    await route("lowered", "app.lowered", [{ Id: "api", Arn: dest.ApiDestinationArn }]);
    const entries = Array.from({ length: 10 }, () => ({
      Source: "app.lowered",
      DetailType: "t",
      Detail: "{}",
    }));
    await events.send(new PutEventsCommand({ Entries: entries }));
    await events.send(new PutEventsCommand({ Entries: entries }));
    // Ten a second: a call every 100 ms, those due within a second waiting for their turns.
    await r.waitFor(3);
    await events.send(
      new UpdateApiDestinationCommand({ Name: "lowered-dest", InvocationRateLimitPerSecond: 1 }),
    );
    const lowered = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const within = r.got.filter((g) => g.at > lowered + 100 && g.at <= lowered + 1300).length;
    // At one a second, one call at most (two if the next turn fell in the window's first moments),
    // where the ten a second planned before the update would have made about ten.
    assert.ok(within <= 2, `${within} calls in the 1.2 s after the rate was lowered to 1`);
    await events.send(new RemoveTargetsCommand({ Rule: "lowered", Ids: ["api"] }));
  });

  it("stop calling with a connection's secret the moment it is deauthorized or deleted", async () => {
    const { r, url } = await receiver();
    for (const how of ["deauthorize", "delete"] as const) {
      const name = `${how}-at-once`;
      const conn = await events.send(
        new CreateConnectionCommand({
          Name: name,
          AuthorizationType: "API_KEY",
          AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: `old-${how}` } },
        }),
      );
      const dest = await events.send(
        new CreateApiDestinationCommand({
          Name: `${name}-dest`,
          ConnectionArn: conn.ConnectionArn,
          InvocationEndpoint: `${url}/${how}`,
          HttpMethod: "POST",
        }),
      );
      const dlq = await createQueue(sqs, `${name}-dlq`);
      await route(name, `app.${how}`, [
        {
          Id: "api",
          Arn: dest.ApiDestinationArn,
          RetryPolicy: { MaximumRetryAttempts: 0 },
          DeadLetterConfig: { Arn: `arn:aws:sqs:us-east-1:000000000000:${name}-dlq` },
        },
      ]);
      const before = r.got.length;
      await put(`app.${how}`);
      await r.waitFor(before + 1);
      // Straight after a call (within any cache's lifetime), the connection goes.
      if (how === "deauthorize") await events.send(new DeauthorizeConnectionCommand({ Name: name }));
      else await events.send(new DeleteConnectionCommand({ Name: name }));
      const id = await put(`app.${how}`);
      const m = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }),
      );
      const dead = m.Messages?.[0];
      assert.equal((JSON.parse(dead?.Body as string) as { id: string }).id, id, how);
      // A deauthorized connection is refused; a deleted one names nothing any more.
      const code = how === "deauthorize" ? "NO_PERMISSIONS" : "NO_RESOURCE";
      assert.equal(dead?.MessageAttributes?.ERROR_CODE?.StringValue, code, how);
      assert.equal(r.got.length, before + 1, `${how}: the endpoint was not called again`);
    }
  });
});

describe("the network guard", () => {
  it("refuses targets on networks not allowed, without calling them", async () => {
    const guarded = await startBusbar({ env: { BUSBAR_RETRY_BASE_MS: "50" } });
    const { r, url } = await receiver();
    const eb = eventBridgeClient(guarded.url);
    const q = sqsClient(guarded.url);
    try {
      const dlq = await createQueue(q, "guard-dlq");
      await eb.send(new PutRuleCommand({ Name: "loop", EventPattern: '{"source":["app.guard"]}' }));
      await eb.send(
        new PutTargetsCommand({
          Rule: "loop",
          Targets: [
            { Id: "l", Arn: url, DeadLetterConfig: { Arn: "arn:aws:sqs:us-east-1:000000000000:guard-dlq" } },
          ],
        }),
      );
      await eb.send(
        new PutEventsCommand({ Entries: [{ Source: "app.guard", DetailType: "t", Detail: "{}" }] }),
      );
      const m = await q.send(
        new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }),
      );
      const attrs = m.Messages?.[0]?.MessageAttributes;
      assert.equal(attrs?.ERROR_CODE?.StringValue, "NO_PERMISSIONS");
      assert.match(attrs?.ERROR_MESSAGE?.StringValue ?? "", /BUSBAR_ALLOW_TARGET_NETWORKS/);
      assert.equal(r.got.length, 0);
    } finally {
      eb.destroy();
      q.destroy();
      await guarded.stop();
      removeDataDir(guarded.dataDir);
    }
  });

  it("stops the server from starting with an invalid BUSBAR_ALLOW_TARGET_NETWORKS", async () => {
    await assert.rejects(
      startBusbar({ env: { BUSBAR_ALLOW_TARGET_NETWORKS: "10.0.0.0/99" } }),
      /10\.0\.0\.0\/99/,
    );
  });
});
