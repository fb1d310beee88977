/**
 * The EventBridge API of a real `busbar serve`, driven by the official AWS SDK for JavaScript v3 with
 * nothing but an endpoint override.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  ListEventBusesCommand,
  ListRuleNamesByTargetCommand,
  ListRulesCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
  TestEventPatternCommand,
  UntagResourceCommand,
  UpdateEventBusCommand,
} from "@aws-sdk/client-eventbridge";
import {
  eventBridgeClient,
  removeDataDir,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./support/busbar-process.js";
import { callAwsJson } from "./support/aws-json.js";
import { metric } from "./support/metrics.js";

let server: BusbarProcess;
let eb: EventBridgeClient;
const ACCOUNT = "000000000000";

const client = eventBridgeClient;

async function rejects(promise: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

before(async () => {
  server = await startBusbar();
  eb = client(server.url);
});

after(async () => {
  eb.destroy();
  assert.equal(await server.stop(), 0, "SIGTERM drains and exits 0");
  removeDataDir(server.dataDir);
});

describe("event buses", () => {
  it("has the default bus", async () => {
    const bus = await eb.send(new DescribeEventBusCommand({}));
    assert.equal(bus.Name, "default");
    assert.equal(bus.Arn, `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`);
  });
  it("creates, describes, updates, lists and deletes a bus", async () => {
    const created = await eb.send(
      new CreateEventBusCommand({
        Name: "orders",
        Description: "order events",
        Tags: [{ Key: "team", Value: "shop" }],
      }),
    );
    assert.equal(created.EventBusArn, `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/orders`);
    const described = await eb.send(new DescribeEventBusCommand({ Name: created.EventBusArn }));
    assert.equal(described.Description, "order events");
    assert.ok(described.CreationTime instanceof Date);
    const dlq = `arn:aws:sqs:us-east-1:${ACCOUNT}:orders-dlq`;
    await eb.send(new UpdateEventBusCommand({ Name: "orders", DeadLetterConfig: { Arn: dlq } }));
    // An update that leaves DeadLetterConfig out keeps it; `{}` removes it.
    await eb.send(new UpdateEventBusCommand({ Name: "orders", Description: "all order events" }));
    const updated = await eb.send(new DescribeEventBusCommand({ Name: "orders" }));
    assert.equal(updated.Description, "all order events");
    assert.equal(updated.DeadLetterConfig?.Arn, dlq);
    await eb.send(new UpdateEventBusCommand({ Name: "orders", DeadLetterConfig: {} }));
    const without = await eb.send(new DescribeEventBusCommand({ Name: "orders" }));
    assert.equal(without.DeadLetterConfig, undefined);
    assert.equal(without.Description, "all order events");
    const list = await eb.send(new ListEventBusesCommand({ NamePrefix: "ord" }));
    assert.deepEqual(
      list.EventBuses?.map((b) => b.Name),
      ["orders"],
    );
    const tags = await eb.send(new ListTagsForResourceCommand({ ResourceARN: created.EventBusArn }));
    assert.deepEqual(tags.Tags, [{ Key: "team", Value: "shop" }]);
    await eb.send(new DeleteEventBusCommand({ Name: "orders" }));
    await rejects(eb.send(new DescribeEventBusCommand({ Name: "orders" })), "ResourceNotFoundException");
  });
  it("keeps a bus's LogConfig and describes it (it sends no logs)", async () => {
    const made = await eb.send(
      new CreateEventBusCommand({ Name: "logged", LogConfig: { IncludeDetail: "FULL", Level: "INFO" } }),
    );
    assert.deepEqual(made.LogConfig, { IncludeDetail: "FULL", Level: "INFO" });
    const described = async () => (await eb.send(new DescribeEventBusCommand({ Name: "logged" }))).LogConfig;
    assert.deepEqual(await described(), { IncludeDetail: "FULL", Level: "INFO" });
    // Left out of an update, it stays; given, it is replaced.
    await eb.send(new UpdateEventBusCommand({ Name: "logged", Description: "d" }));
    assert.deepEqual(await described(), { IncludeDetail: "FULL", Level: "INFO" });
    const updated = await eb.send(new UpdateEventBusCommand({ Name: "logged", LogConfig: { Level: "OFF" } }));
    assert.deepEqual(updated.LogConfig, { Level: "OFF" });
    assert.deepEqual(await described(), { Level: "OFF" });
    await rejects(
      eb.send(new CreateEventBusCommand({ Name: "badlog", LogConfig: { Level: "LOUD" as "OFF" } })),
      "ValidationException",
      /LogConfig.Level.*OFF, ERROR, INFO, TRACE/,
    );
    assert.equal((await eb.send(new DescribeEventBusCommand({}))).LogConfig, undefined);
  });
  it("rejects duplicates, bad names, and deleting the default bus", async () => {
    await eb.send(new CreateEventBusCommand({ Name: "dup" }));
    await rejects(eb.send(new CreateEventBusCommand({ Name: "dup" })), "ResourceAlreadyExistsException");
    await rejects(eb.send(new CreateEventBusCommand({ Name: "default" })), "ResourceAlreadyExistsException");
    await rejects(
      eb.send(new CreateEventBusCommand({ Name: "bad name!" })),
      "ValidationException",
      /regular expression/,
    );
    await rejects(
      eb.send(new CreateEventBusCommand({ Name: "x".repeat(257) })),
      "ValidationException",
      /length/,
    );
    await rejects(
      eb.send(new DeleteEventBusCommand({ Name: "default" })),
      "ValidationException",
      /Cannot delete/,
    );
    await rejects(
      eb.send(new CreateEventBusCommand({ Name: "kms", KmsKeyIdentifier: "bad key!" })),
      "ValidationException",
      /kmsKeyIdentifier/,
    );
    await rejects(eb.send(new ListEventBusesCommand({ NamePrefix: "bad prefix!" })), "ValidationException");
    await rejects(
      eb.send(
        new PutPermissionCommand({
          EventBusName: "a/b",
          StatementId: "s",
          Action: "events:PutEvents",
          Principal: "*",
        }),
      ),
      "ValidationException",
      /eventBusName/,
    );
  });
  it("pages ListEventBuses with Limit and NextToken", async () => {
    for (const n of ["page-a", "page-b", "page-c"]) await eb.send(new CreateEventBusCommand({ Name: n }));
    const first = await eb.send(new ListEventBusesCommand({ NamePrefix: "page-", Limit: 2 }));
    assert.deepEqual(
      first.EventBuses?.map((b) => b.Name),
      ["page-a", "page-b"],
    );
    assert.ok(first.NextToken);
    const second = await eb.send(
      new ListEventBusesCommand({ NamePrefix: "page-", Limit: 2, NextToken: first.NextToken }),
    );
    assert.deepEqual(
      second.EventBuses?.map((b) => b.Name),
      ["page-c"],
    );
    assert.equal(second.NextToken, undefined);
    await rejects(eb.send(new ListEventBusesCommand({ NextToken: "not-a-token!" })), "ValidationException");
  });
});

describe("rules and targets", () => {
  const pattern = JSON.stringify({ source: ["shop"], "detail-type": ["Order Placed"] });
  it("puts, describes, lists, disables, enables and deletes rules", async () => {
    const { RuleArn } = await eb.send(
      new PutRuleCommand({ Name: "placed", EventPattern: pattern, Description: "d" }),
    );
    assert.equal(RuleArn, `arn:aws:events:us-east-1:${ACCOUNT}:rule/placed`);
    const rule = await eb.send(new DescribeRuleCommand({ Name: "placed" }));
    assert.equal(rule.EventPattern, pattern);
    assert.equal(rule.State, "ENABLED");
    assert.equal(rule.EventBusName, "default");
    await eb.send(new DisableRuleCommand({ Name: "placed" }));
    assert.equal((await eb.send(new DescribeRuleCommand({ Name: "placed" }))).State, "DISABLED");
    await eb.send(new EnableRuleCommand({ Name: "placed" }));
    const list = await eb.send(new ListRulesCommand({ NamePrefix: "pla" }));
    assert.deepEqual(
      list.Rules?.map((r) => r.Name),
      ["placed"],
    );
    await eb.send(new DeleteRuleCommand({ Name: "placed" }));
    await rejects(
      eb.send(new DescribeRuleCommand({ Name: "placed" })),
      "ResourceNotFoundException",
      /placed does not exist/,
    );
    // Another account's default bus is named as that account's, not as the caller's own.
    await rejects(
      eb.send(
        new PutRuleCommand({
          Name: "elsewhere",
          EventPattern: '{"source":["s"]}',
          EventBusName: "arn:aws:events:us-east-1:111111111111:event-bus/default",
        }),
      ),
      "ResourceNotFoundException",
      /^Event bus default does not exist in account 111111111111\.$/,
    );
  });
  it("rejects invalid patterns with the reason, and rules without pattern or schedule", async () => {
    await rejects(
      eb.send(new PutRuleCommand({ Name: "bad", EventPattern: '{"source":[{"prefix":1}]}' })),
      "InvalidEventPatternException",
      /prefix match pattern must be a string/,
    );
    await rejects(
      eb.send(new PutRuleCommand({ Name: "bad" })),
      "ValidationException",
      /EventPattern or ScheduleExpression/,
    );
    // Schedule expressions as the user guide describes them (schedules are not run yet: stored only).
    await eb.send(
      new PutRuleCommand({ Name: "every-weekday", ScheduleExpression: "cron(0 18 ? * MON-FRI *)" }),
    );
    await eb.send(new PutRuleCommand({ Name: "every-minute", ScheduleExpression: "rate(1 minute)" }));
    for (const [expression, reason] of [
      ["rate(1 minutes)", /singular/],
      ["rate(5 minute)", /plural/],
      ["rate(0 minutes)", /positive/],
      ["cron(0 12 * * * *)", /exactly one of Day-of-month and Day-of-week/],
      ["cron(a b c d e f)", /Minutes is not valid/],
    ] as const) {
      await rejects(
        eb.send(new PutRuleCommand({ Name: "bad-schedule", ScheduleExpression: expression })),
        "ValidationException",
        reason,
      );
    }
    await rejects(eb.send(new ListRulesCommand({ NamePrefix: "bad prefix!" })), "ValidationException");
    await rejects(
      eb.send(new PutRuleCommand({ Name: "bad", EventPattern: pattern, EventBusName: "nope" })),
      "ResourceNotFoundException",
    );
  });
  it("refuses at PutTargets what EventBridge's PutTargets refuses of input and SQS parameters", async () => {
    await eb.send(new PutRuleCommand({ Name: "input-limits", EventPattern: pattern }));
    const foreignBus = "arn:aws:events:us-east-1:123456789012:event-bus/theirs";
    const ownQueue = `arn:aws:sqs:us-east-1:${ACCOUNT}`;
    const template = (paths: Record<string, string>) => ({
      InputPathsMap: paths,
      InputTemplate: `{"v": <${Object.keys(paths)[0]}>}`,
    });
    // Each refused in an entry of its own.
    const refused = [
      { Id: "bus-input", Arn: foreignBus, Input: "{}" },
      { Id: "bus-path", Arn: foreignBus, InputPath: "$.detail" },
    ];
    // Past the API's limits: the whole request fails, the member named by its place in it.
    const paths101 = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`p${i}`, "$.detail"]));
    for (const [target, message] of [
      [
        {
          Id: "key-257",
          Arn: `${ownQueue}:a`,
          InputTransformer: template({ ["k".repeat(257)]: "$.detail" }),
        },
        /at 'targets\.2\.member\.inputTransformer\.inputPathsMap' .*Map keys .*k{32}… \(257 characters\)/,
      ],
      [
        { Id: "key-dot", Arn: `${ownQueue}:a`, InputTransformer: template({ "a.b": "$.detail" }) },
        /at 'targets\.2\.member\.inputTransformer\.inputPathsMap' .*Map keys .*"a\.b"/,
      ],
      [
        {
          Id: "path-257",
          Arn: `${ownQueue}:b`,
          InputTransformer: template({ k: `$.detail.${"p".repeat(248)}` }),
        },
        /at 'targets\.2\.member\.inputTransformer\.inputPathsMap' .*Map value .*257 characters/,
      ],
      [
        { Id: "paths-101", Arn: `${ownQueue}:b`, InputTransformer: template(paths101) },
        /at 'targets\.2\.member\.inputTransformer\.inputPathsMap' .*less than or equal to 100/,
      ],
      [
        { Id: "input-path-257", Arn: `${ownQueue}:b`, InputPath: `$.detail.${"p".repeat(248)}` },
        /at 'targets\.2\.member\.inputPath' .*less than or equal to 256/,
      ],
      [
        { Id: "group-101", Arn: `${ownQueue}:c.fifo`, SqsParameters: { MessageGroupId: "g".repeat(101) } },
        /at 'targets\.2\.member\.sqsParameters\.messageGroupId' .*less than or equal to 100/,
      ],
      [
        { Id: "role-empty", Arn: `${ownQueue}:b`, RoleArn: "" },
        /at 'targets\.2\.member\.roleArn' .*greater than or equal to 1/,
      ],
      [
        { Id: "role-1601", Arn: `${ownQueue}:b`, RoleArn: "r".repeat(1601) },
        /at 'targets\.2\.member\.roleArn' .*less than or equal to 1600/,
      ],
      [
        { Id: "retry-186", Arn: `${ownQueue}:b`, RetryPolicy: { MaximumRetryAttempts: 186 } },
        /at 'targets\.2\.member\.retryPolicy\.maximumRetryAttempts' .*less than or equal to 185/,
      ],
      [
        { Id: "bad id!", Arn: `${ownQueue}:b` },
        /at 'targets\.2\.member\.id' failed to satisfy constraint: Member must satisfy regular expression pattern/,
      ],
    ] as const) {
      const put = await eb
        .send(new PutTargetsCommand({ Rule: "input-limits", Targets: [refused[0]!, target] }))
        .catch((e: Error) => e);
      assert.ok(
        put instanceof Error && put.name === "ValidationException",
        `${target.Id}: ${JSON.stringify(put)}`,
      );
      assert.match(put.message, message, target.Id);
    }
    const r = await eb.send(
      new PutTargetsCommand({
        Rule: "input-limits",
        Targets: [
          ...refused,
          // At the limits, and a foreign bus without input: accepted.
          {
            Id: "key-256",
            Arn: `${ownQueue}:a`,
            InputTransformer: template({ ["k".repeat(256)]: "$.detail" }),
          },
          {
            Id: "path-256",
            Arn: `${ownQueue}:b`,
            InputTransformer: template({ k: `$.detail.${"p".repeat(247)}` }),
          },
          { Id: "group-100", Arn: `${ownQueue}:c.fifo`, SqsParameters: { MessageGroupId: "g".repeat(100) } },
          { Id: "bus-plain", Arn: foreignBus },
        ],
      }),
    );
    assert.deepEqual(
      r.FailedEntries?.map((f) => f.TargetId),
      ["bus-input", "bus-path"],
    );
    const messages = r.FailedEntries?.map((f) => f.ErrorMessage ?? "") ?? [];
    assert.match(messages[0]!, /not available for an event bus of another account/);
    assert.match(messages[1]!, /not available for an event bus of another account/);
    const listed = await eb.send(new ListTargetsByRuleCommand({ Rule: "input-limits" }));
    assert.deepEqual(listed.Targets?.map((t) => t.Id).sort(), [
      "bus-plain",
      "group-100",
      "key-256",
      "path-256",
    ]);
    await eb.send(
      new RemoveTargetsCommand({
        Rule: "input-limits",
        Ids: ["bus-plain", "group-100", "key-256", "path-256"],
      }),
    );
  });

  it("refuses an InputPathsMap value that is not a string as AWS's deserializer does (SerializationException)", async () => {
    await eb.send(new PutRuleCommand({ Name: "paths-of-strings", EventPattern: pattern }));
    const put = await eb
      .send(
        new PutTargetsCommand({
          Rule: "paths-of-strings",
          Targets: [
            {
              Id: "t",
              Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:orders`,
              InputTransformer: { InputPathsMap: { n: 1 as unknown as string }, InputTemplate: "<n>" },
            },
          ],
        }),
      )
      .catch((e: Error) => e);
    assert.ok(put instanceof Error, JSON.stringify(put));
    assert.equal(put.name, "SerializationException");
    assert.equal(put.message, "InputTransformer.InputPathsMap.n must be a string");
  });

  it("refuses a queue, bus or API destination of another Region or partition as a target: it cannot be delivered to", async () => {
    await eb.send(new PutRuleCommand({ Name: "elsewhere", EventPattern: pattern }));
    const put = await eb.send(
      new PutTargetsCommand({
        Rule: "elsewhere",
        Targets: [
          { Id: "queue-eu", Arn: `arn:aws:sqs:eu-west-1:${ACCOUNT}:orders` },
          { Id: "bus-eu", Arn: `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/default` },
          {
            Id: "destination-eu",
            Arn: `arn:aws:events:eu-west-1:${ACCOUNT}:api-destination/d/0f4e3d2c-0000-4000-8000-000000000001`,
          },
          { Id: "queue-cn", Arn: `arn:aws-cn:sqs:us-east-1:${ACCOUNT}:orders` },
          { Id: "queue-here", Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:orders` },
        ],
      }),
    );
    assert.equal(put.FailedEntryCount, 4);
    assert.deepEqual(
      put.FailedEntries?.map((f) => f.TargetId),
      ["queue-eu", "bus-eu", "destination-eu", "queue-cn"],
    );
    assert.match(
      put.FailedEntries?.[0]?.ErrorMessage ?? "",
      /^Target queue-eu: arn:aws:sqs:eu-west-1:\d{12}:orders is in Region eu-west-1; this endpoint serves us-east-1/,
    );
    assert.match(
      put.FailedEntries?.[3]?.ErrorMessage ?? "",
      /is in partition aws-cn; this endpoint serves us-east-1 \(aws\)/,
    );
    const targets = await eb.send(new ListTargetsByRuleCommand({ Rule: "elsewhere" }));
    assert.deepEqual(
      targets.Targets?.map((t) => t.Id),
      ["queue-here"],
    );
    await eb.send(new RemoveTargetsCommand({ Rule: "elsewhere", Ids: ["queue-here"] }));
  });

  it("puts, lists and removes targets; a rule with targets cannot be deleted", async () => {
    await eb.send(new PutRuleCommand({ Name: "with-targets", EventPattern: pattern }));
    const put = await eb.send(
      new PutTargetsCommand({
        Rule: "with-targets",
        Targets: [
          { Id: "hook", Arn: "https://example.com/hook", RetryPolicy: { MaximumRetryAttempts: 3 } },
          { Id: "queue", Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:orders` },
          { Id: "weird", Arn: "gopher://nowhere" },
          {
            Id: "foreign-destination",
            Arn: "arn:aws:events:us-east-1:123456789012:api-destination/theirs/0f4e3d2c-0000-4000-8000-000000000001",
          },
          { Id: "own-bus", Arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default` },
        ],
      }),
    );
    assert.equal(put.FailedEntryCount, 3);
    assert.equal(put.FailedEntries?.[0]?.TargetId, "weird");
    assert.equal(put.FailedEntries?.[1]?.TargetId, "foreign-destination");
    assert.match(
      put.FailedEntries?.[1]?.ErrorMessage ?? "",
      new RegExp(`an API destination must be in the rule's account \\(${ACCOUNT}\\)`),
    );
    assert.equal(put.FailedEntries?.[2]?.TargetId, "own-bus");
    assert.match(put.FailedEntries?.[2]?.ErrorMessage ?? "", /the event bus the rule is on/);
    const targets = await eb.send(new ListTargetsByRuleCommand({ Rule: "with-targets" }));
    assert.deepEqual(
      targets.Targets?.map((t) => t.Id),
      ["hook", "queue"],
    );
    assert.equal(targets.Targets?.[0]?.RetryPolicy?.MaximumRetryAttempts, 3);
    const byTarget = await eb.send(
      new ListRuleNamesByTargetCommand({ TargetArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:orders` }),
    );
    assert.deepEqual(byTarget.RuleNames, ["with-targets"]);
    await rejects(
      eb.send(new DeleteRuleCommand({ Name: "with-targets" })),
      "ValidationException",
      /has targets/,
    );
    await eb.send(new RemoveTargetsCommand({ Rule: "with-targets", Ids: ["hook", "queue"] }));
    await eb.send(new DeleteRuleCommand({ Name: "with-targets" }));
  });
  it("limits a rule to five targets", async () => {
    await eb.send(new PutRuleCommand({ Name: "many", EventPattern: pattern }));
    const six = Array.from({ length: 6 }, (_, i) => ({ Id: `t${i}`, Arn: `https://example.com/${i}` }));
    await rejects(eb.send(new PutTargetsCommand({ Rule: "many", Targets: six })), "LimitExceededException");
    await rejects(
      eb.send(new PutTargetsCommand({ Rule: "missing", Targets: six.slice(0, 1) })),
      "ResourceNotFoundException",
    );
  });
  it("tags rules and untags them", async () => {
    const { RuleArn } = await eb.send(new PutRuleCommand({ Name: "tagged", EventPattern: pattern }));
    await eb.send(
      new TagResourceCommand({
        ResourceARN: RuleArn,
        Tags: [
          { Key: "a", Value: "1" },
          { Key: "b", Value: "2" },
        ],
      }),
    );
    await eb.send(new UntagResourceCommand({ ResourceARN: RuleArn, TagKeys: ["a"] }));
    assert.deepEqual((await eb.send(new ListTagsForResourceCommand({ ResourceARN: RuleArn }))).Tags, [
      { Key: "b", Value: "2" },
    ]);
    // PutRule tags a rule it creates; on an existing rule its Tags are ignored, as the API reference says.
    const made = await eb.send(
      new PutRuleCommand({
        Name: "tagged-at-birth",
        EventPattern: pattern,
        Tags: [{ Key: "owner", Value: "alice" }],
      }),
    );
    await eb.send(
      new PutRuleCommand({
        Name: "tagged-at-birth",
        EventPattern: pattern,
        Tags: [{ Key: "owner", Value: "mallory" }],
      }),
    );
    assert.deepEqual((await eb.send(new ListTagsForResourceCommand({ ResourceARN: made.RuleArn }))).Tags, [
      { Key: "owner", Value: "alice" },
    ]);
    await rejects(
      eb.send(
        new TagResourceCommand({
          ResourceARN: `arn:aws:events:us-east-1:${ACCOUNT}:rule/none`,
          Tags: [{ Key: "a", Value: "1" }],
        }),
      ),
      "ResourceNotFoundException",
    );
  });

  it("keeps one tag set per resource, whichever spelling of its ARN names it", async () => {
    const { RuleArn } = await eb.send(new PutRuleCommand({ Name: "spelled", EventPattern: pattern }));
    const longForm = `arn:aws:events:us-east-1:${ACCOUNT}:rule/default/spelled`;
    const tags = (arn: string) => eb.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    await eb.send(new TagResourceCommand({ ResourceARN: longForm, Tags: [{ Key: "k", Value: "v" }] }));
    assert.deepEqual((await tags(RuleArn ?? "")).Tags, [{ Key: "k", Value: "v" }]);
    assert.deepEqual((await tags(longForm)).Tags, [{ Key: "k", Value: "v" }]);
    // The 50 tags' limit counts them all.
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `t${i}`, Value: "x" }));
    await rejects(
      eb.send(new TagResourceCommand({ ResourceARN: RuleArn, Tags: many })),
      "LimitExceededException",
    );
    // They go with the rule: a rule made again under its name has none, under either spelling.
    await eb.send(new DeleteRuleCommand({ Name: "spelled" }));
    await eb.send(new PutRuleCommand({ Name: "spelled", EventPattern: pattern }));
    assert.deepEqual((await tags(longForm)).Tags, []);
    // Another partition's ARN names no resource of this endpoint.
    for (const arn of [
      `arn:aws-cn:events:us-east-1:${ACCOUNT}:rule/spelled`,
      `arn:aws-us-gov:events:us-east-1:${ACCOUNT}:event-bus/default`,
    ]) {
      await rejects(
        eb.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: "k", Value: "v" }] })),
        "ResourceNotFoundException",
        /partition aws-(cn|us-gov); this endpoint serves aws/,
      );
    }
    // A connection's ARN is refused as no bus or rule, by name.
    await rejects(
      tags(`arn:aws:events:us-east-1:${ACCOUNT}:connection/c/0123`),
      "ResourceNotFoundException",
      /only event buses and rules have tags/,
    );
  });

  it("refuses a Force that is not a boolean", async () => {
    await eb.send(new PutRuleCommand({ Name: "forced", EventPattern: pattern }));
    for (const [operation, input] of [
      ["AWSEvents.DeleteRule", { Name: "forced", Force: "true" }],
      ["AWSEvents.DeleteRule", { Name: "forced", Force: 1 }],
      ["AWSEvents.RemoveTargets", { Rule: "forced", Ids: ["t"], Force: "yes" }],
    ] as const) {
      const r = await callAwsJson(server.url, operation, input, TEST_ROOT);
      assert.equal(r.status, 400, JSON.stringify(input));
      assert.equal(r.body.__type, "SerializationException");
      assert.match(String(r.body.message), /Force must be a boolean/);
    }
    assert.ok((await eb.send(new DescribeRuleCommand({ Name: "forced" }))).Arn, "the rule is still there");
  });
});

describe("PutEvents", () => {
  it("accepts entries with an EventId each and reports per-entry errors in place", async () => {
    const r = await eb.send(
      new PutEventsCommand({
        Entries: [
          { Source: "shop", DetailType: "Order Placed", Detail: '{"id":1}' },
          { Source: "shop", DetailType: "Order Placed", Detail: "[1]" },
          { Source: "aws.ec2", DetailType: "x", Detail: "{}" },
          { DetailType: "x", Detail: "{}" },
          { Source: "shop", DetailType: "x", Detail: "{}", EventBusName: "no-such-bus" },
          {
            Source: "shop",
            DetailType: "x",
            Detail: "{}",
            Time: new Date("2020-01-02T03:04:05Z"),
            Resources: ["r1"],
          },
        ],
      }),
    );
    assert.equal(r.FailedEntryCount, 4);
    assert.match(r.Entries?.[0]?.EventId ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(r.Entries?.[1]?.ErrorCode, "MalformedDetail");
    assert.equal(r.Entries?.[2]?.ErrorCode, "NotAuthorizedForSourceException");
    assert.equal(r.Entries?.[3]?.ErrorCode, "InvalidArgument");
    assert.match(r.Entries?.[3]?.ErrorMessage ?? "", /Source/);
    assert.equal(r.Entries?.[4]?.ErrorCode, "ResourceNotFoundException");
    assert.ok(r.Entries?.[5]?.EventId);
    // A request none of whose entries has Source, DetailType and Detail fails whole (the mixed one
    // above fails only the entry), as PutEventsRequestEntry documents.
    for (const entries of [
      [{ DetailType: "x", Detail: "{}" }],
      [
        { Source: "shop", Detail: "{}" },
        { Source: "shop", DetailType: "x" },
      ],
    ]) {
      await assert.rejects(eb.send(new PutEventsCommand({ Entries: entries })), {
        name: "ValidationException",
        message: /No entry has all of Source, DetailType and Detail/,
      });
    }
    const empty = await eb.send(
      new PutEventsCommand({
        Entries: [{ Source: "shop", DetailType: "x", Detail: "{}", EventBusName: "" }],
      }),
    );
    assert.equal(empty.Entries?.[0]?.ErrorCode, "InvalidArgument");
    assert.match(empty.Entries?.[0]?.ErrorMessage ?? "", /EventBusName must not be empty/);
    // EndpointId (a global endpoint): the SDK signs such calls with SigV4a, so the request is made by hand.
    const badEndpoint = await callAwsJson(
      server.url,
      "AWSEvents.PutEvents",
      { EndpointId: "bad", Entries: [{ Source: "s", DetailType: "d", Detail: "{}" }] },
      TEST_ROOT,
    );
    assert.equal(badEndpoint.status, 400);
    assert.equal(badEndpoint.body.__type, "ValidationException");
    assert.match(String(badEndpoint.body.message), /endpointId/);
  });
  it("refuses an event nested deeper than 1000 levels (its Detail's 999 and the envelope) as MalformedDetail, whatever the rules", async () => {
    const nested = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    await eb.send(new CreateEventBusCommand({ Name: "nesting" }));
    await eb.send(new CreateEventBusCommand({ Name: "nesting-ruled" }));
    // A rule that reads the envelope only: the scan skips Detail, and must count its depth all the same.
    await eb.send(
      new PutRuleCommand({
        Name: "by-source",
        EventBusName: "nesting-ruled",
        EventPattern: JSON.stringify({ source: ["shop"] }),
      }),
    );
    for (const bus of ["nesting", "nesting-ruled"]) {
      const r = await eb.send(
        new PutEventsCommand({
          Entries: [1500, 1000, 999].map((depth) => ({
            Source: "shop",
            DetailType: "deep",
            Detail: nested(depth),
            EventBusName: bus,
          })),
        }),
      );
      assert.equal(r.Entries?.[0]?.ErrorCode, "MalformedDetail", bus);
      assert.equal(r.Entries?.[1]?.ErrorCode, "MalformedDetail", bus);
      assert.match(r.Entries?.[1]?.ErrorMessage ?? "", /Nesting deeper than 1000 levels/, bus);
      assert.ok(r.Entries?.[2]?.EventId, bus);
    }
  });
  it("fails only the entry whose Time lies outside the years 0000 to 9999, or whose Detail is no JSON object", async () => {
    const entry = (more: object) => ({ Source: "s", DetailType: "d", Detail: "{}", ...more });
    const r = await callAwsJson(
      server.url,
      "AWSEvents.PutEvents",
      {
        Entries: [
          entry({}),
          entry({ Time: 1e13 }),
          entry({ Time: "+010000-01-01T00:00:00Z" }),
          entry({ Time: -62167219201 }),
          entry({ Time: 253402300799 }),
          entry({ Time: -62167219200 }),
          entry({ Detail: 5 }),
          entry({ Detail: "[1]" }),
          entry({ Detail: '{"a":1} x' }),
        ],
      },
      TEST_ROOT,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const results = r.body.Entries as { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[];
    assert.deepEqual(
      results.map((e) => e.ErrorCode ?? "ok"),
      [
        "ok",
        "InvalidArgument",
        "InvalidArgument",
        "InvalidArgument",
        "ok",
        "ok",
        "InvalidArgument",
        "MalformedDetail",
        "MalformedDetail",
      ],
    );
    assert.match(results[1]?.ErrorMessage ?? "", /Time must be a timestamp in the years 0000 to 9999/);
    assert.match(results[6]?.ErrorMessage ?? "", /Detail must be a string/);
    assert.match(results[7]?.ErrorMessage ?? "", /must be a JSON object/);
    assert.match(results[8]?.ErrorMessage ?? "", /text after the object at position 8/);
    // Given, of the wrong type: not "a required argument".
    const typed = await callAwsJson(
      server.url,
      "AWSEvents.PutEvents",
      { Entries: [entry({}), entry({ Source: 5 }), entry({ DetailType: true })] },
      TEST_ROOT,
    );
    assert.equal(typed.status, 200, JSON.stringify(typed.body));
    const typedResults = typed.body.Entries as { ErrorCode?: string; ErrorMessage?: string }[];
    assert.deepEqual(
      typedResults.map((e) => [e.ErrorCode, e.ErrorMessage]),
      [
        [undefined, undefined],
        ["InvalidArgument", "Parameter Source is not valid. Reason: Source must be a string."],
        ["InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType must be a string."],
      ],
    );
    const deep = await eb.send(
      new PutEventsCommand({ Entries: [entry({ Detail: '{"a":'.repeat(1500) + "1" + "}".repeat(1500) })] }),
    );
    assert.match(
      deep.Entries?.[0]?.ErrorMessage ?? "",
      /Detail is malformed: Nesting deeper than 1000 levels/,
    );
  });
  it("refuses a bus ARN of another region, in PutEvents entry by entry and in the control plane", async () => {
    const elsewhere = `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/default`;
    const r = await eb.send(
      new PutEventsCommand({
        Entries: [
          { Source: "s", DetailType: "d", Detail: "{}", EventBusName: elsewhere },
          { Source: "s", DetailType: "d", Detail: "{}" },
        ],
      }),
    );
    assert.equal(r.FailedEntryCount, 1);
    assert.match(r.Entries?.[0]?.ErrorMessage ?? "", /region eu-west-1; this endpoint serves us-east-1/);
    await rejects(
      eb.send(new DescribeEventBusCommand({ Name: elsewhere })),
      "ValidationException",
      /this endpoint serves us-east-1/,
    );
    // Nor does another partition's ARN name a bus of this endpoint.
    const otherPartition = `arn:aws-cn:events:us-east-1:${ACCOUNT}:event-bus/default`;
    const p = await eb.send(
      new PutEventsCommand({
        Entries: [{ Source: "s", DetailType: "d", Detail: "{}", EventBusName: otherPartition }],
      }),
    );
    assert.match(p.Entries?.[0]?.ErrorMessage ?? "", /partition aws-cn; this endpoint serves aws/);
    await rejects(
      eb.send(
        new PutRuleCommand({ Name: "r-cn", EventPattern: '{"source":["s"]}', EventBusName: otherPartition }),
      ),
      "ValidationException",
      /partition aws-cn/,
    );
    await rejects(
      eb.send(
        new PutRuleCommand({
          Name: "r-elsewhere",
          EventPattern: '{"source":["s"]}',
          EventBusName: elsewhere,
        }),
      ),
      "ValidationException",
      /region eu-west-1/,
    );
  });
  it("counts the entries of each request answered entry by entry, and those refused by ErrorCode, in /metrics", async () => {
    const count = async () => ({
      entries: await metric(server.url, "PutEventsEntriesCount", { account: ACCOUNT }),
      malformed: await metric(server.url, "PutEventsFailedEntriesCount", { code: "MalformedDetail" }),
      missing: await metric(server.url, "PutEventsFailedEntriesCount", { code: "ResourceNotFoundException" }),
      failed: await metric(server.url, "PutEventsFailedEntriesCount", { account: ACCOUNT }),
    });
    const before = await count();
    const r = await eb.send(
      new PutEventsCommand({
        Entries: [
          { Source: "metered", DetailType: "x", Detail: "{}" },
          { Source: "metered", DetailType: "x", Detail: "[]" },
          { Source: "metered", DetailType: "x", Detail: "nope" },
          { Source: "metered", DetailType: "x", Detail: "{}", EventBusName: "no-such-bus" },
        ],
      }),
    );
    assert.equal(r.FailedEntryCount, 3);
    // A request refused whole (no entry has all three members) is not answered entry by entry.
    await rejects(eb.send(new PutEventsCommand({ Entries: [{ Source: "metered" }] })), "ValidationException");
    const after = await count();
    assert.deepEqual(
      {
        entries: after.entries - before.entries,
        malformed: after.malformed - before.malformed,
        missing: after.missing - before.missing,
        failed: after.failed - before.failed,
      },
      { entries: 4, malformed: 2, missing: 1, failed: 3 },
    );
  });

  it("rejects requests of no entries, more than ten, or over 256 KB", async () => {
    await rejects(eb.send(new PutEventsCommand({ Entries: [] })), "ValidationException");
    const eleven = Array.from({ length: 11 }, () => ({ Source: "s", DetailType: "d", Detail: "{}" }));
    await rejects(eb.send(new PutEventsCommand({ Entries: eleven })), "ValidationException");
    const big = JSON.stringify({ x: "y".repeat(200 * 1024) });
    await rejects(
      eb.send(
        new PutEventsCommand({
          Entries: [
            { Source: "s", DetailType: "d", Detail: big },
            { Source: "s", DetailType: "d", Detail: big },
          ],
        }),
      ),
      "ValidationException",
      /Total size of the entries/,
    );
  });
});

/** A whole event as TestEventPattern takes it. */
function testEvent(source: string, detailType: string, detail: unknown): string {
  return JSON.stringify({
    id: "1",
    account: ACCOUNT,
    source,
    time: "2026-01-01T00:00:00Z",
    region: "us-east-1",
    resources: [],
    "detail-type": detailType,
    detail,
  });
}

