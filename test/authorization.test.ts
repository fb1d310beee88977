/**
 * Accounts, access keys and policies, end to end: keys made with the `busbar` command beside a running
 * server, identity policies (Allow, explicit Deny), and a bus resource policy that lets another
 * account put events.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import {
  CreateEventBusCommand,
  UpdateEventBusCommand,
  DescribeEventBusCommand,
  ListEventBusesCommand,
  TestEventPatternCommand,
  PutEventsCommand,
  PutPermissionCommand,
  DescribeRuleCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  ListRulesCommand,
  PutTargetsCommand,
  RemovePermissionCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
} from "@aws-sdk/client-eventbridge";
import {
  eventBridgeClient,
  removeDataDir,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./support/busbar-process.js";
import { callAwsJson, printedJson, runBusbar, type CliRun } from "./support/index.js";

let server: BusbarProcess;
const ACCOUNT = "000000000000";

const busbar = (...args: string[]): CliRun => runBusbar([...args, "--data-dir", server.dataDir]);

/** A new key of `accountId` whose policy allows `action` on every resource (written to `<name>.json`). */
function keyAllowing(accountId: string, name: string, action: string): NewKey {
  const policy = join(server.dataDir, `${name}.json`);
  writeFileSync(
    policy,
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: action, Resource: "*" }],
    }),
  );
  return printedJson<NewKey>(busbar("keys", "create", "--account", accountId, "--policy", policy));
}

const client = (credentials: { accessKeyId: string; secretAccessKey: string }): EventBridgeClient =>
  eventBridgeClient(server.url, credentials);

