/**
 * The queue service: SQS semantics over the store contract. It validates what requests give (names,
 * attributes, messages, FIFO rules), keeps the queues' settings in memory (this node is the only
 * writer of queues), issues and reads receipt handles, long-polls, and reports per-entry outcomes of
 * batches. Authorization is the API layer's; everything here runs on behalf of an authorized caller.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  DELETE_CHUNK,
  RETIRED_QUEUES_ACCOUNT,
  SWEEP_SCAN_LIMIT,
  allItems,
  sweepInSteps,
  type ListOptions,
  type NewMessage,
  type Page,
  type Queue,
  type QueueMessage,
  type QueueRef,
  type ReceiveOptions,
  type SendResult,
  type Store,
  type Tag,
} from "../store/index.js";
import {
  ATTRIBUTE_NAMES,
  MAX_MESSAGE_BYTES,
  checkCombination,
  defaultAttributes,
  withOneEncryption,
  integerAttribute,
  parseQueueArn,
  parseRedriveAllowPolicy,
  parseRedrivePolicy,
  validateAttributes,
} from "./attributes.js";
import { QueueError, invalidValue, noSuchQueue } from "./errors/index.js";
import {
  checkAttributes,
  checkBody,
  checkFifoId,
  checkSystemAttributes,
  filterAttributes,
  md5OfAttributes,
  md5OfBody,
  type MessageAttributes,
} from "./messages.js";
import { ReceiveAttempts } from "./attempts.js";
import { addQueuePermission, removeQueuePermission, type PermissionRequest } from "./permissions.js";
import { QueueCounter, countInFlightInSteps } from "./counts.js";
import { DEFAULT_MAX_IN_FLIGHT, InFlightLimit } from "./in-flight.js";
import { ReceiptCodec } from "./receipts.js";
import { ReceiveRoom } from "./receive-room.js";
import { Waiters } from "./waiters.js";

/** Standard queue names: 1–80 of A-Z, a-z, 0-9, `-` and `_`; FIFO names end in `.fifo` (within the 80). */
const STANDARD_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const FIFO_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
/** The FIFO deduplication window. */
export const DEDUPLICATION_MS = 5 * 60 * 1000;
/** The longest a message may stay in flight after the receive that took it: 12 hours. */
export const MAX_IN_FLIGHT_MS = 12 * 60 * 60 * 1000;
/** Total size of the messages of one SendMessageBatch. */
export const MAX_BATCH_BYTES = MAX_MESSAGE_BYTES;
/** How long a PurgeQueue may delete for: SQS deletes a purged queue's messages within 60 seconds. */
export const PURGE_MS = 60_000;
/** Most tags on a queue. */
export const MAX_TAGS = 50;

/** Who sends: the account and the SenderId messages record. */
export interface Sender {
  readonly accountId: string;
  readonly senderId: string;
}

/** What SendMessage answers for one message. */
export interface SentMessage {
  readonly MessageId: string;
  readonly MD5OfMessageBody: string;
  readonly MD5OfMessageAttributes?: string;
  readonly MD5OfMessageSystemAttributes?: string;
  readonly SequenceNumber?: string;
}

/** A received message, as ReceiveMessage answers it. */
export interface ReceivedMessage {
  readonly MessageId: string;
  readonly ReceiptHandle: string;
  readonly MD5OfBody: string;
  readonly Body: string;
  readonly Attributes?: Record<string, string>;
  readonly MessageAttributes?: MessageAttributes;
  readonly MD5OfMessageAttributes?: string;
}

/** About what a received message holds in memory: its body, its attributes, and a little more. */
function replyBytes(m: ReceivedMessage): number {
  let bytes = 2 * m.Body.length + 512;
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
    bytes += 2 * name.length + 2 * (value.StringValue?.length ?? 0) + (value.BinaryValue?.length ?? 0);
  }
  return bytes;
}

/** Options of a receive. */
export interface ReceiveRequest {
  readonly max: number;
  readonly visibilityTimeout?: number;
  readonly waitSeconds?: number;
  /** System attribute names wanted (`All` for every one). */
  readonly systemAttributeNames: readonly string[];
  /** Message attribute names wanted (`All`, `.*`, `prefix.*`, exact names). */
  readonly messageAttributeNames: readonly string[];
  /** FIFO: a retried receive with the same id gets the same messages and handles (see {@link QueueService.receive}). */
  readonly attemptId?: string;
  /**
   * The request's client: when it has gone away, a waiting receive stops waiting and takes nothing, so
   * that no message is hidden for its visibility timeout (or counted towards its dead-letter queue) for
   * a reply nobody reads. A client that goes while a receive is taking messages still loses them, as
   * with SQS. Asked for its signal only when the receive is about to wait.
   */
  readonly client?: { signal(): AbortSignal };
  /**
   * Asked again after each wait, with the queue as it is then, before messages are taken: throws
   * when the caller may no longer receive from it (its key deleted, the queue's policy changed), so
   * that a long poll begun before a revocation takes nothing after it.
   */
  readonly stillAllowed?: (queue: Queue) => Promise<void>;
}

/** The OverLimit of a short-polling receive of a standard queue at its quota of messages in flight. */
function overLimit(queue: QueueRef, max: number): QueueError {
  return new QueueError(
    "OverLimit",
    `Queue ${queue.name} is at its limit of ${max} messages in flight: delete the messages received, or let their visibility timeouts end, before receiving more.`,
  );
}

/** The outcome of one entry of a batch: a result, or the error it failed with. */
export type EntryOutcome<T> = { readonly ok: T } | { readonly error: QueueError };

const SYSTEM_ATTRIBUTES = [
  "SenderId",
  "SentTimestamp",
  "ApproximateReceiveCount",
  "ApproximateFirstReceiveTimestamp",
  "SequenceNumber",
  "MessageDeduplicationId",
  "MessageGroupId",
  "AWSTraceHeader",
  "DeadLetterQueueSourceArn",
] as const;

