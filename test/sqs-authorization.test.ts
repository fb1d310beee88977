/**
 * SQS requests are signed and authorized with the same accounts, keys and policies as EventBridge:
 * `sqs:*` actions on queue ARNs, a queue's Policy for other accounts, and SigV4 failures in SQS's words.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AddPermissionCommand,
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  RemovePermissionCommand as RemoveQueuePermissionCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  StartMessageMoveTaskCommand,
  TagQueueCommand,
  UntagQueueCommand,
} from "@aws-sdk/client-sqs";
import {
  EventBridgeClient,
  PutEventsCommand,
  PutPermissionCommand,
  RemovePermissionCommand,
} from "@aws-sdk/client-eventbridge";
import {
  removeDataDir,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
  printedJson,
  runBusbar,
} from "./support/index.js";

let server: BusbarProcess;
const ACCOUNT = "000000000000";

interface NewKey {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const busbar = (...args: string[]): NewKey =>
  printedJson<NewKey>(runBusbar([...args, "--data-dir", server.dataDir]));

/** A new key of ACCOUNT whose policy holds these statements (written to `<name>.json`). */
function keyWithPolicy(name: string, statements: readonly object[]): NewKey {
  const policy = join(server.dataDir, `${name}.json`);
  writeFileSync(policy, JSON.stringify({ Version: "2012-10-17", Statement: statements }));
  return busbar("keys", "create", "--account", ACCOUNT, "--policy", policy);
}

before(async () => {
  server = await startBusbar({ env: { BUSBAR_KEY_CACHE_MS: "0" } });
});

after(async () => {
  await server.stop();
  removeDataDir(server.dataDir);
});

