/**
 * AddPermission and RemovePermission: the statements SQS writes into a queue's `Policy` for them.
 * AddPermission appends `{Sid: <Label>, Effect: "Allow", Principal: {"AWS": "arn:aws:iam::<account>:root"
 * or a list of them}, Action: "SQS:<name>" or a list, Resource: <queue ARN>}` to the policy (or to a new
 * one, `{"Version": "2012-10-17", "Id": "<queue ARN>/SQSDefaultPolicy", …}`); RemovePermission drops the
 * statement whose Sid is the label, and the policy with it when none is left.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_AddPermission.html
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_RemovePermission.html
 */
import {
  PermissionAlreadyExistsError,
  PermissionNotFoundError,
  removePermission,
  withStatement,
} from "../auth/index.js";
import { MAX_POLICY_BYTES } from "./attributes.js";
import { QueueError, invalidValue, missingParameter } from "./errors/index.js";

/**
 * What a queue's policy cannot grant another account: "Cross-account permissions don't apply to the
 * following actions" (SQS Developer Guide, limitations of custom policies). AddPermission refuses to
 * name them.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-limitations-of-custom-policies.html
 */
export const OWNER_ONLY_ACTIONS: ReadonlySet<string> = new Set([
  "AddPermission",
  "CancelMessageMoveTask",
  "CreateQueue",
  "DeleteQueue",
  "ListMessageMoveTasks",
  "ListQueues",
  "ListQueueTags",
  "RemovePermission",
  "SetQueueAttributes",
  "StartMessageMoveTask",
  "TagQueue",
  "UntagQueue",
]);

/**
 * The actions AddPermission may grant another account, besides `*`. SendMessage, DeleteMessage and
 * ChangeMessageVisibility grant their batch forms too, as in IAM (the batch names are not actions).
 */
export const SHAREABLE_ACTIONS: ReadonlySet<string> = new Set([
  "ChangeMessageVisibility",
  "DeleteMessage",
  "GetQueueAttributes",
  "GetQueueUrl",
  "ListDeadLetterSourceQueues",
  "PurgeQueue",
  "ReceiveMessage",
  "SendMessage",
]);

/** "An Amazon SQS policy can have a maximum of seven actions per statement." */
export const MAX_PERMISSION_ACTIONS = 7;

const LABEL = /^[A-Za-z0-9_-]{1,80}$/;
const ACCOUNT_ID = /^\d{12}$/;

/** AddPermission's parameters, as the request gave them (checked by {@link addQueuePermission}). */
export interface PermissionRequest {
  readonly label: unknown;
  readonly accountIds: readonly string[] | undefined;
  readonly actions: readonly string[] | undefined;
}

/** Checks a Label parameter: 1–80 of A-Z, a-z, 0-9, `-` and `_`. */
export function checkLabel(label: unknown): string {
  if (label === undefined || label === null || label === "") throw missingParameter("Label");
  if (typeof label !== "string") throw new QueueError("MalformedInput", "Label must be a string.");
  if (!LABEL.test(label)) {
    throw invalidValue(
      "Label",
      label,
      "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.",
    );
  }
  return label;
}

/**
 * The QueueError for what editing the stored policy threw: a label taken or not found, or a stored
 * policy that no longer parses (kept from an older Busbar), named.
 */
function policyEditError(e: unknown, label: string): QueueError {
  if (e instanceof PermissionAlreadyExistsError) return invalidValue("Label", label, "Already exists.");
  if (e instanceof PermissionNotFoundError) {
    return invalidValue("Label", label, "can't find label on existing policy.");
  }
  return invalidValue(
    "Policy",
    undefined,
    `The queue's policy is not valid (${(e as Error).message}); set a valid one with SetQueueAttributes first.`,
  );
}

const oneOrMany = (values: readonly string[]): string | string[] =>
  values.length === 1 ? (values[0] as string) : [...values];

/**
 * The policy after AddPermission: the stored one (or a new one) with the label's statement appended.
 * @throws QueueError: MissingParameter, InvalidParameterValue (a label that is taken or malformed, an
 *   account ID that is not 12 digits, an action that is not one of {@link SHAREABLE_ACTIONS} or `*`),
 *   OverLimit (more than seven actions, or a policy past 8,192 bytes).
 */
export function addQueuePermission(
  policyJson: string | undefined,
  queueArn: string,
  request: PermissionRequest,
): string {
  const label = checkLabel(request.label);
  if (request.accountIds === undefined) throw missingParameter("AWSAccountIds");
  if (request.actions === undefined) throw missingParameter("Actions");
  const accountIds = [...new Set(request.accountIds)];
  if (accountIds.length === 0) {
    throw invalidValue("PrincipalId", "[]", "Unable to verify.");
  }
  for (const id of accountIds) {
    if (!ACCOUNT_ID.test(id)) throw invalidValue("PrincipalId", id, "Unable to verify.");
  }
  const actions = [...new Set(request.actions)];
  if (actions.length === 0) throw missingParameter("Actions");
  if (actions.length > MAX_PERMISSION_ACTIONS) {
    throw new QueueError(
      "OverLimit",
      `${actions.length} Actions were found, maximum allowed is ${MAX_PERMISSION_ACTIONS}.`,
    );
  }
  for (const action of actions) {
    if (action === "*" || SHAREABLE_ACTIONS.has(action)) continue;
    throw invalidValue(
      "ActionName",
      `SQS:${action}`,
      OWNER_ONLY_ACTIONS.has(action)
        ? "Only the queue owner is allowed to invoke this action."
        : `Please refer to the appropriate WSDL for a list of valid actions (${[...SHAREABLE_ACTIONS].join(", ")} or *).`,
    );
  }
  const statement = {
    Sid: label,
    Effect: "Allow",
    Principal: { AWS: oneOrMany(accountIds.map((id) => `arn:aws:iam::${id}:root`)) },
    Action: oneOrMany(actions.map((a) => `SQS:${a}`)),
    Resource: queueArn,
  };
  let result: string;
  try {
    result = withStatement(policyJson, label, statement, {
      Version: "2012-10-17",
      Id: `${queueArn}/SQSDefaultPolicy`,
    });
  } catch (e) {
    throw policyEditError(e, label);
  }
  const bytes = Buffer.byteLength(result);
  if (bytes > MAX_POLICY_BYTES) {
    throw new QueueError(
      "OverLimit",
      `The queue's policy would be ${bytes} bytes with this permission; at most ${MAX_POLICY_BYTES} are allowed.`,
    );
  }
  return result;
}

/**
 * The policy after RemovePermission: the stored one without the statement whose Sid is `label`, or
 * undefined when no statement is left.
 * @throws QueueError: MissingParameter, InvalidParameterValue when no statement has that Sid.
 */
export function removeQueuePermission(
  policyJson: string | undefined,
  labelGiven: unknown,
): string | undefined {
  const label = checkLabel(labelGiven);
  try {
    return removePermission(policyJson, label);
  } catch (e) {
    throw policyEditError(e, label);
  }
}