describe("TestEventPattern", () => {
  const event = testEvent("shop", "Order Placed", { total: 250 });
  it("tells whether the pattern matches", async () => {
    const yes = await eb.send(
      new TestEventPatternCommand({
        EventPattern: '{"detail":{"total":[{"numeric":[">",100]}]}}',
        Event: event,
      }),
    );
    assert.equal(yes.Result, true);
    const no = await eb.send(
      new TestEventPatternCommand({ EventPattern: '{"source":["other"]}', Event: event }),
    );
    assert.equal(no.Result, false);
  });
  it("names what is wrong with the pattern or the event", async () => {
    await rejects(
      eb.send(new TestEventPatternCommand({ EventPattern: '{"source":"shop"}', Event: event })),
      "InvalidEventPatternException",
      /must be an object or an array/,
    );
    await rejects(
      eb.send(
        new TestEventPatternCommand({ EventPattern: '{"source":["shop"]}', Event: '{"source":"shop"}' }),
      ),
      "ValidationException",
      /Event/,
    );
    // Malformed JSON is told where and why, as a pattern's is: here a byte-order mark before it.
    await rejects(
      eb.send(new TestEventPatternCommand({ EventPattern: '{"source":["shop"]}', Event: `\uFEFF${event}` })),
      "ValidationException",
      /Event is not valid JSON: Unexpected character .*\(code 65279\).* at position 0/,
    );
  });
});