/** Options of {@link QueueService}. */
export interface QueueServiceOptions {
  readonly store: Store;
  readonly region: string;
  /** Secret the receipt handles' MACs derive from (stable across restarts). */
  readonly receiptKey: string;
  /** Secrets handles were made with before, still read. */
  readonly earlierReceiptKeys?: readonly string[];
  /**
   * Room for the messages receives take from the store at once (see {@link ReceiveRoom}): each reserves
   * its MaxNumberOfMessages times the largest message SQS accepts. By default one of
   * {@link DEFAULT_RECEIVE_ROOM_BYTES}; the server's holds BUSBAR_MAX_BYTES_IN_FLIGHT, shared with its
   * HTTP layer's unsent replies.
   */
  readonly receiveRoom?: ReceiveRoom;
  /** Messages in flight a queue may hold (see in-flight.ts); {@link DEFAULT_MAX_IN_FLIGHT} unless given. */
  readonly maxInFlight?: number;
  readonly now?: () => number;
}

/** The room of a {@link QueueService} given none: a dozen receives of ten 1 MiB messages. */
export const DEFAULT_RECEIVE_ROOM_BYTES = 128 * 1024 * 1024;

const keyOf = (ref: QueueRef): string => `${ref.accountId}\u0000${ref.name}`;

/** SQS semantics over a store. */
/** A queue's RedrivePolicy as a receive uses it, before the dead-letter queue is looked up. */
type RedrivePolicyOf = Omit<NonNullable<ReceiveOptions["redrive"]>, "deadLetterRetentionMs">;

export class QueueService {
  readonly store: Store;
  readonly region: string;
  readonly waiters = new Waiters();
  readonly #receipts: ReceiptCodec;
  readonly #now: () => number;
  /** Queues by account and name; `null` remembers that one does not exist. */
  readonly #queues = new Map<string, Queue | null>();
  readonly #lastPurge = new Map<string, number>();
  /** Parsed redrive policies by queue object (a changed queue is a new object). */
  readonly #redrives = new WeakMap<Queue, RedrivePolicyOf | null>();
  /** FIFO receives by ReceiveRequestAttemptId (attempts.ts). */
  readonly #attempts = new ReceiveAttempts<ReceivedMessage>();
  readonly #receiveRoom: ReceiveRoom;
  /** Each queue's messages in flight, bounded from above (in-flight.ts). */
  readonly #inFlight: InFlightLimit;
  /** The approximate counts of GetQueueAttributes, in steps (counts.ts). */
  readonly #counter: QueueCounter;

