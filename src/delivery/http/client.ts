/**
 * The one HTTP client of HTTP targets: node:http/node:https with keep-alive agents (sockets pooled
 * per origin), every connection through the network guard, no redirects followed, one timeout for
 * connect and response together, response bodies read and capped.
 */
import type dns from "node:dns";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { DeliveryError } from "../types.js";
import {
  HttpErrorCode,
  RequestTimeoutError,
  describeUrl,
  errorForFailure,
  type ResponseSummary,
} from "./classify.js";
import {
  NO_ALLOWED_NETWORKS,
  checkHost,
  createGuardedLookup,
  type AllowedNetworks,
  type GuardPolicy,
  type LookupFunction,
} from "./network-guard.js";

/** Default time for connecting and receiving the whole response. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Default cap on the sockets open to one origin (requests beyond it wait for a socket). */
export const DEFAULT_MAX_SOCKETS_PER_ORIGIN = 64;
/** Idle keep-alive sockets are closed after this long. */
export const IDLE_SOCKET_TIMEOUT_MS = 15_000;
/** Default cap on the response body kept (the rest is read and dropped): enough for error messages. */
export const DEFAULT_MAX_RESPONSE_BODY_BYTES = 8 * 1024;

/** Options of an {@link HttpClient}. */
export interface HttpClientOptions {
  /**
   * Networks targets may reach although they are not public (`BUSBAR_ALLOW_TARGET_NETWORKS`).
   * @default none
   */
  readonly allowedNetworks?: AllowedNetworks;
  /**
   * Time for connecting and receiving the whole response, per request.
   * @default 10_000 ({@link DEFAULT_TIMEOUT_MS})
   */
  readonly timeoutMs?: number;
  /** @default 64 ({@link DEFAULT_MAX_SOCKETS_PER_ORIGIN}) */
  readonly maxSocketsPerOrigin?: number;
  /** @default `Busbar/<version of the package>` */
  readonly userAgent?: string;
  /** Name resolution under the guard (tests resolve names of their own). @default dns.lookup */
  readonly dnsLookup?: typeof dns.lookup;
}

/** One request. */
export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  /** Header names in lower case; `user-agent` and `content-length` are added unless given. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /**
   * Only addresses in the allowed networks may be called, public ones included (plain-http API
   * destinations).
   * @default false
   */
  readonly allowedOnly?: boolean;
  /** @default the client's timeout */
  readonly timeoutMs?: number;
  /** @default 8 KiB ({@link DEFAULT_MAX_RESPONSE_BODY_BYTES}) */
  readonly maxBodyBytes?: number;
}

/** A response, whatever its status. */
export interface HttpResponse extends ResponseSummary {
  /** Whether the body was longer than the cap (`body` holds its start). */
  readonly truncated: boolean;
}

/** The package version, for the User-Agent. */
export const BUSBAR_VERSION = readPackageVersion();

/**
 * Sends HTTP requests for targets. Redirects are never followed (a 3xx is a response like any
 * other); the guard checks IP literals before connecting and resolved addresses at connect time.
 */
export class HttpClient {
  readonly userAgent: string;
  readonly timeoutMs: number;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly policy: GuardPolicy;
  private readonly strictPolicy: GuardPolicy;
  private readonly lookup: LookupFunction;
  private readonly strictLookup: LookupFunction;

