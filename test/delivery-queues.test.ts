/**
 * Delivery to queues and buses, dead-letter queues and metrics, against a real `busbar serve` driven
 * with the AWS SDK: rules with SQS-compatible queue targets (standard and FIFO, with input
 * transformation), event bus targets (same account, and another account through the bus's policy;
 * one hop only),
 * failures that go to the target's dead-letter queue or the bus's, and the metrics that count them;
 * events and failures holding characters SQS refuses, which still reach their queue.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateEventBusCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type EventBridgeClient,
} from "@aws-sdk/client-eventbridge";
import { ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import {
  createQueue,
  eventBridgeClient,
  metric,
  removeDataDir,
  sqsClient,
  startBusbar,
  type BusbarProcess,
  printedJson,
  runBusbar,
} from "./support/index.js";

let server: BusbarProcess;
let events: EventBridgeClient;
let sqs: SQSClient;
const ACCOUNT = "000000000000";
const queueArn = (name: string, account = ACCOUNT) => `arn:aws:sqs:us-east-1:${account}:${name}`;

before(async () => {
  server = await startBusbar({
    env: { BUSBAR_RETRY_BASE_MS: "20", BUSBAR_RETRY_MAX_MS: "100", BUSBAR_KEY_CACHE_MS: "0" },
  });
  events = eventBridgeClient(server.url);
  sqs = sqsClient(server.url);
});

after(async () => {
  events.destroy();
  sqs.destroy();
  await server.stop();
  removeDataDir(server.dataDir);
});

/** A new account (with the `busbar accounts create` command) and its root key. */
function newAccount(): { accountId: string; accessKeyId: string; secretAccessKey: string } {
  return printedJson(runBusbar(["accounts", "create", "--data-dir", server.dataDir]));
}

/** Receives until `count` messages arrived (or 10 s passed). */
async function receive(url: string, count: number, attributes = false): Promise<Message[]> {
  const got: Message[] = [];
  const deadline = Date.now() + 10_000;
  while (got.length < count && Date.now() < deadline) {
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        ...(attributes && { MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }),
      }),
    );
    got.push(...(r.Messages ?? []));
  }
  return got;
}

async function rule(name: string, pattern: object, bus?: string): Promise<string> {
  const r = await events.send(
    new PutRuleCommand({
      Name: name,
      EventPattern: JSON.stringify(pattern),
      ...(bus !== undefined && { EventBusName: bus }),
    }),
  );
  return r.RuleArn as string;
}

async function put(source: string, detail: object, bus?: string): Promise<string> {
  const r = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: source,
          DetailType: "test",
          Detail: JSON.stringify(detail),
          ...(bus !== undefined && { EventBusName: bus }),
        },
      ],
    }),
  );
  assert.equal(r.FailedEntryCount, 0);
  return r.Entries?.[0]?.EventId as string;
}

