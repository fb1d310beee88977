/**
 * What an HTTP attempt's outcome means for delivery: the error codes HTTP targets fail with and
 * whether each is worth retrying, shared by webhooks and API destinations.
 *
 * The codes are EventBridge's dead-letter ERROR_CODE values.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html (ERROR_CODE values)
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html#eb-api-destination-error-codes
 */
import { DeliveryError } from "../types.js";
import { AddressRefusedError } from "./network-guard.js";

/**
 * The ERROR_CODE values HTTP targets fail with.
 *
 * | code | when | retried |
 * | --- | --- | --- |
 * | `ERROR_FROM_TARGET` | the target answered with a status other than 2xx (3xx included: redirects are not followed) | 401, 407, 409, 5xx: yes; others: no |
 * | `THROTTLING` | the target answered 429, or the API destination's invocation rate limit is reached | yes |
 * | `TIMEOUT` | no complete response within the timeout | yes |
 * | `CONNECTION_FAILURE` | the connection failed: refused, reset, DNS failure, TLS error | yes |
 * | `NO_PERMISSIONS` | the network guard refused the address; the connection is deauthorized; the OAuth token endpoint gave no token | no |
 * | `NO_RESOURCE` | the API destination (or its connection) does not exist | no |
 * | `INVALID_PARAMETER` | the target's configuration cannot make a valid request (URL, path parameters, headers, CloudEvent attributes) | no |
 * | `INTERNAL_ERROR` | Busbar could not make the attempt (secrets unavailable, delivery aborted) | yes |
 */
export const HttpErrorCode = {
  ErrorFromTarget: "ERROR_FROM_TARGET",
  Throttling: "THROTTLING",
  Timeout: "TIMEOUT",
  ConnectionFailure: "CONNECTION_FAILURE",
  NoPermissions: "NO_PERMISSIONS",
  NoResource: "NO_RESOURCE",
  InvalidParameter: "INVALID_PARAMETER",
  InternalError: "INTERNAL_ERROR",
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/**
 * The statuses EventBridge retries for API destinations (401, 407, 409, 429 and 5xx); every other
 * status that is not 2xx fails for good.
 */
export function isRetryableStatus(status: number): boolean {
  return (
    status === 401 || status === 407 || status === 409 || status === 429 || (status >= 500 && status <= 599)
  );
}

/** What the response said, as much as classification needs. */
export interface ResponseSummary {
  readonly status: number;
  readonly statusMessage: string;
  /** Response headers, names in lower case. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The start of the response body (already capped). */
  readonly body: string;
}

/** At most this many characters of a response body go into an error message. */
export const ERROR_BODY_EXCERPT_CHARS = 1024;

/** Secrets shorter than this are not looked for in text (a one-letter "secret" would garble it). */
const MIN_REDACTED_LENGTH = 4;

/**
 * The ways a request or an echo of it may write a text: percent-encoded (`encodeURIComponent`),
 * form-encoded (a query set through `URLSearchParams`, or a form body: a space as `+`, `!'()~`
 * encoded), in a JSON string (`"` and `\` escaped; as Go's encoder also does `<>&`, as Python's does
 * every non-ASCII character), and in HTML (`&quot;`, or `&#34;` as Go's templates write it).
 */
const ENCODINGS: readonly ((text: string) => string)[] = [
  encodeURIComponent,
  (text) => new URLSearchParams([["", text]]).toString().slice(1),
  (text) => JSON.stringify(text).slice(1, -1),
  (text) =>
    JSON.stringify(text)
      .slice(1, -1)
      .replace(/[<>&\u2028\u2029]/g, unicodeEscape),
  (text) =>
    JSON.stringify(text)
      .slice(1, -1)
      .replace(/[^\x20-\x7e]/g, unicodeEscape),
  escapeHtml,
  (text) => escapeHtml(text).replaceAll("&quot;", "&#34;"),
];
/**
 * How many encodings deep a secret is looked for: a body parameter is sent JSON-encoded, a JSON error
 * page echoes that body in a string of its own, an HTML debug page escapes that again.
 */
const ENCODING_DEPTH = 3;
/** The forms of the last few sets of secrets (see {@link formsOf}), by the secrets. */
const formsCache = new Map<string, readonly string[]>();
const FORMS_CACHED = 256;

/**
 * `text` with every occurrence of each secret replaced by `***`: a target's error page may echo the
 * request's headers, query or body, and what it says goes into logs and into the dead-letter queue's
 * ERROR_MESSAGE. Each secret is looked for as sent and in each form up to three of the
 * {@link ENCODINGS} in turn give it.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first: a secret that holds a shorter one is not left in pieces around its `***`.
  for (const form of formsOf(secrets)) if (out.includes(form)) out = out.split(form).join("***");
  return out;
}

/** Each secret of at least 4 characters in every form of {@link ENCODINGS}, longest first. */
function formsOf(secrets: readonly string[]): readonly string[] {
  const key = secrets.join("\u0000");
  const cached = formsCache.get(key);
  if (cached !== undefined) return cached;
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_REDACTED_LENGTH) continue;
    let layer = [secret];
    forms.add(secret);
    for (let depth = 0; depth < ENCODING_DEPTH; depth += 1) {
      const next: string[] = [];
      for (const form of layer) {
        for (const encode of ENCODINGS) {
          const encoded = encode(form);
          if (!forms.has(encoded)) {
            forms.add(encoded);
            next.push(encoded);
          }
        }
      }
      layer = next;
    }
  }
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  if (formsCache.size >= FORMS_CACHED) formsCache.clear();
  formsCache.set(key, sorted);
  return sorted;
}