  constructor(options: QueueServiceOptions) {
    this.store = options.store;
    this.region = options.region;
    this.#receipts = new ReceiptCodec(options.receiptKey, options.earlierReceiptKeys);
    this.#now = options.now ?? Date.now;
    this.#receiveRoom = options.receiveRoom ?? new ReceiveRoom(DEFAULT_RECEIVE_ROOM_BYTES);
    this.#counter = new QueueCounter(this.store, this.#now);
    this.#inFlight = new InFlightLimit(
      options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      (queue, now) => countInFlightInSteps(this.store, queue, now),
      this.#now,
    );
  }

  /** The ARN of a queue of this node's region. */
  arnOf(ref: QueueRef): string {
    return `arn:aws:sqs:${this.region}:${ref.accountId}:${ref.name}`;
  }

  /** A queue, or undefined when it does not exist. */
  async findQueue(ref: QueueRef): Promise<Queue | undefined> {
    const key = keyOf(ref);
    const cached = this.#queues.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const queue = await this.store.getQueue(ref.accountId, ref.name);
    if (this.#queues.size > 100_000) this.#queues.clear();
    this.#queues.set(key, queue ?? null);
    return queue;
  }

  /** A queue; QueueDoesNotExist when there is none. */
  async getQueue(ref: QueueRef): Promise<Queue> {
    const queue = await this.findQueue(ref);
    if (queue === undefined) throw noSuchQueue();
    return queue;
  }

  // ---- Queues ----------------------------------------------------------------------------------

  /**
   * CreateQueue: a new queue, or the existing one when every attribute given has the value it has.
   * @throws QueueError for an invalid name or attribute, or QueueAlreadyExists.
   */
  async createQueue(
    accountId: string,
    name: unknown,
    given: Readonly<Record<string, string>>,
    tags: readonly Tag[],
  ): Promise<Queue> {
    if (name === undefined || name === null || name === "") {
      throw invalidValue("QueueName", undefined, "Must specify a queue name.");
    }
    if (typeof name !== "string") throw new QueueError("MalformedInput", "QueueName must be a string.");
    const fifo = given.FifoQueue?.toLowerCase() === "true";
    // Before the name, which is checked by the type FifoQueue gives: FifoQueue=yes is its own mistake.
    const attributes = validateAttributes(given, fifo, true);
    if (fifo ? !FIFO_NAME.test(name) : !STANDARD_NAME.test(name)) {
      throw new QueueError(
        "InvalidParameterValue",
        fifo
          ? "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
          : "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
      );
    }
    const ref = { accountId, name };
    const existing = await this.findQueue(ref);
    if (existing !== undefined) {
      for (const [k, v] of Object.entries(attributes)) {
        if ((existing.attributes[k] ?? "") !== v) {
          throw new QueueError(
            "QueueAlreadyExists",
            `A queue already exists with the same name and a different value for attribute ${k}`,
          );
        }
      }
      return existing;
    }
    checkTags(tags);
    const merged = withOneEncryption(removeEmpty({ ...defaultAttributes(fifo), ...attributes }), attributes);
    checkCombination(merged);
    const arn = this.arnOf(ref);
    const deadLetterTargetArn = await this.checkRedrive(arn, fifo, merged);
    const now = this.#now();
    const queue: Queue = {
      accountId,
      name,
      arn,
      fifo,
      attributes: merged,
      ...(deadLetterTargetArn !== undefined && { deadLetterTargetArn }),
      createdAt: now,
      lastModifiedAt: now,
    };
    // The queue and its tags in one transaction: a crash between them would leave a queue without
    // them, which a retried CreateQueue (answered with the existing queue) would not add.
    if (!(await this.store.createQueue(queue, tags))) {
      // Created concurrently: answer as for an existing queue.
      this.#queues.delete(keyOf(ref));
      return this.createQueue(accountId, name, given, tags);
    }
    this.#queues.set(keyOf(ref), queue);
    return queue;
  }

  /** Validates a RedrivePolicy against the queues it names; returns its dead-letter target ARN. */
  private async checkRedrive(
    sourceArn: string,
    fifo: boolean,
    attributes: Readonly<Record<string, string>>,
  ): Promise<string | undefined> {
    const raw = attributes.RedrivePolicy;
    if (raw === undefined) return undefined;
    const policy = parseRedrivePolicy(raw);
    const target = parseQueueArn(policy.deadLetterTargetArn);
    // SQS keeps a dead-letter queue in its source's account: another account's queue would take
    // messages from whoever names it, without its policy being asked (and would say whether it exists).
    if (target !== undefined && target.accountId !== parseQueueArn(sourceArn)?.accountId) {
      throw invalidValue(
        "RedrivePolicy",
        raw,
        "The dead-letter queue must be in the same account as the source queue.",
      );
    }
    const dlq =
      target === undefined || target.region !== this.region ? undefined : await this.findQueue(target);
    if (dlq === undefined) throw invalidValue("RedrivePolicy", raw, "Dead letter target does not exist.");
    // A queue of its own would never dead-letter: each move would make its message new there again.
    if (dlq.arn === sourceArn) {
      throw invalidValue("RedrivePolicy", raw, "A queue cannot be its own dead-letter queue.");
    }
    if (dlq.fifo !== fifo) {
      throw invalidValue(
        "RedrivePolicy",
        raw,
        "Dead-letter queue must be same type of queue as the source..",
      );
    }
    const allow = dlq.attributes.RedriveAllowPolicy;
    if (allow !== undefined) {
      const parsed = parseRedriveAllowPolicy(allow);
      if (
        parsed.redrivePermission === "denyAll" ||
        (parsed.redrivePermission === "byQueue" &&
          !parsed.sourceQueueArns.some((a) => sameQueue(a, sourceArn)))
      ) {
        throw invalidValue(
          "RedrivePolicy",
          raw,
          `The RedriveAllowPolicy of ${dlq.arn} does not allow this queue to use it as a dead-letter queue.`,
        );
      }
    }
    return dlq.arn;
  }

  /**
   * DeleteQueue. The queue leaves its account at once, in one transaction (its name free, nothing
   * reaching it); then its messages are deleted in chunks, so that other requests are served meanwhile,
   * and the queue last. What a crash leaves of a retired queue, the next {@link sweep} deletes.
   */
  async deleteQueue(queue: Queue): Promise<void> {
    const retired = await this.store.retireQueue(queue.accountId, queue.name);
    this.#queues.delete(keyOf(queue));
    this.#lastPurge.delete(keyOf(queue));
    this.#attempts.forgetQueue(keyOf(queue));
    this.#inFlight.forget(keyOf(queue));
    this.#counter.forget(keyOf(queue));
    this.waiters.notify(keyOf(queue));
    if (retired !== undefined) await this.#deleteRetired(retired);
  }

  /** Deletes the queues whose DeleteQueue a crash cut short (a retired queue waits for nothing else). */
  async deleteRetiredQueues(): Promise<void> {
    const retired = await allItems((options) => this.store.listQueues(RETIRED_QUEUES_ACCOUNT, options));
    for (const ref of retired) await this.#deleteRetired(ref);
  }

  /** Deletes a retired queue's messages in chunks, then the queue. */
  async #deleteRetired(ref: QueueRef): Promise<void> {
    while ((await this.store.purgeQueue(ref, DELETE_CHUNK)) === DELETE_CHUNK);
    await this.store.deleteQueue(ref.accountId, ref.name);
  }

  /** ListQueues: queue URLs by name prefix; paged only when `maxResults` is given, as SQS does. */
  async listQueues(
    accountId: string,
    prefix: string | undefined,
    maxResults: number | undefined,
    nextToken: string | undefined,
  ): Promise<{ queues: readonly Queue[]; nextToken?: string }> {
    return collectPages(maxResults, nextToken, (options) =>
      this.store.listQueues(accountId, { ...(prefix !== undefined && { prefix }), ...options }),
    );
  }

  /** GetQueueAttributes: the named attributes (`All` for every one); unknown names are refused. */
  async getAttributes(queue: Queue, names: readonly string[]): Promise<Record<string, string>> {
    for (const n of names) {
      if (n !== "All" && !ATTRIBUTE_NAMES.has(n))
        throw new QueueError("InvalidAttributeName", `Unknown Attribute ${n}.`);
    }
    const all = names.includes("All");
    const wanted = (n: string): boolean => all || names.includes(n);
    const out: Record<string, string> = {};
    if (wanted("QueueArn")) out.QueueArn = queue.arn;
    const counts = [
      "ApproximateNumberOfMessages",
      "ApproximateNumberOfMessagesNotVisible",
      "ApproximateNumberOfMessagesDelayed",
    ];
    if (counts.some(wanted)) {
      const c = await this.#counter.count(queue, keyOf(queue));
      if (wanted(counts[0] as string)) out.ApproximateNumberOfMessages = String(c.visible);
      if (wanted(counts[1] as string)) out.ApproximateNumberOfMessagesNotVisible = String(c.inFlight);
      if (wanted(counts[2] as string)) out.ApproximateNumberOfMessagesDelayed = String(c.delayed);
    }
    if (wanted("CreatedTimestamp")) out.CreatedTimestamp = String(Math.floor(queue.createdAt / 1000));
    if (wanted("LastModifiedTimestamp"))
      out.LastModifiedTimestamp = String(Math.floor(queue.lastModifiedAt / 1000));
    for (const [k, v] of Object.entries(queue.attributes)) if (wanted(k)) out[k] = v;
    return out;
  }

  /** SetQueueAttributes (`""` removes Policy, RedrivePolicy and RedriveAllowPolicy). */
  async setAttributes(queue: Queue, given: Readonly<Record<string, string>>): Promise<void> {
    const changes = validateAttributes(given, queue.fifo, false);
    const attributes = withOneEncryption(removeEmpty({ ...queue.attributes, ...changes }), changes);
    checkCombination(attributes);
    const deadLetterTargetArn = await this.checkRedrive(queue.arn, queue.fifo, attributes);
    const { deadLetterTargetArn: _old, ...rest } = queue;
    const updated: Queue = {
      ...rest,
      attributes,
      ...(deadLetterTargetArn !== undefined && { deadLetterTargetArn }),
      lastModifiedAt: this.#now(),
    };
    // A FIFO queue's DelaySeconds is retroactive in SQS: it applies to the messages already queued.
    const delay = integerAttribute(attributes, "DelaySeconds");
    const redelay = queue.fifo && delay !== integerAttribute(queue.attributes, "DelaySeconds");
    const options = redelay ? { redelayUnreceivedMs: delay * 1000 } : undefined;
    if (!(await this.store.updateQueue(updated, options))) throw noSuchQueue();
    this.#queues.set(keyOf(queue), updated);
    // A shorter delay may have made messages visible: waiting receives look again.
    if (redelay) this.waiters.notify(keyOf(queue));
  }

  /** AddPermission: the label's statement appended to the queue's policy (./permissions.ts). */
  async addPermission(queue: Queue, request: PermissionRequest): Promise<void> {
    await this.#savePolicy(queue, addQueuePermission(queue.attributes.Policy, queue.arn, request));
  }

  /** RemovePermission: the label's statement taken out of the queue's policy, the policy with it when empty. */
  async removePermission(queue: Queue, label: unknown): Promise<void> {
    await this.#savePolicy(queue, removeQueuePermission(queue.attributes.Policy, label));
  }

  async #savePolicy(queue: Queue, policy: string | undefined): Promise<void> {
    const { Policy: _old, ...rest } = queue.attributes;
    const attributes = policy === undefined ? rest : { ...rest, Policy: policy };
    const updated: Queue = { ...queue, attributes, lastModifiedAt: this.#now() };
    if (!(await this.store.updateQueue(updated))) throw noSuchQueue();
    this.#queues.set(keyOf(queue), updated);
  }

  /** PurgeQueue: once per 60 seconds per queue. */
  async purge(queue: Queue): Promise<void> {
    const key = keyOf(queue);
    const now = this.#now();
    const last = this.#lastPurge.get(key);
    if (last !== undefined && now - last < 60_000) {
      throw new QueueError(
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        `Only one PurgeQueue operation on ${queue.name} is allowed every 60 seconds.`,
      );
    }
    // Only the last minute's purges matter: older ones go, so that the map stays small.
    if (this.#lastPurge.size >= 1000) {
      for (const [k, at] of this.#lastPurge) if (now - at >= 60_000) this.#lastPurge.delete(k);
    }
    this.#lastPurge.set(key, now);
    this.#attempts.forgetQueue(key);
    await this.#deleteMessagesOf(queue, now);
  }

  /**
   * Deletes a queue's messages in chunks, oldest first, so that other requests are served meanwhile,
   * until a chunk finds fewer than it may delete; for at most the 60 seconds SQS gives a purge, so that
   * senders faster than the chunks cannot keep it going. SQS, too, may delete messages sent while a
   * purge runs.
   */
  async #deleteMessagesOf(queue: QueueRef, since: number): Promise<void> {
    try {
      while ((await this.store.purgeQueue(queue, DELETE_CHUNK)) === DELETE_CHUNK) {
        if (this.#now() - since >= PURGE_MS) return;
      }
    } finally {
      // Its messages in flight went too: its next receive counts them again, as its next
      // GetQueueAttributes counts all of them.
      this.#inFlight.forget(keyOf(queue));
      this.#counter.forget(keyOf(queue));
    }
  }

  /** TagQueue. */
  async tag(queue: Queue, tags: readonly Tag[]): Promise<void> {
    checkTags(tags);
    const existing = await this.store.getTags(queue.arn);
    const keys = new Set([...existing.map((t) => t.key), ...tags.map((t) => t.key)]);
    if (keys.size > MAX_TAGS) {
      throw new QueueError(
        "InvalidParameterValue",
        `Too many tags added for queue ${queue.name}: at most ${MAX_TAGS}.`,
      );
    }
    await this.store.tagResource(queue.arn, tags);
  }

  /** UntagQueue. */
  async untag(queue: Queue, keys: readonly string[]): Promise<void> {
    await this.store.untagResource(queue.arn, keys);
  }

  /** ListQueueTags. */
  async listTags(queue: Queue): Promise<readonly Tag[]> {
    return this.store.getTags(queue.arn);
  }

  /** ListDeadLetterSourceQueues: queues whose redrive policy names this one. */
  async deadLetterSources(
    queue: Queue,
    maxResults: number | undefined,
    nextToken: string | undefined,
  ): Promise<{ queues: readonly Queue[]; nextToken?: string }> {
    return collectPages(maxResults, nextToken, (options) =>
      this.store.listDeadLetterSourceQueues(queue.arn, options),
    );
  }

  // ---- Messages --------------------------------------------------------------------------------

  /**
   * SendMessage and SendMessageBatch: checks each entry, enqueues the good ones durably in one
   * transaction, and answers per entry. Problems with the request as a whole (a FIFO queue without a
   * group id or deduplication, a delay on a FIFO queue, a batch over the size limit) throw.
   */
  async send(
    queue: Queue,
    entries: readonly Readonly<Record<string, unknown>>[],
    sender: Sender,
    parameterPrefix?: (index: number) => string,
  ): Promise<Array<EntryOutcome<SentMessage>>> {
    const now = this.#now();
    const maxSize = integerAttribute(queue.attributes, "MaximumMessageSize");
    const prepared: Array<
      EntryOutcome<{ message: NewMessage; reply: Omit<SentMessage, "MessageId" | "SequenceNumber"> }>
    > = [];
    let total = 0;
    entries.forEach((entry, index) => {
      const name = (member: string): string =>
        parameterPrefix === undefined ? member : `${parameterPrefix(index)}.${member}`;
      if (queue.fifo) this.checkFifoEntry(queue, entry, name, parameterPrefix !== undefined);
      try {
        const body = checkBody(entry.MessageBody, name("MessageBody"));
        const { attributes, size } = checkAttributes(entry.MessageAttributes);
        const system = checkSystemAttributes(entry.MessageSystemAttributes);
        const bytes = Buffer.byteLength(body) + size;
        total += bytes;
        if (bytes > maxSize) {
          throw new QueueError(
            "InvalidParameterValue",
            `One or more parameters are invalid. Reason: Message must be shorter than ${maxSize} bytes.`,
          );
        }
        const message = this.newMessage(queue, entry, body, attributes, system, sender, now);
        prepared.push({
          ok: {
            message,
            reply: {
              MD5OfMessageBody: message.bodyMd5,
              ...optional("MD5OfMessageAttributes", md5OfAttributes(attributes)),
              ...optional("MD5OfMessageSystemAttributes", md5OfAttributes(system)),
            },
          },
        });
      } catch (e) {
        if (!(e instanceof QueueError)) throw e;
        prepared.push({ error: e });
      }
    });
    if (parameterPrefix !== undefined && total > MAX_BATCH_BYTES) {
      throw new QueueError(
        "AWS.SimpleQueueService.BatchRequestTooLong",
        `Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes. You have sent ${total} bytes.`,
      );
    }
    const good = prepared.flatMap((p) => ("ok" in p ? [p.ok.message] : []));
    let results: readonly SendResult[] = [];
    if (good.length > 0) {
      try {
        results = await this.store.sendMessages(queue, good);
      } catch (e) {
        if ((e as Error).name === "QueueNotFoundError") throw noSuchQueue();
        throw e;
      }
      this.waiters.notify(keyOf(queue), results.filter((r) => !r.duplicate).length);
    }
    let next = 0;
    return prepared.map((p) => {
      if ("error" in p) return p;
      const r = results[next++] as SendResult;
      return {
        ok: {
          MessageId: r.id,
          ...p.ok.reply,
          ...optional("SequenceNumber", r.sequenceNumber),
        },
      };
    });
  }

  /** FIFO rules that fail the whole request (SendMessageBatch fails as a whole on them too). */
  private checkFifoEntry(
    queue: Queue,
    entry: Readonly<Record<string, unknown>>,
    name: (m: string) => string,
    batch: boolean,
  ): void {
    if (entry.MessageGroupId === undefined || entry.MessageGroupId === null) {
      // SQS words it the same, but answers MissingParameter to SendMessage, InvalidParameterValue to a batch.
      throw new QueueError(
        batch ? "InvalidParameterValue" : "MissingParameter",
        "The request must contain the parameter MessageGroupId.",
      );
    }
    checkFifoId("MessageGroupId", entry.MessageGroupId);
    if (entry.MessageDeduplicationId !== undefined && entry.MessageDeduplicationId !== null) {
      checkFifoId("MessageDeduplicationId", entry.MessageDeduplicationId);
    } else if (queue.attributes.ContentBasedDeduplication !== "true") {
      throw new QueueError(
        "InvalidParameterValue",
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
      );
    }
    const delay = entry.DelaySeconds;
    if (delay !== undefined && delay !== null && delay !== 0) {
      throw invalidValue(
        name("DelaySeconds"),
        delay,
        "The request include parameter that is not valid for this queue type.",
      );
    }
  }

  private newMessage(
    queue: Queue,
    entry: Readonly<Record<string, unknown>>,
    body: string,
    attributes: MessageAttributes | undefined,
    system: MessageAttributes | undefined,
    sender: Sender,
    now: number,
  ): NewMessage & { readonly bodyMd5: string } {
    let delay = integerAttribute(queue.attributes, "DelaySeconds");
    const given = entry.DelaySeconds;
    if (given !== undefined && given !== null && !queue.fifo) {
      if (typeof given !== "number" || !Number.isInteger(given)) {
        // A member of the wrong JSON type, as optionalInt answers MaxNumberOfMessages: "2".
        throw new QueueError("MalformedInput", "DelaySeconds must be an integer.");
      }
      if (given < 0 || given > 900) {
        throw invalidValue("DelaySeconds", given, "DelaySeconds must be >= 0 and <= 900.");
      }
      delay = given;
    }
    let groupId: string | undefined;
    if (entry.MessageGroupId !== undefined && entry.MessageGroupId !== null) {
      groupId = checkFifoId("MessageGroupId", entry.MessageGroupId); // standard queues: fair queues
    }
    let deduplicationId: string | undefined;
    let deduplication: NewMessage["deduplication"];
    if (queue.fifo) {
      deduplicationId =
        typeof entry.MessageDeduplicationId === "string"
          ? entry.MessageDeduplicationId
          : createHash("sha256").update(body, "utf8").digest("hex");
      const scope = queue.attributes.DeduplicationScope === "messageGroup" ? `${groupId ?? ""}\u0000` : "";
      deduplication = { key: `${scope}${deduplicationId}`, until: now + DEDUPLICATION_MS };
    } else if (entry.MessageDeduplicationId !== undefined && entry.MessageDeduplicationId !== null) {
      throw invalidValue(
        "MessageDeduplicationId",
        entry.MessageDeduplicationId,
        "The request include parameter that is not valid for this queue type.",
      );
    }
    return {
      id: randomUUID(),
      body,
      bodyMd5: md5OfBody(body),
      ...(attributes !== undefined && { attributes: JSON.stringify(attributes) }),
      ...(system !== undefined && { systemAttributes: JSON.stringify(system) }),
      senderId: sender.senderId,
      sentAt: now,
      visibleAt: now + delay * 1000,
      expiresAt: now + integerAttribute(queue.attributes, "MessageRetentionPeriod") * 1000,
      ...(groupId !== undefined && { groupId }),
      ...(deduplicationId !== undefined && { deduplicationId }),
      ...(deduplication !== undefined && { deduplication }),
    };
  }

  /**
   * ReceiveMessage, long-polling up to `waitSeconds` (the queue's ReceiveMessageWaitTimeSeconds by
   * default). On a FIFO queue, a receive that repeats the ReceiveRequestAttemptId of an earlier one
   * within 5 minutes gets that one's messages and receipt handles again, with their visibility
   * timeout reset, while they are all still in flight and none of them was deleted or changed
   * visibility since (attempts.ts); otherwise the id starts a new receive.
   */
  async receive(queue: Queue, request: ReceiveRequest): Promise<ReceivedMessage[]> {
    const key = keyOf(queue);
    const attemptId = queue.fifo ? request.attemptId : undefined;
    if (attemptId !== undefined) {
      const again = await this.#retried(queue, attemptId);
      if (again !== undefined) return again;
    }
    const wait = request.waitSeconds ?? integerAttribute(queue.attributes, "ReceiveMessageWaitTimeSeconds");
    const deadline = Date.now() + wait * 1000;
    let signal: AbortSignal | undefined;
    for (let waited = false; ; waited = true) {
      if (signal?.aborted === true) return [];
      // A queue deleted while this receive waited ends it (DeleteQueue wakes it): no messages will come.
      const current = await this.getQueue(queue);
      if (waited) await request.stillAllowed?.(current);
      const reservation = await this.#inFlight.reserve(current, key, request.max);
      if (reservation.room === 0) {
        // At its quota of messages in flight: SQS answers a short poll of a standard queue with
        // OverLimit, and gives a long poll (or any receive of a FIFO queue) nothing, with no error.
        if (!current.fifo && wait === 0) throw overLimit(current, this.#inFlight.max);
        if (Date.now() >= deadline || this.waiters.closed) return [];
        signal ??= request.client?.signal();
        await this.waiters.wait(key, deadline, signal);
        continue;
      }
      const room = reservation.room * MAX_MESSAGE_BYTES;
      if (!this.#receiveRoom.take(room)) {
        signal ??= request.client?.signal();
        if (!(await this.#receiveRoom.wait(room, current.accountId, signal))) {
          this.#inFlight.taken(reservation, 0);
          return [];
        }
        if (signal?.aborted === true) {
          this.#receiveRoom.give(room);
          this.#inFlight.taken(reservation, 0);
          return [];
        }
        try {
          await request.stillAllowed?.(current);
        } catch (e) {
          this.#receiveRoom.give(room);
          this.#inFlight.taken(reservation, 0);
          throw e;
        }
      }
      const started = this.#now();
      const visibility =
        request.visibilityTimeout ?? integerAttribute(current.attributes, "VisibilityTimeout");
      let got: readonly QueueMessage[] = [];
      try {
        got = await this.receiveOnce(current, { ...request, max: reservation.room }, visibility);
      } finally {
        this.#receiveRoom.give(room);
        this.#inFlight.taken(reservation, got.length);
      }
      const replies = got.map((m) => this.received(current, m, request));
      if (got.length > 0 && attemptId !== undefined) {
        this.#attempts.remember(
          key,
          attemptId,
          {
            messages: replies,
            received: got,
            until: started + DEDUPLICATION_MS,
            visibilityMs: visibility * 1000,
          },
          started,
          replies.reduce((sum, m) => sum + replyBytes(m), 0),
        );
      }
      if (got.length > 0 || Date.now() >= deadline || this.waiters.closed) return replies;
      signal ??= request.client?.signal();
      await this.waiters.wait(key, deadline, signal);
    }
  }

  /**
   * The reply of a remembered receive attempt, its messages' visibility timeout reset (SQS: "If a
   * retry occurs within the deduplication interval, it resets the visibility timeout"); undefined,
   * and the attempt forgotten, when it is over or any of its messages is no longer in that receive.
   */
  async #retried(queue: Queue, attemptId: string): Promise<ReceivedMessage[] | undefined> {
    const key = keyOf(queue);
    const earlier = this.#attempts.get(key, attemptId);
    if (earlier === undefined) return undefined;
    const now = this.#now();
    if (now < earlier.until) {
      const reset = earlier.received.map((m) => ({ ...m, visibleUntil: now + earlier.visibilityMs }));
      const outcomes = await this.store.changeVisibility(queue, reset, now, MAX_IN_FLIGHT_MS);
      if (outcomes.every((o) => o === "changed")) return [...earlier.messages];
      // Some are gone or back in the queue: those the reset kept hidden are released again.
      const kept = reset
        .filter((_, i) => outcomes[i] === "changed")
        .map((m) => ({ ...m, visibleUntil: now }));
      if (kept.length > 0) {
        const released = await this.store.changeVisibility(queue, kept, now, MAX_IN_FLIGHT_MS);
        this.#inFlight.released(key, released.filter((o) => o === "changed").length);
        this.waiters.notify(key);
      }
    }
    this.#attempts.forget(key, attemptId);
    return undefined;
  }

  /** One receive from the store (no waiting): the messages it took. */
  private async receiveOnce(
    queue: Queue,
    request: ReceiveRequest,
    visibility: number,
  ): Promise<readonly QueueMessage[]> {
    const now = this.#now();
    const policy = this.redriveOf(queue);
    // The dead-letter queue's retention decides a moved message's expiry (a cached lookup).
    const deadLetterQueue = policy === undefined ? undefined : await this.findQueue(policy.deadLetterQueue);
    const redrive =
      policy === undefined || deadLetterQueue === undefined
        ? undefined
        : {
            ...policy,
            deadLetterRetentionMs:
              integerAttribute(deadLetterQueue.attributes, "MessageRetentionPeriod") * 1000,
          };
    return this.store.receiveMessages(queue, {
      max: request.max,
      now,
      visibleUntil: now + visibility * 1000,
      ...(redrive !== undefined && { redrive }),
    });
  }

  /** The redrive of a queue's RedrivePolicy, parsed once per version of the queue (every receive needs it). */
  private redriveOf(queue: Queue): RedrivePolicyOf | undefined {
    const known = this.#redrives.get(queue);
    if (known !== undefined) return known ?? undefined;
    const raw = queue.attributes.RedrivePolicy;
    const policy = raw === undefined ? undefined : parseRedrivePolicy(raw);
    const dlq = policy === undefined ? undefined : parseQueueArn(policy.deadLetterTargetArn);
    // A policy naming another account's queue (set before such policies were refused) moves nothing.
    const redrive =
      policy === undefined || dlq === undefined || dlq.accountId !== queue.accountId
        ? undefined
        : {
            maxReceiveCount: policy.maxReceiveCount,
            deadLetterQueue: { accountId: dlq.accountId, name: dlq.name },
            sourceArn: queue.arn,
          };
    this.#redrives.set(queue, redrive ?? null);
    return redrive;
  }

  private received(queue: Queue, m: QueueMessage, request: ReceiveRequest): ReceivedMessage {
    const attributes = filterAttributes(
      m.attributes === undefined ? undefined : (JSON.parse(m.attributes) as MessageAttributes),
      request.messageAttributeNames,
    );
    const system = this.systemAttributes(m, request.systemAttributeNames);
    return {
      MessageId: m.id,
      ReceiptHandle: this.#receipts.encode(queue, m),
      MD5OfBody: m.bodyMd5 ?? md5OfBody(m.body),
      Body: m.body,
      ...(system !== undefined && { Attributes: system }),
      ...(attributes !== undefined && {
        MessageAttributes: attributes,
        MD5OfMessageAttributes: md5OfAttributes(attributes) as string,
      }),
    };
  }

  private systemAttributes(m: QueueMessage, names: readonly string[]): Record<string, string> | undefined {
    if (names.length === 0) return undefined;
    const all = names.includes("All");
    const out: Record<string, string> = {};
    const trace =
      m.systemAttributes === undefined
        ? undefined
        : (JSON.parse(m.systemAttributes) as MessageAttributes).AWSTraceHeader?.StringValue;
    const values: Record<(typeof SYSTEM_ATTRIBUTES)[number], string | undefined> = {
      SenderId: m.senderId,
      SentTimestamp: String(m.sentAt),
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp:
        m.firstReceivedAt === undefined ? undefined : String(m.firstReceivedAt),
      SequenceNumber: m.sequenceNumber,
      MessageDeduplicationId: m.deduplicationId,
      MessageGroupId: m.groupId,
      AWSTraceHeader: trace,
      DeadLetterQueueSourceArn: m.deadLetterSourceArn,
    };
    for (const name of SYSTEM_ATTRIBUTES) {
      const v = values[name];
      if (v !== undefined && (all || names.includes(name))) out[name] = v;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }

  /** DeleteMessage and DeleteMessageBatch: per handle, success or the error SQS gives. */
  async delete(queue: Queue, handles: readonly unknown[]): Promise<Array<EntryOutcome<true>>> {
    const now = this.#now();
    const decoded = handles.map((h) => this.decode(queue, h));
    const refs = decoded.flatMap((d) => ("ok" in d ? [d.ok] : []));
    this.#attempts.forgetMessages(
      keyOf(queue),
      refs.map((r) => r.seq),
    );
    const outcomes = refs.length === 0 ? [] : await this.store.deleteMessages(queue, refs, now);
    let next = 0;
    const result = decoded.map((d, i): EntryOutcome<true> => {
      if ("error" in d) return d;
      const outcome = outcomes[next++];
      if (outcome === "expired") {
        return { error: invalidValue("ReceiptHandle", handles[i], "The receipt handle has expired.") };
      }
      return { ok: true };
    });
    const roomMade = this.#inFlight.released(keyOf(queue), outcomes.filter((o) => o === "deleted").length);
    // A FIFO delete may free its message's group; a delete at the quota of messages in flight makes room.
    if ((queue.fifo && outcomes.includes("deleted")) || roomMade) this.waiters.notify(keyOf(queue));
    return result;
  }

  /**
   * ChangeMessageVisibility(Batch): per entry, success or the error SQS gives. A handle whose message is
   * no longer in flight under it tells its consumer that it lost the message: MessageNotInflight when
   * the message is visible again, InvalidParameterValue when it was deleted or another receive took it
   * (a FIFO queue: "The receipt handle has expired." for both).
   * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
   */
  async changeVisibility(
    queue: Queue,
    entries: ReadonlyArray<{ readonly handle: unknown; readonly timeout: unknown }>,
  ): Promise<Array<EntryOutcome<true>>> {
    const now = this.#now();
    const decoded = entries.map(
      (e): EntryOutcome<{ seq: number; receiveCount: number; visibleUntil: number }> => {
        const d = this.decode(queue, e.handle);
        if ("error" in d) return d;
        const t = e.timeout;
        if (t === undefined || t === null)
          return {
            error: new QueueError(
              "MissingParameter",
              "The request must contain the parameter VisibilityTimeout.",
            ),
          };
        // A member of the wrong JSON type fails the request, as DelaySeconds: "2" does.
        if (typeof t !== "number")
          throw new QueueError("MalformedInput", "VisibilityTimeout must be an integer.");
        if (!Number.isInteger(t)) {
          return { error: invalidValue("VisibilityTimeout", t, "Must be an integer.") };
        }
        if (t < 0 || t > 43_200) {
          return { error: invalidValue("VisibilityTimeout", t, "Must be between 0 and 43200.") };
        }
        return { ok: { seq: d.ok.seq, receiveCount: d.ok.receiveCount, visibleUntil: now + t * 1000 } };
      },
    );
    const changes = decoded.flatMap((d) => ("ok" in d ? [d.ok] : []));
    this.#attempts.forgetMessages(
      keyOf(queue),
      changes.map((c) => c.seq),
    );
    const outcomes =
      changes.length === 0 ? [] : await this.store.changeVisibility(queue, changes, now, MAX_IN_FLIGHT_MS);
    let next = 0;
    let released = 0;
    const result = decoded.map((d, i): EntryOutcome<true> => {
      if ("error" in d) return d;
      const outcome = outcomes[next++];
      const handle = entries[i]?.handle;
      switch (outcome) {
        case "gone":
        case "stale":
          return {
            error: invalidValue(
              "ReceiptHandle",
              handle,
              "Message does not exist or is not available for visibility timeout change.",
            ),
          };
        case "not-in-flight":
          return {
            error: new QueueError(
              "AWS.SimpleQueueService.MessageNotInflight",
              "The specified message isn't in flight.",
            ),
          };
        case "expired":
          return { error: invalidValue("ReceiptHandle", handle, "The receipt handle has expired.") };
        case "limit":
          return {
            error: invalidValue(
              "VisibilityTimeout",
              entries[i]?.timeout,
              "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]",
            ),
          };
        default:
          if (outcome === "changed" && d.ok.visibleUntil <= now) released++;
          return { ok: true };
      }
    });
    if (released > 0) {
      this.#inFlight.released(keyOf(queue), released);
      this.waiters.notify(keyOf(queue));
    }
    return result;
  }

  private decode(queue: Queue, handle: unknown): EntryOutcome<{ seq: number; receiveCount: number }> {
    if (handle === undefined || handle === null || handle === "") {
      return {
        error: new QueueError("MissingParameter", "The request must contain the parameter ReceiptHandle."),
      };
    }
    if (typeof handle !== "string")
      return { error: new QueueError("MalformedInput", "ReceiptHandle must be a string.") };
    try {
      const r = this.#receipts.decode(queue, handle);
      return { ok: { seq: r.seq, receiveCount: r.receiveCount } };
    } catch (e) {
      if (e instanceof QueueError) return { error: e };
      throw e;
    }
  }

  /**
   * Finishes the deletion of retired queues (retireQueue), then deletes messages past their retention,
   * and FIFO deduplication records past their window, a step
   * of {@link SWEEP_SCAN_LIMIT} per store call (other calls run between them); returns how many
   * messages. FIFO receive attempts past their interval are forgotten too.
   */
  async sweep(): Promise<number> {
    await this.deleteRetiredQueues();
    const now = this.#now();
    this.#attempts.forgetExpired(now);
    const deleted = await sweepInSteps((cursor) =>
      this.store.sweepExpiredMessages(now, SWEEP_SCAN_LIMIT, cursor),
    );
    await sweepInSteps((cursor) => this.store.sweepExpiredDeduplication(now, SWEEP_SCAN_LIMIT, cursor));
    return deleted;
  }

  /** Wakes waiting receives of a queue (after messages were moved onto it). */
  notify(ref: QueueRef): void {
    this.waiters.notify(keyOf(ref));
  }

  /** Wakes every waiting receive (messages moved to queues named message by message). */
  notifyAll(): void {
    this.waiters.notifyAll();
  }

  /** Ends every long poll (the node is stopping). */
  close(): void {
    this.waiters.close();
  }
}

