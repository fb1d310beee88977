/**
 * OAuth 2.0 client credentials for connections: a token is fetched from the connection's
 * AuthorizationEndpoint, cached per connection until shortly before it expires, shared by
 * concurrent calls (one fetch at a time per connection), and dropped when the API answers 401 or
 * 407, so that the retry fetches a fresh one (as EventBridge does).
 *
 * The token request: the configured method; client id and secret as HTTP Basic credentials
 * (RFC 6749 §2.3.1); OAuthHttpParameters' headers and query string added; its body parameters,
 * with `grant_type=client_credentials` unless they set grant_type, form-encoded
 * (`application/x-www-form-urlencoded`, RFC 6749 §4.4.2) — or JSON when the header parameters set a
 * JSON Content-Type — and in the query string for GET. The answer is JSON (or form-encoded) with
 * `access_token` and optionally `expires_in` (seconds; without it a token lasts until refused; 0
 * means already expired, so such a token is used by the calls that waited for it and not kept).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html
 */
import { DeliveryError } from "../types.js";
import { HttpErrorCode, describeUrl, errorForResponse } from "./classify.js";
import type { HttpClient, HttpResponse } from "./client.js";
import { basicCredentials, type OAuthClientCredentials } from "./auth-parameters.js";
import { remember } from "./cache.js";

/** A token is refreshed this long before it expires (at most half its lifetime). */
export const TOKEN_REFRESH_MARGIN_MS = 30_000;
/** Cap on a token response's body. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

interface CachedToken {
  readonly accessToken: string;
  /**
   * Milliseconds since the epoch; Infinity when the endpoint gave no `expires_in`, -Infinity when it
   * gave one that is not positive (the token is already expired).
   */
  readonly refreshAt: number;
}

interface CacheEntry {
  /** The connection's version (its lastModifiedAt): an updated connection gets a new token. */
  readonly version: number;
  token: CachedToken | undefined;
  pending: Promise<CachedToken> | undefined;
}

/** The token cache of OAuth connections. */
export class OAuthTokens {
  private readonly entries = new Map<string, CacheEntry>();
  /** Token requests sent (for metrics and tests). */
  fetches = 0;

  constructor(
    private readonly client: HttpClient,
    private readonly now: () => number = Date.now,
    /** Each token request's timeout (the API destinations' own); the client's when not given. */
    private readonly timeoutMs?: number,
  ) {}

  /**
   * A valid access token for the connection `key` at `version`, fetched when none is cached.
   * @throws {DeliveryError} when the token endpoint failed or gave no token.
   */
  async token(
    key: string,
    version: number,
    credentials: OAuthClientCredentials,
    signal: AbortSignal,
  ): Promise<string> {
    let entry = this.entries.get(key);
    if (entry?.version !== version) {
      entry = { version, token: undefined, pending: undefined };
      // Deleted connections are not told of: the oldest entries go past the bound.
      remember(this.entries, key, entry);
    }
    if (entry.token !== undefined && entry.token.refreshAt > this.now()) return entry.token.accessToken;
    let pending = entry.pending;
    if (pending === undefined) {
      const current = entry;
      // Not tied to one caller's signal: concurrent callers share the fetch; the client's timeout bounds it.
      pending = this.fetch(credentials, new AbortController().signal).then(
        (token) => {
          current.token = token;
          current.pending = undefined;
          return token;
        },
        (error: unknown) => {
          current.pending = undefined;
          throw error;
        },
      );
      current.pending = pending;
    }
    return (await raceAbort(pending, signal)).accessToken;
  }

  /** Drops `accessToken` of connection `key` (the API refused it); a newer token is kept. */
  invalidate(key: string, accessToken: string): void {
    const entry = this.entries.get(key);
    if (entry?.token?.accessToken === accessToken) entry.token = undefined;
  }

  /** Forgets a connection's token (the connection was deleted or deauthorized). */
  forget(key: string): void {
    this.entries.delete(key);
  }

