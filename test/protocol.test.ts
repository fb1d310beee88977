/**
 * The protocol edge of a real server, with hand-made requests signed by @smithy/signature-v4: bad
 * content, unknown operations, wrong content types, oversized bodies, bad and stale signatures. Every
 * one gets the AWS JSON error shape, and the server keeps serving.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { signedRequestText } from "./support/aws-json.js";
import { removeDataDir, startBusbar, TEST_ROOT, type BusbarProcess } from "./support/busbar-process.js";

let server: BusbarProcess;

/** Writes `wire` to a new connection to the server at `url` in one write; everything it answered, once it closed. */
async function exchange(url: string, wire: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = "";
  socket.on("data", (c: Buffer) => (text += c.toString()));
  socket.on("error", () => undefined);
  const closed = new Promise((resolve) => socket.once("close", resolve));
  socket.write(wire);
  await closed;
  return text;
}

const bytes = (d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof d === "string"
    ? d
    : d instanceof ArrayBuffer
      ? new Uint8Array(d)
      : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** SHA-256 (and HMAC-SHA-256 with a secret) for the signer, from node:crypto. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

interface Reply {
  status: number;
  type: string | undefined;
  body: Record<string, unknown>;
}

async function call(
  target: string | undefined,
  body: string | Uint8Array,
  options: {
    contentType?: string;
    secret?: string;
    signingDate?: Date;
    sign?: boolean;
    method?: string;
    path?: string;
    service?: string;
    region?: string;
  } = {},
): Promise<Reply> {
  const url = new URL(options.path ?? "/", server.url);
  const headers: Record<string, string> = {
    host: url.host,
    "content-type": options.contentType ?? "application/x-amz-json-1.1",
    ...(target !== undefined && { "x-amz-target": target }),
  };
  let signed = headers;
  if (options.sign !== false) {
    const signer = new SignatureV4({
      service: options.service ?? "events",
      region: options.region ?? "us-east-1",
      sha256: Sha256,
      credentials: {
        accessKeyId: TEST_ROOT.accessKeyId,
        secretAccessKey: options.secret ?? TEST_ROOT.secretAccessKey,
      },
    });
    const request = await signer.sign(
      {
        method: options.method ?? "POST",
        protocol: "http:",
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        headers,
        body,
      },
      options.signingDate !== undefined ? { signingDate: options.signingDate } : {},
    );
    signed = request.headers;
  }
  const { host: _host, ...sendHeaders } = signed;
  const res = await fetch(url, {
    method: options.method ?? "POST",
    headers: sendHeaders,
    body: options.method === "GET" ? null : body,
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("x-amzn-errortype") ?? undefined,
    body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** A signed SQS query-protocol call: parameters in a form body (POST) or in the query string (GET). */
async function sqsQuery(
  params: Record<string, string>,
  options: { method?: string; path?: string; alter?: (query: string) => string } = {},
): Promise<{ status: number; text: string }> {
  const method = options.method ?? "POST";
  const url = new URL(options.path ?? "/", server.url);
  const form = new URLSearchParams(params).toString();
  const inUrl = method !== "POST";
  const headers: Record<string, string> = {
    host: url.host,
    ...(!inUrl && { "content-type": "application/x-www-form-urlencoded" }),
  };
  const signer = new SignatureV4({
    service: "sqs",
    region: "us-east-1",
    sha256: Sha256,
    credentials: { accessKeyId: TEST_ROOT.accessKeyId, secretAccessKey: TEST_ROOT.secretAccessKey },
  });
  const request = await signer.sign({
    method,
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    headers,
    ...(inUrl ? { query: params } : { body: form }),
  });
  const { host: _host, ...sendHeaders } = request.headers;
  const query = inUrl ? `?${(options.alter ?? ((q) => q))(form)}` : "";
  const res = await fetch(`${url.origin}${url.pathname}${query}`, {
    method,
    headers: sendHeaders,
    body: inUrl ? null : form,
  });
  return { status: res.status, text: await res.text() };
}

before(async () => {
  server = await startBusbar({ env: { BUSBAR_MAX_BODY_BYTES: "65536" } });
});
after(async () => {
  await server.stop();
  removeDataDir(server.dataDir);
});

describe("AWS JSON 1.1 protocol edge", () => {
  it("serves a well-formed signed request", async () => {
    const r = await call("AWSEvents.ListEventBuses", "{}");
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.body.EventBuses));
  });
  it("rejects malformed JSON and non-object bodies", async () => {
    const bad = await call("AWSEvents.ListEventBuses", "{not json");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.__type, "SerializationException");
    const list = await call("AWSEvents.ListEventBuses", "[1,2]");
    assert.equal(list.body.__type, "SerializationException");
  });
  it("answers SQS members of the wrong JSON type with MalformedInput, in a message as at the top", async () => {
    const sqs = { contentType: "application/x-amz-json-1.0", service: "sqs" };
    const made = await call("AmazonSQS.CreateQueue", JSON.stringify({ QueueName: "typed-members" }), sqs);
    const QueueUrl = made.body.QueueUrl as string;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ DelaySeconds: "5" }, /^DelaySeconds must be an integer/],
      [{ DelaySeconds: 1.5 }, /^DelaySeconds must be an integer/],
      [
        { MessageAttributes: { a: { DataType: "String", StringValue: 5 } } },
        /StringValue .*'a' must be a string/,
      ],
      [
        { MessageAttributes: { b: { DataType: "Binary", BinaryValue: 5 } } },
        /BinaryValue .*'b' must be a string/,
      ],
    ];
    for (const [members, message] of cases) {
      const r = await call(
        "AmazonSQS.SendMessage",
        JSON.stringify({ QueueUrl, MessageBody: "m", ...members }),
        sqs,
      );
      const what = `${JSON.stringify(members)}: ${JSON.stringify(r.body)}`;
      assert.equal(r.status, 400, what);
      assert.equal(r.body.__type, "com.amazonaws.sqs#MalformedInput", what);
      assert.match(String(r.body.message), message, what);
    }
    // As ReceiveMessage's MaxNumberOfMessages of the wrong type is answered.
    const receive = await call(
      "AmazonSQS.ReceiveMessage",
      JSON.stringify({ QueueUrl, MaxNumberOfMessages: "2" }),
      sqs,
    );
    assert.equal(receive.body.__type, "com.amazonaws.sqs#MalformedInput");
    // And ChangeMessageVisibility's VisibilityTimeout, alone or in a batch (it was answered
    // InvalidParameterValue, "Value 10 for parameter VisibilityTimeout is invalid. Reason: Must be an
    // integer."); a number that is no integer is still an invalid value.
    const { ReceiptHandle } = (await call(
      "AmazonSQS.SendMessage",
      JSON.stringify({ QueueUrl, MessageBody: "to change" }),
      sqs,
    ).then(() =>
      call("AmazonSQS.ReceiveMessage", JSON.stringify({ QueueUrl, MaxNumberOfMessages: 1 }), sqs).then(
        (r) => (r.body.Messages as Array<{ ReceiptHandle: string }>)[0],
      ),
    )) as { ReceiptHandle: string };
    for (const [op, body] of [
      ["ChangeMessageVisibility", { QueueUrl, ReceiptHandle, VisibilityTimeout: "10" }],
      [
        "ChangeMessageVisibilityBatch",
        { QueueUrl, Entries: [{ Id: "a", ReceiptHandle, VisibilityTimeout: "10" }] },
      ],
    ] as const) {
      const r = await call(`AmazonSQS.${op}`, JSON.stringify(body), sqs);
      assert.equal(r.status, 400, op);
      assert.equal(r.body.__type, "com.amazonaws.sqs#MalformedInput", op);
      assert.equal(r.body.message, "VisibilityTimeout must be an integer.", op);
    }
    const fraction = await call(
      "AmazonSQS.ChangeMessageVisibility",
      JSON.stringify({ QueueUrl, ReceiptHandle, VisibilityTimeout: 1.5 }),
      sqs,
    );
    assert.equal(fraction.body.__type, "com.amazonaws.sqs#InvalidParameterValue");
  });
  it("refuses a body that is not valid UTF-8 rather than store its text altered", async () => {
    // 0xFF 0xFE inside a string: decoding would have made them U+FFFD and stored that.
    const invalid = (json: string): Buffer => {
      const [before, after] = json.split("@") as [string, string];
      return Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe]), Buffer.from(after)]);
    };
    const detail = JSON.stringify({ Entries: [{ Source: "s", DetailType: "t", Detail: '{"a":"@"}' }] });
    const events = await call("AWSEvents.PutEvents", invalid(detail));
    assert.equal(events.status, 400);
    assert.equal(events.body.__type, "SerializationException");
    assert.match(String(events.body.message), /not valid UTF-8/);

    const sqs = { contentType: "application/x-amz-json-1.0", service: "sqs" };
    const made = await call("AmazonSQS.CreateQueue", JSON.stringify({ QueueName: "utf8" }), sqs);
    const QueueUrl = made.body.QueueUrl as string;
    const sent = await call(
      "AmazonSQS.SendMessage",
      invalid(JSON.stringify({ QueueUrl, MessageBody: "a@" })),
      sqs,
    );
    assert.equal(sent.status, 400);
    assert.equal(sent.body.__type, "com.amazonaws.sqs#MalformedInput");
    assert.match(String(sent.body.message), /not valid UTF-8/);
    const counts = await call(
      "AmazonSQS.GetQueueAttributes",
      JSON.stringify({ QueueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
      sqs,
    );
    assert.deepEqual(counts.body.Attributes, { ApproximateNumberOfMessages: "0" });
    // The query protocol's form body too, before its signature is checked (as its other input).
    const form = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: invalid(`Action=SendMessage&QueueUrl=${encodeURIComponent(QueueUrl)}&MessageBody=a@`),
    });
    assert.equal(form.status, 400);
    assert.match(await form.text(), /<Code>MalformedInput<\/Code>.*not valid UTF-8/s);
    // Valid multi-byte text is taken as it is.
    const ok = await call("AmazonSQS.SendMessage", JSON.stringify({ QueueUrl, MessageBody: "é✓😀" }), sqs);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
  it("rejects unknown operations and a missing target", async () => {
    const r = await call("AWSEvents.LaunchRockets", "{}");
    assert.equal(r.status, 400);
    assert.equal(r.type, "UnknownOperationException");
    assert.match(String(r.body.message), /LaunchRockets/);
    assert.equal((await call(undefined, "{}")).body.__type, "UnknownOperationException");
  });
  it("answers an SQS JSON 1.0 request without an SQS target in SQS's words", async () => {
    const sqs = { contentType: "application/x-amz-json-1.0", service: "sqs" };
    for (const target of [undefined, "AmazonSQSv2.ListQueues"]) {
      const r = await call(target, "{}", sqs);
      assert.equal(r.status, 400, String(target));
      assert.equal(r.body.__type, "com.amazonaws.sqs#InvalidAction", String(target));
    }
    // An EventBridge target keeps EventBridge's answer, whatever the content type says.
    const events = await call("AWSEvents.ListEventBuses", "{}", {
      contentType: "application/x-amz-json-1.0",
    });
    assert.equal(events.body.__type, "UnsupportedMediaTypeException");
  });
  it("rejects wrong content types", async () => {
    const r = await call("AWSEvents.ListEventBuses", "{}", { contentType: "text/plain" });
    assert.equal(r.status, 415);
    assert.equal(r.body.__type, "UnsupportedMediaTypeException");
  });
  it("rejects bodies over the configured limit without keeping them", async () => {
    const r = await call("AWSEvents.PutEvents", JSON.stringify({ pad: "x".repeat(70_000) }));
    assert.equal(r.status, 413);
    assert.equal(r.body.__type, "RequestEntityTooLargeException");
  });
  it("answers an SQS request over the limit in SQS's shape: JSON, or XML for the query protocol", async () => {
    const big = "x".repeat(70_000);
    const json = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.SendMessage" },
      body: JSON.stringify({ MessageBody: big }),
    });
    assert.equal(json.status, 413);
    assert.equal(json.headers.get("x-amzn-query-error"), "RequestEntityTooLarge;Sender");
    assert.equal(
      ((await json.json()) as { __type: string }).__type,
      "com.amazonaws.sqs#RequestEntityTooLarge",
    );
    const form = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `Action=SendMessage&MessageBody=${big}`,
    });
    assert.equal(form.status, 413);
    assert.match(await form.text(), /<Code>RequestEntityTooLarge<\/Code>/);
  });
  it("serves the SQS query protocol sent with GET, signed over its query string (boto 2 sends it so)", async () => {
    const created = await sqsQuery({ Action: "CreateQueue", QueueName: "by-get", Version: "2012-11-05" });
    assert.equal(created.status, 200, created.text);
    const queueUrl = /<QueueUrl>([^<]+)<\/QueueUrl>/.exec(created.text)?.[1] ?? "";
    const path = new URL(queueUrl).pathname;
    const list = await sqsQuery(
      { Action: "ListQueues", QueueNamePrefix: "by-", Version: "2012-11-05" },
      { method: "GET" },
    );
    assert.equal(list.status, 200, list.text);
    assert.match(list.text, /<ListQueuesResult><QueueUrl>[^<]+\/by-get<\/QueueUrl><\/ListQueuesResult>/);
    // The queue named by the URL's path, as boto 2 does; the attribute list in the query string.
    const attributes = await sqsQuery(
      { Action: "GetQueueAttributes", "AttributeName.1": "VisibilityTimeout", Version: "2012-11-05" },
      { method: "GET", path },
    );
    assert.equal(attributes.status, 200, attributes.text);
    assert.match(attributes.text, /<Name>VisibilityTimeout<\/Name><Value>30<\/Value>/);
    // A parameter changed after signing is refused: the signature covers the query string.
    const tampered = await sqsQuery(
      { Action: "ListQueues", QueueNamePrefix: "by-", Version: "2012-11-05" },
      { method: "GET", alter: (q) => q.replace("by-", "zz-") },
    );
    assert.equal(tampered.status, 403, tampered.text);
    assert.match(tampered.text, /<Code>SignatureDoesNotMatch<\/Code>/);
    // Other methods are not the query protocol's.
    const del = await sqsQuery({ Action: "ListQueues", Version: "2012-11-05" }, { method: "DELETE" });
    assert.equal(del.status, 400);
    assert.match(del.text, /<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/);
    assert.match(del.text, /served by POST and GET \(got DELETE\)/);
  });
  it("reads an empty list in the SQS query protocol (`AttributeName=`, `AttributeNames=`) as no elements", async () => {
    const created = await sqsQuery({ Action: "CreateQueue", QueueName: "empty-lists" });
    const QueueUrl = /<QueueUrl>([^<]+)<\/QueueUrl>/.exec(created.text)?.[1] ?? "";
    // The flattened name (aws-sdk v2, aws-sdk-go v1) and the member name (botocore).
    for (const empty of ["AttributeName", "AttributeNames"]) {
      const r = await sqsQuery({ Action: "GetQueueAttributes", QueueUrl, [empty]: "" });
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /<GetQueueAttributesResult><\/GetQueueAttributesResult>/);
    }
    for (const empty of [
      "MessageAttributeName",
      "MessageAttributeNames",
      "AttributeName",
      "AttributeNames",
    ]) {
      const r = await sqsQuery({ Action: "ReceiveMessage", QueueUrl, [empty]: "" });
      assert.equal(r.status, 200, `${empty}: ${r.text}`);
    }
    for (const empty of ["TagKey", "TagKeys"]) {
      const r = await sqsQuery({ Action: "UntagQueue", QueueUrl, [empty]: "" });
      assert.equal(r.status, 200, `${empty}: ${r.text}`);
    }
    for (const [action, entry] of [
      ["SendMessageBatch", "SendMessageBatchRequestEntry"],
      ["DeleteMessageBatch", "DeleteMessageBatchRequestEntry"],
      ["ChangeMessageVisibilityBatch", "ChangeMessageVisibilityBatchRequestEntry"],
    ] as const) {
      for (const empty of [entry, "Entries"]) {
        const r = await sqsQuery({ Action: action, QueueUrl, [empty]: "" });
        assert.equal(r.status, 400, r.text);
        assert.match(r.text, /<Code>AWS.SimpleQueueService.EmptyBatchRequest<\/Code>/, `${action} ${empty}`);
      }
    }
  });
  it("writes only characters XML can carry in query-protocol replies, and stores no value that would break them", async () => {
    const created = await sqsQuery({ Action: "CreateQueue", QueueName: "xml-safe" });
    const QueueUrl = /<QueueUrl>([^<]+)<\/QueueUrl>/.exec(created.text)?.[1] ?? "";
    // eslint-disable-next-line no-control-regex -- the characters XML cannot carry
    const notXml = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
    // An error that echoes its input: the characters XML cannot carry come back as U+FFFD.
    const echoed = await sqsQuery({
      Action: "DeleteMessage",
      QueueUrl,
      ReceiptHandle: "bad\u0001\uFFFFhandle",
    });
    assert.equal(echoed.status, 404, echoed.text);
    assert.match(echoed.text, /<Code>ReceiptHandleIsInvalid<\/Code>/);
    assert.doesNotMatch(echoed.text, notXml);
    assert.match(echoed.text, /bad\uFFFD\uFFFDhandle/);
    // A custom attribute type, a KMS key alias, a policy: refused with such characters, as a value is.
    const sent = await sqsQuery({
      Action: "SendMessage",
      QueueUrl,
      MessageBody: "m",
      "MessageAttribute.1.Name": "a",
      "MessageAttribute.1.Value.DataType": "String.\u0001",
      "MessageAttribute.1.Value.StringValue": "v",
    });
    assert.equal(sent.status, 400, sent.text);
    assert.match(sent.text, /<Code>InvalidParameterValue<\/Code>/);
    assert.match(
      sent.text,
      /type of message \(user\) attribute &apos;a&apos; holds characters that are not allowed/,
    );
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Sid: "x\uFFFF", Effect: "Allow", Principal: "*", Action: "sqs:SendMessage" }],
    });
    for (const [name, value] of [
      ["KmsMasterKeyId", "alias/a\u0001b"],
      ["Policy", policy],
    ] as const) {
      const set = await sqsQuery({
        Action: "SetQueueAttributes",
        QueueUrl,
        "Attribute.1.Name": name,
        "Attribute.1.Value": value,
      });
      assert.equal(set.status, 400, set.text);
      assert.match(set.text, /<Code>InvalidAttributeValue<\/Code>/, name);
      assert.doesNotMatch(set.text, notXml);
    }
    const all = await sqsQuery({ Action: "GetQueueAttributes", QueueUrl, "AttributeName.1": "All" });
    assert.equal(all.status, 200, all.text);
    assert.doesNotMatch(all.text, /KmsMasterKeyId|<Name>Policy</);
  });
  it("rejects wrong types of members with the member named", async () => {
    const r = await call("AWSEvents.CreateEventBus", JSON.stringify({ Name: 42 }));
    assert.equal(r.status, 400);
    assert.match(String(r.body.message), /Name/);
  });
  it("answers a member of the wrong JSON type at any depth with SerializationException: a tag that is no structure", async () => {
    const bus = "arn:aws:events:us-east-1:000000000000:event-bus/default";
    const calls = [
      ["PutRule", { Name: "typed-tags", EventPattern: '{"source":["shop"]}' }],
      ["CreateEventBus", { Name: "typed-tags" }],
      ["TagResource", { ResourceARN: bus }],
    ] as const;
    // An array where a Tag object is expected was read as a Tag without a Key (ValidationException).
    for (const tag of [["team", "shop"], [], "team", 1, true, null]) {
      for (const [operation, input] of calls) {
        const r = await call(`AWSEvents.${operation}`, JSON.stringify({ ...input, Tags: [tag] }));
        const what = `${operation} Tags: [${JSON.stringify(tag)}]`;
        assert.equal(r.status, 400, what);
        assert.equal(r.body.__type, "SerializationException", `${what}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.message, "Tags[0] must be a structure", what);
      }
    }
    // Nothing was made by the refused calls.
    const rule = await call("AWSEvents.DescribeRule", JSON.stringify({ Name: "typed-tags" }));
    assert.equal(rule.body.__type, "ResourceNotFoundException");
    const tags = await call("AWSEvents.ListTagsForResource", JSON.stringify({ ResourceARN: bus }));
    assert.deepEqual(tags.body.Tags, []);

    // SQS's TagQueue (and CreateQueue's `tags`) take a map of strings: anything else is MalformedInput.
    const sqs = { contentType: "application/x-amz-json-1.0", service: "sqs" };
    const made = await call("AmazonSQS.CreateQueue", JSON.stringify({ QueueName: "typed-tags" }), sqs);
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const QueueUrl = made.body.QueueUrl as string;
    for (const tags of [["team"], [["team", "shop"]], { team: ["shop"] }, { team: { a: "b" } }, "team"]) {
      for (const [operation, input, member] of [
        ["TagQueue", { QueueUrl }, "Tags"],
        ["CreateQueue", { QueueName: "typed-tags-2" }, "tags"],
      ] as const) {
        const r = await call(`AmazonSQS.${operation}`, JSON.stringify({ ...input, [member]: tags }), sqs);
        const what = `${operation} ${member}: ${JSON.stringify(tags)}`;
        assert.equal(r.status, 400, what);
        assert.equal(r.body.__type, "com.amazonaws.sqs#MalformedInput", `${what}: ${JSON.stringify(r.body)}`);
        assert.match(String(r.body.message), new RegExp(`^${member}`), what);
      }
    }
    const listed = await call("AmazonSQS.ListQueueTags", JSON.stringify({ QueueUrl }), sqs);
    assert.equal(listed.body.Tags, undefined);
  });
  it("rejects missing, bad and stale signatures", async () => {
    const unsigned = await call("AWSEvents.ListEventBuses", "{}", { sign: false });
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.body.__type, "MissingAuthenticationTokenException");
    const wrong = await call("AWSEvents.ListEventBuses", "{}", { secret: "not-the-secret-at-all" });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.__type, "InvalidSignatureException");
    const stale = await call("AWSEvents.ListEventBuses", "{}", {
      signingDate: new Date(Date.now() - 20 * 60_000),
    });
    assert.equal(stale.status, 400);
    assert.match(String(stale.body.message), /expired|date|time|skew/i);
    // The node serves us-east-1: a signature scoped to another region is for another endpoint.
    const elsewhere = await call("AWSEvents.ListEventBuses", "{}", { region: "eu-west-1" });
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.body.__type, "InvalidSignatureException");
    assert.match(String(elsewhere.body.message), /scoped to a valid region: 'us-east-1'/);
  });
  it("answers health and readiness probes, and metrics, to GET and HEAD", async () => {
    for (const method of ["GET", "HEAD"]) {
      for (const path of ["/healthz", "/readyz", "/metrics"]) {
        const r = await fetch(new URL(path, server.url), { method });
        assert.equal(r.status, 200, `${method} ${path}`);
        const text = await r.text();
        assert.equal(
          text === "",
          method === "HEAD",
          `${method} ${path}: body ${JSON.stringify(text.slice(0, 40))}`,
        );
      }
    }
    // Another method is answered as any request that is not the API's, naming the methods they take.
    const post = await fetch(new URL("/healthz", server.url), { method: "POST", body: "{}" });
    assert.equal(post.status, 400);
    const body = (await post.json()) as { message: string };
    assert.match(body.message, /got POST \/healthz\); \/healthz answers GET and HEAD\.$/);
  });
  it("refuses a query-protocol parameter name of too many dotted parts with MalformedInput, before anything else", async () => {
    for (const parts of [17, 5_000, 30_000]) {
      const r = await fetch(server.url, {
        method: "POST",
        // Not signed, but naming a key this server knows (a body over 16 KiB naming none would be
        // refused before it is read): the input is refused before the signature is checked.
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-amz-date": "20261206T000000Z",
          authorization:
            `AWS4-HMAC-SHA256 Credential=${TEST_ROOT.accessKeyId}/20261206/us-east-1/sqs/aws4_request, ` +
            `SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
        },
        body: `Action=ListQueues&X${".a".repeat(parts - 1)}=1`,
      });
      assert.equal(r.status, 400, String(parts));
      assert.match(await r.text(), /<Code>MalformedInput<\/Code>.*at most 16 are allowed/s);
    }
    // SQS's deepest names (6 parts) are read as usual.
    const six = await sqsQuery({
      Action: "SendMessageBatch",
      QueueUrl: `${server.url}/000000000000/nope`,
      "SendMessageBatchRequestEntry.1.Id": "a",
      "SendMessageBatchRequestEntry.1.MessageBody": "b",
      "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name": "n",
      "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType": "String",
      "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue": "v",
    });
    assert.match(six.text, /NonExistentQueue/);
  });
  it("accepts a request target in absolute form, as a client behind a proxy sends it", async () => {
    const { host } = new URL(server.url);
    const text = await exchange(
      server.url,
      `GET http://${host}/healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\n\r\n(3\r\n)?ok\n/);
  });
  it("refuses an HTTP/1.1 request without a Host header in each API's error shape, not with a bare 400", async () => {
    const eventBridge = await exchange(
      server.url,
      "POST / HTTP/1.1\r\nx-amz-target: AWSEvents.ListEventBuses\r\n" +
        "content-type: application/x-amz-json-1.1\r\ncontent-length: 2\r\n\r\n{}",
    );
    assert.match(eventBridge, /^HTTP\/1\.1 400 Bad Request\r\n/, eventBridge);
    assert.match(eventBridge, /\r\nx-amzn-errortype: SerializationException\r\n/);
    assert.match(
      eventBridge,
      /"message":"The request has no Host header, which every HTTP\/1\.1 request must have/,
    );
    const sqs = await exchange(
      server.url,
      "POST / HTTP/1.1\r\nx-amz-target: AmazonSQS.ListQueues\r\n" +
        "content-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}",
    );
    assert.match(sqs, /^HTTP\/1\.1 400 Bad Request\r\n/, sqs);
    assert.match(sqs, /\r\nx-amzn-query-error: MalformedInput;Sender\r\n/i);
    // HTTP/1.0 has no Host to require: the request goes on (to its missing signature); probes are answered.
    const old = await exchange(
      server.url,
      "POST / HTTP/1.0\r\nx-amz-target: AWSEvents.ListEventBuses\r\n" +
        "content-type: application/x-amz-json-1.1\r\ncontent-length: 2\r\n\r\n{}",
    );
    assert.match(old, /\r\nx-amzn-errortype: MissingAuthenticationTokenException\r\n/, old);
    const health = await exchange(server.url, "GET /healthz HTTP/1.1\r\nconnection: close\r\n\r\n");
    assert.match(health, /^HTTP\/1\.1 200 OK\r\n/, health);
  });
  it("refuses a body in a coding it does not decode, in each API's error shape, before reading it", async () => {
    const { host } = new URL(server.url);
    const json = '{"Entries":[]}';
    const gzipped = gzipSync(json);
    const head = (lines: string): string => `POST / HTTP/1.1\r\nHost: ${host}\r\n${lines}\r\n`;
    // A transfer coding besides chunked: Node's parser would hand the body on still compressed.
    const transfer = await exchange(
      server.url,
      head(
        "x-amz-target: AWSEvents.PutEvents\r\ncontent-type: application/x-amz-json-1.1\r\n" +
          "transfer-encoding: gzip, chunked\r\n",
      ) + `${gzipped.length.toString(16)}\r\n${gzipped.toString("latin1")}\r\n0\r\n\r\n`,
    );
    assert.match(transfer, /^HTTP\/1\.1 501 Not Implemented\r\n/, transfer);
    assert.match(transfer, /\r\nx-amzn-errortype: NotImplementedException\r\n/);
    assert.match(transfer, /\r\nconnection: close\r\n/i);
    assert.match(
      transfer,
      /"message":"Transfer-Encoding gzip, chunked is not supported: send the body as is/,
    );
    // A content coding, to the SQS JSON API: its 415, with the query-compatible code.
    const content = await exchange(
      server.url,
      head(
        "x-amz-target: AmazonSQS.SendMessage\r\ncontent-type: application/x-amz-json-1.0\r\n" +
          `content-encoding: gzip\r\ncontent-length: ${gzipped.length}\r\n`,
      ) + gzipped.toString("latin1"),
    );
    assert.match(content, /^HTTP\/1\.1 415 Unsupported Media Type\r\n/, content);
    assert.match(content, /\r\nx-amzn-query-error: UnsupportedMediaType;Sender\r\n/i);
    assert.match(content, /Content-Encoding gzip is not supported: send the body uncompressed\./);
    // To the SQS query API: in its XML.
    const form = "Action=ListQueues";
    const query = await exchange(
      server.url,
      head(
        "content-type: application/x-www-form-urlencoded\r\ncontent-encoding: br\r\n" +
          `content-length: ${form.length}\r\n`,
      ) + form,
    );
    assert.match(query, /^HTTP\/1\.1 415 /, query);
    assert.match(query, /<Code>UnsupportedMediaType<\/Code>/);
    // `identity` changes nothing: the request goes on (to its missing signature).
    const identity = await exchange(
      server.url,
      head(
        "x-amz-target: AWSEvents.ListEventBuses\r\ncontent-type: application/x-amz-json-1.1\r\n" +
          "content-encoding: identity\r\ncontent-length: 2\r\nconnection: close\r\n",
      ) + "{}",
    );
    assert.match(identity, /\r\nx-amzn-errortype: MissingAuthenticationTokenException\r\n/, identity);
    // With `Expect: 100-continue`: the refusal instead of the 100.
    const expecting = await exchange(
      server.url,
      head(
        "x-amz-target: AWSEvents.PutEvents\r\ncontent-type: application/x-amz-json-1.1\r\n" +
          `content-encoding: gzip\r\nexpect: 100-continue\r\ncontent-length: ${gzipped.length}\r\n`,
      ),
    );
    assert.match(expecting, /^HTTP\/1\.1 415 /, expecting);
    assert.doesNotMatch(expecting, /100 Continue/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
  it("answers bytes that are not HTTP/1.1 in the APIs' error shape, and closes the connection", async () => {
    for (const wire of [
      // A GET that declared no body, followed by one: its bytes read as the next request's method.
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n{}",
      "NOT HTTP AT ALL\r\n\r\n",
    ]) {
      const text = await exchange(server.url, wire);
      const last = text.slice(text.indexOf("HTTP/1.1 400 "));
      assert.match(last, /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(text));
      assert.match(last, /\r\nx-amzn-errortype: SerializationException\r\n/);
      assert.match(last, /\r\nx-amzn-requestid: [0-9a-f-]{36}\r\n/, "with a request id, as every reply");
      const body = JSON.parse(last.slice(last.indexOf("\r\n\r\n") + 4)) as {
        __type: string;
        message: string;
      };
      assert.equal(body.__type, "SerializationException");
      assert.match(body.message, /^The request is not valid HTTP\/1\.1 \(/);
    }
  });
  it("answers requests pipelined ahead of bytes that are not HTTP before it refuses those", async () => {
    const created = await sqsQuery({ Action: "CreateQueue", QueueName: "pipelined-before-garbage" });
    const queueUrl = /<QueueUrl>([^<]+)<\/QueueUrl>/.exec(created.text)?.[1] ?? "";
    const { host } = new URL(server.url);
    const wire = (body: string) => signedRequestText(host, "AmazonSQS.SendMessage", body, TEST_ROOT);
    const text = await exchange(
      server.url,
      wire(JSON.stringify({ QueueUrl: queueUrl, MessageBody: "first" })) +
        wire(JSON.stringify({ QueueUrl: queueUrl, MessageBody: "second" })) +
        "NOT HTTP AT ALL\r\n\r\n",
    );
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ["200", "200", "400"], text);
    assert.match(text, /"__type":"SerializationException"/);
    const received = await sqsQuery({
      Action: "ReceiveMessage",
      QueueUrl: queueUrl,
      MaxNumberOfMessages: "10",
      WaitTimeSeconds: "1",
    });
    assert.equal(received.text.match(/<Message>/g)?.length, 2, received.text);
  });
  it("runs no request pipelined behind a 413 (which closes the connection): its reply would never be sent", async () => {
    const created = await sqsQuery({ Action: "CreateQueue", QueueName: "pipelined-behind-413" });
    const queueUrl = /<QueueUrl>([^<]+)<\/QueueUrl>/.exec(created.text)?.[1] ?? "";
    const { host } = new URL(server.url);
    const wire = (body: string) => signedRequestText(host, "AmazonSQS.SendMessage", body, TEST_ROOT);
    // Both in one write: the second is read before the first is answered.
    const text = await exchange(
      server.url,
      wire(JSON.stringify({ QueueUrl: queueUrl, MessageBody: "y".repeat(70 * 1024) })) +
        wire(JSON.stringify({ QueueUrl: queueUrl, MessageBody: "second" })),
    );
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, "one reply, the 413");
    const received = await sqsQuery({ Action: "ReceiveMessage", QueueUrl: queueUrl, WaitTimeSeconds: "1" });
    assert.doesNotMatch(
      received.text,
      /<Message>/,
      "the pipelined SendMessage was run, its reply never sent",
    );
  });
  it("answers a request that asks to continue and the one pipelined behind it, in order", async () => {
    const created = await sqsQuery({ Action: "CreateQueue", QueueName: "pipelined-behind-continue" });
    const queueUrl = /<QueueUrl>([^<]+)<\/QueueUrl>/.exec(created.text)?.[1] ?? "";
    const { host, hostname, port } = new URL(server.url);
    const first = signedRequestText(
      host,
      "AmazonSQS.SendMessage",
      JSON.stringify({ QueueUrl: queueUrl, MessageBody: "first" }),
      TEST_ROOT,
    ).replace("\r\n\r\n", "\r\nexpect: 100-continue\r\n\r\n");
    const second = signedRequestText(
      host,
      "AmazonSQS.SendMessage",
      JSON.stringify({ QueueUrl: queueUrl, MessageBody: "second" }),
      TEST_ROOT,
    );
    const socket = connect(Number(port), hostname);
    let text = "";
    socket.on("data", (c: Buffer) => (text += c.toString()));
    socket.on("error", () => undefined);
    // The body without waiting for the 100 Continue, and the next request in the same write.
    socket.write(first + second);
    const end = Date.now() + 10_000;
    while ((text.match(/HTTP\/1\.1 200 /g)?.length ?? 0) < 2 && Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    socket.destroy();
    assert.equal(text.match(/HTTP\/1\.1 200 /g)?.length, 2, text);
    const ids = [...text.matchAll(/"MessageId":"([^"]+)"/g)].map((m) => m[1]);
    assert.equal(ids.length, 2);
    const received = await sqsQuery({
      Action: "ReceiveMessage",
      QueueUrl: queueUrl,
      MaxNumberOfMessages: "10",
      WaitTimeSeconds: "1",
    });
    assert.match(received.text, /<Body>first<\/Body>/);
    assert.match(received.text, /<Body>second<\/Body>/);
  });
  it("answers a body over the limit with the 413 the client can read: after reading it (to 16 MiB), or before a 100 Continue", async () => {
    const big = Buffer.alloc(1024 * 1024, 0x61); // 16 times the limit of this server
    for (let i = 0; i < 10; i++) {
      const r = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSEvents.PutEvents" },
        body: big,
      });
      assert.equal(r.status, 413);
      assert.ok(r.headers.get("x-amzn-requestid"), "a request id, as every reply has");
      assert.equal(((await r.json()) as { __type: string }).__type, "RequestEntityTooLargeException");
    }
    // Expect: 100-continue with a declared length over the limit: the 413 comes instead of the 100.
    const { request } = await import("node:http");
    const outcome = await new Promise<string>((resolve, reject) => {
      const req = request(server.url, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": "AWSEvents.PutEvents",
          "content-length": String(big.length),
          expect: "100-continue",
        },
      });
      let continued = false;
      req.on("continue", () => {
        continued = true;
        req.end(big);
      });
      req.on("response", (res) => {
        res.resume();
        resolve(`${continued ? "continued" : "no 100"} ${res.statusCode}`);
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    assert.equal(outcome, "no 100 413");
  });
  it("still serves after all of the above", async () => {
    assert.equal((await call("AWSEvents.DescribeEventBus", "{}")).status, 200);
  });
});
