/**
 * The SQS query protocol, which SDKs older than late 2023 and the AWS CLI 2.9 of Debian 12 speak:
 * `POST` of `application/x-www-form-urlencoded` parameters (`Action=SendMessage&QueueUrl=…`, lists and
 * maps flattened as `Attribute.1.Name`, `MessageAttribute.1.Value.StringValue`, …), XML replies
 * (`<SendMessageResponse><SendMessageResult>…`) and XML errors (`<ErrorResponse><Error><Code>…`).
 * Requests are translated to the JSON protocol's input and answered from its output, so both protocols
 * run the same operations.
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-responses.html
 */
import { isUtf8 } from "node:buffer";
import { QueueError } from "../../queues/errors/index.js";
import type { Input } from "../input.js";

/** The XML namespace of SQS replies. */
const NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/";

/** Query parameters that are numbers in the JSON input. */
const NUMBERS = new Set([
  "DelaySeconds",
  "MaxNumberOfMessages",
  "VisibilityTimeout",
  "WaitTimeSeconds",
  "MaxResults",
  "MaxNumberOfMessagesPerSecond",
]);

/** Flattened list names of the query protocol → JSON member names. */
const LISTS: Readonly<Record<string, string>> = {
  AttributeName: "AttributeNames",
  MessageAttributeName: "MessageAttributeNames",
  MessageSystemAttributeName: "MessageSystemAttributeNames",
  TagKey: "TagKeys",
  AWSAccountId: "AWSAccountIds",
  ActionName: "Actions",
  SendMessageBatchRequestEntry: "Entries",
  DeleteMessageBatchRequestEntry: "Entries",
  ChangeMessageVisibilityBatchRequestEntry: "Entries",
};

type Tree = { [key: string]: Tree | string };

/**
 * The most dotted parts a parameter name may have. SQS's deepest is 6
 * (`SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue`); names are read before the
 * request is authenticated, and each part is a level of nesting to translate.
 */
const MAX_NAME_PARTS = 16;

/**
 * Nests `A.1.B=x` parameters into `{A: {"1": {B: "x"}}}`. The nodes have no prototype: a parameter
 * named `__proto__.x` is a key like any other, not a way to reach (and change) Object.prototype.
 */
function nest(params: URLSearchParams): Tree {
  const root = Object.create(null) as Tree;
  for (const [key, value] of params) {
    const parts = key.split(".");
    if (parts.length > MAX_NAME_PARTS) {
      throw new QueueError(
        "MalformedInput",
        `The parameter ${key.slice(0, 64)}… has ${parts.length} dotted parts; at most ${MAX_NAME_PARTS} are allowed.`,
      );
    }
    let node = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        node[part] = value;
        return;
      }
      const next = node[part];
      if (next === undefined || typeof next === "string") node[part] = Object.create(null) as Tree;
      node = node[part] as Tree;
    });
  }
  return root;
}

/** Sets an own property, whatever its name (assigning `__proto__` would set the prototype instead). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** JSON member names of lists: a client may name an empty list by them (`AttributeNames=`). */
const LIST_MEMBERS: ReadonlySet<string> = new Set(Object.values(LISTS));

/**
 * The elements of a flattened list (`{"1": …, "2": …}`), in index order. The query protocol writes an
 * empty list as the bare name with an empty value (`AttributeName=`): no elements.
 */
function items(tree: Tree | string): Array<Tree | string> {
  if (tree === "") return [];
  if (typeof tree === "string") return [tree];
  return Object.keys(tree)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => tree[k] as Tree | string);
}

const text = (v: Tree | string | undefined): string | undefined => (typeof v === "string" ? v : undefined);

/** Translates one level of query parameters to JSON input. */
function translate(tree: Tree): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tree)) {
    if (key === "Action" || key === "Version") continue;
    if (key === "Attribute") {
      // CreateQueue/SetQueueAttributes: Attribute.N.Name / Attribute.N.Value
      out.Attributes = Object.fromEntries(
        items(value).flatMap((e) =>
          typeof e === "string" ? [] : [[text(e.Name) ?? "", text(e.Value) ?? ""]],
        ),
      );
    } else if (key === "Tag") {
      out.Tags = Object.fromEntries(
        items(value).flatMap((e) =>
          typeof e === "string" ? [] : [[text(e.Key) ?? "", text(e.Value) ?? ""]],
        ),
      );
    } else if (key === "MessageAttribute" || key === "MessageSystemAttribute") {
      out[`${key}s`] = Object.fromEntries(
        items(value).flatMap((e) => {
          if (typeof e === "string") return [];
          const v = typeof e.Value === "object" ? e.Value : {};
          return [
            [
              text(e.Name) ?? "",
              {
                ...(text(v.DataType) !== undefined && { DataType: text(v.DataType) }),
                ...(text(v.StringValue) !== undefined && { StringValue: text(v.StringValue) }),
                ...(text(v.BinaryValue) !== undefined && { BinaryValue: text(v.BinaryValue) }),
                // Lists (`StringListValue.N`), which SQS does not support, are refused by name.
                ...(v.StringListValue !== undefined && { StringListValues: items(v.StringListValue) }),
                ...(v.BinaryListValue !== undefined && { BinaryListValues: items(v.BinaryListValue) }),
              },
            ],
          ];
        }),
      );
    } else if (Object.hasOwn(LISTS, key)) {
      setOwn(
        out,
        LISTS[key] as string,
        items(value).map((e) => (typeof e === "string" ? e : translate(e))),
      );
    } else if (value === "" && LIST_MEMBERS.has(key)) {
      // botocore writes an empty list under its member name (`AttributeNames=`, `Entries=`).
      setOwn(out, key, []);
    } else if (typeof value === "string") {
      setOwn(out, key, NUMBERS.has(key) && /^-?\d+$/.test(value) ? Number(value) : value);
    } else {
      setOwn(out, key, translate(value));
    }
  }
  return out;
}

