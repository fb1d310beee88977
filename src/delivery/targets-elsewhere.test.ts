/**
 * A queue or bus target of another Region names no resource of this node, which serves one Region:
 * PutTargets refuses such targets, and one stored before it did (by an older version) fails
 * NO_RESOURCE at delivery, never reaching the queue or bus of the same name here.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RuleRegistry } from "../buses/index.js";
import { DEFAULT_PATTERN_LIMITS } from "../patterns/index.js";
import { QueueService } from "../queues/index.js";
import { openSqliteStoreInThread, type IngestRecord, type StoredEvent } from "../store/index.js";
import { BusTargetInvoker } from "./bus-target.js";
import { QueueTargetInvoker } from "./queue-target.js";
import { DeliveryError, type Invocation } from "./types.js";

const ACCOUNT = "000000000000";
const now = Date.now();
const event: StoredEvent = {
  id: "e1",
  accountId: ACCOUNT,
  busName: "default",
  time: now,
  ingestedAt: now,
  json: JSON.stringify({ version: "0", id: "e1", source: "t", "detail-type": "d", detail: {} }),
};

function invocation(arn: string): Invocation {
  return {
    event,
    payload: event.json,
    target: { id: "t", arn, spec: { Id: "t", Arn: arn } },
    ruleArn: `arn:aws:events:us-east-1:${ACCOUNT}:rule/r`,
    accountId: ACCOUNT,
    deliveryId: "e1-d",
    attempt: 0,
  };
}

async function noResource(call: Promise<void>): Promise<void> {
  await assert.rejects(call, (e: unknown) => {
    assert.ok(e instanceof DeliveryError, String(e));
    assert.equal(e.code, "NO_RESOURCE");
    assert.equal(e.retryable, false);
    return true;
  });
}

describe("targets of another Region (stored before PutTargets refused them)", () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), "busbar-elsewhere-"));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("a queue of another Region fails NO_RESOURCE, and the queue of the same name here gets nothing", async () => {
    const store = openSqliteStoreInThread({ dataDir });
    try {
      const queues = new QueueService({ store, region: "us-east-1", receiptKey: "k".repeat(32) });
      const here = await queues.createQueue(ACCOUNT, "regional", {}, []);
      const invoker = new QueueTargetInvoker(queues);
      await noResource(invoker.invoke(invocation(`arn:aws:sqs:eu-west-1:${ACCOUNT}:regional`)));
      await noResource(invoker.invoke(invocation(`arn:aws-cn:sqs:us-east-1:${ACCOUNT}:regional`)));
      const counts = await store.countMessages({ accountId: ACCOUNT, name: "regional" }, Date.now());
      assert.equal(counts.visible, 0, `nothing reached ${here.arn}`);
      // The queue itself, named by its own ARN, takes the event.
      await invoker.invoke(invocation(here.arn));
      const after = await store.countMessages({ accountId: ACCOUNT, name: "regional" }, Date.now());
      assert.equal(after.visible, 1);
    } finally {
      await store.close();
    }
  });

  it("a bus of another Region fails NO_RESOURCE, and nothing is put on the bus of the same name here", async () => {
    const registry = new RuleRegistry(DEFAULT_PATTERN_LIMITS);
    registry.setBus({
      accountId: ACCOUNT,
      name: "regional-bus",
      arn: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/regional-bus`,
      createdAt: now,
      lastModifiedAt: now,
    });
    const committed: IngestRecord[] = [];
    const invoker = new BusTargetInvoker(registry, (records) => {
      committed.push(...records);
      return Promise.resolve();
    });
    await noResource(
      invoker.invoke(invocation(`arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/regional-bus`)),
    );
    assert.equal(committed.length, 0);
    await invoker.invoke(invocation(`arn:aws:events:us-east-1:${ACCOUNT}:event-bus/regional-bus`));
    assert.equal(committed.length, 1, "the bus itself, named by its own ARN, takes the event");
  });
});