describe("queue targets", () => {
  it("deliver each matching event to the queue, as the event envelope", async () => {
    const url = await createQueue(sqs, "orders-all");
    await rule("orders-to-queue", { source: ["shop.orders"] });
    await events.send(
      new PutTargetsCommand({ Rule: "orders-to-queue", Targets: [{ Id: "q", Arn: queueArn("orders-all") }] }),
    );
    const ids = [
      await put("shop.orders", { n: 1 }),
      await put("shop.orders", { n: 2 }),
      await put("shop.other", {}),
    ];
    const got = await receive(url, 2);
    assert.equal(got.length, 2);
    const bodies = got.map((m) => JSON.parse(m.Body as string) as Record<string, unknown>);
    assert.deepEqual(new Set(bodies.map((b) => b.id)), new Set(ids.slice(0, 2)));
    for (const b of bodies) {
      assert.equal(b.source, "shop.orders");
      assert.equal(b["detail-type"], "test");
      assert.equal(b.account, ACCOUNT);
    }
    assert.equal(await metric(server.url, "Invocations", { rule: "orders-to-queue", target: "q" }), 2);
    assert.equal(await metric(server.url, "TriggeredRules", { rule: "orders-to-queue" }), 2);
    for (const latency of ["IngestiontoInvocationStartLatency", "IngestiontoInvocationCompleteLatency"]) {
      assert.equal(
        await metric(server.url, `${latency}_count`, { rule: "orders-to-queue", target: "q" }),
        2,
        latency,
      );
      assert.equal(await metric(server.url, `${latency}_bucket`, { rule: "orders-to-queue", le: "+Inf" }), 2);
    }
    // The gauges read the engine at the scrape: nothing in flight, and nothing held once completed.
    assert.equal(await metric(server.url, "busbar_invocations_in_flight"), 0);
    const until = Date.now() + 5000;
    while ((await metric(server.url, "busbar_deliveries_in_memory")) > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await metric(server.url, "busbar_deliveries_in_memory"), 0);
  });

  it("send what the InputTransformer makes of the event", async () => {
    const url = await createQueue(sqs, "transformed");
    const ruleArn = await rule("transform", { source: ["shop.transform"] });
    await events.send(
      new PutTargetsCommand({
        Rule: "transform",
        Targets: [
          {
            Id: "t",
            Arn: queueArn("transformed"),
            InputTransformer: {
              InputPathsMap: { order: "$.detail.order", src: "$.source" },
              InputTemplate: '{"order": <order>, "from": "<src>", "rule": "<aws.events.rule-arn>"}',
            },
          },
        ],
      }),
    );
    await put("shop.transform", { order: { id: 7, lines: [1, 2] } });
    const [m] = await receive(url, 1);
    assert.deepEqual(JSON.parse(m?.Body as string), {
      order: { id: 7, lines: [1, 2] },
      from: "shop.transform",
      rule: ruleArn,
    });
  });

  it("deliver to FIFO queues with the target's MessageGroupId, one message per target of an event", async () => {
    const url = await createQueue(sqs, "ordered.fifo", { FifoQueue: "true" });
    await rule("to-fifo", { source: ["shop.fifo"] });
    // Two targets on the same queue: each gets its message (deduplicated by delivery, not by event).
    await events.send(
      new PutTargetsCommand({
        Rule: "to-fifo",
        Targets: [
          { Id: "f", Arn: queueArn("ordered.fifo"), SqsParameters: { MessageGroupId: "g1" } },
          {
            Id: "audit",
            Arn: queueArn("ordered.fifo"),
            SqsParameters: { MessageGroupId: "g2" },
            Input: '{"audit":true}',
          },
        ],
      }),
    );
    const id = await put("shop.fifo", { n: 1 });
    const got = await receive(url, 2, true);
    assert.equal(got.length, 2);
    const byGroup = new Map(got.map((m) => [m.Attributes?.MessageGroupId, m]));
    assert.equal((JSON.parse(byGroup.get("g1")?.Body ?? "{}") as { id?: string }).id, id);
    assert.deepEqual(JSON.parse(byGroup.get("g2")?.Body ?? "{}"), { audit: true });
    const dedup = got.map((m) => m.Attributes?.MessageDeduplicationId);
    assert.notEqual(dedup[0], dedup[1]);
  });

  it("deliver to a standard queue with the target's MessageGroupId, as SQS's fair queues take it", async () => {
    const url = await createQueue(sqs, "fair");
    await rule("to-fair", { source: ["shop.fair"] });
    await events.send(
      new PutTargetsCommand({
        Rule: "to-fair",
        Targets: [{ Id: "f", Arn: queueArn("fair"), SqsParameters: { MessageGroupId: "tenant-1" } }],
      }),
    );
    await put("shop.fair", {});
    const [m] = await receive(url, 1, true);
    assert.equal(m?.Attributes?.MessageGroupId, "tenant-1");
    assert.equal(m?.Attributes?.MessageDeduplicationId, undefined, "deduplication is FIFO's");
  });
});