/**
 * Reads a query-protocol request: its Action and the JSON input it stands for. A queue URL given as
 * the request path (older SDKs post to the queue's URL) fills in a missing QueueUrl.
 */
export function parseQueryRequest(
  body: string,
  pathUrl: string | undefined,
): { action: string; input: Input } {
  // URLSearchParams would decode escapes that are not UTF-8 (`%FF`) to U+FFFD: a body stored altered.
  if (!escapesAreUtf8(body)) {
    throw new QueueError("MalformedInput", "The request's parameters are not valid UTF-8 once decoded.");
  }
  const params = new URLSearchParams(body);
  const action = params.get("Action");
  if (action === null || action === "") {
    throw new QueueError("MissingParameter", "The request must contain the parameter Action.");
  }
  const input = translate(nest(params));
  // CreateQueue calls its tags `tags` in the JSON protocol.
  if (action === "CreateQueue" && input.Tags !== undefined) {
    input.tags = input.Tags;
    delete input.Tags;
  }
  if (input.QueueUrl === undefined && pathUrl !== undefined) input.QueueUrl = pathUrl;
  return { action, input };
}

/** Whether the text's %-escapes, read as bytes beside its other characters, make valid UTF-8. */
function escapesAreUtf8(text: string): boolean {
  if (!/%[89a-fA-F][0-9a-fA-F]/.test(text)) return true; // only escapes of ASCII
  const parts = text.split(/(%[0-9a-fA-F]{2})/); // the escapes at odd indexes
  const bytes = parts.map((part, i) =>
    i % 2 === 1 ? Buffer.from([parseInt(part.slice(1), 16)]) : Buffer.from(part),
  );
  return isUtf8(Buffer.concat(bytes));
}

/**
 * Characters XML 1.0 cannot carry, not even as references: the controls but tab, line feed and
 * carriage return, and U+FFFE and U+FFFF (lone surrogates cannot be written in UTF-8 at all).
 * @see https://www.w3.org/TR/xml/#charsets
 */
// eslint-disable-next-line no-control-regex -- the controls XML forbids are what this matches
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/**
 * Escapes text for XML (carriage returns as a reference, so that parsers keep them), with what XML
 * cannot carry as U+FFFD: an error message may echo any input, and a reply no client can parse
 * would hide the error (stored values are checked as they are set).
 */