/** `\uXXXX` for one UTF-16 unit, as JSON encoders that escape more than they must write it. */
function unicodeEscape(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** `text` as HTML shows it in text or in an attribute. */
function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/**
 * What of a target's URL is secret: the values of its query (a webhook's `?token=…`, which its
 * TARGET_ARN shows as `***`), decoded and as written, and the user name and password, if any. For
 * {@link redactSecrets}: an error page that echoes the request's URL must not reveal them.
 */
export function urlSecrets(url: URL): string[] {
  const secrets = [url.username, url.password, decoded(url.username), decoded(url.password)];
  for (const value of url.searchParams.values()) secrets.push(value);
  for (const pair of url.search.slice(1).split("&")) {
    const eq = pair.indexOf("=");
    if (eq >= 0) secrets.push(pair.slice(eq + 1));
  }
  return secrets;
}

/** A percent-encoded URL part decoded, or as it is when it does not decode. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The error a response stands for, or undefined for a 2xx. `what` names the call in the message
 * (such as `POST https://example.com/hook`; never with its query string, which may hold secrets).
 * `Retry-After` on a 429 or 503 becomes `retryAfterMs`. `secrets`, the credentials the request carried, are taken out of the body's excerpt.
 */
export function errorForResponse(
  response: ResponseSummary,
  what: string,
  now = Date.now(),
  secrets: readonly string[] = [],
): DeliveryError | undefined {
  const { status } = response;
  if (status >= 200 && status <= 299) return undefined;
  // Redacted before the cut: a secret across it would leave its start in the excerpt.
  const excerpt = redactSecrets(response.body.trim(), secrets).slice(0, ERROR_BODY_EXCERPT_CHARS);
  // The reason phrase too: a target may echo there what it was sent.
  const reason = redactSecrets(response.statusMessage, secrets);
  const head = `${what} returned HTTP ${status}${reason === "" ? "" : ` ${reason}`}`;
  if (status >= 300 && status <= 399) {
    const location = headerValue(response.headers, "location");
    const where = location === undefined ? "" : ` to ${stripQuery(location)}`;
    // 304 Not Modified (to a request that asked nothing conditional) and the unused 305 and 306 send
    // nowhere: not a success, but no redirect either.
    const redirect = status !== 304 && status !== 305 && status !== 306;
    return new DeliveryError(
      HttpErrorCode.ErrorFromTarget,
      redirect ? `${head}: a redirect${where}, which Busbar does not follow` : `${head}: not a success (2xx)`,
      {
        retryable: false,
      },
    );
  }
  const message = excerpt === "" ? head : `${head}: ${excerpt}`;
  const code = status === 429 ? HttpErrorCode.Throttling : HttpErrorCode.ErrorFromTarget;
  if (!isRetryableStatus(status)) return new DeliveryError(code, message, { retryable: false });
  const retryAfter =
    status === 429 || status === 503
      ? parseRetryAfter(headerValue(response.headers, "retry-after"), now)
      : undefined;
  return new DeliveryError(code, message, {
    retryable: true,
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
  });
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const TIME = "(?<h>\\d\\d):(?<m>\\d\\d):(?<s>\\d\\d)";

/** HTTP-date's three forms (RFC 9110 §5.6.7), all in GMT: IMF-fixdate, RFC 850, asctime. */
const HTTP_DATES = [
  new RegExp(
    `^(?:mon|tue|wed|thu|fri|sat|sun), (?<day>\\d\\d) (?<mon>[a-z]{3}) (?<year>\\d{4}) ${TIME} GMT$`,
    "i",
  ),
  new RegExp(
    `^(?:mon|tues|wednes|thurs|fri|satur|sun)day, (?<day>\\d\\d)-(?<mon>[a-z]{3})-(?<year>\\d\\d) ${TIME} GMT$`,
    "i",
  ),
  new RegExp(
    `^(?:mon|tue|wed|thu|fri|sat|sun) (?<mon>[a-z]{3}) (?<day>[ \\d]\\d) ${TIME} (?<year>\\d{4})$`,
    "i",
  ),
];

/** An HTTP-date in milliseconds since the epoch; undefined when the text is not one. */
function parseHttpDate(text: string): number | undefined {
  const g = HTTP_DATES.map((form) => form.exec(text)).find((m) => m !== null)?.groups;
  if (g === undefined) return undefined;
  let year = Number(g["year"]);
  // RFC 850's two-digit year: one that would be more than 50 years ahead is of the century before.
  if (year < 100) year += year + 2000 > new Date().getUTCFullYear() + 50 ? 1900 : 2000;
  const month = MONTHS.indexOf((g["mon"] ?? "").toLowerCase());
  const [day, h, m, s] = [g["day"], g["h"], g["m"], g["s"]].map(Number) as [number, number, number, number];
  if (month === -1 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return undefined;
  return Date.UTC(year, month, day, h, m, s);
}

/**
 * Parses a `Retry-After` value: delay-seconds or an HTTP-date, as milliseconds from `now` (0 for a
 * date in the past); undefined when absent or not one of those (a negative number, a date in another
 * form), so that the usual backoff applies, as RFC 9110 has a recipient ignore what it cannot read.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = parseHttpDate(text);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/**
 * The error a failed request (no response) stands for: the network guard's refusal is final;
 * timeouts, resets, refusals, DNS and TLS failures are worth retrying.
 */
export function errorForFailure(error: unknown, what: string): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (error instanceof AddressRefusedError) {
    return new DeliveryError(HttpErrorCode.NoPermissions, `${what}: ${error.message}`, {
      retryable: false,
      cause: error,
    });
  }
  if (error instanceof RequestTimeoutError) {
    return new DeliveryError(HttpErrorCode.Timeout, `${what}: ${error.message}`, {
      retryable: true,
      cause: error,
    });
  }
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  return new DeliveryError(
    HttpErrorCode.ConnectionFailure,
    `${what} failed${code === undefined || detail.includes(code) ? "" : ` (${code})`}: ${detail}`,
    { retryable: true, cause: error },
  );
}

/** No complete response within the request's timeout. */
export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
  readonly code = "ETIMEDOUT";

  constructor(
    readonly timeoutMs: number,
    elapsedMs?: number,
  ) {
    super(
      elapsedMs === undefined
        ? `no complete response within ${timeoutMs} ms`
        : `no complete response: a phase of the request took over ${timeoutMs} ms (${elapsedMs} ms in all)`,
    );
  }
}

/**
 * `origin + pathname` of a URL: what error messages may show of it. `pathname`: the path a request
 * sends in place of the URL's (see `HttpRequest.pathname`).
 */
export function describeUrl(url: URL, pathname = url.pathname): string {
  return `${url.origin}${pathname}`;
}

function stripQuery(location: string): string {
  const end = location.search(/[?#]/);
  return end < 0 ? location : location.slice(0, end);
}

export function headerValue(headers: ResponseSummary["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  const { code } = error;
  return typeof code === "string" ? code : undefined;
}