describe("queue targets and characters SQS refuses", () => {
  it("escape U+FFFE and lone surrogates in a JSON body, keeping its value; a text body gets U+FFFD", async () => {
    const url = await createQueue(sqs, "nonchars");
    const text = await createQueue(sqs, "nonchars-text");
    await rule("nonchars", { source: ["shop.nonchars"] });
    await events.send(
      new PutTargetsCommand({
        Rule: "nonchars",
        Targets: [
          { Id: "envelope", Arn: queueArn("nonchars") },
          { Id: "path", Arn: queueArn("nonchars"), InputPath: "$.detail" },
          {
            Id: "text",
            Arn: queueArn("nonchars-text"),
            InputTransformer: { InputPathsMap: { note: "$.detail.note" }, InputTemplate: "note: <note>" },
          },
        ],
      }),
    );
    // Legal JSON text, which PutEvents accepts: noncharacters and a surrogate without its pair, in
    // the Detail text as such (JSON.stringify would escape the surrogate).
    const note = "a\uFFFEb\uFFFFc\uD800d";
    const r = await events.send(
      new PutEventsCommand({
        Entries: [{ Source: "shop.nonchars", DetailType: "test", Detail: `{"note":"${note}"}` }],
      }),
    );
    assert.equal(r.FailedEntryCount, 0);
    const id = r.Entries?.[0]?.EventId as string;
    const got = await receive(url, 2);
    assert.equal(got.length, 2, "both JSON bodies reached the queue");
    const bodies = got.map((m) => m.Body as string);
    const envelope = bodies.find((b) => b.includes('"source"')) as string;
    const detail = bodies.find((b) => !b.includes('"source"')) as string;
    assert.equal((JSON.parse(envelope) as { id: string }).id, id);
    assert.deepEqual((JSON.parse(envelope) as { detail: unknown }).detail, { note });
    assert.deepEqual(JSON.parse(detail), { note });
    assert.match(envelope, /a\\ufffeb\\uffffc\\ud800d/, "written as escapes");
    const [t] = await receive(text, 1);
    assert.equal(t?.Body, "note: a\uFFFDb\uFFFDc\uFFFDd");
  });

  it("reach the dead-letter queue with such characters escaped when the target fails", async () => {
    const dlq = await createQueue(sqs, "nonchars-dlq");
    await rule("nonchars-dlq", { source: ["shop.nonchars-dlq"] });
    await events.send(
      new PutTargetsCommand({
        Rule: "nonchars-dlq",
        Targets: [
          {
            Id: "gone",
            Arn: queueArn("no-such-nonchars"),
            DeadLetterConfig: { Arn: queueArn("nonchars-dlq") },
          },
        ],
      }),
    );
    const id = await put("shop.nonchars-dlq", { note: "x\uFFFEy" });
    const [m] = await receive(dlq, 1, true);
    assert.ok(m !== undefined, "the event reached the dead-letter queue");
    const body = JSON.parse(m.Body as string) as { id: string; detail: unknown };
    assert.equal(body.id, id);
    assert.deepEqual(body.detail, { note: "x\uFFFEy" });
    assert.equal(m.MessageAttributes?.ERROR_CODE?.StringValue, "NO_RESOURCE");
  });
});

