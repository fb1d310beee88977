/**
 * The AWS JSON 1.0 protocol of the SQS API: `POST` with `X-Amz-Target: AmazonSQS.<Op>`, a JSON body,
 * JSON responses. Errors carry the model's shape in `__type` (`com.amazonaws.sqs#QueueDoesNotExist`)
 * and the query-compatible code in `x-amzn-query-error` (`AWS.SimpleQueueService.NonExistentQueue;Sender`),
 * from which the SDKs name the error. Requests are signed for the `sqs` service. The older query
 * protocol (form-encoded parameters, XML replies) is served too, by translation (query.ts).
 * @see https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html
 */
import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import { AuthError } from "../../auth/index.js";
import { QueueError, storeErrorOf, type SqsErrorCode } from "../../queues/errors/index.js";
import type { Input } from "../input.js";
import {
  header,
  mediaType,
  parseJsonBody,
  type ClientPresence,
  type RawRequest,
  type RawResponse,
} from "../protocol.js";
import type { SqsCaller } from "./context.js";
import { parseQueryRequest, queryErrorBody, queryResponseBody } from "./query.js";

/** The service prefix of the SQS API in `X-Amz-Target`. */
export const SQS_TARGET_PREFIX = "AmazonSQS.";
const CONTENT_TYPE = "application/x-amz-json-1.0";

/** An SQS operation bound to its surroundings: the caller, the base URL queue URLs are built on, the input. */
export type BoundSqsOperation<C> = (
  caller: C,
  baseUrl: string,
  input: Input,
  /** The request's client, for a long poll to stop waiting when it goes away (ReceiveMessage only). */
  client?: ClientPresence,
) => Promise<Record<string, unknown>>;

/** What the SQS protocol needs from the server. */
export interface SqsDependencies<C = SqsCaller> {
  /** Authenticates a request signed for `sqs` (throws an AuthError). */
  readonly authenticate: (request: RawRequest) => Promise<C>;
  /** The operation of a name, or `undefined` when SQS has none of that name. */
  readonly operation: (name: string) => BoundSqsOperation<C> | undefined;
  /** Reports an unexpected failure (the client only sees InternalError). */
  /** Reports an unexpected failure, with the request's id. */
  readonly onInternalError: (error: unknown, operation: string, requestId: string) => void;
}

/** The error response of a QueueError. */
export function sqsErrorResponse(e: QueueError, requestId: string = randomUUID()): RawResponse {
  return {
    status: e.httpStatus,
    headers: {
      "content-type": CONTENT_TYPE,
      "x-amzn-requestid": requestId,
      "x-amzn-query-error": `${e.code};${e.httpStatus >= 500 ? "Receiver" : "Sender"}`,
    },
    body: JSON.stringify({ __type: `com.amazonaws.sqs#${e.shape}`, message: e.message }),
  };
}

/** The error response of a QueueError in the query protocol (XML). */
export function sqsQueryErrorResponse(e: QueueError, requestId: string = randomUUID()): RawResponse {
  return {
    status: e.httpStatus,
    headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
    body: queryErrorBody(e, requestId),
  };
}

/** SQS's words for an authentication or authorization failure. */
export function sqsAuthFailure(e: AuthError): QueueError {
  const codes: Record<string, SqsErrorCode> = {
    MissingAuthenticationTokenException: "MissingAuthenticationToken",
    IncompleteSignatureException: "IncompleteSignature",
    UnrecognizedClientException: "InvalidClientTokenId",
    AccessDeniedException: "AccessDenied",
  };
  let code = codes[e.awsType];
  if (code === undefined) {
    code =
      e.code === "SignatureExpired" || e.code === "SignatureNotYetCurrent"
        ? "RequestExpired"
        : "SignatureDoesNotMatch";
  }
  return new QueueError(code, e.message);
}

/** The base URL the client addressed (queue URLs are built on it). */
function baseUrl(request: RawRequest): string {
  const host = header(request, "host") ?? "localhost";
  const proto = header(request, "x-forwarded-proto") === "https" ? "https" : "http";
  return `${proto}://${host}`;
}

