/**
 * API destinations: targets whose ARN is `arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>`
 * are called as EventBridge calls them.
 *
 * The request: the destination's method and InvocationEndpoint, each `*` of its path replaced by the
 * next of the target's `HttpParameters.PathParameterValues` (URL-encoded, and `.` or `..` as
 * `%2E` or `%2E%2E`: a value stays inside its segment); the target's
 * HeaderParameters and QueryStringParameters (each of these values that is a JSON path read from the
 * event) merged with the connection's InvocationHttpParameters,
 * the connection's values taking precedence; `Content-Type: application/json; charset=utf-8` unless
 * a parameter sets another; the payload as the body (none for GET and HEAD), with the connection's
 * body parameters added when the payload is a JSON object; the connection's authorization (Basic,
 * API key header, or an OAuth client-credentials Bearer token) last. Host, Content-Length and
 * hop-by-hop headers cannot be set by parameters.
 *
 * https is required, except towards networks listed in BUSBAR_ALLOW_TARGET_NETWORKS (for the
 * endpoint and the OAuth token endpoint alike). Calls per destination are limited to
 * InvocationRateLimitPerSecond.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_HttpParameters.html
 */
import type { ApiDestination, Connection } from "../../store/index.js";
import { JsonDocument, JsonPathSyntaxError, parseJsonPath } from "../json-path.js";
import { DeliveryError, type Invocation, type TargetInvoker } from "../types.js";
import { basicCredentials, parseConnectionAuth, type ConnectionAuth } from "./auth-parameters.js";
import {
  HttpErrorCode,
  describeUrl,
  errorForResponse,
  headerValue,
  type ResponseSummary,
} from "./classify.js";
import { HttpClient, type HttpClientOptions, type HttpRequest } from "./client.js";
import { OAuthTokens } from "./oauth.js";
import { callsPerSecond, DEFAULT_MAX_RATE_WAIT_MS, RateLimiter } from "./rate-limit.js";

/** What the invoker needs to call one API destination: it, its connection, and the connection's AuthParameters in clear. */
export interface ResolvedApiDestination {
  readonly destination: ApiDestination;
  readonly connection: Connection;
  /** The connection's AuthParameters (AWS-shaped: BasicAuthParameters, ApiKeyAuthParameters, OAuthParameters, InvocationHttpParameters), secrets in clear. */
  readonly auth: Readonly<Record<string, unknown>>;
}

/** Options of {@link createApiDestinationInvoker}. */
export interface ApiDestinationInvokerOptions extends HttpClientOptions {
  /** Finds an API destination by ARN, with its connection; undefined when either does not exist. */
  readonly resolve: (arn: string) => Promise<ResolvedApiDestination | undefined>;
  /** A client to share (the invoker then leaves it open on close); otherwise one is made from the options. */
  readonly client?: HttpClient;
  /**
   * How long a call over the rate limit may wait for its turn before failing with `THROTTLING`.
   * @default 1000 ({@link DEFAULT_MAX_RATE_WAIT_MS})
   */
  readonly maxRateWaitMs?: number;
}

/**
 * The longest an API destination's endpoint is given to answer: EventBridge times a call out after
 * five seconds. A shorter `timeoutMs` (BUSBAR_TARGET_TIMEOUT_MS) shortens it.
 */
export const API_DESTINATION_TIMEOUT_MS = 5_000;

const API_DESTINATION_ARN = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:api-destination\/[\w.-]+(?:\/[\w-]+)?$/;

/** Whether a target ARN names an API destination. */
export function isApiDestinationArn(arn: string): boolean {
  return API_DESTINATION_ARN.test(arn);
}

/** Connection states in which calls are not made (and not retried). */
const UNUSABLE_STATES: ReadonlySet<string> = new Set(["DEAUTHORIZED", "DEAUTHORIZING", "DELETING"]);

/** Headers parameters cannot set: the client sets them, or they are hop-by-hop. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-connection",
]);

/**
 * Whether a header cannot be set by a connection or a target (the client sets it, or it is
 * hop-by-hop): calls leave without it, so the API refuses such names where it can.
 */
export function isReservedHeader(name: string): boolean {
  return RESERVED_HEADERS.has(name.toLowerCase());
}