describe("event bus targets", () => {
  it("put the event on another bus, where that bus's rules route it on", async () => {
    await events.send(new CreateEventBusCommand({ Name: "downstream" }));
    const url = await createQueue(sqs, "downstream-q");
    await rule("forward", { source: ["shop.forward"] });
    await events.send(
      new PutTargetsCommand({
        Rule: "forward",
        Targets: [{ Id: "bus", Arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/downstream` }],
      }),
    );
    await rule("on-downstream", { source: ["shop.forward"], detail: { keep: [true] } }, "downstream");
    await events.send(
      new PutTargetsCommand({
        Rule: "on-downstream",
        EventBusName: "downstream",
        Targets: [{ Id: "q", Arn: queueArn("downstream-q") }],
      }),
    );
    const id = await put("shop.forward", { keep: true, n: 1 });
    await put("shop.forward", { keep: false });
    const got = await receive(url, 2);
    assert.equal(got.length, 1);
    const body = JSON.parse(got[0]?.Body as string) as Record<string, unknown>;
    assert.deepEqual(body.detail, { keep: true, n: 1 });
    assert.notEqual(body.id, id, "the event gets a new id on the other bus");
  });

  it("put the event on a bus whose policy denies all but its own account's principals, as the rule's account", async () => {
    await events.send(new CreateEventBusCommand({ Name: "own-only" }));
    const busArn = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/own-only`;
    await events.send(
      new PutPermissionCommand({
        EventBusName: "own-only",
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "outsiders",
              Effect: "Deny",
              Principal: "*",
              Action: "events:PutEvents",
              Resource: busArn,
              Condition: { ArnNotLike: { "aws:PrincipalArn": `arn:aws:iam::${ACCOUNT}:*` } },
            },
          ],
        }),
      }),
    );
    const url = await createQueue(sqs, "own-only-q");
    await rule("on-own-only", { source: ["shop.own-only"] }, "own-only");
    await events.send(
      new PutTargetsCommand({
        Rule: "on-own-only",
        EventBusName: "own-only",
        Targets: [{ Id: "q", Arn: queueArn("own-only-q") }],
      }),
    );
    await rule("to-own-only", { source: ["shop.own-only"] });
    await events.send(new PutTargetsCommand({ Rule: "to-own-only", Targets: [{ Id: "bus", Arn: busArn }] }));
    await put("shop.own-only", { n: 1 });
    const got = await receive(url, 1);
    assert.equal(got.length, 1, "the rule's call is its own account's root's (aws:PrincipalArn)");
  });

  it("put on a bus only the events its policy's events:source condition lets through", async () => {
    await events.send(new CreateEventBusCommand({ Name: "orders-only" }));
    const busArn = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/orders-only`;
    await events.send(
      new PutPermissionCommand({
        EventBusName: "orders-only",
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "orders-only",
              Effect: "Deny",
              Principal: "*",
              Action: "events:PutEvents",
              Resource: busArn,
              Condition: { StringNotEquals: { "events:source": "shop.orders" } },
            },
          ],
        }),
      }),
    );
    const url = await createQueue(sqs, "orders-only-q");
    await rule("on-orders-only", { "detail-type": ["by-source"] }, "orders-only");
    await events.send(
      new PutTargetsCommand({
        Rule: "on-orders-only",
        EventBusName: "orders-only",
        Targets: [{ Id: "q", Arn: queueArn("orders-only-q") }],
      }),
    );
    await rule("to-orders-only", { "detail-type": ["by-source"] });
    await events.send(
      new PutTargetsCommand({ Rule: "to-orders-only", Targets: [{ Id: "bus", Arn: busArn }] }),
    );
    for (const source of ["shop.billing", "shop.orders"]) {
      await events.send(
        new PutEventsCommand({ Entries: [{ Source: source, DetailType: "by-source", Detail: "{}" }] }),
      );
    }
    // The refused one was put first and is not retried (NO_PERMISSIONS): once the other is there, it
    // would be too.
    const got = await receive(url, 1);
    const after = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    assert.deepEqual(
      [...got, ...(after.Messages ?? [])].map(
        (m) => (JSON.parse(m.Body as string) as { source: string }).source,
      ),
      ["shop.orders"],
    );
  });

  it("go one hop only: an event that came from another bus is not sent on to a third, so loops end", async () => {
    for (const name of ["hop-a", "hop-b", "hop-c"])
      await events.send(new CreateEventBusCommand({ Name: name }));
    const busArn = (name: string) => `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/${name}`;
    const onB = await createQueue(sqs, "hop-b-q");
    const onC = await createQueue(sqs, "hop-c-q");
    const onA = await createQueue(sqs, "hop-a-q");
    // a → b; b → c, b → a (a cycle) and b → a queue; c → a queue; a → a queue.
    const route = async (bus: string, targets: Array<{ Id: string; Arn: string }>) => {
      await rule(`route-${bus}`, { source: ["shop.hops"] }, bus);
      await events.send(new PutTargetsCommand({ Rule: `route-${bus}`, EventBusName: bus, Targets: targets }));
    };
    await route("hop-a", [
      { Id: "b", Arn: busArn("hop-b") },
      { Id: "q", Arn: queueArn("hop-a-q") },
    ]);
    await route("hop-b", [
      { Id: "c", Arn: busArn("hop-c") },
      { Id: "a", Arn: busArn("hop-a") },
      { Id: "q", Arn: queueArn("hop-b-q") },
    ]);
    await route("hop-c", [{ Id: "q", Arn: queueArn("hop-c-q") }]);
    const put = await events.send(
      new PutEventsCommand({
        Entries: [{ EventBusName: "hop-a", Source: "shop.hops", DetailType: "t", Detail: '{"n":1}' }],
      }),
    );
    assert.equal(put.FailedEntryCount, 0);
    assert.equal((await receive(onB, 1)).length, 1, "the event reaches the bus it was sent to");
    assert.equal((await receive(onA, 1)).length, 1);
    // Give any further hop time to happen, then check that none did.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: onA, WaitTimeSeconds: 1 }));
    assert.equal(again.Messages, undefined, "the cycle b → a did not bring the event back to a");
    const third = await sqs.send(new ReceiveMessageCommand({ QueueUrl: onC, WaitTimeSeconds: 1 }));
    assert.equal(third.Messages, undefined, "the event went no further than the second bus");
    // Counted as EventBridge does, once per target not invoked: b's two bus targets.
    const cut = (target: string) =>
      metric(server.url, "DeadLetterInvocations", { bus: "hop-b", rule: "route-hop-b", target });
    assert.equal(await cut("c"), 1);
    assert.equal(await cut("a"), 1);
    assert.equal(await cut("q"), 0, "the queue target was invoked");
    assert.equal(
      await metric(server.url, "DeadLetterInvocations", { bus: "hop-a" }),
      0,
      "the first hop is not cut",
    );
  });

  it("refuse a bus of another account until its policy allows the rule's account", async () => {
    await events.send(new CreateEventBusCommand({ Name: "partner" }));
    const url = await createQueue(sqs, "partner-in");
    await rule("partner-in", { source: ["partner.app"] }, "partner");
    await events.send(
      new PutTargetsCommand({
        Rule: "partner-in",
        EventBusName: "partner",
        Targets: [{ Id: "q", Arn: queueArn("partner-in") }],
      }),
    );
    // Another account's rule sends its events to the default account's bus "partner".
    const other = newAccount();
    const theirs = eventBridgeClient(server.url, other);
    try {
      await theirs.send(
        new PutRuleCommand({ Name: "to-partner", EventPattern: '{"source":["partner.app"]}' }),
      );
      await theirs.send(
        new PutTargetsCommand({
          Rule: "to-partner",
          Targets: [{ Id: "p", Arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/partner` }],
        }),
      );
      const send = () =>
        theirs.send(
          new PutEventsCommand({ Entries: [{ Source: "partner.app", DetailType: "t", Detail: '{"n":1}' }] }),
        );
      await send();
      const deadline = Date.now() + 5000;
      while (
        (await metric(server.url, "FailedInvocations", { rule: "to-partner", code: "NO_PERMISSIONS" })) < 1
      ) {
        assert.ok(Date.now() < deadline, "the delivery was refused");
        await new Promise((r) => setTimeout(r, 50));
      }
      await events.send(
        new PutPermissionCommand({
          EventBusName: "partner",
          Action: "events:PutEvents",
          Principal: other.accountId,
          StatementId: "partner-account",
        }),
      );
      await send();
      const got = await receive(url, 1);
      assert.equal(got.length, 1);
      assert.equal((JSON.parse(got[0]?.Body as string) as { account: string }).account, other.accountId);
      // A third account's default bus exists (made with the account, by the CLI on the data
      // directory, and not used since, so only the store knows it): without a policy it refuses this
      // account's events with NO_PERMISSIONS, not NO_RESOURCE.
      const third = newAccount();
      await rule("to-their-default", { source: ["shop.theirs"] });
      await events.send(
        new PutTargetsCommand({
          Rule: "to-their-default",
          Targets: [{ Id: "d", Arn: `arn:aws:events:us-east-1:${third.accountId}:event-bus/default` }],
        }),
      );
      await put("shop.theirs", {});
      const until = Date.now() + 5000;
      const refused = () =>
        metric(server.url, "FailedInvocations", { rule: "to-their-default", code: "NO_PERMISSIONS" });
      while ((await refused()) < 1) {
        assert.ok(Date.now() < until, "the delivery was refused for want of permission");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(
        await metric(server.url, "FailedInvocations", { rule: "to-their-default", code: "NO_RESOURCE" }),
        0,
      );
      // Its bus or queue that does not exist reads the same: whether it exists is not told.
      await rule("to-their-missing", { source: ["shop.missing"] });
      await events.send(
        new PutTargetsCommand({
          Rule: "to-their-missing",
          Targets: [
            { Id: "b", Arn: `arn:aws:events:us-east-1:${third.accountId}:event-bus/no-such-bus` },
            { Id: "q", Arn: `arn:aws:sqs:us-east-1:${third.accountId}:no-such-queue` },
          ],
        }),
      );
      await put("shop.missing", {});
      const missing = () =>
        metric(server.url, "FailedInvocations", { rule: "to-their-missing", code: "NO_PERMISSIONS" });
      const by = Date.now() + 5000;
      while ((await missing()) < 2) {
        assert.ok(Date.now() < by, "both deliveries were refused for want of permission");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(
        await metric(server.url, "FailedInvocations", { rule: "to-their-missing", code: "NO_RESOURCE" }),
        0,
      );
    } finally {
      theirs.destroy();
    }
  });
});