/** Whether a request speaks the SQS query protocol (form-encoded parameters, XML replies). */
export function isSqsQueryRequest(request: RawRequest): boolean {
  return request.method === "POST" && mediaType(request) === "application/x-www-form-urlencoded";
}

/** A request in the query protocol's form sent with another method than POST. */
export function isQueryGet(request: RawRequest): boolean {
  return request.method !== "POST" && /(^|&)Action=/.test(request.query);
}

/** The queue URL a query request was posted to, when its path is `/<account>/<name>`. */
function pathQueueUrl(request: RawRequest): string | undefined {
  return /^\/\d{12}\/[^/]+$/.test(request.path) ? `${baseUrl(request)}${request.path}` : undefined;
}

/**
 * Serves one SQS request, in the JSON protocol (`X-Amz-Target: AmazonSQS.<Op>`) or, for a
 * form-encoded body, the query protocol (see query.ts).
 */
export async function serveSqs<C = SqsCaller>(
  request: RawRequest,
  deps: SqsDependencies<C>,
): Promise<RawResponse> {
  const requestId = randomUUID();
  // The query protocol also comes as GET with the parameters in the URL (`?Action=…`, as boto 2 sends
  // it; the SQS developer guide documents both); other methods are refused, in its XML.
  const query = isSqsQueryRequest(request) || isQueryGet(request);
  const target = header(request, "x-amz-target") ?? "";
  let operationName = target.startsWith(SQS_TARGET_PREFIX) ? target.slice(SQS_TARGET_PREFIX.length) : "";
  try {
    let input: Input;
    const get = query && request.method === "GET";
    if (request.method !== "POST" && !get) {
      throw new QueueError(
        "InvalidAction",
        `The SQS API is served by POST${query ? " and GET" : ""} (got ${request.method}).`,
      );
    }
    if (query) {
      if (!get && !isUtf8(request.body))
        throw new QueueError("MalformedInput", "The request body is not valid UTF-8.");
      const parameters = get ? request.query : request.body.toString("utf8");
      const parsed = parseQueryRequest(parameters, pathQueueUrl(request));
      operationName = parsed.action;
      input = parsed.input;
    } else {
      const contentType = mediaType(request);
      if (contentType !== CONTENT_TYPE && contentType !== "application/json") {
        throw new QueueError(
          "UnsupportedMediaType",
          `Content-Type must be ${CONTENT_TYPE}, got "${contentType}".`,
        );
      }
      input = {};
    }
    let caller: C;
    try {
      caller = await deps.authenticate(request);
    } catch (e) {
      if (e instanceof AuthError) throw sqsAuthFailure(e);
      throw e;
    }
    const operation = deps.operation(operationName);
    if (operation === undefined) {
      throw new QueueError(
        "InvalidAction",
        `The action ${operationName || target || "(none)"} is not valid for this endpoint.`,
      );
    }
    const output = await operation(
      caller,
      baseUrl(request),
      query ? input : parseJsonBody(request.body, (message) => new QueueError("MalformedInput", message)),
      operationName === "ReceiveMessage" ? request.client : undefined,
    );
    if (query) {
      return {
        status: 200,
        headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
        body: queryResponseBody(operationName, output, requestId),
      };
    }
    return {
      status: 200,
      headers: { "content-type": CONTENT_TYPE, "x-amzn-requestid": requestId },
      body: JSON.stringify(output),
    };
  } catch (e) {
    let error: QueueError;
    const fromStore = storeErrorOf(e);
    if (e instanceof QueueError) error = e;
    else if (e instanceof Error && e.name === "DiskLowError" && fromStore !== undefined)
      error = fromStore; // a refusal, logged where chosen
    else {
      deps.onInternalError(e, operationName, requestId);
      error =
        fromStore ??
        new QueueError(
          "InternalError",
          "An internal error occurred; the request id identifies it in the server log.",
        );
    }
    return query ? sqsQueryErrorResponse(error, requestId) : sqsErrorResponse(error, requestId);
  }
}
