/**
 * The SQS operations Busbar serves: input checked here, semantics in the queue service, output in the
 * JSON protocol's member names (note `tags` in CreateQueue and `queueUrls` in
 * ListDeadLetterSourceQueues, as the SQS model spells them).
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_Operations.html
 */
import {
  OWNER_ONLY_ACTIONS,
  QueueError,
  invalidValue,
  missingParameter,
  noSuchQueue,
  type EntryOutcome,
  type QueueAccess,
  type SentMessage,
} from "../../queues/index.js";
import type { Queue, QueueRef, Tag } from "../../store/index.js";
import type { Input } from "../input.js";
import { oneAtATime } from "../one-at-a-time.js";
import type { SqsContext, SqsOperation } from "./context.js";
import { batchEntries, optionalInt, optionalText, requiredText, stringList, stringMap } from "./input.js";

/** The account and name a queue URL names: its last two path segments. */
export function parseQueueUrl(url: string): { accountId: string; name: string } | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const parts = path.split("/").filter((p) => p !== "");
  const name = parts.at(-1);
  const accountId = parts.at(-2);
  if (name === undefined || accountId === undefined || !/^\d{12}$/.test(accountId)) return undefined;
  try {
    return { accountId, name: decodeURIComponent(name) };
  } catch {
    // A malformed %-escape (`/000000000000/%E0`): no queue's URL, so not one (InvalidAddress).
    return undefined;
  }
}

const urlOf = (ctx: SqsContext, q: { accountId: string; name: string }): string =>
  `${ctx.baseUrl}/${q.accountId}/${encodeURIComponent(q.name)}`;

function deny(ctx: SqsContext, action: string, resource: string): QueueError {
  return new QueueError(
    "AccessDenied",
    `User ${ctx.caller.accessKeyId} of account ${ctx.caller.accountId} is not authorized to perform ${action} on resource ${resource}.`,
  );
}

/** Throws AccessDenied unless the caller may perform `sqs:<operation>` on the queue. */
function authorize(ctx: SqsContext, operation: string, queue: Queue): void {
  const action = `sqs:${operation}`;
  const crossAccount = ctx.caller.accountId !== queue.accountId;
  // Without a policy, another account's key is refused (the operator's root key aside).
  const policy = crossAccount && OWNER_ONLY_ACTIONS.has(operation) ? undefined : queue.attributes.Policy;
  if (!ctx.caller.allowedOn(action, queue.arn, queue.accountId, policy)) {
    throw deny(ctx, action, queue.arn);
  }
}

/**
 * QueueDoesNotExist for a missing queue of the caller's account; for another account's, AccessDenied
 * unless the caller could act on whatever is there without a policy (the operator's root key), so
 * that other accounts cannot learn which queue names exist.
 */
function missingQueue(ctx: SqsContext, operation: string, ref: QueueRef): QueueError {
  return foreignDenied(ctx, operation, ref) ?? noSuchQueue();
}

/** AccessDenied for a queue of another account the caller could not act on without a policy. */
function foreignDenied(ctx: SqsContext, operation: string, ref: QueueRef): QueueError | undefined {
  const arn = ctx.queues.arnOf(ref);
  const action = `sqs:${operation}`;
  if (
    ref.accountId !== ctx.caller.accountId &&
    !ctx.caller.allowedOn(action, arn, ref.accountId, undefined)
  ) {
    return deny(ctx, action, arn);
  }
  return undefined;
}

/** How a move-task operation's caller may use the queues it names (see MoveTasks). */
function moveTaskAccess(ctx: SqsContext, operation: string): QueueAccess {
  return {
    authorize: (queue) => authorize(ctx, operation, queue),
    refuseMissing: (ref) => foreignDenied(ctx, operation, ref),
  };
}

/** The queue named by the request's QueueUrl, after authorizing `sqs:<operation>` on it. */
async function queueOf(ctx: SqsContext, input: Input, operation: string): Promise<Queue> {
  const url = requiredText(input, "QueueUrl");
  const ref = parseQueueUrl(url);
  if (ref === undefined) {
    throw new QueueError(
      "InvalidAddress",
      `The address ${url.slice(0, 256)} is not valid for this endpoint.`,
    );
  }
  const queue = await ctx.queues.findQueue(ref);
  if (queue === undefined) throw missingQueue(ctx, operation, ref);
  authorize(ctx, operation, queue);
  return queue;
}

function tagList(map: Readonly<Record<string, string>>): Tag[] {
  return Object.entries(map).map(([key, value]) => ({ key, value }));
}