describe("events whose arrays would be too costly to match", () => {
  // Thirty alternatives on two fields of p that nearly every element meets: every element walks
  // thirty states (over a million steps for 9,000 elements).
  const pattern = JSON.stringify({
    detail: {
      p: {
        $or: Array.from({ length: 30 }, (_, k) => ({
          a: [{ "anything-but": String(k) }],
          b: [{ "anything-but": String(k) }],
        })),
      },
    },
  });
  const costly = JSON.stringify({ p: Array.from({ length: 9000 }, () => ({ a: "x", b: "y" })) });
  it("are refused entry by entry by PutEvents, without holding the server", async () => {
    await eb.send(new PutRuleCommand({ Name: "many-alternatives", EventPattern: pattern }));
    const started = Date.now();
    const r = await eb.send(
      new PutEventsCommand({
        Entries: [
          { Source: "s", DetailType: "d", Detail: costly },
          { Source: "s", DetailType: "d", Detail: '{"p":[{"v":1}]}' },
        ],
      }),
    );
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.equal(r.FailedEntryCount, 1);
    assert.equal(r.Entries?.[0]?.ErrorCode, "InvalidArgument");
    assert.match(r.Entries?.[0]?.ErrorMessage ?? "", /Send smaller arrays/);
    assert.ok(r.Entries?.[1]?.EventId !== undefined, "the other entry is accepted");
  });
  it("are refused by TestEventPattern as an invalid Event", async () => {
    const event = testEvent("s", "d", JSON.parse(costly) as unknown);
    await rejects(
      eb.send(new TestEventPatternCommand({ EventPattern: pattern, Event: event })),
      "ValidationException",
      /Parameter Event is not valid.*Send smaller arrays/,
    );
  });
});