/** The invoker of API destination targets. */
export interface ApiDestinationInvoker extends TargetInvoker {
  /**
   * An API destination's rate changed (UpdateApiDestination): the calls waiting for their turns are
   * planned again at it, and the calls leaving are spaced at it, without waiting for the next call to
   * bring it.
   */
  rateChanged(arn: string, invocationRateLimitPerSecond: number): void;
}

/** The invoker of API destination targets. */
export function createApiDestinationInvoker(options: ApiDestinationInvokerOptions): ApiDestinationInvoker {
  const client = options.client ?? new HttpClient(options);
  const owned = options.client === undefined;
  const limiter = new RateLimiter(options.maxRateWaitMs ?? DEFAULT_MAX_RATE_WAIT_MS);
  const timeoutMs = Math.min(options.timeoutMs ?? API_DESTINATION_TIMEOUT_MS, API_DESTINATION_TIMEOUT_MS);
  // A token request is held to the same timeout as the call it is for.
  const tokens = new OAuthTokens(client, Date.now, timeoutMs);

  /** The destination and its connection, usable; else why not. */
  const usable = async (arn: string) => {
    let resolved: ResolvedApiDestination | undefined;
    try {
      resolved = await options.resolve(arn);
    } catch (error) {
      throw new DeliveryError(HttpErrorCode.InternalError, `API destination ${arn} could not be read`, {
        retryable: true,
        cause: error,
      });
    }
    if (resolved === undefined) {
      throw new DeliveryError(
        HttpErrorCode.NoResource,
        `API destination ${arn} or its connection does not exist`,
        {
          retryable: false,
        },
      );
    }
    const { destination, connection } = resolved;
    if (UNUSABLE_STATES.has(connection.state)) {
      tokens.forget(connection.arn);
      throw new DeliveryError(
        HttpErrorCode.NoPermissions,
        `connection ${connection.name} of API destination ${destination.name} is ${connection.state}`,
        { retryable: false },
      );
    }
    return { destination, connection, secrets: resolved.auth };
  };

  return {
    async invoke(invocation: Invocation, signal: AbortSignal): Promise<void> {
      const arn = invocation.target.arn;
      // The turn first, then what the call sends, read again after the wait: a change made meanwhile
      // (a new key or endpoint, a connection deauthorized or deleted, a lower rate) applies to it.
      const first = (await usable(arn)).destination;
      let rate = first.invocationRateLimitPerSecond;
      let now: Awaited<ReturnType<typeof usable>>;
      for (;;) {
        const planned = await limiter.acquire(first.arn, rate, signal, invocation.deliveryId);
        now = await usable(arn);
        // Lowered while it waited, and its turn not planned at the new rate yet (no call brought it
        // to the window meanwhile): a turn at the new rate (the window plans the others again).
        rate = now.destination.invocationRateLimitPerSecond;
        if (!(callsPerSecond(rate) < planned)) break;
      }
      const { destination, connection } = now;
      const auth = parseConnectionAuth(connection.authorizationType, now.secrets);
      if (typeof auth === "string") {
        throw new DeliveryError(HttpErrorCode.NoPermissions, `connection ${connection.name}: ${auth}`, {
          retryable: false,
        });
      }
      const request = {
        ...buildRequest(destination, invocation, auth),
        timeoutMs,
        wanted: invocation.wanted,
      };
      let bearer: string | undefined;
      if (auth.type === "OAUTH_CLIENT_CREDENTIALS") {
        bearer = await tokens.token(connection.arn, connection.lastModifiedAt, auth.oauth, signal);
        request.headers["authorization"] = `Bearer ${bearer}`;
      }
      // Spaced from the call before it as it leaves, whatever it waited for since its turn.
      await limiter.sendable(first.arn, signal);
      const response = await client.send(request, signal);
      if (bearer !== undefined && (response.status === 401 || response.status === 407)) {
        tokens.invalidate(connection.arn, bearer);
      }
      const error = errorForResponse(
        response,
        `${request.method} ${describeUrl(request.url, request.pathname)}`,
        Date.now(),
        secretsOf(auth, bearer),
      );
      if (error !== undefined) throw error.retryable ? finalOnNegativeRetryAfter(error, response) : error;
    },
    ended(deliveryId: string): void {
      limiter.release(deliveryId);
    },
    rateChanged(arn: string, invocationRateLimitPerSecond: number): void {
      limiter.setRate(arn, invocationRateLimitPerSecond);
    },
    async close(): Promise<void> {
      if (owned) await client.close();
    },
  };
}