function escape(v: string): string {
  return v
    .replace(NOT_XML, "\uFFFD")
    .replace(/[&<>"'\r]/g, (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
          ? "&lt;"
          : c === ">"
            ? "&gt;"
            : c === '"'
              ? "&quot;"
              : c === "'"
                ? "&apos;"
                : "&#xD;",
    );
}

/** `<name>value</name>` for a scalar (strings, numbers, booleans); nothing when absent. */
const element = (name: string, value: string | number | boolean | undefined | null): string =>
  value === undefined || value === null ? "" : `<${name}>${escape(String(value))}</${name}>`;

const nameValue = (tag: string, map: unknown, key = "Name"): string =>
  Object.entries((map ?? {}) as Record<string, string>)
    .map(([k, v]) => `<${tag}>${element(key, k)}${element("Value", v)}</${tag}>`)
    .join("");

function messageAttributes(map: unknown, tag: string): string {
  return Object.entries(
    (map ?? {}) as Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>,
  )
    .map(
      ([name, a]) =>
        `<${tag}>${element("Name", name)}<Value>${element("StringValue", a.StringValue)}${element("BinaryValue", a.BinaryValue)}${element("DataType", a.DataType)}</Value></${tag}>`,
    )
    .join("");
}

/** Plain members of a result, in the order given, skipping structured ones. */
function scalars(output: Record<string, unknown>, names: readonly string[]): string {
  return names.map((n) => element(n, output[n] as string | number | boolean | undefined)).join("");
}

const SENT = [
  "Id",
  "MessageId",
  "MD5OfMessageBody",
  "MD5OfMessageAttributes",
  "MD5OfMessageSystemAttributes",
  "SequenceNumber",
];

function failed(output: Record<string, unknown>): string {
  return ((output.Failed ?? []) as Array<Record<string, unknown>>)
    .map(
      (f) =>
        `<BatchResultErrorEntry>${scalars(f, ["Id", "SenderFault", "Code", "Message"])}</BatchResultErrorEntry>`,
    )
    .join("");
}

/** The body of the `<Action>Result` element for a JSON output. */
function resultBody(action: string, output: Record<string, unknown>): string {
  switch (action) {
    case "CreateQueue":
    case "GetQueueUrl":
      return element("QueueUrl", output.QueueUrl as string | undefined);
    case "ListQueues":
    case "ListDeadLetterSourceQueues":
      return (
        ((output.QueueUrls ?? output.queueUrls ?? []) as string[])
          .map((u) => element("QueueUrl", u))
          .join("") + element("NextToken", output.NextToken as string | undefined)
      );
    case "GetQueueAttributes":
      return nameValue("Attribute", output.Attributes);
    case "ListQueueTags":
      return nameValue("Tag", output.Tags, "Key");
    case "SendMessage":
      return scalars(output, SENT.slice(1));
    case "SendMessageBatch":
      return (
        ((output.Successful ?? []) as Array<Record<string, unknown>>)
          .map((s) => `<SendMessageBatchResultEntry>${scalars(s, SENT)}</SendMessageBatchResultEntry>`)
          .join("") + failed(output)
      );
    case "DeleteMessageBatch":
    case "ChangeMessageVisibilityBatch":
      return (
        ((output.Successful ?? []) as Array<Record<string, unknown>>)
          .map((s) => `<${action}ResultEntry>${element("Id", s.Id as string)}</${action}ResultEntry>`)
          .join("") + failed(output)
      );
    case "ReceiveMessage":
      return ((output.Messages ?? []) as Array<Record<string, unknown>>)
        .map(
          (m) =>
            `<Message>${scalars(m, ["MessageId", "ReceiptHandle", "MD5OfBody", "Body"])}${nameValue("Attribute", m.Attributes)}${element("MD5OfMessageAttributes", m.MD5OfMessageAttributes as string | undefined)}${messageAttributes(m.MessageAttributes, "MessageAttribute")}</Message>`,
        )
        .join("");
    case "StartMessageMoveTask":
      return element("TaskHandle", output.TaskHandle as string | undefined);
    case "CancelMessageMoveTask":
      return element(
        "ApproximateNumberOfMessagesMoved",
        output.ApproximateNumberOfMessagesMoved as number | undefined,
      );
    case "ListMessageMoveTasks":
      return ((output.Results ?? []) as Array<Record<string, unknown>>)
        .map(
          (r) =>
            `<ListMessageMoveTasksResultEntry>${scalars(r, [
              "TaskHandle",
              "Status",
              "SourceArn",
              "DestinationArn",
              "MaxNumberOfMessagesPerSecond",
              "ApproximateNumberOfMessagesMoved",
              "ApproximateNumberOfMessagesToMove",
              "FailureReason",
              "StartedTimestamp",
            ])}</ListMessageMoveTasksResultEntry>`,
        )
        .join("");
    default:
      return "";
  }
}

/**
 * The actions whose reply has no `<Action>Result` element (their output shape is empty). Every other
 * reply has one, empty or not: the SDKs read an empty receive or listing from `<…Result/>`, and fail
 * without it.
 */
const NO_RESULT: ReadonlySet<string> = new Set([
  "AddPermission",
  "ChangeMessageVisibility",
  "DeleteMessage",
  "DeleteQueue",
  "PurgeQueue",
  "RemovePermission",
  "SetQueueAttributes",
  "TagQueue",
  "UntagQueue",
]);

/** The XML reply of an action. */
export function queryResponseBody(
  action: string,
  output: Record<string, unknown>,
  requestId: string,
): string {
  const withResult = NO_RESULT.has(action)
    ? ""
    : `<${action}Result>${resultBody(action, output)}</${action}Result>`;
  return (
    `<?xml version="1.0"?><${action}Response xmlns="${NAMESPACE}">${withResult}` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`
  );
}

/** The XML error reply. */
export function queryErrorBody(e: QueueError, requestId: string): string {
  return (
    `<?xml version="1.0"?><ErrorResponse xmlns="${NAMESPACE}"><Error>` +
    `<Type>${e.httpStatus >= 500 ? "Receiver" : "Sender"}</Type>${element("Code", e.code)}${element("Message", e.message)}<Detail/>` +
    `</Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