/** A batch result: `Successful` entries with their Id, `Failed` entries with SQS's error fields. */
function batchResult<T>(
  entries: ReadonlyArray<Readonly<Record<string, unknown>>>,
  outcomes: ReadonlyArray<EntryOutcome<T>>,
  success: (ok: T) => Record<string, unknown>,
): Record<string, unknown> {
  const Successful: Array<Record<string, unknown>> = [];
  const Failed: Array<Record<string, unknown>> = [];
  outcomes.forEach((o, i) => {
    const Id = entries[i]?.Id;
    if ("ok" in o) Successful.push({ Id, ...success(o.ok) });
    else
      Failed.push({
        Id,
        SenderFault: o.error.httpStatus < 500,
        Code: o.error.code,
        Message: o.error.message,
      });
  });
  return { Successful, Failed };
}

const createQueue: SqsOperation = async (ctx, input) => {
  const name = input.QueueName;
  const attributes = stringMap(input, "Attributes");
  const tags = tagList(stringMap(input, "tags"));
  if (typeof name === "string" && name !== "") {
    const arn = ctx.queues.arnOf({ accountId: ctx.caller.accountId, name });
    if (!ctx.caller.allowedOn("sqs:CreateQueue", arn, ctx.caller.accountId, undefined)) {
      throw deny(ctx, "sqs:CreateQueue", arn);
    }
    if (tags.length > 0 && !ctx.caller.allowedOn("sqs:TagQueue", arn, ctx.caller.accountId, undefined)) {
      throw deny(ctx, "sqs:TagQueue", arn);
    }
  }
  const queue = await ctx.queues.createQueue(ctx.caller.accountId, name, attributes, tags);
  return { QueueUrl: urlOf(ctx, queue) };
};

const getQueueUrl: SqsOperation = async (ctx, input) => {
  const name = input.QueueName;
  if (name === undefined || name === null || name === "") {
    throw invalidValue("QueueName", undefined, "Must specify a queue name.");
  }
  if (typeof name !== "string") throw new QueueError("MalformedInput", "QueueName must be a string.");
  const owner = optionalText(input, "QueueOwnerAWSAccountId") ?? ctx.caller.accountId;
  const ref = { accountId: owner, name };
  const queue = await ctx.queues.findQueue(ref);
  if (queue === undefined) throw missingQueue(ctx, "GetQueueUrl", ref);
  authorize(ctx, "GetQueueUrl", queue);
  return { QueueUrl: urlOf(ctx, queue) };
};

const listQueues: SqsOperation = async (ctx, input) => {
  const prefix = optionalText(input, "QueueNamePrefix");
  const max = optionalInt(input, "MaxResults", 1, 1000, "Must be between 1 and 1000, if provided.");
  const token = optionalText(input, "NextToken");
  const resource = `arn:aws:sqs:${ctx.region}:${ctx.caller.accountId}:*`;
  if (!ctx.caller.allowedOn("sqs:ListQueues", resource, ctx.caller.accountId, undefined)) {
    throw deny(ctx, "sqs:ListQueues", resource);
  }
  const page = await ctx.queues
    .listQueues(ctx.caller.accountId, prefix, max, token === "" ? undefined : token)
    .catch(badToken);
  return {
    ...(page.queues.length > 0 && { QueueUrls: page.queues.map((q) => urlOf(ctx, q)) }),
    ...(page.nextToken !== undefined && { NextToken: page.nextToken }),
  };
};

function badToken(e: unknown): never {
  if ((e as Error).name === "InvalidNextTokenError") {
    throw new QueueError("InvalidParameterValue", "Invalid NextToken value.");
  }
  throw e;
}

const deleteQueue: SqsOperation = async (ctx, input) => {
  await ctx.queues.deleteQueue(await queueOf(ctx, input, "DeleteQueue"));
  return {};
};

const getQueueAttributes: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "GetQueueAttributes");
  const attributes = await ctx.queues.getAttributes(queue, stringList(input, "AttributeNames"));
  return Object.keys(attributes).length === 0 ? {} : { Attributes: attributes };
};

const setQueueAttributes: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "SetQueueAttributes");
  if (input.Attributes === undefined || input.Attributes === null) throw missingParameter("Attributes");
  await ctx.queues.setAttributes(queue, stringMap(input, "Attributes"));
  return {};
};

/** AddPermission: a statement granting other accounts actions on the queue, added to its policy. */
const addPermission: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "AddPermission");
  const list = (name: string): string[] | undefined =>
    input[name] === undefined || input[name] === null ? undefined : stringList(input, name);
  await ctx.queues.addPermission(queue, {
    label: input.Label,
    accountIds: list("AWSAccountIds"),
    actions: list("Actions"),
  });
  return {};
};