interface NewKey {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

before(async () => {
  server = await startBusbar({ env: { BUSBAR_KEY_CACHE_MS: "0" } });
});

after(async () => {
  await server.stop();
  removeDataDir(server.dataDir);
});

describe("access keys with policies", () => {
  it("allows what the policy allows and denies the rest, explicit Deny winning", async () => {
    const policy = join(server.dataDir, "policy.json");
    writeFileSync(
      policy,
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: [
              "events:Put*",
              "events:Describe*",
              "events:CreateEventBus",
              "events:UpdateEventBus",
              "events:ListTargetsByRule",
            ],
            Resource: "*",
          },
          {
            Effect: "Deny",
            Action: ["sqs:*", "events:PutEvents"],
            Resource: ["arn:aws:sqs:*:111122223333:*", "arn:aws:events:*:111122223333:event-bus/*"],
          },
          {
            Effect: "Deny",
            Action: "events:PutRule",
            Resource: `arn:aws:events:us-east-1:${ACCOUNT}:rule/forbidden*`,
          },
        ],
      }),
    );
    const key = printedJson<NewKey>(busbar("keys", "create", "--account", ACCOUNT, "--policy", policy));
    const eb = client(key);
    const put = await eb.send(
      new PutEventsCommand({ Entries: [{ Source: "s", DetailType: "d", Detail: "{}" }] }),
    );
    assert.equal(put.FailedEntryCount, 0);
    await eb.send(new PutRuleCommand({ Name: "allowed", EventPattern: '{"source":["s"]}' }));
    await assert.rejects(
      eb.send(new PutRuleCommand({ Name: "forbidden-1", EventPattern: '{"source":["s"]}' })),
      { name: "AccessDeniedException" },
    );
    await assert.rejects(eb.send(new ListEventBusesCommand({})), { name: "AccessDeniedException" });
    await assert.rejects(
      eb.send(new TestEventPatternCommand({ EventPattern: '{"source":["s"]}', Event: "{}" })),
      { name: "AccessDeniedException" },
    );
    // events:PutTargets alone does not let a rule write where the key may not: a queue (no
    // sqs:SendMessage), an API destination (no events:InvokeApiDestination). events:PutEvents on a bus
    // it has (events:Put*).
    for (const arn of [
      `arn:aws:sqs:us-east-1:${ACCOUNT}:not-mine`,
      `arn:aws:events:us-east-1:${ACCOUNT}:api-destination/d/0f4e3d2c-0000-4000-8000-000000000001`,
    ]) {
      await assert.rejects(
        eb.send(new PutTargetsCommand({ Rule: "allowed", Targets: [{ Id: "t", Arn: arn }] })),
        {
          name: "AccessDeniedException",
          message: /not authorized to perform (sqs:SendMessage|events:InvokeApiDestination)/,
        },
      );
    }
    // Nor to a webhook or a broker without events:InvokeEndpoint on its URL (which events:* includes).
    for (const arn of ["https://collector.example/in", "nats://collector.example:4222/all"]) {
      await assert.rejects(
        eb.send(new PutTargetsCommand({ Rule: "allowed", Targets: [{ Id: "t", Arn: arn }] })),
        {
          name: "AccessDeniedException",
          message: new RegExp(`not authorized to perform events:InvokeEndpoint on resource ${arn}`),
        },
      );
    }
    // Named as logs name it: a token in the URL's query is not written back.
    await assert.rejects(
      eb.send(
        new PutTargetsCommand({
          Rule: "allowed",
          Targets: [{ Id: "t", Arn: "https://collector.example/in?token=SECRET-TOKEN" }],
        }),
      ),
      (e: Error) => {
        assert.equal(e.name, "AccessDeniedException");
        assert.match(e.message, /on resource https:\/\/collector\.example\/in\?token=\*\*\*\.$/);
        return true;
      },
    );
    // With it (on "*": policies name resources by ARN, and an endpoint has none), it may.
    const hooks = join(server.dataDir, "hooks-policy.json");
    writeFileSync(
      hooks,
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: ["events:PutRule", "events:PutTargets", "events:InvokeEndpoint"],
            Resource: "*",
          },
        ],
      }),
    );
    const hooker = client(
      printedJson<NewKey>(busbar("keys", "create", "--account", ACCOUNT, "--policy", hooks)),
    );
    await hooker.send(new PutRuleCommand({ Name: "hooked", EventPattern: '{"source":["s"]}' }));
    const hooked = await hooker.send(
      new PutTargetsCommand({ Rule: "hooked", Targets: [{ Id: "t", Arn: "https://collector.example/in" }] }),
    );
    assert.equal(hooked.FailedEntryCount, 0);
    hooker.destroy();
    // Nor as a dead-letter queue: of a target (whose own Arn the key may use), or of a bus.
    const deadLetter = { Arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:not-mine` };
    await assert.rejects(
      eb.send(
        new PutTargetsCommand({
          Rule: "allowed",
          Targets: [
            {
              Id: "d",
              Arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/elsewhere`,
              DeadLetterConfig: deadLetter,
            },
          ],
        }),
      ),
      {
        name: "AccessDeniedException",
        message: /sqs:SendMessage on resource arn:aws:sqs:us-east-1:\d+:not-mine/,
      },
    );
    await assert.rejects(
      eb.send(new CreateEventBusCommand({ Name: "with-dlq", DeadLetterConfig: deadLetter })),
      {
        name: "AccessDeniedException",
        message: /sqs:SendMessage/,
      },
    );
    await assert.rejects(
      eb.send(new UpdateEventBusCommand({ Name: "default", DeadLetterConfig: deadLetter })),
      {
        name: "AccessDeniedException",
        message: /sqs:SendMessage/,
      },
    );
    // An explicit Deny holds for another account's queue and bus too, whatever their own policies say.
    for (const arn of [
      `arn:aws:sqs:us-east-1:111122223333:shared`,
      `arn:aws:events:us-east-1:111122223333:event-bus/shared`,
    ]) {
      await assert.rejects(
        eb.send(new PutTargetsCommand({ Rule: "allowed", Targets: [{ Id: "x", Arn: arn }] })),
        {
          name: "AccessDeniedException",
          message: /not authorized to perform (sqs:SendMessage|events:PutEvents)/,
        },
      );
    }
    assert.deepEqual(
      (await eb.send(new ListTargetsByRuleCommand({ Rule: "allowed" }))).Targets?.map((t) => t.Id),
      [],
    );
    // Tags given with PutRule or CreateEventBus take events:TagResource too (the policy lacks it).
    await assert.rejects(
      eb.send(
        new PutRuleCommand({
          Name: "tagged",
          EventPattern: '{"source":["s"]}',
          Tags: [{ Key: "k", Value: "v" }],
        }),
      ),
      { name: "AccessDeniedException", message: /events:TagResource/ },
    );
    const toBus = await eb.send(
      new PutTargetsCommand({
        Rule: "allowed",
        Targets: [{ Id: "b", Arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/elsewhere` }],
      }),
    );
    assert.equal(toBus.FailedEntryCount, 0);
    eb.destroy();
  });
  it("rejects a malformed policy file with the reason, storing nothing", () => {
    const bad = join(server.dataDir, "bad-policy.json");
    writeFileSync(
      bad,
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Maybe", Action: "events:*", Resource: "*" }],
      }),
    );
    const r = busbar("keys", "create", "--account", ACCOUNT, "--policy", bad);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Effect/);
  });
  it("lists keys without secrets, and a deleted key stops working", async () => {
    const key = printedJson<NewKey>(busbar("keys", "create", "--account", ACCOUNT));
    const listed = busbar("keys", "list", "--account", ACCOUNT);
    assert.equal(listed.status, 0);
    assert.ok(listed.stdout.includes(key.accessKeyId));
    assert.ok(!listed.stdout.includes(key.secretAccessKey), "no secret in the listing");
    assert.ok(!listed.stdout.includes(TEST_ROOT.secretAccessKey), "no root secret in the listing");
    printedJson(busbar("keys", "delete", key.accessKeyId));
    const eb = client(key);
    await assert.rejects(eb.send(new DescribeEventBusCommand({})), { name: "UnrecognizedClientException" });
    eb.destroy();
  });
});

describe("accounts", () => {
  it("gives a new account its own default bus, and keeps accounts apart", async () => {
    const b = printedJson<NewKey>(busbar("accounts", "create", "--name", "team-b"));
    assert.match(b.accountId, /^\d{12}$/);
    const eb = client(b);
    const buses = await eb.send(new ListEventBusesCommand({}));
    assert.deepEqual(
      buses.EventBuses?.map((x) => x.Arn),
      [`arn:aws:events:us-east-1:${b.accountId}:event-bus/default`],
    );
    await assert.rejects(
      eb.send(new DescribeEventBusCommand({ Name: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default` })),
      { name: "AccessDeniedException" },
    );
    // Another account's resources are refused alike whether they exist or not: nothing tells which do.
    const root = client(TEST_ROOT);
    await root.send(new PutRuleCommand({ Name: "exists", EventPattern: '{"source":["s"]}' }));
    const theirs = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`;
    for (const name of ["exists", "missing"]) {
      await assert.rejects(eb.send(new DescribeRuleCommand({ Name: name, EventBusName: theirs })), {
        name: "AccessDeniedException",
      });
      await assert.rejects(eb.send(new ListTargetsByRuleCommand({ Rule: name, EventBusName: theirs })), {
        name: "AccessDeniedException",
      });
    }
    // Busbar's own signing-secret operations too, whatever of the bus, rule and target exists.
    await root.send(
      new PutTargetsCommand({
        Rule: "exists",
        Targets: [{ Id: "hook", Arn: "https://hooks.example.com/x" }],
      }),
    );
    for (const [bus, rule, target] of [
      ["default", "exists", "hook"],
      ["default", "exists", "missing"],
      ["default", "missing", "hook"],
      ["missing", "exists", "hook"],
    ]) {
      for (const op of ["DescribeTargetSigningSecrets", "RotateTargetSigningSecret"]) {
        const { status, body } = await callAwsJson(
          server.url,
          `AWSEvents.${op}`,
          {
            EventBusName: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/${bus}`,
            Rule: rule,
            TargetId: target,
          },
          b,
        );
        assert.equal(
          body.__type,
          "AccessDeniedException",
          `${op} ${bus}/${rule}/${target}: ${JSON.stringify(body)}`,
        );
        assert.equal(status, 400);
      }
    }
    await assert.rejects(
      eb.send(new DescribeEventBusCommand({ Name: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/missing` })),
      { name: "AccessDeniedException" },
    );
    // The same for tags, and for PutEvents to a bus of theirs.
    for (const bus of ["default", "missing"]) {
      const arn = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/${bus}`;
      await assert.rejects(eb.send(new ListTagsForResourceCommand({ ResourceARN: arn })), {
        name: "AccessDeniedException",
      });
      await assert.rejects(
        eb.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: "k", Value: "v" }] })),
        {
          name: "AccessDeniedException",
        },
      );
      const put = await eb.send(
        new PutEventsCommand({
          Entries: [{ Source: "s", DetailType: "d", Detail: "{}", EventBusName: arn }],
        }),
      );
      assert.equal(put.Entries?.[0]?.ErrorCode, "AccessDeniedException", bus);
    }
    const listed = busbar("accounts", "list");
    assert.ok(listed.stdout.includes(b.accountId));
    eb.destroy();
    root.destroy();
  });
  it("lets another account put events on a bus only while its resource policy allows it", async () => {
    const b = printedJson<NewKey>(busbar("accounts", "create"));
    const other = client(b);
    const owner = client(TEST_ROOT);
    const entry = {
      Source: "partner",
      DetailType: "hello",
      Detail: "{}",
      EventBusName: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`,
    };
    const denied = await other.send(new PutEventsCommand({ Entries: [entry] }));
    assert.equal(denied.Entries?.[0]?.ErrorCode, "AccessDeniedException");
    await owner.send(
      new PutPermissionCommand({ StatementId: "team-b", Action: "events:PutEvents", Principal: b.accountId }),
    );
    const policy = (await owner.send(new DescribeEventBusCommand({}))).Policy ?? "";
    assert.match(policy, new RegExp(b.accountId));
    const allowed = await other.send(new PutEventsCommand({ Entries: [entry] }));
    assert.equal(allowed.FailedEntryCount, 0);
    await owner.send(new RemovePermissionCommand({ StatementId: "team-b" }));
    const again = await other.send(new PutEventsCommand({ Entries: [entry] }));
    assert.equal(again.Entries?.[0]?.ErrorCode, "AccessDeniedException");
    await assert.rejects(owner.send(new RemovePermissionCommand({ StatementId: "team-b" })), {
      name: "ResourceNotFoundException",
    });
    other.destroy();
    owner.destroy();
  });
  it("lets another account put the events a bus policy's events:source and events:detail-type conditions name, as AWS's example policy", async () => {
    const b = printedJson<NewKey>(busbar("accounts", "create"));
    const owner = client(TEST_ROOT);
    const other = client(b);
    await owner.send(new CreateEventBusCommand({ Name: "central-event-bus" }));
    const busArn = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/central-event-bus`;
    await owner.send(
      new PutPermissionCommand({
        EventBusName: "central-event-bus",
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "WebStoreCrossAccountPublish",
              Effect: "Allow",
              Action: "events:PutEvents",
              Principal: { AWS: `arn:aws:iam::${b.accountId}:root` },
              Resource: busArn,
              Condition: {
                "ForAllValues:StringEquals": { "events:source": ["com.exampleCorp.webStore"] },
                StringEquals: { "events:detail-type": "newOrderCreated" },
              },
            },
          ],
        }),
      }),
    );
    const entry = (Source: string, DetailType: string) => ({
      Source,
      DetailType,
      Detail: "{}",
      EventBusName: busArn,
    });
    const r = await other.send(
      new PutEventsCommand({
        Entries: [
          entry("com.exampleCorp.webStore", "newOrderCreated"),
          entry("com.exampleCorp.webStore", "orderShipped"),
          entry("com.exampleCorp.other", "newOrderCreated"),
        ],
      }),
    );
    assert.deepEqual(
      r.Entries?.map((e) => e.ErrorCode ?? "ok"),
      ["ok", "AccessDeniedException", "AccessDeniedException"],
    );
    other.destroy();
    owner.destroy();
  });

  it("names the caller in aws:PrincipalArn: an account's root user, or a key as a user of its access key id", async () => {
    const b = printedJson<NewKey>(busbar("accounts", "create"));
    const key = keyAllowing(b.accountId, "put-events", "events:PutEvents");
    const owner = client(TEST_ROOT);
    await owner.send(new CreateEventBusCommand({ Name: "by-principal-arn" }));
    const busArn = `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/by-principal-arn`;
    const entry = { Source: "partner", DetailType: "hello", Detail: "{}", EventBusName: busArn };
    const grant = async (principalArn: string): Promise<void> => {
      await owner.send(
        new PutPermissionCommand({
          EventBusName: "by-principal-arn",
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "by-arn",
                Effect: "Allow",
                Principal: "*",
                Action: "events:PutEvents",
                Resource: busArn,
                Condition: { ArnEquals: { "aws:PrincipalArn": principalArn } },
              },
            ],
          }),
        }),
      );
    };
    const bRoot = client(b);
    const bKey = client(key);
    const outcome = async (eb: EventBridgeClient): Promise<string> =>
      (await eb.send(new PutEventsCommand({ Entries: [entry] }))).Entries?.[0]?.ErrorCode ?? "ok";
    await grant(`arn:aws:iam::${b.accountId}:root`);
    assert.equal(await outcome(bRoot), "ok");
    assert.equal(await outcome(bKey), "AccessDeniedException");
    await grant(`arn:aws:iam::${b.accountId}:user/${key.accessKeyId}`);
    assert.equal(await outcome(bKey), "ok");
    assert.equal(await outcome(bRoot), "AccessDeniedException");
    for (const c of [owner, bRoot, bKey]) c.destroy();
  });
  it("holds a bus policy's Deny against its own account's keys for every action on the bus and its rules, not only PutEvents", async () => {
    const b = printedJson<NewKey>(busbar("accounts", "create"));
    const key = keyAllowing(b.accountId, "all-events", "events:*");
    const bRoot = client(b);
    const bKey = client(key);
    await bRoot.send(new CreateEventBusCommand({ Name: "locked" }));
    await bRoot.send(
      new PutRuleCommand({ Name: "before", EventBusName: "locked", EventPattern: '{"source":["s"]}' }),
    );
    const busArn = `arn:aws:events:us-east-1:${b.accountId}:event-bus/locked`;
    const ruleArns = `arn:aws:events:us-east-1:${b.accountId}:rule/locked/*`;
    await bRoot.send(
      new PutPermissionCommand({
        EventBusName: "locked",
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "lock",
              Effect: "Deny",
              Principal: "*",
              Action: ["events:PutRule", "events:PutTargets", "events:DescribeEventBus", "events:ListRules"],
              Resource: [busArn, ruleArns],
            },
          ],
        }),
      }),
    );
    for (const eb of [bKey, bRoot]) {
      for (const call of [
        () =>
          eb.send(
            new PutRuleCommand({ Name: "after", EventBusName: "locked", EventPattern: `{"source":["s"]}` }),
          ),
        () =>
          eb.send(
            new PutTargetsCommand({
              Rule: "before",
              EventBusName: "locked",
              Targets: [{ Id: "t", Arn: `arn:aws:events:us-east-1:${b.accountId}:event-bus/default` }],
            }),
          ),
        () => eb.send(new DescribeEventBusCommand({ Name: "locked" })),
        () => eb.send(new ListRulesCommand({ EventBusName: "locked" })),
      ]) {
        await assert.rejects(call(), { name: "AccessDeniedException" });
      }
      // What the policy does not deny goes on; so does every action on the account's other buses.
      assert.equal(
        (await eb.send(new DescribeRuleCommand({ Name: "before", EventBusName: "locked" }))).Name,
        "before",
      );
      await eb.send(new PutRuleCommand({ Name: "elsewhere", EventPattern: '{"source":["s"]}' }));
    }
    // The operator's root key passes it; what the policy does not deny (RemovePermission) takes it back.
    const operator = client(TEST_ROOT);
    const locked = (await operator.send(new DescribeEventBusCommand({ Name: busArn }))).Policy ?? "";
    assert.match(locked, /"Deny"/);
    await bRoot.send(new RemovePermissionCommand({ EventBusName: "locked", StatementId: "lock" }));
    await bKey.send(
      new PutRuleCommand({ Name: "after", EventBusName: "locked", EventPattern: '{"source":["s"]}' }),
    );
    for (const c of [bRoot, bKey, operator]) c.destroy();
  });
});

describe("secrets", () => {
  it("keeps them out of the server's output and the credentials file private", () => {
    assert.ok(!server.output().includes(TEST_ROOT.secretAccessKey));
    const dbMode = statSync(join(server.dataDir, "busbar.db")).mode & 0o777;
    assert.equal(dbMode & 0o077, 0, `database file mode ${dbMode.toString(8)} is private`);
  });
});