describe("queues of another account", () => {
  it("take a rule's events and dead letters when their policy grants events.amazonaws.com for that rule", async () => {
    const other = newAccount();
    const theirs = eventBridgeClient(server.url, other);
    const ruleArn = (name: string) => `arn:aws:events:us-east-1:${other.accountId}:rule/${name}`;
    // EventBridge's user guide's grant: the service principal, conditioned on the rule's ARN.
    const grantTo = (name: string, rules: string[]) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "events.amazonaws.com" },
            Action: "sqs:SendMessage",
            Resource: queueArn(name),
            Condition: { ArnEquals: { "aws:SourceArn": rules } },
          },
        ],
      });
    const inbox = await createQueue(sqs, "granted-inbox", {
      Policy: grantTo("granted-inbox", [ruleArn("granted")]),
    });
    const dlq = await createQueue(sqs, "granted-dlq", {
      Policy: grantTo("granted-dlq", [`arn:aws:events:us-east-1:${other.accountId}:rule/failing*`]),
    });
    try {
      for (const [name, source] of [
        ["granted", "svc.granted"],
        ["not-granted", "svc.not-granted"],
        ["failing-1", "svc.failing"],
      ] as const) {
        await theirs.send(
          new PutRuleCommand({ Name: name, EventPattern: JSON.stringify({ source: [source] }) }),
        );
      }
      await theirs.send(
        new PutTargetsCommand({ Rule: "granted", Targets: [{ Id: "q", Arn: queueArn("granted-inbox") }] }),
      );
      await theirs.send(
        new PutTargetsCommand({
          Rule: "not-granted",
          Targets: [{ Id: "q", Arn: queueArn("granted-inbox") }],
        }),
      );
      // A target that fails at once (a queue that does not exist), whose dead letters go to the queue.
      await theirs.send(
        new PutTargetsCommand({
          Rule: "failing-1",
          Targets: [
            {
              Id: "gone",
              Arn: queueArn("no-such-queue", other.accountId),
              DeadLetterConfig: { Arn: queueArn("granted-dlq") },
            },
          ],
        }),
      );
      for (const source of ["svc.granted", "svc.not-granted", "svc.failing"]) {
        const r = await theirs.send(
          new PutEventsCommand({ Entries: [{ Source: source, DetailType: "t", Detail: "{}" }] }),
        );
        assert.equal(r.FailedEntryCount, 0);
      }
      const got = await receive(inbox, 1);
      assert.deepEqual(
        got.map((m) => (JSON.parse(m.Body as string) as { source: string }).source),
        ["svc.granted"],
      );
      const deadline = Date.now() + 5000;
      while (
        (await metric(server.url, "FailedInvocations", { rule: "not-granted", code: "NO_PERMISSIONS" })) < 1
      ) {
        assert.ok(Date.now() < deadline, "the rule the policy does not name was refused");
        await new Promise((r) => setTimeout(r, 50));
      }
      const [dead] = await receive(dlq, 1, true);
      assert.equal((JSON.parse(dead?.Body as string) as { source: string }).source, "svc.failing");
      assert.equal(dead?.MessageAttributes?.RULE_ARN?.StringValue, ruleArn("failing-1"));
      const more = await sqs.send(new ReceiveMessageCommand({ QueueUrl: inbox, WaitTimeSeconds: 1 }));
      assert.equal(more.Messages, undefined, "nothing more reached the inbox");
    } finally {
      theirs.destroy();
    }
  });
});