type MutableRequest = HttpRequest & { headers: Record<string, string> };

/**
 * A retryable failure of an API destination whose response has a negative `Retry-After`: final, as
 * EventBridge documents ("If Retry-After value is negative, EventBridge stops retrying delivery for
 * that event"). Webhooks ignore such a value, as RFC 9110 has it (docs/delivery.md).
 */
function finalOnNegativeRetryAfter(error: DeliveryError, response: ResponseSummary): DeliveryError {
  const value = headerValue(response.headers, "retry-after")?.trim();
  if (value === undefined || !/^-\d+$/.test(value)) return error;
  return new DeliveryError(
    error.code,
    `${error.message} (Retry-After: ${value}: the endpoint asked not to be called again for this event)`,
    { retryable: false, cause: error },
  );
}

/**
 * What a call carries of its connection's credentials: the authorization (as sent, Basic encoded too),
 * the API key or Bearer token, and the connection's parameter values (some are secret).
 */
function secretsOf(auth: ConnectionAuth, bearer: string | undefined): string[] {
  const { headers, query, body } = auth.invocation;
  const secrets = [...headers, ...query, ...body].map(([, value]) => value);
  if (auth.type === "BASIC") {
    secrets.push(auth.password, basicCredentials(auth.username, auth.password));
  } else if (auth.type === "API_KEY") {
    secrets.push(auth.value);
  }
  if (bearer !== undefined) secrets.push(bearer);
  return secrets;
}

/** Builds the request of one invocation (the OAuth token is added by the caller). */
function buildRequest(
  destination: ApiDestination,
  invocation: Invocation,
  auth: ConnectionAuth,
): MutableRequest {
  const invalid = (message: string): DeliveryError =>
    new DeliveryError(HttpErrorCode.InvalidParameter, `API destination ${destination.name}: ${message}`, {
      retryable: false,
    });
  const parameters = record(invocation.target.spec["HttpParameters"]);
  const value = dynamicValues(invocation, invalid);
  let url: URL;
  try {
    url = new URL(destination.invocationEndpoint);
  } catch {
    throw invalid("the InvocationEndpoint is not a URL");
  }
  const pieces = url.pathname.split("*");
  let pathname: string | undefined;
  if (pieces.length > 1) {
    const values = Array.isArray(parameters["PathParameterValues"])
      ? (parameters["PathParameterValues"] as unknown[])
      : [];
    if (values.length < pieces.length - 1) {
      throw invalid(
        `the InvocationEndpoint has ${pieces.length - 1} path wildcards (*) and the target's HttpParameters.PathParameterValues has ${values.length} values`,
      );
    }
    // Sent as built, not through the URL, which would resolve a dot segment a value made.
    pathname = withoutDotSegments(
      pieces.reduce(
        (path, piece, index) => `${path}${encodeURIComponent(value(String(values[index - 1])))}${piece}`,
      ),
    );
  }
  for (const [name, v] of entries(parameters["QueryStringParameters"])) url.searchParams.set(name, value(v));
  for (const [name, value] of auth.invocation.query) url.searchParams.set(name, value);

  const method = destination.httpMethod.toUpperCase();
  const hasBody = method !== "GET" && method !== "HEAD";
  const headers: Record<string, string> = hasBody
    ? { "content-type": "application/json; charset=utf-8" }
    : {};
  const setHeader = (name: string, value: string): void => {
    if (!isReservedHeader(name)) headers[name.toLowerCase()] = value;
  };
  for (const [name, v] of entries(parameters["HeaderParameters"])) setHeader(name, value(v));
  for (const [name, value] of auth.invocation.headers) setHeader(name, value);
  if (auth.type === "BASIC") {
    headers["authorization"] = `Basic ${basicCredentials(auth.username, auth.password)}`;
  } else if (auth.type === "API_KEY") {
    setHeader(auth.name, auth.value);
  }
  return {
    method,
    url,
    ...(pathname !== undefined && { pathname }),
    headers,
    ...(hasBody ? { body: withBodyParameters(invocation.payload, auth.invocation.body) } : {}),
    allowedOnly: url.protocol === "http:",
  };
}

