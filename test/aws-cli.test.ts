/**
 * Smoke test with the AWS CLI v2 (Debian's awscli, /usr/bin/aws) against a real `busbar serve`, with
 * nothing but --endpoint-url: EventBridge, and SQS (which this CLI speaks in the query protocol). Skipped loudly when the CLI is missing, except under CI=true.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeDataDir, startBusbar, TEST_ROOT, type BusbarProcess } from "./support/busbar-process.js";

const AWS = "/usr/bin/aws";
const present = existsSync(AWS);
if (!present) {
  const message = `AWS CLI not found at ${AWS}: install Debian's awscli (apt-get install awscli)`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`\n*** SKIPPING AWS CLI tests: ${message} ***\n`);
}

let server: BusbarProcess;

function aws(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return cli("events", ...args);
}

/** `aws sqs …`: Debian's CLI 2.9 speaks SQS's query protocol (form-encoded requests, XML replies). */
function sqs(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return cli("sqs", ...args);
}

function cli(service: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    AWS,
    [service, ...args, "--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"],
    {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        AWS_ACCESS_KEY_ID: TEST_ROOT.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_ROOT.secretAccessKey,
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        AWS_PAGER: "",
        AWS_EC2_METADATA_DISABLED: "true",
      },
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok<T>(r: { status: number | null; stdout: string; stderr: string }): T {
  assert.equal(r.status, 0, r.stderr);
  return (r.stdout.trim() === "" ? {} : JSON.parse(r.stdout)) as T;
}

describe("AWS CLI v2", { skip: !present }, () => {
  before(async () => {
    server = await startBusbar();
  });
  after(async () => {
    await server.stop();
    removeDataDir(server.dataDir);
  });

  it("manages buses, rules and targets, puts events and tests patterns", () => {
    const bus = ok<{ EventBusArn: string }>(aws("create-event-bus", "--name", "cli-bus"));
    assert.match(bus.EventBusArn, /event-bus\/cli-bus$/);
    const buses = ok<{ EventBuses: Array<{ Name: string }> }>(aws("list-event-buses"));
    assert.deepEqual(buses.EventBuses.map((b) => b.Name).sort(), ["cli-bus", "default"]);
    const rule = ok<{ RuleArn: string }>(
      aws("put-rule", "--name", "r1", "--event-bus-name", "cli-bus", "--event-pattern", '{"source":["cli"]}'),
    );
    assert.match(rule.RuleArn, /rule\/cli-bus\/r1$/);
    ok(
      aws(
        "put-targets",
        "--rule",
        "r1",
        "--event-bus-name",
        "cli-bus",
        "--targets",
        "Id=t1,Arn=https://example.com/hook",
      ),
    );
    const targets = ok<{ Targets: Array<{ Id: string }> }>(
      aws("list-targets-by-rule", "--rule", "r1", "--event-bus-name", "cli-bus"),
    );
    assert.deepEqual(
      targets.Targets.map((t) => t.Id),
      ["t1"],
    );
    const put = ok<{ FailedEntryCount: number; Entries: Array<{ EventId?: string }> }>(
      aws(
        "put-events",
        "--entries",
        JSON.stringify([{ Source: "cli", DetailType: "t", Detail: '{"a":1}', EventBusName: "cli-bus" }]),
      ),
    );
    assert.equal(put.FailedEntryCount, 0);
    assert.ok(put.Entries[0]?.EventId);
    const test = ok<{ Result: boolean }>(
      aws(
        "test-event-pattern",
        "--event-pattern",
        '{"detail":{"a":[1]}}',
        "--event",
        JSON.stringify({
          id: "1",
          account: "000000000000",
          source: "cli",
          time: "2026-01-01T00:00:00Z",
          region: "us-east-1",
          resources: [],
          "detail-type": "t",
          detail: { a: 1 },
        }),
      ),
    );
    assert.equal(test.Result, true);
  });

  it("reports errors with their AWS error type and a non-zero exit", () => {
    const missing = aws("describe-rule", "--name", "nope");
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /ResourceNotFoundException/);
    const invalid = aws("put-rule", "--name", "bad", "--event-pattern", '{"source":"x"}');
    assert.notEqual(invalid.status, 0);
    assert.match(invalid.stderr, /InvalidEventPatternException/);
  });

  it("drives SQS queues over the query protocol: create, send, receive, batches, errors", () => {
    const { QueueUrl: url } = ok<{ QueueUrl: string }>(
      sqs(
        "create-queue",
        "--queue-name",
        "cli-q",
        "--attributes",
        "VisibilityTimeout=40",
        "--tags",
        "team=a",
      ),
    );
    assert.equal(url, `${server.url}/000000000000/cli-q`);
    const sent = ok<{ MessageId: string; MD5OfMessageBody: string }>(
      sqs(
        "send-message",
        "--queue-url",
        url,
        "--message-body",
        "hello & <world>\r\n",
        "--message-attributes",
        '{"k":{"DataType":"String","StringValue":"v"}}',
      ),
    );
    assert.equal(sent.MD5OfMessageBody, createHash("md5").update("hello & <world>\r\n").digest("hex"));
    const got = ok<{
      Messages: Array<{
        MessageId: string;
        Body: string;
        ReceiptHandle: string;
        MessageAttributes: unknown;
        Attributes: Record<string, string>;
      }>;
    }>(
      sqs(
        "receive-message",
        "--queue-url",
        url,
        "--attribute-names",
        "All",
        "--message-attribute-names",
        "All",
      ),
    );
    const [m] = got.Messages;
    assert.equal(m?.MessageId, sent.MessageId);
    assert.equal(m?.Body, "hello & <world>\r\n", "markup and a carriage return survive the XML reply");
    assert.deepEqual(m?.MessageAttributes, { k: { StringValue: "v", DataType: "String" } });
    assert.equal(m?.Attributes.ApproximateReceiveCount, "1");
    const attrs = ok<{ Attributes: Record<string, string> }>(
      sqs("get-queue-attributes", "--queue-url", url, "--attribute-names", "All"),
    );
    assert.equal(attrs.Attributes.VisibilityTimeout, "40");
    assert.equal(attrs.Attributes.ApproximateNumberOfMessagesNotVisible, "1");
    assert.deepEqual(ok<{ Tags: unknown }>(sqs("list-queue-tags", "--queue-url", url)).Tags, { team: "a" });
    const batch = ok<{ Successful: Array<{ Id: string }>; Failed: Array<{ Id: string; Code: string }> }>(
      sqs(
        "send-message-batch",
        "--queue-url",
        url,
        "--entries",
        '[{"Id":"a","MessageBody":"one"},{"Id":"b","MessageBody":"two","DelaySeconds":901}]',
      ),
    );
    assert.deepEqual(
      batch.Successful.map((e) => e.Id),
      ["a"],
    );
    assert.deepEqual(
      batch.Failed.map((e) => [e.Id, e.Code]),
      [["b", "InvalidParameterValue"]],
    );
    const deleted = ok<{ Successful: Array<{ Id: string }>; Failed: Array<{ Id: string; Code: string }> }>(
      sqs(
        "delete-message-batch",
        "--queue-url",
        url,
        "--entries",
        JSON.stringify([
          { Id: "x", ReceiptHandle: m?.ReceiptHandle },
          { Id: "y", ReceiptHandle: "bad" },
        ]),
      ),
    );
    assert.deepEqual(
      deleted.Successful.map((e) => e.Id),
      ["x"],
    );
    assert.deepEqual(
      deleted.Failed.map((e) => [e.Id, e.Code]),
      [["y", "ReceiptHandleIsInvalid"]],
    );
    const missing = sqs("get-queue-url", "--queue-name", "nope");
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /AWS\.SimpleQueueService\.NonExistentQueue/);
    const listed = ok<{ QueueUrls: string[] }>(sqs("list-queues", "--queue-name-prefix", "cli-"));
    assert.deepEqual(listed.QueueUrls, [url]);
    // An empty batch (sent as `Entries=`) is SQS's EmptyBatchRequest.
    const emptyBatch = sqs("send-message-batch", "--queue-url", url, "--entries", "[]");
    assert.notEqual(emptyBatch.status, 0);
    assert.match(emptyBatch.stderr, /EmptyBatchRequest/);
    // Empty results: nothing to receive, no queue of a prefix, no tags, no such attribute set.
    const empty = sqs("create-queue", "--queue-name", "cli-empty");
    const emptyUrl = (JSON.parse(empty.stdout) as { QueueUrl: string }).QueueUrl;
    for (const args of [
      ["receive-message", "--queue-url", emptyUrl],
      ["list-queues", "--queue-name-prefix", "zzz"],
      ["list-queue-tags", "--queue-url", emptyUrl],
      ["get-queue-attributes", "--queue-url", emptyUrl, "--attribute-names", "RedrivePolicy"],
    ]) {
      const r = sqs(...args);
      assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
    }
    // AddPermission and RemovePermission, their lists flattened as AWSAccountId.N and ActionName.N.
    ok(
      sqs(
        "add-permission",
        "--queue-url",
        url,
        "--label",
        "partners",
        "--aws-account-ids",
        "111122223333",
        "444455556666",
        "--actions",
        "SendMessage",
        "GetQueueUrl",
      ),
    );
    const policy = ok<{ Attributes: { Policy: string } }>(
      sqs("get-queue-attributes", "--queue-url", url, "--attribute-names", "Policy"),
    );
    assert.deepEqual((JSON.parse(policy.Attributes.Policy) as { Statement: unknown[] }).Statement, [
      {
        Sid: "partners",
        Effect: "Allow",
        Principal: { AWS: ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"] },
        Action: ["SQS:SendMessage", "SQS:GetQueueUrl"],
        Resource: "arn:aws:sqs:us-east-1:000000000000:cli-q",
      },
    ]);
    ok(sqs("remove-permission", "--queue-url", url, "--label", "partners"));
    const again = sqs("remove-permission", "--queue-url", url, "--label", "partners");
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /InvalidParameterValue.*can't find label on existing policy/);
  });

  it("sends a message of the largest size over the query protocol, whose form encoding makes it 4 MiB and more", () => {
    const { QueueUrl: url } = ok<{ QueueUrl: string }>(sqs("create-queue", "--queue-name", "cli-largest"));
    // 1 MiB in all (name, type, value and body): a binary value whose base64 is all "/", which the
    // form writes as "%2F", three bytes each.
    const raw = Buffer.alloc(1_048_576 - 8 - "a".length - "Binary".length, 0xff);
    const dir = mkdtempSync(join(tmpdir(), "busbar-cli-largest-"));
    try {
      const file = join(dir, "attributes.json");
      writeFileSync(file, JSON.stringify({ a: { DataType: "Binary", BinaryValue: raw.toString("base64") } }));
      const sent = ok<{ MessageId: string; MD5OfMessageAttributes: string }>(
        sqs(
          "send-message",
          "--queue-url",
          url,
          "--message-body",
          "12345678",
          "--message-attributes",
          `file://${file}`,
        ),
      );
      assert.ok(sent.MessageId);
      const got = ok<{ Messages: Array<{ MessageAttributes: { a: { BinaryValue: string } } }> }>(
        sqs("receive-message", "--queue-url", url, "--message-attribute-names", "All"),
      );
      assert.equal(got.Messages[0]?.MessageAttributes.a.BinaryValue, raw.toString("base64"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