/** RemovePermission: the statement AddPermission made under the label, removed from the policy. */
const removePermission: SqsOperation = async (ctx, input) => {
  await ctx.queues.removePermission(await queueOf(ctx, input, "RemovePermission"), input.Label);
  return {};
};

const purgeQueue: SqsOperation = async (ctx, input) => {
  await ctx.queues.purge(await queueOf(ctx, input, "PurgeQueue"));
  return {};
};

const tagQueue: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "TagQueue");
  if (input.Tags === undefined || input.Tags === null) throw missingParameter("Tags");
  await ctx.queues.tag(queue, tagList(stringMap(input, "Tags")));
  return {};
};

const untagQueue: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "UntagQueue");
  if (input.TagKeys === undefined || input.TagKeys === null) throw missingParameter("TagKeys");
  await ctx.queues.untag(queue, stringList(input, "TagKeys"));
  return {};
};

const listQueueTags: SqsOperation = async (ctx, input) => {
  const tags = await ctx.queues.listTags(await queueOf(ctx, input, "ListQueueTags"));
  return tags.length === 0 ? {} : { Tags: Object.fromEntries(tags.map((t) => [t.key, t.value])) };
};

function sender(ctx: SqsContext) {
  // SQS reports the account for its root user and an IAM id otherwise: Busbar uses the access key id.
  return {
    accountId: ctx.caller.accountId,
    senderId: ctx.caller.root ? ctx.caller.accountId : ctx.caller.accessKeyId,
  };
}

function throwIfError<T>(outcome: EntryOutcome<T> | undefined): T {
  if (outcome === undefined) throw new Error("no outcome");
  if ("error" in outcome) throw outcome.error;
  return outcome.ok;
}

const sendMessage: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "SendMessage");
  const [outcome] = await ctx.queues.send(queue, [input], sender(ctx));
  return { ...throwIfError<SentMessage>(outcome) };
};

const sendMessageBatch: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "SendMessage");
  const entries = batchEntries(input, "SendMessageBatchRequestEntry");
  const outcomes = await ctx.queues.send(
    queue,
    entries,
    sender(ctx),
    (i) => `SendMessageBatchRequestEntry.${i + 1}`,
  );
  return batchResult(entries, outcomes, (ok) => ({ ...ok }));
};

const receiveMessage: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "ReceiveMessage");
  const max = optionalInt(input, "MaxNumberOfMessages", 1, 10, "Must be between 1 and 10, if provided.");
  const visibilityTimeout = optionalInt(
    input,
    "VisibilityTimeout",
    0,
    43_200,
    "Must be >= 0 and <= 43200, if provided.",
  );
  const waitSeconds = optionalInt(input, "WaitTimeSeconds", 0, 20, "Must be >= 0 and <= 20, if provided.");
  const attempt = optionalText(input, "ReceiveRequestAttemptId");
  if (attempt !== undefined && !/^[\x21-\x7E]{1,128}$/.test(attempt)) {
    throw invalidValue(
      "ReceiveRequestAttemptId",
      attempt,
      "ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
    );
  }
  const systemAttributeNames = [
    ...new Set([...stringList(input, "AttributeNames"), ...stringList(input, "MessageSystemAttributeNames")]),
  ];
  const messages = await ctx.queues.receive(queue, {
    max: max ?? 1,
    ...(visibilityTimeout !== undefined && { visibilityTimeout }),
    ...(waitSeconds !== undefined && { waitSeconds }),
    systemAttributeNames,
    messageAttributeNames: stringList(input, "MessageAttributeNames"),
    ...(attempt !== undefined && { attemptId: attempt }),
    ...(ctx.client !== undefined && { client: ctx.client }),
    // A key deleted, or a policy changed, while the receive waited: it takes nothing after that.
    stillAllowed: async (current) => {
      const caller = ctx.callerNow === undefined ? ctx.caller : await ctx.callerNow();
      authorize({ ...ctx, caller }, "ReceiveMessage", current);
    },
  });
  return messages.length === 0 ? {} : { Messages: messages };
};

const deleteMessage: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "DeleteMessage");
  const handle = requiredText(input, "ReceiptHandle");
  const [outcome] = await ctx.queues.delete(queue, [handle]);
  throwIfError(outcome);
  return {};
};

const deleteMessageBatch: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "DeleteMessage");
  const entries = batchEntries(input, "DeleteMessageBatchRequestEntry");
  const outcomes = await ctx.queues.delete(
    queue,
    entries.map((e) => e.ReceiptHandle),
  );
  return batchResult(entries, outcomes, () => ({}));
};

const changeMessageVisibility: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "ChangeMessageVisibility");
  const handle = requiredText(input, "ReceiptHandle");
  if (input.VisibilityTimeout === undefined || input.VisibilityTimeout === null) {
    throw missingParameter("VisibilityTimeout");
  }
  const [outcome] = await ctx.queues.changeVisibility(queue, [{ handle, timeout: input.VisibilityTimeout }]);
  throwIfError(outcome);
  return {};
};