describe("events with long arrays of objects", () => {
  it("match rules on fields of the same element, however long the array", async () => {
    const p = [...Array.from({ length: 9000 }, () => ({ a: 1, b: 1 })), { a: 1, b: 2 }];
    const event = (elements: object[]) => testEvent("s", "d", { p: elements });
    const pattern = '{"detail":{"p":{"a":[1],"b":[2]}}}';
    const yes = await eb.send(new TestEventPatternCommand({ EventPattern: pattern, Event: event(p) }));
    assert.equal(yes.Result, true);
    const no = await eb.send(
      new TestEventPatternCommand({ EventPattern: pattern, Event: event(p.slice(0, -1)) }),
    );
    assert.equal(no.Result, false);
  });
});

describe("authentication", () => {
  it("rejects an unknown access key and a wrong secret", async () => {
    const stranger = client(server.url, {
      accessKeyId: "BBUNKNOWNKEY00000000",
      secretAccessKey: "whatever-secret-123",
    });
    await rejects(stranger.send(new ListEventBusesCommand({})), "UnrecognizedClientException");
    const wrong = client(server.url, {
      accessKeyId: TEST_ROOT.accessKeyId,
      secretAccessKey: "wrong-secret-1234567890",
    });
    await rejects(wrong.send(new ListEventBusesCommand({})), "InvalidSignatureException");
  });
});
