import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { QueueError } from "../../queues/index.js";
import { parseQueryRequest, queryErrorBody, queryResponseBody } from "./query.js";

describe("SQS query protocol", () => {
  it("refuses %-escapes that do not decode to UTF-8, and reads those that do", () => {
    const send = (body: string): string => `Action=SendMessage&QueueUrl=u&MessageBody=${body}`;
    for (const body of ["a%FF%FE", "%C3", "%C3%28", "%ED%A0%80", "%E2%82"]) {
      assert.throws(
        () => parseQueryRequest(send(body), undefined),
        (e) => e instanceof QueueError && e.code === "MalformedInput" && /not valid UTF-8/.test(e.message),
        body,
      );
    }
    for (const [body, text] of [
      ["%C3%A9%E2%9C%93%F0%9F%98%80", "é✓😀"],
      ["caf%c3%a9+%25FF", "café %FF"],
      ["é%2B", "é+"],
    ]) {
      assert.equal(parseQueryRequest(send(body as string), undefined).input.MessageBody, text, body);
    }
  });
  it("reads flattened lists and maps into the JSON protocol's input", () => {
    const body = new URLSearchParams({
      Action: "SendMessageBatch",
      Version: "2012-11-05",
      QueueUrl: "http://h/000000000000/q",
      "SendMessageBatchRequestEntry.1.Id": "a",
      "SendMessageBatchRequestEntry.1.MessageBody": "one",
      "SendMessageBatchRequestEntry.1.DelaySeconds": "5",
      "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name": "k",
      "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType": "String",
      "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue": "v",
      "SendMessageBatchRequestEntry.2.Id": "b",
      "SendMessageBatchRequestEntry.2.MessageBody": "two",
    }).toString();
    assert.deepEqual(parseQueryRequest(body, undefined), {
      action: "SendMessageBatch",
      input: {
        QueueUrl: "http://h/000000000000/q",
        Entries: [
          {
            Id: "a",
            MessageBody: "one",
            DelaySeconds: 5,
            MessageAttributes: { k: { DataType: "String", StringValue: "v" } },
          },
          { Id: "b", MessageBody: "two" },
        ],
      },
    });
    const create = new URLSearchParams({
      Action: "CreateQueue",
      QueueName: "q",
      "Attribute.1.Name": "VisibilityTimeout",
      "Attribute.1.Value": "40",
      "Tag.1.Key": "team",
      "Tag.1.Value": "a",
    }).toString();
    assert.deepEqual(parseQueryRequest(create, undefined).input, {
      QueueName: "q",
      Attributes: { VisibilityTimeout: "40" },
      tags: { team: "a" },
    });
    const receive = "Action=ReceiveMessage&AttributeName.1=All&MaxNumberOfMessages=10";
    assert.deepEqual(parseQueryRequest(receive, "http://h/000000000000/q").input, {
      AttributeNames: ["All"],
      MaxNumberOfMessages: 10,
      QueueUrl: "http://h/000000000000/q",
    });
    assert.throws(() => parseQueryRequest("QueueName=q", undefined), /Action/);
  });
  it("reads a message attribute's list values, so that they are refused by name as in JSON", () => {
    const body = new URLSearchParams({
      Action: "SendMessage",
      QueueUrl: "http://h/000000000000/q",
      MessageBody: "m",
      "MessageAttribute.1.Name": "k",
      "MessageAttribute.1.Value.DataType": "String",
      "MessageAttribute.1.Value.StringListValue.1": "a",
      "MessageAttribute.1.Value.StringListValue.2": "b",
    }).toString();
    assert.deepEqual(parseQueryRequest(body, undefined).input.MessageAttributes, {
      k: { DataType: "String", StringListValues: ["a", "b"] },
    });
  });

  it("takes parameters named after Object.prototype's members as plain keys, never reaching the prototype", () => {
    const body =
      "Action=ListQueues&__proto__.QueueNamePrefix=zzz&constructor.prototype.polluted=1&__proto__=x" +
      "&Attribute.1.Name=__proto__&Attribute.1.Value=v";
    const { input } = parseQueryRequest(body, undefined);
    const plain: Record<string, unknown> = {};
    assert.equal(plain.QueueNamePrefix, undefined);
    assert.equal(plain.polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, "QueueNamePrefix"), false);
    // What was given is kept as own members, like any other name.
    assert.equal(Object.getOwnPropertyDescriptor(input, "__proto__")?.value, "x");
    const attributes = input.Attributes as Record<string, unknown>;
    assert.equal(Object.getOwnPropertyDescriptor(attributes, "__proto__")?.value, "v");
  });
  it("answers in XML, escaping text", () => {
    const xml = queryResponseBody(
      "ReceiveMessage",
      { Messages: [{ MessageId: "m", Body: "a<b&c\r" }] },
      "rid",
    );
    assert.match(
      xml,
      /<ReceiveMessageResult><Message><MessageId>m<\/MessageId><Body>a&lt;b&amp;c&#xD;<\/Body><\/Message>/,
    );
    assert.match(
      queryResponseBody("DeleteQueue", {}, "rid"),
      /^<\?xml version="1.0"\?><DeleteQueueResponse [^>]+><ResponseMetadata>/,
    );
    // Nothing received, nothing listed: the result element is there, empty.
    for (const action of ["ReceiveMessage", "ListQueues", "ListQueueTags", "GetQueueAttributes"]) {
      assert.match(
        queryResponseBody(action, {}, "rid"),
        new RegExp(`<${action}Response [^>]+><${action}Result></${action}Result><ResponseMetadata>`),
      );
    }
    const error = queryErrorBody(new QueueError("AWS.SimpleQueueService.NonExistentQueue", "gone"), "rid");
    assert.match(
      error,
      /<Type>Sender<\/Type><Code>AWS.SimpleQueueService.NonExistentQueue<\/Code><Message>gone<\/Message>/,
    );
  });
});