/**
 * Up to `maxResults` (default 1000) queues from store pages of at most 100; a `nextToken` only when
 * `maxResults` was given and more follow, as SQS pages ListQueues and ListDeadLetterSourceQueues.
 */
async function collectPages(
  maxResults: number | undefined,
  nextToken: string | undefined,
  page: (options: ListOptions) => Promise<Page<Queue>>,
): Promise<{ queues: readonly Queue[]; nextToken?: string }> {
  const limit = maxResults ?? 1000;
  const queues: Queue[] = [];
  let token = nextToken;
  while (queues.length < limit) {
    const p = await page({
      ...(token !== undefined && { nextToken: token }),
      limit: Math.min(100, limit - queues.length),
    });
    queues.push(...p.items);
    token = p.nextToken;
    if (token === undefined) break;
  }
  return { queues, ...(maxResults !== undefined && token !== undefined && { nextToken: token }) };
}

/**
 * Whether two queue ARNs name the same queue: the same region, account and name, in whatever partition
 * (Busbar serves one, and reads every ARN it is given by region, account and name).
 */
function sameQueue(a: string, b: string): boolean {
  const x = parseQueueArn(a);
  const y = parseQueueArn(b);
  return (
    x !== undefined &&
    y !== undefined &&
    x.region === y.region &&
    x.accountId === y.accountId &&
    x.name === y.name
  );
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function removeEmpty(attributes: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== ""));
}

