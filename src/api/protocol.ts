/**
 * The AWS JSON 1.1 protocol of the EventBridge API: `POST /` with `X-Amz-Target: AWSEvents.<Op>`,
 * a JSON body, and JSON responses; errors as `{"__type", "message"}` with their HTTP status and the
 * `x-amzn-ErrorType` header. Every request is authenticated (SigV4) before its body is read as input.
 * @see https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
 */
import { isUtf8 } from "node:buffer";
import { randomUUID } from "node:crypto";
import { ApiError, isAwsShaped, isRefusal } from "./errors.js";
import type { Input } from "./input.js";
import type { OperationContext } from "./events/context.js";

/** A request as the HTTP layer hands it over. */
export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** Whether the client went away before its reply was written (a long poll then takes nothing). */
  readonly client?: ClientPresence;
}

/**
 * The client of a request: `signal()` is aborted when it goes away before its reply is written. The
 * signal is made on the first call: an AbortController per request cost ~15 µs of CPU per queue
 * message (bench:queue), and only a long poll about to wait needs one.
 */
export interface ClientPresence {
  signal(): AbortSignal;
}

/** A {@link ClientPresence} whose client is gone when {@link LazyAbort.abort} is called. */
export class LazyAbort implements ClientPresence {
  #controller: AbortController | undefined;
  #aborted = false;

  signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  abort(): void {
    this.#aborted = true;
    this.#controller?.abort();
  }
}

/** A response to write. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Operations by name, run in a context `C`: the node's {@link OperationContext}, or on a front thread
 * a stub context whose operations run on the main thread.
 */
export type OperationTable<C = OperationContext> = Readonly<
  Record<string, (ctx: C, input: Input) => Promise<Record<string, unknown>>>
>;

/** What the protocol needs from the server: authentication and the operation context it yields. */
export interface ProtocolDependencies<C = OperationContext> {
  /** Authenticates the request (throws an AWS-shaped error) and returns the context to run operations in. */
  readonly authenticate: (request: RawRequest) => Promise<C>;
  /**
   * Reports an unexpected failure (the client only sees InternalException), or a shaped one of the
   * server's own (5xx, such as the store's), with the id of the request it answered.
   */
  readonly onInternalError: (error: unknown, operation: string, requestId: string) => void;
}

/** The service prefix of the EventBridge API in `X-Amz-Target`. */
export const EVENTS_TARGET_PREFIX = "AWSEvents.";
const CONTENT_TYPE = "application/x-amz-json-1.1";
/** The paths served to GET and HEAD beside the API (health, readiness, metrics), named when asked otherwise. */
const PROBES = new Set(["/healthz", "/readyz", "/metrics"]);