describe("SQS authorization", () => {
  it("allows the sqs actions a key's policy allows on the queues it names, and nothing else", async () => {
    const owner = sqsClient(server.url);
    const { QueueUrl: inbox } = await owner.send(new CreateQueueCommand({ QueueName: "inbox" }));
    const { QueueUrl: other } = await owner.send(new CreateQueueCommand({ QueueName: "other" }));
    const key = keyWithPolicy("sqs-policy", [
      { Effect: "Allow", Action: "sqs:SendMessage", Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:inbox` },
      { Effect: "Allow", Action: "sqs:Get*", Resource: "*" },
    ]);
    const producer = sqsClient(server.url, key);
    await producer.send(new SendMessageCommand({ QueueUrl: inbox, MessageBody: "allowed" }));
    await assert.rejects(producer.send(new SendMessageCommand({ QueueUrl: other, MessageBody: "x" })), {
      name: "AccessDenied",
    });
    await assert.rejects(producer.send(new ReceiveMessageCommand({ QueueUrl: inbox })), {
      name: "AccessDenied",
    });
    await assert.rejects(producer.send(new CreateQueueCommand({ QueueName: "mine" })), {
      name: "AccessDenied",
    });
    await assert.rejects(producer.send(new ListQueuesCommand({})), { name: "AccessDenied" });
    assert.equal((await producer.send(new GetQueueUrlCommand({ QueueName: "inbox" }))).QueueUrl, inbox);
    producer.destroy();
    owner.destroy();
  });

  it("lets another account use a queue only when the queue's Policy admits it", async () => {
    const owner = sqsClient(server.url);
    const { QueueUrl: shared } = await owner.send(new CreateQueueCommand({ QueueName: "shared" }));
    const b = busbar("accounts", "create");
    const partner = sqsClient(server.url, b);
    await assert.rejects(partner.send(new SendMessageCommand({ QueueUrl: shared, MessageBody: "x" })), {
      name: "AccessDenied",
    });
    await owner.send(
      new SetQueueAttributesCommand({
        QueueUrl: shared,
        Attributes: {
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "partner",
                Effect: "Allow",
                Principal: { AWS: `arn:aws:iam::${b.accountId}:root` },
                Action: "sqs:SendMessage",
                Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:shared`,
              },
            ],
          }),
        },
      }),
    );
    await partner.send(new SendMessageCommand({ QueueUrl: shared, MessageBody: "from partner" }));
    await assert.rejects(partner.send(new ReceiveMessageCommand({ QueueUrl: shared })), {
      name: "AccessDenied",
    });
    const url = await partner
      .send(new GetQueueUrlCommand({ QueueName: "shared", QueueOwnerAWSAccountId: ACCOUNT }))
      .catch((e: Error) => e);
    assert.ok(url instanceof Error && url.name === "AccessDenied", "GetQueueUrl is not in the policy");
    const got = await owner.send(
      new ReceiveMessageCommand({ QueueUrl: shared, MessageSystemAttributeNames: ["SenderId"] }),
    );
    assert.equal(got.Messages?.[0]?.Body, "from partner");
    assert.equal(got.Messages?.[0]?.Attributes?.SenderId, b.accountId);
    // The grant SNS subscriptions (and S3, EventBridge) need, as IaC tools write it, is taken; a
    // condition Busbar cannot evaluate never grants, and makes a Deny apply.
    const snsGrant = {
      Sid: "topic",
      Effect: "Allow",
      Principal: { Service: "sns.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:from-topic`,
      Condition: { ArnEquals: { "aws:SourceArn": `arn:aws:sns:us-east-1:${ACCOUNT}:orders` } },
    };
    const denyPlainHttp = {
      Sid: "tls",
      Effect: "Deny",
      Principal: "*",
      Action: "sqs:*",
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
    const { QueueUrl: fromTopic } = await owner.send(
      new CreateQueueCommand({
        QueueName: "from-topic",
        Attributes: {
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              snsGrant,
              { ...snsGrant, Sid: "partner", Principal: { AWS: b.accountId }, Condition: undefined },
              denyPlainHttp,
            ],
          }),
        },
      }),
    );
    await assert.rejects(partner.send(new SendMessageCommand({ QueueUrl: fromTopic, MessageBody: "x" })), {
      name: "AccessDenied",
    });
    await owner.send(new SendMessageCommand({ QueueUrl: fromTopic, MessageBody: "own account" }));
    // Nor can another account name the owner's queue as its own queue's dead-letter queue (SQS keeps a
    // dead-letter queue in its source's account), whether that queue exists or not, policy or none.
    const { QueueUrl: own } = await partner.send(new CreateQueueCommand({ QueueName: "partner-own" }));
    for (const name of ["shared", "no-such-queue"]) {
      const redrive = JSON.stringify({
        deadLetterTargetArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`,
        maxReceiveCount: 1,
      });
      await assert.rejects(
        partner.send(
          new SetQueueAttributesCommand({ QueueUrl: own, Attributes: { RedrivePolicy: redrive } }),
        ),
        { name: "InvalidParameterValue", message: /same account as the source queue/ },
      );
      await assert.rejects(
        partner.send(
          new CreateQueueCommand({ QueueName: "partner-2", Attributes: { RedrivePolicy: redrive } }),
        ),
        { name: "InvalidParameterValue", message: /same account as the source queue/ },
      );
    }
    partner.destroy();
    owner.destroy();
  });

  it("never grants another account the owner-only actions, whatever the queue's Policy says", async () => {
    const owner = sqsClient(server.url);
    const b = busbar("accounts", "create");
    const partner = sqsClient(server.url, b);
    const arn = `arn:aws:sqs:us-east-1:${ACCOUNT}:open-to-b`;
    const { QueueUrl: open } = await owner.send(
      new CreateQueueCommand({
        QueueName: "open-to-b",
        Attributes: {
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { AWS: `arn:aws:iam::${b.accountId}:root` },
                Action: "sqs:*",
                Resource: arn,
              },
            ],
          }),
        },
      }),
    );
    // A dead-letter queue, so that a move task from it is otherwise valid.
    const redrive = JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 1 });
    await owner.send(
      new CreateQueueCommand({ QueueName: "feeds-open", Attributes: { RedrivePolicy: redrive } }),
    );
    const QueueUrl = open as string;
    // What the policy may grant another account (SQS's list of cross-account actions) it does.
    await partner.send(new SendMessageCommand({ QueueUrl, MessageBody: "from b" }));
    await partner.send(new ReceiveMessageCommand({ QueueUrl }));
    await partner.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
    await partner.send(new PurgeQueueCommand({ QueueUrl }));
    // The owner-only actions it does not.
    for (const [what, call] of [
      ["DeleteQueue", () => partner.send(new DeleteQueueCommand({ QueueUrl }))],
      [
        "SetQueueAttributes",
        () => partner.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: "" } })),
      ],
      ["TagQueue", () => partner.send(new TagQueueCommand({ QueueUrl, Tags: { by: "b" } }))],
      ["UntagQueue", () => partner.send(new UntagQueueCommand({ QueueUrl, TagKeys: ["by"] }))],
      ["ListQueueTags", () => partner.send(new ListQueueTagsCommand({ QueueUrl }))],
      ["StartMessageMoveTask", () => partner.send(new StartMessageMoveTaskCommand({ SourceArn: arn }))],
      ["ListMessageMoveTasks", () => partner.send(new ListMessageMoveTasksCommand({ SourceArn: arn }))],
    ] as const) {
      await assert.rejects(call(), { name: "AccessDenied", message: new RegExp(`sqs:${what}`) }, what);
    }
    const kept = await owner.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["Policy"] }));
    assert.match(String(kept.Attributes?.Policy), /sqs:\*/);
    partner.destroy();
    owner.destroy();
  });

  it("ends another account's long poll that RemovePermission takes the right from while it waits", async () => {
    const owner = sqsClient(server.url);
    const b = busbar("accounts", "create");
    const partner = sqsClient(server.url, b);
    const { QueueUrl } = (await owner.send(
      new CreateQueueCommand({ QueueName: "revoked-while-polled" }),
    )) as {
      QueueUrl: string;
    };
    await owner.send(
      new AddPermissionCommand({
        QueueUrl,
        Label: "b-receives",
        AWSAccountIds: [b.accountId],
        Actions: ["ReceiveMessage"],
      }),
    );
    const poll = partner.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10 })).then(
      (r) => r,
      (e: Error) => e,
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // waiting by now
    await owner.send(new RemoveQueuePermissionCommand({ QueueUrl, Label: "b-receives" }));
    await owner.send(new SendMessageCommand({ QueueUrl, MessageBody: "after-the-revocation" }));
    const answer = await poll;
    assert.ok(answer instanceof Error, `the poll got ${JSON.stringify(answer)}`);
    assert.equal(answer.name, "AccessDenied");
    const got = await owner.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
    assert.deepEqual(
      got.Messages?.map((m) => m.Body),
      ["after-the-revocation"],
    );
    partner.destroy();
    owner.destroy();
  });

  it("grants other accounts actions by AddPermission, and takes them back by RemovePermission", async () => {
    const owner = sqsClient(server.url);
    const b = busbar("accounts", "create");
    const partner = sqsClient(server.url, b);
    const arn = `arn:aws:sqs:us-east-1:${ACCOUNT}:granted`;
    const { QueueUrl } = (await owner.send(new CreateQueueCommand({ QueueName: "granted" }))) as {
      QueueUrl: string;
    };
    await assert.rejects(partner.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" })), {
      name: "AccessDenied",
    });
    await owner.send(
      new AddPermissionCommand({
        QueueUrl,
        Label: "b-sends",
        AWSAccountIds: [b.accountId],
        Actions: ["SendMessage", "ReceiveMessage"],
      }),
    );
    const policyOf = async (): Promise<string | undefined> =>
      (await owner.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["Policy"] }))).Attributes
        ?.Policy;
    assert.deepEqual(JSON.parse((await policyOf()) ?? "{}"), {
      Version: "2012-10-17",
      Id: `${arn}/SQSDefaultPolicy`,
      Statement: [
        {
          Sid: "b-sends",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${b.accountId}:root` },
          Action: ["SQS:SendMessage", "SQS:ReceiveMessage"],
          Resource: arn,
        },
      ],
    });
    // SendMessage grants the batch too; what was not named stays refused.
    await partner.send(new SendMessageCommand({ QueueUrl, MessageBody: "one" }));
    await partner.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: "a", MessageBody: "two" }] }));
    await partner.send(new ReceiveMessageCommand({ QueueUrl }));
    await assert.rejects(partner.send(new PurgeQueueCommand({ QueueUrl })), { name: "AccessDenied" });
    // Even `*` does not let another account change the policy.
    await owner.send(
      new AddPermissionCommand({ QueueUrl, Label: "b-all", AWSAccountIds: [b.accountId], Actions: ["*"] }),
    );
    await partner.send(new PurgeQueueCommand({ QueueUrl }));
    await assert.rejects(
      partner.send(
        new AddPermissionCommand({ QueueUrl, Label: "mine", AWSAccountIds: [b.accountId], Actions: ["*"] }),
      ),
      { name: "AccessDenied", message: /sqs:AddPermission/ },
    );
    await assert.rejects(partner.send(new RemoveQueuePermissionCommand({ QueueUrl, Label: "b-sends" })), {
      name: "AccessDenied",
      message: /sqs:RemovePermission/,
    });
    // Bad requests, each named.
    const add = (Label: string, AWSAccountIds: string[], Actions: string[]) =>
      owner.send(new AddPermissionCommand({ QueueUrl, Label, AWSAccountIds, Actions }));
    for (const [call, error] of [
      [add("b-sends", [b.accountId], ["GetQueueUrl"]), /Label is invalid\. Reason: Already exists/],
      [add("has space", [b.accountId], ["SendMessage"]), /parameter Label is invalid/],
      [add("x".repeat(81), [b.accountId], ["SendMessage"]), /parameter Label is invalid/],
      [add("short-id", ["1234"], ["SendMessage"]), /Value 1234 for parameter PrincipalId is invalid/],
      [add("nobody", [], ["SendMessage"]), /parameter PrincipalId is invalid/],
      [
        add("owner-only", [b.accountId], ["DeleteQueue"]),
        /Value SQS:DeleteQueue for parameter ActionName is invalid\. Reason: Only the queue owner/,
      ],
      [add("unknown", [b.accountId], ["Fly"]), /Value SQS:Fly for parameter ActionName is invalid/],
      [add("batch-name", [b.accountId], ["SendMessageBatch"]), /SQS:SendMessageBatch/],
    ] as const) {
      await assert.rejects(call, { name: "InvalidParameterValue", message: error });
    }
    await assert.rejects(add("no-actions", [b.accountId], []), { name: "MissingParameter" });
    const eight = [
      "SendMessage",
      "ReceiveMessage",
      "DeleteMessage",
      "ChangeMessageVisibility",
      "GetQueueAttributes",
      "GetQueueUrl",
      "PurgeQueue",
      "ListDeadLetterSourceQueues",
    ];
    await assert.rejects(add("eight", [b.accountId], eight), {
      name: "OverLimit",
      message: "8 Actions were found, maximum allowed is 7.",
    });
    await add("seven", [b.accountId], eight.slice(0, 7));
    // Calls at once each keep their statement (each reads what the one before it wrote).
    const labels = Array.from({ length: 12 }, (_, i) => `at-once-${i}`);
    await Promise.all(labels.map((label) => add(label, [b.accountId], ["GetQueueUrl"])));
    const sids = (JSON.parse((await policyOf()) ?? "{}") as { Statement: { Sid: string }[] }).Statement.map(
      (st) => st.Sid,
    );
    assert.deepEqual(sids, ["b-sends", "b-all", "seven", ...labels]);
    await Promise.all(
      ["b-all", "seven", ...labels].map((Label) =>
        owner.send(new RemoveQueuePermissionCommand({ QueueUrl, Label })),
      ),
    );
    await partner.send(new SendMessageCommand({ QueueUrl, MessageBody: "still granted" }));
    await owner.send(new RemoveQueuePermissionCommand({ QueueUrl, Label: "b-sends" }));
    assert.equal(await policyOf(), undefined, "the policy goes with its last statement");
    await assert.rejects(partner.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" })), {
      name: "AccessDenied",
    });
    await assert.rejects(owner.send(new RemoveQueuePermissionCommand({ QueueUrl, Label: "b-sends" })), {
      name: "InvalidParameterValue",
      message: "Value b-sends for parameter Label is invalid. Reason: can't find label on existing policy.",
    });
    await assert.rejects(owner.send(new RemoveQueuePermissionCommand({ QueueUrl, Label: "" })), {
      name: "MissingParameter",
    });
    partner.destroy();
    owner.destroy();
  });

  it("applies a Deny of the queue's Policy to its own account's keys too", async () => {
    const owner = sqsClient(server.url);
    const arn = `arn:aws:sqs:us-east-1:${ACCOUNT}:no-sends`;
    const { QueueUrl } = await owner.send(
      new CreateQueueCommand({
        QueueName: "no-sends",
        Attributes: {
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Deny", Principal: "*", Action: "sqs:SendMessage", Resource: arn }],
          }),
        },
      }),
    );
    const key = sqsClient(
      server.url,
      keyWithPolicy("sqs-all", [{ Effect: "Allow", Action: "sqs:*", Resource: "*" }]),
    );
    await assert.rejects(key.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" })), {
      name: "AccessDenied",
      message: /sqs:SendMessage/,
    });
    await key.send(new ReceiveMessageCommand({ QueueUrl })); // not denied
    // The operator's root key passes it, so that such a policy can always be changed.
    await owner.send(new SendMessageCommand({ QueueUrl, MessageBody: "operator" }));
    key.destroy();
    owner.destroy();
  });

  it("lets a queue's Policy grant a key of its own account it names, as IAM does; naming the account leaves it to the key's policies", async () => {
    const listOnly = [{ Effect: "Allow", Action: "sqs:ListQueues", Resource: "*" }];
    const named = keyWithPolicy("named", listOnly);
    const denies = keyWithPolicy("named-but-denies", [
      ...listOnly,
      { Effect: "Deny", Action: "sqs:SendMessage", Resource: "*" },
    ]);
    const other = keyWithPolicy("unnamed", listOnly);
    const arn = `arn:aws:sqs:us-east-1:${ACCOUNT}:granted-by-policy`;
    const userArn = (key: NewKey) => `arn:aws:iam::${ACCOUNT}:user/${key.accessKeyId}`;
    const owner = sqsClient(server.url);
    const { QueueUrl } = await owner.send(
      new CreateQueueCommand({
        QueueName: "granted-by-policy",
        Attributes: {
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { AWS: [userArn(named), userArn(denies)] },
                Action: "sqs:SendMessage",
                Resource: arn,
              },
              { Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "sqs:ReceiveMessage", Resource: arn },
              { Effect: "Allow", Principal: "*", Action: "sqs:GetQueueAttributes", Resource: arn },
            ],
          }),
        },
      }),
    );
    const [namedClient, deniesClient, otherClient] = [named, denies, other].map((k) =>
      sqsClient(server.url, k),
    );
    await namedClient!.send(new SendMessageCommand({ QueueUrl, MessageBody: "granted by the queue" }));
    // The key's own Deny wins over the queue's Allow.
    await assert.rejects(deniesClient!.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" })), {
      name: "AccessDenied",
      message: /sqs:SendMessage/,
    });
    await assert.rejects(otherClient!.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" })), {
      name: "AccessDenied",
    });
    // An Allow naming only the account delegates to the keys' policies, which do not allow it.
    await assert.rejects(namedClient!.send(new ReceiveMessageCommand({ QueueUrl })), {
      name: "AccessDenied",
    });
    // "*" names every caller.
    const { Attributes } = await otherClient!.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    assert.equal(Attributes?.["ApproximateNumberOfMessages"], "1");
    for (const client of [owner, namedClient!, deniesClient!, otherClient!]) client.destroy();
  });

  it("tells another account AccessDenied, not whether a queue of that name exists", async () => {
    const owner = sqsClient(server.url);
    const { QueueUrl: real } = await owner.send(new CreateQueueCommand({ QueueName: "exists" }));
    const b = busbar("accounts", "create");
    const partner = sqsClient(server.url, b);
    const missing = (real as string).replace(/exists$/, "does-not-exist");
    for (const QueueUrl of [real as string, missing]) {
      await assert.rejects(partner.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" })), {
        name: "AccessDenied",
      });
    }
    for (const QueueName of ["exists", "does-not-exist"]) {
      await assert.rejects(
        partner.send(new GetQueueUrlCommand({ QueueName, QueueOwnerAWSAccountId: ACCOUNT })),
        { name: "AccessDenied" },
        QueueName,
      );
    }
    // The move-task operations likewise, by ARN: the source, a destination, a task handle's source.
    const arnOf = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;
    await partner.send(new CreateQueueCommand({ QueueName: "partners" }));
    const ownArn = `arn:aws:sqs:us-east-1:${b.accountId}:partners`;
    for (const name of ["exists", "does-not-exist"]) {
      await assert.rejects(
        partner.send(new ListMessageMoveTasksCommand({ SourceArn: arnOf(name) })),
        { name: "AccessDenied" },
        name,
      );
      await assert.rejects(
        partner.send(new StartMessageMoveTaskCommand({ SourceArn: arnOf(name) })),
        { name: "AccessDenied" },
        name,
      );
      await assert.rejects(
        partner.send(new StartMessageMoveTaskCommand({ SourceArn: ownArn, DestinationArn: arnOf(name) })),
        { name: "AccessDenied" },
        name,
      );
      const handle = Buffer.from(JSON.stringify({ taskId: "t", sourceArn: arnOf(name) })).toString("base64");
      await assert.rejects(
        partner.send(new CancelMessageMoveTaskCommand({ TaskHandle: handle })),
        { name: "AccessDenied" },
        name,
      );
    }
    // Its own missing queue is ResourceNotFoundException, as SQS says of the move tasks' ARNs.
    await assert.rejects(
      partner.send(
        new ListMessageMoveTasksCommand({ SourceArn: `arn:aws:sqs:us-east-1:${b.accountId}:does-not-exist` }),
      ),
      { name: "ResourceNotFoundException" },
    );
    // In its own account, a missing queue is still QueueDoesNotExist.
    await assert.rejects(partner.send(new GetQueueUrlCommand({ QueueName: "does-not-exist" })), {
      name: "QueueDoesNotExist",
    });
    await assert.rejects(owner.send(new SendMessageCommand({ QueueUrl: missing, MessageBody: "x" })), {
      name: "QueueDoesNotExist",
    });
    partner.destroy();
    owner.destroy();
  });

  it("applies a Deny of a bus policy to its own account's keys too", async () => {
    const root = new EventBridgeClient({ endpoint: server.url, region: "us-east-1", credentials: TEST_ROOT });
    await root.send(
      new PutPermissionCommand({
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "no-puts",
              Effect: "Deny",
              Principal: "*",
              Action: "events:PutEvents",
              Resource: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`,
            },
          ],
        }),
      }),
    );
    try {
      const key = keyWithPolicy("events-all", [{ Effect: "Allow", Action: "events:*", Resource: "*" }]);
      const events = new EventBridgeClient({ endpoint: server.url, region: "us-east-1", credentials: key });
      const entry = { Source: "s", DetailType: "t", Detail: "{}" };
      const denied = await events.send(new PutEventsCommand({ Entries: [entry] }));
      assert.equal(denied.FailedEntryCount, 1);
      assert.equal(denied.Entries?.[0]?.ErrorCode, "AccessDeniedException");
      const operator = await root.send(new PutEventsCommand({ Entries: [entry] }));
      assert.equal(operator.FailedEntryCount, 0);
      events.destroy();
    } finally {
      await root.send(new RemovePermissionCommand({ StatementId: "no-puts" }));
      root.destroy();
    }
  });

  it("lets a bus policy grant PutEvents to a key of its own account it names", async () => {
    const root = new EventBridgeClient({ endpoint: server.url, region: "us-east-1", credentials: TEST_ROOT });
    const key = keyWithPolicy("no-events", [{ Effect: "Allow", Action: "sqs:ListQueues", Resource: "*" }]);
    const events = new EventBridgeClient({ endpoint: server.url, region: "us-east-1", credentials: key });
    const entry = { Source: "s", DetailType: "t", Detail: "{}" };
    const before = await events.send(new PutEventsCommand({ Entries: [entry] }));
    assert.equal(before.Entries?.[0]?.ErrorCode, "AccessDeniedException");
    await root.send(
      new PutPermissionCommand({
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "named-key",
              Effect: "Allow",
              Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/${key.accessKeyId}` },
              Action: "events:PutEvents",
              Resource: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default`,
            },
          ],
        }),
      }),
    );
    try {
      const granted = await events.send(new PutEventsCommand({ Entries: [entry] }));
      assert.equal(granted.FailedEntryCount, 0);
    } finally {
      await root.send(new RemovePermissionCommand({ StatementId: "named-key" }));
      root.destroy();
      events.destroy();
    }
  });

  it("answers bad credentials in SQS's words", async () => {
    const forged = sqsClient(server.url, { accessKeyId: TEST_ROOT.accessKeyId, secretAccessKey: "wrong" });
    await assert.rejects(forged.send(new ListQueuesCommand({})), { name: "SignatureDoesNotMatch" });
    const unknown = sqsClient(server.url, { accessKeyId: "BBUNKNOWNKEY00000000", secretAccessKey: "x" });
    await assert.rejects(unknown.send(new ListQueuesCommand({})), { name: "InvalidClientTokenId" });
    forged.destroy();
    unknown.destroy();
  });
});
