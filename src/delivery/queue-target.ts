/**
 * Queue targets and dead-letter queues: events sent to Busbar's SQS-compatible queues through the
 * queue service, so that they get every check and digest a SendMessage gets.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
 */
import { evaluateResourcePolicy, policyAdmits } from "../auth/index.js";
import { QueueError, parseQueueArn, type QueueService } from "../queues/index.js";
import { sqsBody, sqsText } from "./sqs-text.js";
import { DeliveryError, heldWhileLow, type Invocation, type TargetInvoker } from "./types.js";

/** EventBridge's SenderId for the messages it sends (what SQS records as the sender). */
const SENDER_ID = "AIDAEVENTBRIDGEBUSBAR";

/** The principal EventBridge writes to queues as, which a queue policy names to let rules send. */
const EVENTS_SERVICE_PRINCIPAL = "events.amazonaws.com";

/** Who a message is sent for: a rule, and the account that owns it. */
export interface QueueSender {
  readonly accountId: string;
  readonly ruleArn: string;
}

/** Sends one message to a queue on behalf of a rule, or throws a {@link DeliveryError}. */
async function sendToQueue(
  queues: QueueService,
  queueArn: string,
  sender: QueueSender,
  entry: Readonly<Record<string, unknown>>,
): Promise<void> {
  const { accountId, ruleArn } = sender;
  const ref = parseQueueArn(queueArn);
  if (ref === undefined)
    throw new DeliveryError("INVALID_PARAMETER", `${queueArn} is not a queue ARN.`, { retryable: false });
  const queue = await queues.findQueue(ref);
  const foreign = ref.accountId !== accountId;
  const denied = (): DeliveryError =>
    new DeliveryError(
      "NO_PERMISSIONS",
      `The policy of queue ${queueArn} does not allow rule ${ruleArn} of account ${accountId} to send messages to it.`,
      { retryable: false },
    );
  // A queue of the same name in this node's region is not the queue of another region (or partition).
  // Another account's that does not exist reads as one that does not allow the rule: whether it
  // exists is its owner's to tell.
  if (queue === undefined || queue.arn !== queueArn) {
    if (foreign) throw denied();
    throw new DeliveryError("NO_RESOURCE", `Queue ${queueArn} does not exist.`, { retryable: false });
  }
  // Across accounts, the queue's policy must let the rule send: by its account, or by the grant
  // EventBridge's guide prescribes, to the service principal for the rule (aws:SourceArn). In the
  // queue's own account, only a Deny of it that matches the rule stops it.
  const decision = evaluateResourcePolicy(queue.attributes.Policy, {
    principalAccountId: accountId,
    principalService: EVENTS_SERVICE_PRINCIPAL,
    sourceArn: ruleArn,
    sourceAccount: accountId,
    action: "sqs:SendMessage",
    resource: queue.arn,
  });
  if (!policyAdmits(decision, queue.accountId === accountId)) throw denied();
  let outcome;
  try {
    [outcome] = await queues.send(queue, [entry], { accountId, senderId: SENDER_ID });
  } catch (e) {
    if (e instanceof QueueError) throw queueFailure(e, queueArn, foreign ? denied : undefined);
    throw new DeliveryError("SDK_CLIENT_ERROR", `Sending to ${queueArn} failed: ${(e as Error).message}`, {
      retryable: true,
      ...heldWhileLow(e),
      cause: e,
    });
  }
  if (outcome !== undefined && "error" in outcome)
    throw queueFailure(outcome.error, queueArn, foreign ? denied : undefined);
}

/** The failure of a send the queue refused; `denied`, for another account's queue gone meanwhile. */
function queueFailure(e: QueueError, queueArn: string, denied?: () => DeliveryError): DeliveryError {
  const missing = e.code === "AWS.SimpleQueueService.NonExistentQueue";
  if (missing && denied !== undefined) return denied();
  return new DeliveryError(missing ? "NO_RESOURCE" : "INVALID_PARAMETER", `${queueArn}: ${e.message}`, {
    retryable: false,
    cause: e,
  });
}

/** Delivers to SQS-compatible queues (`arn:aws:sqs:<region>:<account>:<name>`). */
export class QueueTargetInvoker implements TargetInvoker {
  constructor(private readonly queues: QueueService) {}

  async invoke(invocation: Invocation): Promise<void> {
    const { target, payload, accountId, ruleArn, deliveryId } = invocation;
    const sqs = target.spec.SqsParameters as Readonly<Record<string, unknown>> | undefined;
    const groupId = sqs?.MessageGroupId;
    const fifo = target.arn.endsWith(".fifo");
    if (fifo && typeof groupId !== "string")
      throw new DeliveryError(
        "INVALID_PARAMETER",
        `Target ${target.id} is a FIFO queue and needs SqsParameters.MessageGroupId.`,
        { retryable: false },
      );
    await sendToQueue(
      this.queues,
      target.arn,
      { accountId, ruleArn },
      {
        // An event's JSON may hold characters SQS refuses (U+FFFE in a string): escaped, not lost.
        MessageBody: sqsBody(payload),
        // A standard queue takes a MessageGroupId too (SQS's fair queues), as EventBridge sends it.
        ...(typeof groupId === "string" && { MessageGroupId: groupId }),
        // FIFO: the delivery id (one per event and target, the same on every retry) deduplicates the
        // retries of this delivery within 5 minutes; the event id would also drop another target's
        // message of the same event (two targets, or two rules, on one FIFO queue).
        ...(fifo && { MessageDeduplicationId: deliveryId }),
      },
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Sends undeliverable events to dead-letter queues, with EventBridge's message attributes. */
export class DeadLetters {
  constructor(
    private readonly queues: QueueService,
    /** How a target ARN appears in TARGET_ARN (broker URIs without their credentials). */
    readonly describeTarget: (arn: string) => string,
  ) {}

  /**
   * Sends the event (its envelope, as accepted, with characters SQS refuses escaped: see
   * {@link sqsBody}) to the queue, with the attributes as String message attributes (at most 2048
   * characters each, characters SQS refuses as U+FFFD).
   * @throws {DeliveryError} when the queue is missing, FIFO, not allowed to the account, or the send fails.
   */
  async send(
    queueArn: string,
    sender: QueueSender,
    body: string,
    attributes: Readonly<Record<string, string>>,
  ): Promise<void> {
    if (queueArn.endsWith(".fifo"))
      throw new DeliveryError("INVALID_PARAMETER", "A dead-letter queue must be a standard queue.", {
        retryable: false,
      });
    const MessageAttributes: Record<string, { DataType: string; StringValue: string }> = {};
    for (const [name, value] of Object.entries(attributes)) {
      // SQS refuses empty attribute values (error messages can be empty in principle), and characters
      // outside its set: an error page's controls, or half of a pair the cut at 2048 split. Such a
      // value would cost the event its dead-letter message.
      MessageAttributes[name] = {
        DataType: "String",
        StringValue: value === "" ? "-" : sqsText(value.slice(0, 2048)),
      };
    }
    await sendToQueue(this.queues, queueArn, sender, { MessageBody: sqsBody(body), MessageAttributes });
  }
}
