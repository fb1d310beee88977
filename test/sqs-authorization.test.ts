/**
 * SQS requests are signed and authorized with the same accounts, keys and policies as EventBridge:
 * `sqs:*` actions on queue ARNs, a queue's Policy for other accounts, and SigV4 failures in SQS's words.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from "@aws-sdk/client-sqs";
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
    const policy = join(server.dataDir, "sqs-policy.json");
    writeFileSync(
      policy,
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: "sqs:SendMessage", Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:inbox` },
          { Effect: "Allow", Action: "sqs:Get*", Resource: "*" },
        ],
      }),
    );
    const key = busbar("keys", "create", "--account", ACCOUNT, "--policy", policy);
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

  it("answers bad credentials in SQS's words", async () => {
    const forged = sqsClient(server.url, { accessKeyId: TEST_ROOT.accessKeyId, secretAccessKey: "wrong" });
    await assert.rejects(forged.send(new ListQueuesCommand({})), { name: "SignatureDoesNotMatch" });
    const unknown = sqsClient(server.url, { accessKeyId: "BBUNKNOWNKEY00000000", secretAccessKey: "x" });
    await assert.rejects(unknown.send(new ListQueuesCommand({})), { name: "InvalidClientTokenId" });
    forged.destroy();
    unknown.destroy();
  });
});
