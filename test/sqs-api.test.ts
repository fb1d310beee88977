/**
 * The SQS API of a real `busbar serve`, driven by the official `@aws-sdk/client-sqs` with nothing but
 * an endpoint override (the SDK checks the MD5 digests of every body it sends and receives).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  UntagQueueCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { md5OfAttributes } from "../src/queues/index.js";
import {
  createQueue,
  rejectsWith,
  removeDataDir,
  signedHeaders,
  signedRequestText,
  sqsClient,
  startBusbar,
  TEST_ROOT,
  type BusbarProcess,
} from "./support/index.js";

let server: BusbarProcess;
let sqs: SQSClient;
const ACCOUNT = "000000000000";

const rejects = rejectsWith;
const create = (name: string, attributes: Record<string, string> = {}): Promise<string> =>
  createQueue(sqs, name, attributes);

before(async () => {
  server = await startBusbar();
  sqs = sqsClient(server.url);
});

after(async () => {
  sqs.destroy();
  assert.equal(await server.stop(), 0, "SIGTERM drains and exits 0");
  removeDataDir(server.dataDir);
});

describe("queues", () => {
  it("creates a queue at http://<host>:<port>/<account>/<name>, idempotently for the same attributes", async () => {
    const url = await create("orders", { VisibilityTimeout: "45" });
    assert.equal(url, `${server.url}/${ACCOUNT}/orders`);
    assert.equal(await create("orders", { VisibilityTimeout: "45" }), url);
    assert.equal(await create("orders"), url);
    await rejects(
      create("orders", { VisibilityTimeout: "46" }),
      "QueueNameExists",
      /different value for attribute VisibilityTimeout/,
    );
    const got = await sqs.send(new GetQueueUrlCommand({ QueueName: "orders" }));
    assert.equal(got.QueueUrl, url);
    await rejects(sqs.send(new GetQueueUrlCommand({ QueueName: "nope" })), "QueueDoesNotExist");
  });

  it("reports every attribute with its default, and the computed ones", async () => {
    const url = await create("attrs");
    const { Attributes: a = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }),
    );
    assert.equal(a.QueueArn, `arn:aws:sqs:us-east-1:${ACCOUNT}:attrs`);
    assert.equal(a.VisibilityTimeout, "30");
    assert.equal(a.DelaySeconds, "0");
    assert.equal(a.MaximumMessageSize, "1048576");
    assert.equal(a.MessageRetentionPeriod, "345600");
    assert.equal(a.ReceiveMessageWaitTimeSeconds, "0");
    assert.equal(a.ApproximateNumberOfMessages, "0");
    assert.equal(a.ApproximateNumberOfMessagesNotVisible, "0");
    assert.equal(a.ApproximateNumberOfMessagesDelayed, "0");
    assert.match(a.CreatedTimestamp ?? "", /^\d{10}$/);
    assert.equal(a.FifoQueue, undefined);
    const one = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["DelaySeconds"] }),
    );
    assert.deepEqual(one.Attributes, { DelaySeconds: "0" });
    const none = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url }));
    assert.equal(none.Attributes, undefined);
  });

  it("sets attributes, and refuses unknown names and bad values", async () => {
    const url = await create("settable");
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DelaySeconds: "5" } }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["DelaySeconds"] }),
    );
    assert.equal(Attributes?.DelaySeconds, "5");
    await rejects(
      sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: url,
          Attributes: { Colour: "blue" } as Record<string, string>,
        }),
      ),
      "InvalidAttributeName",
      /Unknown Attribute Colour/,
    );
    for (const [name, value] of [
      ["DelaySeconds", "901"],
      ["VisibilityTimeout", "-1"],
      ["MaximumMessageSize", "1023"],
      ["MessageRetentionPeriod", "59"],
      ["ReceiveMessageWaitTimeSeconds", "2.5"],
    ] as const) {
      await rejects(
        sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { [name]: value } })),
        "InvalidAttributeValue",
        new RegExp(name),
      );
    }
    await rejects(
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["Nope" as "All"] })),
      "InvalidAttributeName",
    );
    await rejects(
      sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { FifoQueue: "true" } })),
      "InvalidAttributeName",
    );
    // A FifoQueue other than true is named (as SQS names FifoQueue=false: no attribute of a standard
    // queue), not taken for a standard queue with a FIFO name (it was a queue name error).
    await rejects(
      sqs.send(new CreateQueueCommand({ QueueName: "yes.fifo", Attributes: { FifoQueue: "yes" } })),
      "InvalidAttributeName",
      /Unknown Attribute FifoQueue/,
    );
  });

  it("keeps every change of SetQueueAttributes calls made at once", async () => {
    const url = await create("set-at-once");
    const changes = {
      DelaySeconds: "7",
      VisibilityTimeout: "45",
      MaximumMessageSize: "2048",
      MessageRetentionPeriod: "3600",
      ReceiveMessageWaitTimeSeconds: "3",
    };
    await Promise.all(
      Object.entries(changes).map(([name, value]) =>
        sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { [name]: value } })),
      ),
    );
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: Object.keys(changes) as Array<keyof typeof changes>,
      }),
    );
    assert.deepEqual(Attributes, changes);
  });

  it("keeps one server-side encryption in force: turning one on turns the other off", async () => {
    const url = await create("encrypted", { KmsMasterKeyId: "alias/k" });
    const sse = async () =>
      (
        await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ["KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"],
          }),
        )
      ).Attributes;
    assert.deepEqual(await sse(), {
      KmsMasterKeyId: "alias/k",
      KmsDataKeyReusePeriodSeconds: "300",
      SqsManagedSseEnabled: "false",
    });
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { SqsManagedSseEnabled: "true" } }),
    );
    assert.deepEqual(await sse(), { SqsManagedSseEnabled: "true" });
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: url,
        Attributes: { KmsMasterKeyId: "alias/j", KmsDataKeyReusePeriodSeconds: "600" },
      }),
    );
    assert.deepEqual(await sse(), {
      KmsMasterKeyId: "alias/j",
      KmsDataKeyReusePeriodSeconds: "600",
      SqsManagedSseEnabled: "false",
    });
    await rejects(
      sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: url,
          Attributes: { KmsMasterKeyId: "alias/k", SqsManagedSseEnabled: "true" },
        }),
      ),
      "InvalidAttributeName",
    );
  });

  it("refuses bad queue names and FIFO names without FifoQueue", async () => {
    await rejects(create("has space"), "InvalidParameterValue", /alphanumeric/);
    await rejects(create("x".repeat(81)), "InvalidParameterValue");
    await rejects(create("plain.fifo"), "InvalidParameterValue");
    await rejects(create("nofifo", { FifoQueue: "true" }), "InvalidParameterValue", /\.fifo/);
    await rejects(create(""), "InvalidParameterValue", /queue name/);
  });

  it("lists queues by prefix, and pages only when MaxResults is given", async () => {
    for (const n of ["list-a", "list-b", "list-c"]) await create(n);
    const all = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "list-" }));
    assert.deepEqual(
      all.QueueUrls,
      ["list-a", "list-b", "list-c"].map((n) => `${server.url}/${ACCOUNT}/${n}`),
    );
    assert.equal(all.NextToken, undefined);
    const first = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "list-", MaxResults: 2 }));
    assert.equal(first.QueueUrls?.length, 2);
    assert.ok(first.NextToken);
    const rest = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: "list-", MaxResults: 2, NextToken: first.NextToken }),
    );
    assert.deepEqual(rest.QueueUrls, [`${server.url}/${ACCOUNT}/list-c`]);
    assert.equal(rest.NextToken, undefined);
    const none = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "zzz" }));
    assert.equal(none.QueueUrls, undefined);
  });

  it("tags queues at creation and later", async () => {
    const r = await sqs.send(new CreateQueueCommand({ QueueName: "tagged", tags: { team: "a" } }));
    const url = r.QueueUrl as string;
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { env: "test", team: "b" } }));
    assert.deepEqual((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags, {
      env: "test",
      team: "b",
    });
    await sqs.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: ["team"] }));
    assert.deepEqual((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags, { env: "test" });
  });

  it("refuses tags with characters SQS does not allow or the reserved prefix aws:, naming the tag", async () => {
    const url = await create("tag-rules");
    // Unicode letters and digits, spaces, and _ . : / = + - @ are allowed.
    const allowed = { "Équipe 7": "données_ok", "a.b:c/d=e+f-g@h": "", "x:aws:": "value aws:" };
    await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: allowed }));
    assert.deepEqual((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags, allowed);
    const refused: Array<[Record<string, string>, RegExp]> = [
      [
        { "team#1": "a" },
        /Value team#1 for parameter Tags is invalid\. .*only Unicode letters.*tag "team#1"/,
      ],
      [
        { team: "a*b" },
        /Value a\*b for parameter Tags is invalid\. .*Tag values may contain only.*tag "team"/,
      ],
      [{ "tab\tkey": "a" }, /only Unicode letters, digits, whitespace/],
      [{ "aws:owner": "me" }, /Tag keys must not start with the reserved prefix aws: \(tag "aws:owner"\)/],
      [{ "AWS:owner": "me" }, /reserved prefix aws:/],
      [{ owner: "aws:me" }, /Tag values must not start with the reserved prefix aws: \(tag "owner"\)/],
    ];
    for (const [tags, message] of refused) {
      await rejects(
        sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: tags })),
        "InvalidParameterValue",
        message,
      );
      await rejects(
        sqs.send(new CreateQueueCommand({ QueueName: "tag-rules-new", tags })),
        "InvalidParameterValue",
        message,
      );
    }
    assert.deepEqual(
      (await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags,
      allowed,
      "unchanged",
    );
    await rejects(sqs.send(new GetQueueUrlCommand({ QueueName: "tag-rules-new" })), "QueueDoesNotExist");
  });

  it("deletes a queue; afterwards every operation on it answers QueueDoesNotExist", async () => {
    const url = await create("doomed");
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x" }));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    await rejects(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x" })), "QueueDoesNotExist");
    await rejects(sqs.send(new ReceiveMessageCommand({ QueueUrl: url })), "QueueDoesNotExist");
    await rejects(sqs.send(new DeleteQueueCommand({ QueueUrl: url })), "QueueDoesNotExist");
    await rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: "not a url", MessageBody: "x" })),
      "InvalidAddress",
    );
    // A malformed %-escape in the name: a sender's fault (it was a 500, which SDKs retry).
    const badEscape = url.replace(/doomed$/, "%E0");
    await rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: badEscape, MessageBody: "x" })),
      "InvalidAddress",
    );
  });

  it("ends a long poll on a queue deleted while it waits with QueueDoesNotExist, at once", async () => {
    const url = await create("deleted-while-polled");
    const started = Date.now();
    const polled = rejects(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10 })),
      "QueueDoesNotExist",
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    await polled;
    assert.ok(Date.now() - started < 5000, `the poll ended after ${Date.now() - started} ms`);
  });

  it("purges a queue once a minute", async () => {
    const url = await create("purged");
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x" }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    assert.equal(r.Messages, undefined);
    await rejects(sqs.send(new PurgeQueueCommand({ QueueUrl: url })), "PurgeQueueInProgress");
  });
});

describe("messages", () => {
  it("sends, receives and deletes with attributes whose digests the SDK and SQS agree on", async () => {
    const url = await create("messages");
    const attributes = {
      city: { DataType: "String", StringValue: "Any City" },
      count: { DataType: "Number", StringValue: "5" },
      raw: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 3]) },
    };
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: "héllo",
        MessageAttributes: attributes,
        MessageSystemAttributes: { AWSTraceHeader: { DataType: "String", StringValue: "Root=1-abc" } },
      }),
    );
    assert.match(sent.MessageId ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(sent.MD5OfMessageBody, "be50e8478cf24ff3595bc7307fb91b50");
    assert.equal(
      sent.MD5OfMessageAttributes,
      md5OfAttributes({
        city: { DataType: "String", StringValue: "Any City" },
        count: { DataType: "Number", StringValue: "5" },
        raw: { DataType: "Binary", BinaryValue: "AQID" },
      }),
    );
    assert.ok(sent.MD5OfMessageSystemAttributes);
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    const [m] = r.Messages ?? [];
    assert.ok(m);
    assert.equal(m.Body, "héllo");
    assert.equal(m.MessageId, sent.MessageId);
    assert.equal(m.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
    assert.deepEqual(m.MessageAttributes?.raw?.BinaryValue, new Uint8Array([1, 2, 3]));
    assert.equal(m.Attributes?.ApproximateReceiveCount, "1");
    assert.equal(m.Attributes?.AWSTraceHeader, "Root=1-abc");
    assert.equal(m.Attributes?.SenderId, ACCOUNT);
    assert.match(m.Attributes?.SentTimestamp ?? "", /^\d{13}$/);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    // A handle of a deleted message is accepted again, as SQS does; a string never issued is not.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    await rejects(
      sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: "forged" })),
      "ReceiptHandleIsInvalid",
    );
  });

  it("returns only the message attributes asked for, with the digest of those", async () => {
    const url = await create("filtered");
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: "b",
        MessageAttributes: {
          General: { DataType: "String", StringValue: "Kenobi" },
          Hello: { DataType: "String", StringValue: "There" },
          "Help.Me": { DataType: "String", StringValue: "Me" },
        },
      }),
    );
    const r = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MessageAttributeNames: ["General", "Hello"],
        VisibilityTimeout: 0,
      }),
    );
    // The digest SQS itself gives for {General, Hello} (recorded against AWS by LocalStack).
    assert.equal(r.Messages?.[0]?.MD5OfMessageAttributes, "fca026605781cb4126a1e9044df24232");
    const names = async (wanted: string[]): Promise<string[]> => {
      const m = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: wanted, VisibilityTimeout: 0 }),
      );
      return Object.keys(m.Messages?.[0]?.MessageAttributes ?? {}).sort();
    };
    assert.deepEqual(await names(["Help.*"]), ["Help.Me"]);
    // A prefix is what comes before ".*", as SQS reads it: "Hel.*" gives Hello and Help.Me.
    assert.deepEqual(await names(["Hel.*"]), ["Hello", "Help.Me"]);
    assert.deepEqual(await names(["Gen.*", "Nope"]), ["General"]);
    assert.deepEqual(await names(["*"]), ["General", "Hello", "Help.Me"]);
    assert.deepEqual(await names([".*"]), ["General", "Hello", "Help.Me"]);
  });

  it("keeps names that are also members of Object.prototype, and never lets a request reach the prototype", async () => {
    const url = await create("proto-names");
    const raw = (op: string, body: string) =>
      fetch(server.url, {
        method: "POST",
        headers: signedHeaders(new URL(server.url).host, `AmazonSQS.${op}`, body, TEST_ROOT),
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    // JSON.stringify cannot write a "__proto__" member; these bodies are written by hand.
    const sent = await raw(
      "SendMessage",
      `{"QueueUrl":${JSON.stringify(url)},"MessageBody":"b","MessageAttributes":{"__proto__":{"DataType":"String","StringValue":"p"}}}`,
    );
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ["All"], VisibilityTimeout: 0 }),
    );
    const message = received.Messages?.[0];
    assert.equal(message?.MD5OfMessageAttributes, sent.body.MD5OfMessageAttributes);
    const gotRaw = await raw(
      "ReceiveMessage",
      JSON.stringify({ QueueUrl: url, MessageAttributeNames: ["__proto__"], VisibilityTimeout: 0 }),
    );
    const attributes = (gotRaw.body.Messages as Array<{ MessageAttributes?: object }>)[0]?.MessageAttributes;
    assert.deepEqual(Object.getOwnPropertyDescriptor(attributes ?? {}, "__proto__")?.value, {
      DataType: "String",
      StringValue: "p",
    });
    const setProto = await raw(
      "SetQueueAttributes",
      `{"QueueUrl":${JSON.stringify(url)},"Attributes":{"__proto__":"x"}}`,
    );
    assert.equal(setProto.status, 400);
    assert.equal(setProto.body.__type, "com.amazonaws.sqs#InvalidAttributeName");
    assert.equal(
      (await raw("TagQueue", `{"QueueUrl":${JSON.stringify(url)},"Tags":{"__proto__":"v"}}`)).status,
      200,
    );
    const tags = await raw("ListQueueTags", JSON.stringify({ QueueUrl: url }));
    assert.equal(Object.getOwnPropertyDescriptor(tags.body.Tags ?? {}, "__proto__")?.value, "v");
    // A query-protocol request whose parameter names walk into Object.prototype must not change it:
    // were QueueNamePrefix inherited by every object, the next ListQueues would find nothing.
    const form = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=ListQueues&__proto__.QueueNamePrefix=zzz&constructor.prototype.QueueNamePrefix=zzz",
    });
    assert.equal(form.status, 403); // unsigned: refused, after the body was read
    const listed = await sqs.send(new ListQueuesCommand({}));
    assert.ok(listed.QueueUrls?.includes(url), "ListQueues still finds the queue");
  });

  it("refuses bad bodies and attributes with SQS's error codes", async () => {
    const url = await create("strict", { MaximumMessageSize: "1024" });
    await rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x".repeat(1025) })),
      "InvalidParameterValue",
      /shorter than 1024/,
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x".repeat(1024) }));
    await rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "bell \u0007" })),
      "InvalidMessageContents",
    );
    await rejects(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "" })), "MissingParameter");
    await rejects(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: "x",
          MessageAttributes: { "AWS.x": { DataType: "String", StringValue: "v" } },
        }),
      ),
      "InvalidParameterValue",
      /reserved/,
    );
    await rejects(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: "x",
          MessageAttributes: { n: { DataType: "Number", StringValue: "twelve" } },
        }),
      ),
      "InvalidParameterValue",
      /number/,
    );
    await rejects(
      sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: "x",
          MessageAttributes: { t: { DataType: "Text", StringValue: "v" } },
        }),
      ),
      "InvalidParameterValue",
      /type/,
    );
    const eleven = Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`a${i}`, { DataType: "String", StringValue: "v" }]),
    );
    await rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x", MessageAttributes: eleven })),
      "InvalidParameterValue",
      /\[11\]/,
    );
    await rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x", DelaySeconds: 901 })),
      "InvalidParameterValue",
    );
    await rejects(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x", MessageDeduplicationId: "d" })),
      "InvalidParameterValue",
      /not valid for this queue type/,
    );
    await rejects(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })),
      "InvalidParameterValue",
      /between 1 and 10/,
    );
    await rejects(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 21 })),
      "InvalidParameterValue",
    );
  });

  it("answers batches entry by entry, and refuses malformed batches as a whole", async () => {
    const url = await create("batches", { MaximumMessageSize: "1024" });
    const r = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "ok1", MessageBody: "one" },
          { Id: "big", MessageBody: "x".repeat(2000) },
          { Id: "ok2", MessageBody: "two", DelaySeconds: 0 },
        ],
      }),
    );
    assert.deepEqual(
      r.Successful?.map((s) => s.Id),
      ["ok1", "ok2"],
    );
    assert.equal(r.Failed?.[0]?.Id, "big");
    assert.equal(r.Failed?.[0]?.Code, "InvalidParameterValue");
    assert.equal(r.Failed?.[0]?.SenderFault, true);
    await rejects(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] })), "EmptyBatchRequest");
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: "x" }));
    await rejects(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: eleven })),
      "TooManyEntriesInBatchRequest",
    );
    await rejects(
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: "a", MessageBody: "x" },
            { Id: "a", MessageBody: "y" },
          ],
        }),
      ),
      "BatchEntryIdsNotDistinct",
    );
    await rejects(
      sqs.send(
        new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: "bad id!", MessageBody: "x" }] }),
      ),
      "InvalidBatchEntryId",
    );
    await rejects(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: "", MessageBody: "x" }] })),
      "InvalidBatchEntryId",
    );
    await rejects(
      sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: "", ReceiptHandle: "h" }] })),
      "InvalidBatchEntryId",
    );
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    assert.equal(got.Messages?.length, 2);
    const handles = got.Messages?.map((m) => m.ReceiptHandle as string) ?? [];
    const d = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "a", ReceiptHandle: handles[0] },
          { Id: "b", ReceiptHandle: "garbage" },
          { Id: "c", ReceiptHandle: handles[1] },
        ],
      }),
    );
    assert.deepEqual(
      d.Successful?.map((s) => s.Id),
      ["a", "c"],
    );
    assert.deepEqual(
      d.Failed?.map((f) => [f.Id, f.Code]),
      [["b", "ReceiptHandleIsInvalid"]],
    );
  });

  it("hides a received message for its visibility timeout, then hands it out again with a new count", async () => {
    const url = await create("visibility");
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "again" }));
    const first = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 1, AttributeNames: ["All"] }),
    );
    assert.equal(first.Messages?.length, 1);
    const { Attributes: counts } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessages"],
      }),
    );
    assert.deepEqual(counts, {
      ApproximateNumberOfMessages: "0",
      ApproximateNumberOfMessagesNotVisible: "1",
    });
    assert.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages, undefined);
    const second = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 3, AttributeNames: ["All"] }),
    );
    assert.equal(second.Messages?.[0]?.Body, "again");
    assert.equal(second.Messages?.[0]?.Attributes?.ApproximateReceiveCount, "2");
    assert.notEqual(second.Messages?.[0]?.ReceiptHandle, first.Messages?.[0]?.ReceiptHandle);
    // Visibility 0 makes it visible at once; a change past 12 hours from the receive is refused.
    const handle = second.Messages?.[0]?.ReceiptHandle as string;
    await rejects(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: handle,
          VisibilityTimeout: 43_201,
        }),
      ),
      "InvalidParameterValue",
    );
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
    const third = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    assert.equal(third.Messages?.[0]?.Body, "again");
    const batch = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "x", ReceiptHandle: third.Messages?.[0]?.ReceiptHandle, VisibilityTimeout: 60 },
          { Id: "y", ReceiptHandle: "nope", VisibilityTimeout: 60 },
        ],
      }),
    );
    assert.deepEqual(
      batch.Successful?.map((s) => s.Id),
      ["x"],
    );
    assert.equal(batch.Failed?.[0]?.Code, "ReceiptHandleIsInvalid");
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: third.Messages?.[0]?.ReceiptHandle }),
    );
    await rejects(
      sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: handle, VisibilityTimeout: 5 }),
      ),
      "InvalidParameterValue",
      /does not exist/,
    );
  });

  it("tells a heartbeat that lost its message: MessageNotInflight once visible, InvalidParameterValue once received again", async () => {
    const url = await create("heartbeat");
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "work" }));
    const receive = async (visibility: number) => {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: visibility }));
      const handle = r.Messages?.[0]?.ReceiptHandle;
      assert.ok(handle !== undefined, "received");
      return handle;
    };
    const heartbeat = (handle: string, timeout: number) =>
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: handle,
          VisibilityTimeout: timeout,
        }),
      );
    const counts = async () => {
      const { Attributes: a = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      return [a.ApproximateNumberOfMessages, a.ApproximateNumberOfMessagesNotVisible];
    };
    const lost = await receive(1);
    await heartbeat(lost, 1); // in flight: the heartbeat works
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    // Its visibility timeout over, the message is back in the queue, and the heartbeat says so.
    await rejects(heartbeat(lost, 30), "MessageNotInflight", /^The specified message isn't in flight\.$/);
    const entry = { Id: "lost", ReceiptHandle: lost, VisibilityTimeout: 30 };
    const visibleBatch = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: [entry] }),
    );
    assert.deepEqual(visibleBatch.Failed, [
      {
        Id: "lost",
        SenderFault: true,
        Code: "AWS.SimpleQueueService.MessageNotInflight",
        Message: "The specified message isn't in flight.",
      },
    ]);
    assert.deepEqual(await counts(), ["1", "0"], "the refused changes left the message visible");

    // Another consumer took it: the old handle changes nothing, in SQS's words.
    const current = await receive(30);
    const reason = `Value ${lost} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`;
    await rejects(heartbeat(lost, 0), "InvalidParameterValue");
    await assert.rejects(heartbeat(lost, 0), { message: reason });
    const batch = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [entry, { Id: "current", ReceiptHandle: current, VisibilityTimeout: 60 }],
      }),
    );
    assert.deepEqual(batch.Successful, [{ Id: "current" }]);
    assert.deepEqual(batch.Failed, [
      { Id: "lost", SenderFault: true, Code: "InvalidParameterValue", Message: reason },
    ]);
    assert.deepEqual(await counts(), ["0", "1"], "still in flight under the later receive");
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: current }));
    await assert.rejects(heartbeat(current, 0), {
      name: "InvalidParameterValue",
      message: reason.replace(lost, current),
    });
  });

  it("delays messages: per message and by the queue's DelaySeconds", async () => {
    const url = await create("delayed", { DelaySeconds: "1" });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "queue delay" }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "no delay", DelaySeconds: 0 }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ["ApproximateNumberOfMessagesDelayed"],
      }),
    );
    assert.equal(Attributes?.ApproximateNumberOfMessagesDelayed, "1");
    const now = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    assert.deepEqual(
      now.Messages?.map((m) => m.Body),
      ["no delay"],
    );
    const later = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
    assert.deepEqual(
      later.Messages?.map((m) => m.Body),
      ["queue delay"],
    );
  });

  it("applies a FIFO queue's new DelaySeconds to the messages already queued, and a standard one's only to new ones", async () => {
    const delayed = async (url: string) =>
      (
        await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ["ApproximateNumberOfMessagesDelayed"],
          }),
        )
      ).Attributes?.ApproximateNumberOfMessagesDelayed;
    const fifo = await create("redelay.fifo", { FifoQueue: "true", DelaySeconds: "600" });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: fifo,
        MessageBody: "f",
        MessageGroupId: "g",
        MessageDeduplicationId: "f",
      }),
    );
    const standard = await create("redelay", { DelaySeconds: "600" });
    await sqs.send(new SendMessageCommand({ QueueUrl: standard, MessageBody: "s" }));
    assert.equal(await delayed(fifo), "1");
    // A long poll waiting on the FIFO queue wakes when the delay is lifted (SQS: retroactive for FIFO).
    const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl: fifo, WaitTimeSeconds: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: fifo, Attributes: { DelaySeconds: "0" } }));
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: standard, Attributes: { DelaySeconds: "0" } }));
    const got = await waiting;
    assert.deepEqual(
      got.Messages?.map((m) => m.Body),
      ["f"],
    );
    assert.ok(Date.now() - started < 3000, "woken by the change, not by the end of the poll");
    // The standard queue's message keeps the delay it was sent with.
    assert.equal(await delayed(standard), "1");
    assert.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: standard }))).Messages, undefined);
  });

  it("long polling returns as soon as a message arrives", async () => {
    const url = await create("long-poll");
    const started = Date.now();
    const waiting = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10 }));
    await new Promise((r) => setTimeout(r, 300));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "wake up" }));
    const r = await waiting;
    const elapsed = Date.now() - started;
    assert.equal(r.Messages?.[0]?.Body, "wake up");
    assert.ok(elapsed < 2000, `returned after ${elapsed} ms`);
    // And an empty long poll waits for its whole wait time.
    const t = Date.now();
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    assert.equal(empty.Messages, undefined);
    assert.ok(Date.now() - t >= 950, `an empty poll returned after ${Date.now() - t} ms`);
  });

  it("runs a pipelined request only once the reply before it is sent: a client that reads nothing holds few replies", async () => {
    const QueueUrl = await create("pipelined-big");
    const MessageBody = "b".repeat(256 * 1024 - 1);
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 30; i++) await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody }));
      }),
    );
    // Twelve receives of ten messages each (2.6 MB a reply) in one write, and nothing read: the first
    // replies fill the socket's buffers, and the receives behind them wait for them.
    const body = JSON.stringify({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 });
    const { hostname, port, host } = new URL(server.url);
    const stuck = connect(Number(port), hostname);
    stuck.on("error", () => undefined);
    await new Promise<void>((resolve) => stuck.once("connect", resolve));
    stuck.pause();
    stuck.write(signedRequestText(host, "AmazonSQS.ReceiveMessage", body, TEST_ROOT).repeat(12));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    try {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ["ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      const inFlight = Number(Attributes?.ApproximateNumberOfMessagesNotVisible);
      assert.ok(inFlight > 0, "the first receive ran");
      assert.ok(inFlight <= 60, `${inFlight / 10} of the 12 pipelined receives ran while nothing was read`);
    } finally {
      stuck.destroy();
    }
  });

  it("never hands a message in flight to two concurrent consumers", async () => {
    const url = await create("crowd", { VisibilityTimeout: "60" });
    const total = 200;
    for (let i = 0; i < total; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 10 }, (_, k) => ({ Id: `m${k}`, MessageBody: `body-${i + k}` })),
        }),
      );
    }
    const seen: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const r = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
          );
          if (r.Messages === undefined) return;
          for (const m of r.Messages) seen.push(m.Body as string);
        }
      }),
    );
    assert.equal(seen.length, total, "every message received exactly once");
    assert.equal(new Set(seen).size, total);
  });
});