describe("dead-letter queues", () => {
  it("receive an event whose target cannot be delivered to, with EventBridge's attributes, without retries", async () => {
    const dlq = await createQueue(sqs, "dead-letters");
    const ruleArn = await rule("to-missing-queue", { source: ["shop.dlq"] });
    await events.send(
      new PutTargetsCommand({
        Rule: "to-missing-queue",
        Targets: [
          { Id: "gone", Arn: queueArn("no-such-queue"), DeadLetterConfig: { Arn: queueArn("dead-letters") } },
        ],
      }),
    );
    const id = await put("shop.dlq", { n: 1 });
    const [m] = await receive(dlq, 1, true);
    assert.ok(m !== undefined, "the event reached the dead-letter queue");
    assert.equal((JSON.parse(m.Body as string) as { id: string }).id, id);
    const attr = (k: string) => m.MessageAttributes?.[k]?.StringValue;
    assert.equal(attr("RULE_ARN"), ruleArn);
    assert.equal(attr("TARGET_ARN"), queueArn("no-such-queue"));
    assert.equal(attr("ERROR_CODE"), "NO_RESOURCE");
    assert.match(attr("ERROR_MESSAGE") ?? "", /does not exist/);
    assert.equal(attr("RETRY_ATTEMPTS"), "0");
    assert.equal(attr("EXHAUSTED_RETRY_CONDITION"), undefined, "not exhausted: not retryable");
    assert.equal(await metric(server.url, "InvocationsSentToDlq", { rule: "to-missing-queue" }), 1);
    assert.equal(
      await metric(server.url, "FailedInvocations", { rule: "to-missing-queue", code: "NO_RESOURCE" }),
      1,
    );
  });

  it("receive an event its own account's queue or bus denies the rule by policy, without retries", async () => {
    const dlq = await createQueue(sqs, "denied-letters");
    const denying = (action: string, resource: string): string =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "deny-all", Effect: "Deny", Principal: "*", Action: action, Resource: resource }],
      });
    await createQueue(sqs, "closed", { Policy: denying("sqs:SendMessage", queueArn("closed")) });
    await events.send(new CreateEventBusCommand({ Name: "closed-bus" }));
    const busArn = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/closed-bus`;
    await events.send(
      new PutPermissionCommand({ EventBusName: "closed-bus", Policy: denying("events:PutEvents", busArn) }),
    );
    await rule("to-denying", { source: ["shop.denied"] });
    await events.send(
      new PutTargetsCommand({
        Rule: "to-denying",
        Targets: [
          { Id: "queue", Arn: queueArn("closed"), DeadLetterConfig: { Arn: queueArn("denied-letters") } },
          { Id: "bus", Arn: busArn, DeadLetterConfig: { Arn: queueArn("denied-letters") } },
        ],
      }),
    );
    await put("shop.denied", { n: 1 });
    const got = await receive(dlq, 2, true);
    const attr = (m: Message, k: string) => m.MessageAttributes?.[k]?.StringValue;
    assert.deepEqual(got.map((m) => attr(m, "TARGET_ARN")).sort(), [busArn, queueArn("closed")].sort());
    for (const m of got) {
      assert.equal(attr(m, "ERROR_CODE"), "NO_PERMISSIONS");
      assert.equal(attr(m, "RETRY_ATTEMPTS"), "0");
    }
  });

  it("are of the rule's Region: a queue or bus target of another Region is refused at PutTargets, never delivered to the same name here", async () => {
    // A node serves one Region; a target stored before PutTargets refused these fails NO_RESOURCE
    // at delivery (src/delivery/targets-elsewhere.test.ts).
    await rule("to-other-region", { source: ["shop.region"] });
    const r = await events.send(
      new PutTargetsCommand({
        Rule: "to-other-region",
        Targets: [
          { Id: "q", Arn: "arn:aws:sqs:eu-west-1:000000000000:regional" },
          { Id: "b", Arn: "arn:aws:events:eu-west-1:000000000000:event-bus/regional-bus" },
        ],
      }),
    );
    assert.equal(r.FailedEntryCount, 2);
    for (const f of r.FailedEntries ?? [])
      assert.match(f.ErrorMessage ?? "", /is in Region eu-west-1; this endpoint serves us-east-1/);
  });

  it("refuse at PutTargets a MessageGroupId with characters a queue refuses, naming the target", async () => {
    await createQueue(sqs, "bell.fifo", { FifoQueue: "true" });
    await createQueue(sqs, "bell-fair");
    await rule("bell", { source: ["shop.bell"] });
    const r = await events.send(
      new PutTargetsCommand({
        Rule: "bell",
        Targets: [
          { Id: "fifo", Arn: queueArn("bell.fifo"), SqsParameters: { MessageGroupId: "g\u0007\u0000" } },
          { Id: "fair", Arn: queueArn("bell-fair"), SqsParameters: { MessageGroupId: "tenant 1" } },
          { Id: "ok", Arn: queueArn("bell.fifo"), SqsParameters: { MessageGroupId: "g!~" } },
        ],
      }),
    );
    assert.deepEqual(
      r.FailedEntries?.map((f) => f.TargetId),
      ["fifo", "fair"],
    );
    for (const f of r.FailedEntries ?? []) {
      assert.match(
        f.ErrorMessage ?? "",
        /^Target (fifo|fair): SqsParameters.MessageGroupId can only include/,
      );
    }
    const listed = await events.send(new ListTargetsByRuleCommand({ Rule: "bell" }));
    assert.deepEqual(
      listed.Targets?.map((t) => t.Id),
      ["ok"],
    );
  });

  it("on the bus catch failures of targets without their own", async () => {
    const dlq = await createQueue(sqs, "bus-dead-letters");
    await events.send(
      new CreateEventBusCommand({
        Name: "with-dlq",
        DeadLetterConfig: { Arn: queueArn("bus-dead-letters") },
      }),
    );
    await rule("bus-dlq-rule", { source: ["shop.busdlq"] }, "with-dlq");
    await events.send(
      new PutTargetsCommand({
        Rule: "bus-dlq-rule",
        EventBusName: "with-dlq",
        Targets: [{ Id: "gone", Arn: queueArn("also-missing") }],
      }),
    );
    const id = await put("shop.busdlq", {}, "with-dlq");
    const [m] = await receive(dlq, 1, true);
    assert.equal((JSON.parse(m?.Body as string) as { id: string }).id, id);
    assert.equal(m?.MessageAttributes?.ERROR_CODE?.StringValue, "NO_RESOURCE");
  });

  it("must be standard queues of the rule's Region: others are refused when the target or bus is configured", async () => {
    await createQueue(sqs, "dead-letters.fifo", { FifoQueue: "true" });
    await rule("fifo-dlq-rule", { source: ["shop.fifodlq"] });
    const elsewhere = "arn:aws:sqs:eu-west-1:000000000000:dead-letters";
    const r = await events.send(
      new PutTargetsCommand({
        Rule: "fifo-dlq-rule",
        Targets: [
          {
            Id: "q",
            Arn: queueArn("missing-again"),
            DeadLetterConfig: { Arn: queueArn("dead-letters.fifo") },
          },
          { Id: "r", Arn: queueArn("missing-again"), DeadLetterConfig: { Arn: elsewhere } },
        ],
      }),
    );
    assert.equal(r.FailedEntryCount, 2);
    assert.match(
      r.FailedEntries?.[0]?.ErrorMessage ?? "",
      /FIFO queue; a dead-letter queue must be a standard queue/,
    );
    assert.match(
      r.FailedEntries?.[1]?.ErrorMessage ?? "",
      /is in Region eu-west-1; a dead-letter queue must be in the rule's Region, us-east-1/,
    );
    for (const [arn, reason] of [
      [queueArn("dead-letters.fifo"), /must be a standard queue/],
      [elsewhere, /must be in the rule's Region/],
    ] as const) {
      await assert.rejects(
        events.send(new CreateEventBusCommand({ Name: "bad-dlq-bus", DeadLetterConfig: { Arn: arn } })),
        (e: Error) => e.name === "ValidationException" && reason.test(e.message),
      );
    }
  });

  it("count an event dropped when there is no dead-letter queue", async () => {
    await rule("drop-rule", { source: ["shop.drop"] });
    await events.send(
      new PutTargetsCommand({ Rule: "drop-rule", Targets: [{ Id: "gone", Arn: queueArn("missing-too") }] }),
    );
    await put("shop.drop", {});
    const deadline = Date.now() + 5000;
    while (
      (await metric(server.url, "InvocationsDropped", { rule: "drop-rule" })) < 1 &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(
      await metric(server.url, "InvocationsDropped", { rule: "drop-rule", reason: "NO_DEAD_LETTER_QUEUE" }),
      1,
    );
    assert.match(server.output(), /"eventId":"[^"]+","rule":"[^"]*drop-rule"/);
  });
});