  private async fetch(credentials: OAuthClientCredentials, signal: AbortSignal): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(credentials.authorizationEndpoint);
    } catch {
      throw new DeliveryError(
        HttpErrorCode.InvalidParameter,
        "the connection's AuthorizationEndpoint is not a URL",
        {
          retryable: false,
        },
      );
    }
    const method = credentials.httpMethod;
    const { parameters } = credentials;
    for (const [name, value] of parameters.query) url.searchParams.set(name, value);
    const body = new Map<string, string>(parameters.body);
    if (!body.has("grant_type")) body.set("grant_type", "client_credentials");
    const basic = basicCredentials(credentials.clientId, credentials.clientSecret);
    const headers: Record<string, string> = { authorization: `Basic ${basic}`, accept: "application/json" };
    for (const [name, value] of parameters.headers) headers[name.toLowerCase()] = value;
    let payload: string | undefined;
    if (method === "GET") {
      for (const [name, value] of body) url.searchParams.set(name, value);
    } else if (/json/i.test(headers["content-type"] ?? "")) {
      payload = JSON.stringify(Object.fromEntries(body));
    } else {
      headers["content-type"] = "application/x-www-form-urlencoded";
      payload = new URLSearchParams([...body]).toString();
    }
    const what = `the OAuth token endpoint ${method} ${describeUrl(url)}`;
    this.fetches++;
    const response = await this.client.send(
      {
        method,
        url,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
        allowedOnly: url.protocol === "http:",
        maxBodyBytes: MAX_TOKEN_RESPONSE_BYTES,
        readSuccessBody: true,
        ...(this.timeoutMs !== undefined && { timeoutMs: this.timeoutMs }),
      },
      signal,
    );
    // What the request carried that an error page could echo: the client's credentials, the parameters.
    const secrets = [
      credentials.clientSecret,
      basic,
      ...[...parameters.headers, ...parameters.query, ...parameters.body].map(([, value]) => value),
    ];
    const error = errorForResponse(response, what, Date.now(), secrets);
    // A token endpoint's 401 or 403 refuses the client's credentials (RFC 6749 5.2, invalid_client):
    // asking again cannot help, unlike the same status from the API itself.
    if (error !== undefined && (response.status === 401 || response.status === 403)) {
      throw new DeliveryError(HttpErrorCode.NoPermissions, error.message, { retryable: false, cause: error });
    }
    if (error !== undefined) throw error;
    // Part of an answer may hold part of a token (a form-encoded one reads as a shorter token).
    if (response.unfinished)
      throw new DeliveryError(HttpErrorCode.Timeout, `${what} did not finish its answer within the timeout`, {
        retryable: true,
      });
    if (response.truncated)
      throw new DeliveryError(
        HttpErrorCode.NoPermissions,
        `${what} answered more than ${MAX_TOKEN_RESPONSE_BYTES / 1024} KiB`,
        { retryable: false },
      );
    return this.readToken(response, what);
  }

  private readToken(response: HttpResponse, what: string): CachedToken {
    const fields = parseTokenResponse(response);
    const accessToken = fields["access_token"];
    if (typeof accessToken !== "string" || accessToken === "") {
      throw new DeliveryError(HttpErrorCode.NoPermissions, `${what} answered without an access_token`, {
        retryable: false,
      });
    }
    return { accessToken, refreshAt: this.refreshTime(fields["expires_in"]) };
  }

  /**
   * When to fetch a new token, from a response's `expires_in`: without one the token lasts until the
   * API refuses it; otherwise shortly before it expires. `0` (or a value that is not a positive
   * number of seconds) means already expired (RFC 6749 §5.1): the token serves the calls waiting for
   * it and is not cached.
   */
  private refreshTime(expiresIn: unknown): number {
    if (expiresIn === undefined || expiresIn === null) return Infinity;
    const seconds = Number(expiresIn);
    if (!(seconds > 0) || !Number.isFinite(seconds)) return -Infinity;
    const lifetimeMs = seconds * 1000;
    return this.now() + lifetimeMs - Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2);
  }
}

function parseTokenResponse(response: HttpResponse): Record<string, unknown> {
  const type = response.headers["content-type"];
  if (typeof type === "string" && /^application\/x-www-form-urlencoded/i.test(type)) {
    return Object.fromEntries(new URLSearchParams(response.body));
  }
  try {
    const parsed = JSON.parse(response.body) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted(signal));
    // Handlers go on first, so that a fetch nobody waits for any more never rejects unhandled.
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

function aborted(signal: AbortSignal): DeliveryError {
  return new DeliveryError(
    HttpErrorCode.InternalError,
    "the attempt was aborted while fetching an OAuth token",
    {
      retryable: true,
      cause: signal.reason,
    },
  );
}
