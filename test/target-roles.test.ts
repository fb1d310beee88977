/**
 * A target's RoleArn: the identity a rule's event bus target calls as (aws:PrincipalArn in the target
 * bus's policy). It must be a role of the rule's own account, and the caller who names it must be
 * allowed iam:PassRole on it; a role of another account stored before this was checked is not
 * believed at delivery.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  CreateEventBusCommand,
  PutEventsCommand,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type EventBridgeClient,
} from "@aws-sdk/client-eventbridge";
import { ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  eventBridgeClient,
  removeDataDir,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./support/busbar-process.js";
import { callAwsJson, createAccount, createQueue, metric } from "./support/index.js";

const ACCOUNT = "000000000000";
const REGION = "us-east-1";
const ENV = { BUSBAR_KEY_CACHE_MS: "0" };

let server: BusbarProcess;
let owner: EventBridgeClient;
let sqs: SQSClient;
let queueUrl: string;
let b: { accountId: string; accessKeyId: string; secretAccessKey: string };
let other: EventBridgeClient;

const trustedRole = `arn:aws:iam::${ACCOUNT}:role/trusted`;
const trustingBus = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/trusting`;

/** PutTargets of one event bus target to the trusting bus on B's rule `fwd`, with this RoleArn. */
async function putForward(eb: EventBridgeClient, roleArn: string) {
  return eb.send(
    new PutTargetsCommand({ Rule: "fwd", Targets: [{ Id: "bus", Arn: trustingBus, RoleArn: roleArn }] }),
  );
}

/** Whether an event B puts now reaches the trusting bus's queue, or fails NO_PERMISSIONS. */
async function forwarded(n: number): Promise<"delivered" | "refused"> {
  const refusedBefore = await metric(server.url, "FailedInvocations", {
    rule: "fwd",
    code: "NO_PERMISSIONS",
  });
  const put = await other.send(
    new PutEventsCommand({ Entries: [{ Source: "spoof", DetailType: "t", Detail: JSON.stringify({ n }) }] }),
  );
  assert.equal(put.FailedEntryCount, 0);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    const body = r.Messages?.[0]?.Body;
    if (body !== undefined) {
      assert.deepEqual((JSON.parse(body) as { detail: unknown }).detail, { n });
      return "delivered";
    }
    const refused = await metric(server.url, "FailedInvocations", { rule: "fwd", code: "NO_PERMISSIONS" });
    if (refused > refusedBefore) return "refused";
  }
  throw new Error(`event ${n}: neither delivered nor refused within 10 s`);
}

async function restart(): Promise<void> {
  server = await startBusbar({ env: ENV, dataDir: server.dataDir });
  owner = eventBridgeClient(server.url, TEST_ROOT);
  sqs = sqsClient(server.url, TEST_ROOT);
  other = eventBridgeClient(server.url, b);
}

before(async () => {
  server = await startBusbar({ env: ENV });
  b = await createAccount(server.url, "team-b", TEST_ROOT);
  owner = eventBridgeClient(server.url, TEST_ROOT);
  sqs = sqsClient(server.url, TEST_ROOT);
  other = eventBridgeClient(server.url, b);
  // A's bus lets in what its own role "trusted" puts, and its rule sends that to a queue.
  await owner.send(new CreateEventBusCommand({ Name: "trusting" }));
  await owner.send(
    new PutPermissionCommand({
      EventBusName: "trusting",
      Policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "trusted-role",
            Effect: "Allow",
            Principal: { AWS: trustedRole },
            Action: "events:PutEvents",
            Resource: trustingBus,
          },
          {
            Sid: "team-b-partner",
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${b.accountId}:role/partner` },
            Action: "events:PutEvents",
            Resource: trustingBus,
          },
        ],
      }),
    }),
  );
  queueUrl = await createQueue(sqs, "trusting-q");
  await owner.send(
    new PutRuleCommand({ Name: "in", EventBusName: "trusting", EventPattern: '{"source":["spoof"]}' }),
  );
  await owner.send(
    new PutTargetsCommand({
      Rule: "in",
      EventBusName: "trusting",
      Targets: [{ Id: "q", Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:trusting-q` }],
    }),
  );
  await other.send(new PutRuleCommand({ Name: "fwd", EventPattern: '{"source":["spoof"]}' }));
});