/**
 * What a tag key or value may hold: Unicode letters, digits and spaces, and `_ . : / = + - @` (the
 * pattern AWS's tagging APIs give tag keys and values).
 */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
/** The prefix AWS reserves for its own tags, in any case. */
const RESERVED_TAG_PREFIX = /^aws:/i;

/**
 * SQS's tag restrictions: keys of 1–128 characters, values up to 256, both of {@link TAG_TEXT} and
 * neither starting with the reserved prefix `aws:`; at most {@link MAX_TAGS} tags.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html
 */
function checkTags(tags: readonly Tag[]): void {
  if (tags.length > MAX_TAGS) {
    throw new QueueError("InvalidParameterValue", `Too many tags: at most ${MAX_TAGS}.`);
  }
  for (const { key, value } of tags) {
    if (key.length < 1 || key.length > 128)
      throw invalidValue("Tags", key, "Tag keys must be 1 to 128 characters.");
    if (value.length > 256) throw invalidValue("Tags", value, "Tag values must be at most 256 characters.");
    for (const [what, text] of [
      ["key", key],
      ["value", value],
    ] as const) {
      if (!TAG_TEXT.test(text)) {
        throw invalidValue(
          "Tags",
          text,
          `Tag ${what}s may contain only Unicode letters, digits, whitespace and _ . : / = + - @ (tag ${JSON.stringify(key)}).`,
        );
      }
      if (RESERVED_TAG_PREFIX.test(text)) {
        throw invalidValue(
          "Tags",
          text,
          `Tag ${what}s must not start with the reserved prefix aws: (tag ${JSON.stringify(key)}).`,
        );
      }
    }
  }
}
