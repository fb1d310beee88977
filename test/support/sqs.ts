/**
 * Helpers of the SQS integration tests.
 */
import assert from "node:assert/strict";
import { CreateQueueCommand, type SQSClient } from "@aws-sdk/client-sqs";

/** Asserts that `promise` rejects with an error of this name (and a message matching `message`). */
export async function rejectsWith(promise: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: Error) => {
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

/** Creates a queue and returns its URL. */
export async function createQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string> = {},
): Promise<string> {
  const r = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return r.QueueUrl as string;
}