/**
 * The segments a URL parser resolves rather than keeps, in lower case: `.` and `..`, also with a dot
 * written `%2e`, as the WHATWG URL standard reads them.
 * @see https://url.spec.whatwg.org/#double-dot-path-segment
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4
 */
const DOT_SEGMENTS: ReadonlySet<string> = new Set([".", "..", "%2e", "%2e%2e", ".%2e", "%2e."]);

/**
 * A path with each dot segment's dots written `%2E`: a path parameter `..` (or `.`) stays a segment
 * of its own, as `/` in a value does (`%2F`), and cannot take the call out of the endpoint's path
 * (a wildcard between `/tenants/` and `/orders` filled with `..` calls `/tenants/%2E%2E/orders`, not
 * `/orders`). The endpoint's own path has none left: its URL resolved them.
 */
function withoutDotSegments(path: string): string {
  return path
    .split("/")
    .map((segment) => (DOT_SEGMENTS.has(segment.toLowerCase()) ? segment.replaceAll(".", "%2E") : segment))
    .join("/");
}

/** Whether a target's HttpParameters value is a JSON path as a whole, which delivery resolves in the event. */
function isDynamicValue(value: string): boolean {
  return value === "$" || value.startsWith("$.") || value.startsWith("$[");
}

/**
 * Why a target's HttpParameters value cannot be sent: a JSON path (see {@link isDynamicValue}) that
 * does not parse; undefined when it can. For PutTargets, so that such a target is refused at once.
 */
export function httpParameterValueProblem(value: string): string | undefined {
  if (!isDynamicValue(value)) return undefined;
  try {
    parseJsonPath(value);
    return undefined;
  } catch (e) {
    if (e instanceof JsonPathSyntaxError) return e.message;
    throw e;
  }
}

/**
 * The values of a target's HttpParameters as sent: a value that is a JSON path as a whole (`$.detail.id`)
 * is replaced by what it selects in the event as accepted (EventBridge's dynamic path parameters; never
 * the transformed input): a string as it is, any other value as its JSON. A path that selects nothing
 * fails the invocation (INPUT_PATH_NOT_FOUND, not retried), as InputPath does.
 */
function dynamicValues(
  invocation: Invocation,
  invalid: (message: string) => DeliveryError,
): (value: string) => string {
  let document: JsonDocument | undefined;
  return (value) => {
    if (!isDynamicValue(value)) return value;
    let path;
    try {
      path = parseJsonPath(value);
    } catch (e) {
      if (e instanceof JsonPathSyntaxError) throw invalid(`HttpParameters: ${e.message}`);
      throw e;
    }
    document ??= new JsonDocument(invocation.event.json);
    const selected = document.select(path);
    if (selected === undefined) {
      throw new DeliveryError(
        "INPUT_PATH_NOT_FOUND",
        `HttpParameters: the JSON path ${value} selects nothing in event ${invocation.event.id}`,
        { retryable: false },
      );
    }
    return selected.startsWith('"') ? (JSON.parse(selected) as string) : selected;
  };
}

/**
 * Adds the connection's body parameters to a JSON object payload (the connection's values win); other
 * payloads go as they are. The payload's own members keep their text (a 20-digit number, `10.50`), as
 * without parameters: the new members are written in before its closing brace, and only when one
 * of its members is set by the connection too are the others written again (minified) without it.
 */
export function withBodyParameters(
  payload: string,
  parameters: readonly (readonly [string, string])[],
): string {
  if (parameters.length === 0) return payload;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return payload;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return payload;
  const added = new Map(parameters);
  const members = [...added].map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`);
  const own = Object.keys(parsed);
  if (!own.some((name) => added.has(name))) {
    const end = payload.lastIndexOf("}");
    return `${payload.slice(0, end)}${own.length === 0 ? "" : ","}${members.join(",")}${payload.slice(end)}`;
  }
  const kept = new JsonDocument(payload)
    .members()
    .filter(([name]) => !added.has(name))
    .map(([name, value]) => `${JSON.stringify(name)}:${value}`);
  return `{${[...kept, ...members].join(",")}}`;
}

function record(value: unknown): Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** The string entries of a string-to-string map. */
function entries(value: unknown): [string, string][] {
  return Object.entries(record(value)).filter(
    (entry): entry is [string, string] => typeof entry[1] === "string",
  );
}