  constructor(options: HttpClientOptions = {}) {
    const allowed = options.allowedNetworks ?? NO_ALLOWED_NETWORKS;
    this.timeoutMs = positiveInteger(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, "timeoutMs");
    const maxSockets = positiveInteger(
      options.maxSocketsPerOrigin ?? DEFAULT_MAX_SOCKETS_PER_ORIGIN,
      "maxSocketsPerOrigin",
    );
    this.userAgent = options.userAgent ?? `Busbar/${BUSBAR_VERSION}`;
    this.policy = Object.freeze({ allowed });
    this.strictPolicy = Object.freeze({ allowed, allowedOnly: true });
    this.lookup = createGuardedLookup(this.policy, options.dnsLookup);
    this.strictLookup = createGuardedLookup(this.strictPolicy, options.dnsLookup);
    // One agent per scheme pools sockets per origin (host:port); "lifo" reuses the warmest socket,
    // so that bursts do not keep many idle sockets alive.
    const agentOptions: http.AgentOptions = {
      keepAlive: true,
      maxSockets,
      maxFreeSockets: maxSockets,
      timeout: IDLE_SOCKET_TIMEOUT_MS,
      scheduling: "lifo",
    };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  /**
   * Sends one request and reads its response (any status).
   * @throws {DeliveryError} when no response came: refused address (not retryable), timeout,
   *   connection failure or abort (retryable), unusable URL or headers (not retryable).
   */
  async send(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    const { url } = request;
    const what = `${request.method} ${describeUrl(url)}`;
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new DeliveryError(
        HttpErrorCode.InvalidParameter,
        `${what}: only http and https URLs can be called`,
        {
          retryable: false,
        },
      );
    }
    const policy = request.allowedOnly === true ? this.strictPolicy : this.policy;
    const refused = checkHost(url.hostname, policy);
    if (refused !== undefined) throw errorForFailure(refused, what);
    const headers = this.headersFor(request, what);
    if (signal.aborted) throw abortError(signal, what);
    return await new Promise<HttpResponse>((resolve, reject) => {
      const secure = url.protocol === "https:";
      const timeoutMs = request.timeoutMs ?? this.timeoutMs;
      const maxBodyBytes = request.maxBodyBytes ?? DEFAULT_MAX_RESPONSE_BODY_BYTES;
      let settled = false;
      const settle = (error: unknown, response?: HttpResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (response !== undefined) resolve(response);
        else reject(errorForFailure(error, what));
      };
      const req = (secure ? https.request : http.request)(url, {
        method: request.method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        lookup: request.allowedOnly === true ? this.strictLookup : this.lookup,
      });
      const timer = setTimeout(() => {
        settle(new RequestTimeoutError(timeoutMs));
        req.destroy();
      }, timeoutMs);
      const onAbort = (): void => {
        settle(abortError(signal, what));
        req.destroy();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      req.on("error", (error) => settle(error));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        let truncated = false;
        res.on("data", (chunk: Buffer) => {
          if (kept >= maxBodyBytes) {
            truncated = true;
            return;
          }
          const part = chunk.length > maxBodyBytes - kept ? chunk.subarray(0, maxBodyBytes - kept) : chunk;
          truncated ||= part.length < chunk.length;
          chunks.push(part);
          kept += part.length;
        });
        res.on("error", (error) => settle(error));
        res.on("aborted", () =>
          settle(Object.assign(new Error("the response was cut off"), { code: "ECONNRESET" })),
        );
        res.on("end", () => {
          settle(undefined, {
            status: res.statusCode ?? 0,
            statusMessage: res.statusMessage ?? "",
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            truncated,
          });
        });
      });
      req.end(request.body);
    });
  }

  /** Closes the pooled sockets; requests in flight fail. */
  close(): Promise<void> {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    return Promise.resolve();
  }

  private headersFor(request: HttpRequest, what: string): Record<string, string> {
    const headers: Record<string, string> = { "user-agent": this.userAgent };
    for (const [name, value] of Object.entries(request.headers)) {
      try {
        http.validateHeaderName(name);
        http.validateHeaderValue(name, value);
      } catch {
        throw new DeliveryError(
          HttpErrorCode.InvalidParameter,
          `${what}: header ${JSON.stringify(name)} has a name or value HTTP does not allow`,
          { retryable: false },
        );
      }
      headers[name.toLowerCase()] = value;
    }
    if (request.body !== undefined) headers["content-length"] = String(Buffer.byteLength(request.body));
    return headers;
  }
}

function abortError(signal: AbortSignal, what: string): DeliveryError {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof Error && reason.name === "TimeoutError";
  return new DeliveryError(
    timedOut ? HttpErrorCode.Timeout : HttpErrorCode.InternalError,
    `${what}: the attempt was ${timedOut ? "timed out" : "aborted"} by the delivery engine`,
    { retryable: true, cause: reason },
  );
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`HTTP client: ${name} must be a positive integer (got ${value})`);
  }
  return value;
}

function readPackageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}