after(async () => {
  owner.destroy();
  sqs.destroy();
  other.destroy();
  await server.stop();
  removeDataDir(server.dataDir);
});

describe("a target's RoleArn", () => {
  it("must be a role of the rule's own account: another account's role, a user or a root is refused", async () => {
    for (const role of [
      trustedRole,
      `arn:aws:iam::${ACCOUNT}:user/BBSOMEKEY0000000000`,
      `arn:aws:iam::${ACCOUNT}:root`,
      `arn:aws:iam::${b.accountId}:root`,
      `arn:aws:iam::${b.accountId}:user/x`,
      `arn:aws-cn:iam::${b.accountId}:role/partner`,
      `arn:aws:sqs:${REGION}:${b.accountId}:role/partner`,
    ]) {
      const r = await putForward(other, role);
      assert.equal(r.FailedEntryCount, 1, role);
      assert.equal(r.FailedEntries?.[0]?.ErrorCode, "ValidationException", role);
      assert.match(
        r.FailedEntries?.[0]?.ErrorMessage ?? "",
        new RegExp(
          `RoleArn .* is not a role of the rule's account \\(arn:aws:iam::${b.accountId}:role/<name>\\)`,
        ),
        role,
      );
    }
  });

  it("is the identity a bus target calls as: a role of its own account the bus's policy names gets in", async () => {
    const r = await putForward(other, `arn:aws:iam::${b.accountId}:role/partner`);
    assert.equal(r.FailedEntryCount, 0);
    assert.equal(await forwarded(1), "delivered");
    // Another role of the same account is not the one the policy names.
    assert.equal(
      (await putForward(other, `arn:aws:iam::${b.accountId}:role/path/other`)).FailedEntryCount,
      0,
    );
    assert.equal(await forwarded(2), "refused");
  });

  it("needs iam:PassRole on the role from the caller's own policies", async () => {
    const key = async (actions: string[]) => {
      const made = await callAwsJson(
        server.url,
        "AWSEvents.CreateAccessKey",
        {
          AccountId: b.accountId,
          Policies: [
            JSON.stringify({
              Version: "2012-10-17",
              Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }],
            }),
          ],
        },
        TEST_ROOT,
      );
      assert.equal(made.status, 200, JSON.stringify(made.body));
      return eventBridgeClient(server.url, {
        accessKeyId: made.body.AccessKeyId as string,
        secretAccessKey: made.body.SecretAccessKey as string,
      });
    };
    const eventsOnly = await key(["events:*"]);
    await assert.rejects(putForward(eventsOnly, `arn:aws:iam::${b.accountId}:role/partner`), (e: Error) => {
      assert.equal(e.name, "AccessDeniedException");
      assert.match(e.message, /iam:PassRole/);
      assert.match(e.message, new RegExp(`arn:aws:iam::${b.accountId}:role/partner`));
      return true;
    });
    const passing = await key(["events:*", "iam:PassRole"]);
    assert.equal((await putForward(passing, `arn:aws:iam::${b.accountId}:role/partner`)).FailedEntryCount, 0);
    eventsOnly.destroy();
    passing.destroy();
  });

  it("of another account, stored before PutTargets checked it, is not believed at delivery", async () => {
    // B's target as an older server stored it: naming A's trusted role, which A's bus lets in.
    assert.equal((await putForward(other, `arn:aws:iam::${b.accountId}:role/partner`)).FailedEntryCount, 0);
    owner.destroy();
    sqs.destroy();
    other.destroy();
    await server.stop();
    const db = new Database(join(server.dataDir, "busbar.db"));
    const changed = db
      .prepare(
        "UPDATE targets SET spec = json_set(spec, '$.RoleArn', ?) WHERE account_id = ? AND rule_name = 'fwd'",
      )
      .run(trustedRole, b.accountId);
    db.close();
    assert.equal(changed.changes, 1);
    await restart();
    assert.equal(await forwarded(3), "refused", "the call is B's root's, which A's policy does not name");
  });
});