const changeMessageVisibilityBatch: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "ChangeMessageVisibility");
  const entries = batchEntries(input, "ChangeMessageVisibilityBatchRequestEntry");
  const outcomes = await ctx.queues.changeVisibility(
    queue,
    entries.map((e) => ({ handle: e.ReceiptHandle, timeout: e.VisibilityTimeout })),
  );
  return batchResult(entries, outcomes, () => ({}));
};

const listDeadLetterSourceQueues: SqsOperation = async (ctx, input) => {
  const queue = await queueOf(ctx, input, "ListDeadLetterSourceQueues");
  const max = optionalInt(input, "MaxResults", 1, 1000, "Must be between 1 and 1000, if provided.");
  const token = optionalText(input, "NextToken");
  const page = await ctx.queues
    .deadLetterSources(queue, max, token === "" ? undefined : token)
    .catch(badToken);
  return {
    queueUrls: page.queues.map((q) => urlOf(ctx, q)),
    ...(page.nextToken !== undefined && { NextToken: page.nextToken }),
  };
};

const startMessageMoveTask: SqsOperation = async (ctx, input) => {
  const sourceArn = requiredText(input, "SourceArn");
  const destinationArn = optionalText(input, "DestinationArn");
  const rate = input.MaxNumberOfMessagesPerSecond;
  if (rate !== undefined && rate !== null && typeof rate !== "number") {
    throw new QueueError("MalformedInput", "MaxNumberOfMessagesPerSecond must be an integer.");
  }
  const handle = await ctx.moveTasks.start(
    sourceArn,
    destinationArn,
    rate ?? undefined,
    moveTaskAccess(ctx, "StartMessageMoveTask"),
  );
  return { TaskHandle: handle };
};

const listMessageMoveTasks: SqsOperation = async (ctx, input) => {
  const sourceArn = requiredText(input, "SourceArn");
  const max = input.MaxResults;
  if (max !== undefined && max !== null && typeof max !== "number") {
    throw new QueueError("MalformedInput", "MaxResults must be an integer.");
  }
  const results = await ctx.moveTasks.list(
    sourceArn,
    max ?? undefined,
    moveTaskAccess(ctx, "ListMessageMoveTasks"),
  );
  return { Results: results };
};

const cancelMessageMoveTask: SqsOperation = async (ctx, input) => {
  const handle = requiredText(input, "TaskHandle");
  const moved = await ctx.moveTasks.cancel(handle, moveTaskAccess(ctx, "CancelMessageMoveTask"));
  return { ApproximateNumberOfMessagesMoved: moved };
};

/**
 * The operations that read a queue's attributes, change them and write them whole run one at a time
 * per queue (../one-at-a-time.ts), so that none undoes another's change (two AddPermission calls at once
 * both keep their statement).
 */
const oneAtATimePerQueue = oneAtATime((_ctx: SqsContext, input: Input) => {
  const ref = typeof input.QueueUrl === "string" ? parseQueueUrl(input.QueueUrl) : undefined;
  return ref === undefined ? "" : `${ref.accountId}/${ref.name}`;
});

/** Every SQS operation, by the name in `X-Amz-Target: AmazonSQS.<name>`. */
export const sqsOperations: Readonly<Record<string, SqsOperation>> = Object.freeze({
  CreateQueue: createQueue,
  GetQueueUrl: getQueueUrl,
  ListQueues: listQueues,
  DeleteQueue: deleteQueue,
  GetQueueAttributes: getQueueAttributes,
  SetQueueAttributes: oneAtATimePerQueue(setQueueAttributes),
  AddPermission: oneAtATimePerQueue(addPermission),
  RemovePermission: oneAtATimePerQueue(removePermission),
  PurgeQueue: purgeQueue,
  TagQueue: tagQueue,
  UntagQueue: untagQueue,
  ListQueueTags: listQueueTags,
  SendMessage: sendMessage,
  SendMessageBatch: sendMessageBatch,
  ReceiveMessage: receiveMessage,
  DeleteMessage: deleteMessage,
  DeleteMessageBatch: deleteMessageBatch,
  ChangeMessageVisibility: changeMessageVisibility,
  ChangeMessageVisibilityBatch: changeMessageVisibilityBatch,
  ListDeadLetterSourceQueues: listDeadLetterSourceQueues,
  StartMessageMoveTask: startMessageMoveTask,
  ListMessageMoveTasks: listMessageMoveTasks,
  CancelMessageMoveTask: cancelMessageMoveTask,
});