/** A request header's (first) value. */
export function header(request: RawRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The media type of the request's Content-Type, lower case, without parameters (`""` when absent). */
export function mediaType(request: RawRequest): string {
  return (header(request, "content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

function respond(status: number, body: unknown, requestId: string, errorType?: string): RawResponse {
  return {
    status,
    headers: {
      "content-type": CONTENT_TYPE,
      "x-amzn-requestid": requestId,
      ...(errorType !== undefined && { "x-amzn-errortype": errorType }),
    },
    body: JSON.stringify(body),
  };
}

/** Serves one AWS JSON 1.1 request against a table of operations. */
export async function serveAwsJson<C = OperationContext>(
  request: RawRequest,
  operations: OperationTable<C>,
  deps: ProtocolDependencies<C>,
): Promise<RawResponse> {
  const requestId = randomUUID();
  const target = header(request, "x-amz-target") ?? "";
  const operationName = target.startsWith(EVENTS_TARGET_PREFIX)
    ? target.slice(EVENTS_TARGET_PREFIX.length)
    : "";
  try {
    if (request.method !== "POST" || request.path !== "/") {
      throw new ApiError(
        "UnknownOperationException",
        `The API is served by POST / (got ${request.method} ${request.path})${PROBES.has(request.path) ? `; ${request.path} answers GET and HEAD` : ""}.`,
      );
    }
    const contentType = mediaType(request);
    if (contentType !== CONTENT_TYPE && contentType !== "application/json") {
      throw new ApiError(
        "UnsupportedMediaTypeException",
        `Content-Type must be ${CONTENT_TYPE}, got "${contentType}".`,
      );
    }
    const ctx = await deps.authenticate(request);
    const operation = Object.hasOwn(operations, operationName) ? operations[operationName] : undefined;
    if (operation === undefined) {
      throw new ApiError(
        "UnknownOperationException",
        `Unknown operation ${target === "" ? "(no X-Amz-Target header)" : target}.`,
      );
    }
    const output = await operation(
      ctx,
      parseJsonBody(request.body, (message) => new ApiError("SerializationException", message)),
    );
    return respond(200, output, requestId);
  } catch (e) {
    if (e instanceof ApiError || isAwsShaped(e)) {
      // The server's own failures (the store's, say) are answered in shape, and logged all the same;
      // a refusal it chose (503: low on disk) is not a failure, and is logged where it was chosen.
      if (e.httpStatus >= 500 && !isRefusal(e)) deps.onInternalError(e, operationName, requestId);
      return respond(e.httpStatus, { __type: e.awsType, message: e.message }, requestId, e.awsType);
    }
    deps.onInternalError(e, operationName, requestId);
    const internal = new ApiError(
      "InternalException",
      "An internal error occurred; the request id identifies it in the server log.",
    );
    return respond(internal.httpStatus, internal.toJSON(), requestId, internal.awsType);
  }
}

/** The deepest nesting of objects and arrays a request may have: no operation's input comes near it. */
export const MAX_INPUT_DEPTH = 64;

/** The error message for a request nested deeper than {@link MAX_INPUT_DEPTH}. */
export const TOO_DEEP = `The request nests objects or arrays more than ${MAX_INPUT_DEPTH} levels deep.`;

/**
 * Bodies up to this size are parsed without looking at their depth first. `JSON.parse` takes about
 * 0.5 µs a level of nesting (against ~1 µs a KB of ordinary JSON), so 64 KiB of brackets costs ~15 ms
 * at worst, where the 4 MiB a request may have cost seconds of the thread that serves everyone. The
 * scan costs ~1 µs a KB, which requests of this size or smaller (all of a benchmark's) do not pay.
 */
const DEPTH_SCAN_BYTES = 64 * 1024;

/**
 * Whether the JSON text in `body` nests objects or arrays deeper than `max` (brackets in strings do not
 * count). Strings, most of a large body, are skipped with the native `indexOf` from quote to quote.
 */
export function jsonNestedDeeperThan(body: Buffer, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === 0x22) {
      // To the closing quote: the first one not escaped (after an even run of backslashes).
      for (;;) {
        const end = body.indexOf(0x22, i + 1);
        if (end === -1) return false; // unterminated: JSON.parse refuses it
        let slashes = 0;
        while (body[end - 1 - slashes] === 0x5c) slashes++;
        i = end;
        if (slashes % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * A request body as operation input: a JSON object (an empty body is `{}`). Anything else throws
 * `fail(message)`, the protocol's own error; so does a large body nested deeper than
 * {@link MAX_INPUT_DEPTH}, before it is parsed.
 */
export function parseJsonBody(body: Buffer, fail: (message: string) => Error): Input {
  if (body.length === 0) return {};
  if (body.length > DEPTH_SCAN_BYTES && jsonNestedDeeperThan(body, MAX_INPUT_DEPTH)) throw fail(TOO_DEEP);
  // Decoding would replace malformed bytes with U+FFFD: a message body or event detail stored
  // different from what was sent, and digests of text the client never had.
  if (!isUtf8(body)) throw fail("The request body is not valid UTF-8.");
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw fail(`The request body is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw fail("The request body must be a JSON object.");
  }
  return value as Input;
}
