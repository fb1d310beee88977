/**
 * The one HTTP client of HTTP targets: undici (7.x, which supports Node 20) with keep-alive
 * connections pooled per origin, every connection through the network guard, no redirects followed,
 * one timeout for connect and response together, response bodies read and capped.
 */
import type dns from "node:dns";
import { readFileSync } from "node:fs";
import http from "node:http";
import { Agent, type Dispatcher } from "undici";
import { DeliveryError, targetRemoved } from "../types.js";
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
export const DEFAULT_MAX_SOCKETS_PER_ORIGIN = 256;
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
  /** Not to be changed once sent: the client keeps what it read of each URL object. */
  readonly url: URL;
  /**
   * The path to send as it is, in place of the URL's (the URL's query follows it): for a path a URL
   * cannot hold. A WHATWG URL resolves a `%2E%2E` segment as `..`, as it does `..` itself, so an API
   * destination's path parameter `..`, sent as `%2E%2E`, cannot go through one.
   * @default `url.pathname`
   */
  readonly pathname?: string;
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
  /**
   * Whether a 2xx response's body is wanted (an OAuth token); otherwise it is dropped unread and
   * `body` is empty. Other statuses always keep the start of theirs, for error messages.
   * @default false
   */
  readonly readSuccessBody?: boolean;
  /**
   * Asked when one of the origin's sockets is free for the request: false ends it unsent, with
   * {@link TARGET_REMOVED} (its target was removed while it waited).
   */
  readonly wanted?: (() => boolean) | undefined;
}

/** A response, whatever its status. */
export interface HttpResponse extends ResponseSummary {
  /** Whether the body was longer than the cap, or had not ended by the deadline (`body` holds its start). */
  readonly truncated: boolean;
  /** Whether the deadline passed before the body ended (a 2xx then counts; `truncated` is set). */
  readonly unfinished: boolean;
}

/** What {@link HttpClient.send} reads of a URL. */
interface UrlParts {
  readonly protocol: string;
  readonly hostname: string;
  readonly origin: string;
  /** Path and query. */
  readonly path: string;
  /** The URL as errors name it ({@link describeUrl}: no query, which may hold secrets). */
  readonly described: string;
}

/** The code of the error that ends a request past its deadline. */
const ATTEMPT_DEADLINE_CODE = "BUSBAR_ATTEMPT_DEADLINE";

/** undici's error codes for a phase that took longer than the timeout, and the deadline's own. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  ATTEMPT_DEADLINE_CODE,
]);

/**
 * How often requests in flight are checked against their deadline (the timeout, counted from the
 * dispatch): undici's timers bound each phase, not the whole, so a receiver that trickles its response
 * would otherwise hold an attempt open without end. One timer for all requests, not one each.
 */
const DEADLINE_SWEEP_MS = 100;

/** The package version, for the User-Agent. */
export const BUSBAR_VERSION = readPackageVersion();

/** An origin's sockets: requests in flight, and those waiting, by path (see HttpClient.pools). */
interface OriginPool {
  active: number;
  readonly running: Map<string, number>;
  /** In turn order: a path that gets a socket moves to the end. */
  readonly waiting: Map<string, Array<() => boolean>>;
}

/**
 * Sends HTTP requests for targets. Redirects are never followed (a 3xx is a response like any
 * other); the guard checks IP literals before connecting and resolved addresses at connect time.
 */
export class HttpClient {
  readonly userAgent: string;
  readonly timeoutMs: number;
  private readonly maxSocketsPerOrigin: number;
  private readonly agent: Agent;
  private readonly strictAgent: Agent;
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
    this.maxSocketsPerOrigin = maxSockets;
    this.userAgent = options.userAgent ?? `Busbar/${BUSBAR_VERSION}`;
    this.policy = Object.freeze({ allowed });
    this.strictPolicy = Object.freeze({ allowed, allowedOnly: true });
    this.lookup = createGuardedLookup(this.policy, options.dnsLookup);
    this.strictLookup = createGuardedLookup(this.strictPolicy, options.dnsLookup);
    // undici pools keep-alive connections per origin (several times cheaper per request than
    // node:http); the guarded lookup is given to every connect, so resolved addresses are checked.
    const agentOptions = (lookup: LookupFunction): Agent.Options => ({
      connections: maxSockets,
      keepAliveTimeout: IDLE_SOCKET_TIMEOUT_MS,
      connectTimeout: this.timeoutMs,
      connect: { lookup },
    });
    this.agent = new Agent(agentOptions(this.lookup));
    this.strictAgent = new Agent(agentOptions(this.strictLookup));
  }

  /** What checkHost said of a host name under a policy (IP literals are parsed once, not per request). */
  private readonly hostChecks = new Map<string, ReturnType<typeof checkHost>>();
  private readonly strictHostChecks = new Map<string, ReturnType<typeof checkHost>>();

  private checkHostCached(hostname: string, policy: typeof this.policy): ReturnType<typeof checkHost> {
    const cache = policy === this.policy ? this.hostChecks : this.strictHostChecks;
    if (cache.has(hostname)) return cache.get(hostname);
    const refused = checkHost(hostname, policy);
    if (cache.size >= 1000) cache.clear();
    cache.set(hostname, refused);
    return refused;
  }

  /**
   * Sends one request and reads its response (any status).
   * @throws {DeliveryError} when no response came: refused address (not retryable), timeout,
   *   connection failure or abort (retryable), unusable URL or headers (not retryable).
   */
  async send(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    const url = this.partsOf(request);
    // Only errors name the request: not built on the way of a success.
    const what = (): string => `${request.method} ${url.described}`;
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new DeliveryError(
        HttpErrorCode.InvalidParameter,
        `${what()}: only http and https URLs can be called`,
        {
          retryable: false,
        },
      );
    }
    const policy = request.allowedOnly === true ? this.strictPolicy : this.policy;
    const refused = this.checkHostCached(url.hostname, policy);
    if (refused !== undefined) throw errorForFailure(refused, what());
    const headers = this.headersFor(request, what);
    if (signal.aborted) throw abortError(signal, what());
    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    const maxBodyBytes = request.maxBodyBytes ?? DEFAULT_MAX_RESPONSE_BODY_BYTES;
    // undici's own timers bound each phase (connect, headers, body) by the timeout: no timer of our
    // own per request. The request is dispatched with a handler of its own (no response stream, no
    // promise per phase), and the stop signal is watched once per signal, not once per request.
    const strict = request.allowedOnly === true;
    const pool = `${strict ? "strict " : ""}${url.origin}`;
    let started = 0;
    return new Promise<HttpResponse>((resolve, reject) => {
      const fail = (error: unknown): void => {
        if (signal.aborted) reject(abortError(signal, what()));
        else {
          const code = (error as { code?: unknown }).code;
          reject(
            typeof code === "string" && TIMEOUT_CODES.has(code)
              ? errorForFailure(new RequestTimeoutError(timeoutMs, Date.now() - started), what())
              : errorForFailure(error, what()),
          );
        }
      };
      const handler = new ResponseHandler(
        resolve,
        fail,
        maxBodyBytes,
        request.readSuccessBody === true,
        this.abortsOf(signal),
        this.deadlines,
        () => this.socketFreed(pool, url.path),
      );
      // The timeout counts from the dispatch, once one of the origin's sockets is free for it: a wait
      // behind other targets' requests to the same origin is not the target's slowness.
      this.whenSocketFree(pool, url.path, () => {
        if (handler.settled) return false; // ended (the stop signal) while it waited
        if (request.wanted !== undefined && !request.wanted()) {
          handler.abort(targetRemoved(`the request ${what()}`));
          return false;
        }
        started = Date.now();
        handler.arm(started + timeoutMs);
        this.watchDeadlines();
        (strict ? this.strictAgent : this.agent).dispatch(
          {
            origin: url.origin,
            path: url.path,
            method: request.method,
            headers,
            ...(request.body !== undefined && { body: request.body }),
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          handler,
        );
        return true;
      });
    });
  }

  /**
   * Requests handed to each pool (agent and origin) and not yet settled, and those waiting for one of
   * its sockets (undici would queue them past its socket count, where their time would count), by
   * path: each path is a target. The last eighth of an origin's sockets go only to paths with fewer
   * than a quarter of that reserve in flight, and waiting paths take freed sockets in turns, so that
   * a target that hangs cannot hold every socket of its origin from the other targets there.
   */
  private readonly pools = new Map<string, OriginPool>();

  /** Runs `start` once the pool has a socket for it; `start` answers false when it had nothing to send. */
  private whenSocketFree(key: string, path: string, start: () => boolean): void {
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = { active: 0, running: new Map(), waiting: new Map() };
      this.pools.set(key, pool);
    }
    if (!pool.waiting.has(path) && this.mayStart(pool, path)) this.begin(key, pool, path, start);
    else {
      const queue = pool.waiting.get(path);
      if (queue === undefined) pool.waiting.set(path, [start]);
      else queue.push(start);
    }
  }

  /** Whether a request to `path` may take one of the pool's sockets now. */
  private mayStart(pool: OriginPool, path: string): boolean {
    const free = this.maxSocketsPerOrigin - pool.active;
    const reserved = Math.floor(this.maxSocketsPerOrigin / 8); // none below 8 sockets
    return free > reserved || (free > 0 && (pool.running.get(path) ?? 0) < Math.max(1, reserved >> 2));
  }

  private begin(key: string, pool: OriginPool, path: string, start: () => boolean): void {
    pool.active++;
    pool.running.set(path, (pool.running.get(path) ?? 0) + 1);
    if (!start()) this.socketFreed(key, path);
  }

  /** A request of the pool settled: waiting paths that may start go, in turns. */
  private socketFreed(key: string, path: string): void {
    const pool = this.pools.get(key);
    if (pool === undefined) return;
    pool.active--;
    const running = (pool.running.get(path) ?? 1) - 1;
    if (running === 0) pool.running.delete(path);
    else pool.running.set(path, running);
    for (let started = true; started && pool.active < this.maxSocketsPerOrigin;) {
      started = false;
      for (const [waiting, queue] of pool.waiting) {
        if (!this.mayStart(pool, waiting)) continue;
        const start = queue.shift() as () => boolean;
        // To the end of the turns (or gone, with nothing left waiting).
        pool.waiting.delete(waiting);
        if (queue.length > 0) pool.waiting.set(waiting, queue);
        this.begin(key, pool, waiting, start);
        started = true;
        break;
      }
    }
    if (pool.active === 0 && pool.waiting.size === 0) this.pools.delete(key);
  }

  /** Requests in flight, each with its deadline (see DEADLINE_SWEEP_MS). */
  private readonly deadlines = new Set<ResponseHandler>();
  private sweeper: NodeJS.Timeout | undefined;

  private watchDeadlines(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const handler of this.deadlines) if (handler.deadline <= now) handler.pastDeadline();
      if (this.deadlines.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, DEADLINE_SWEEP_MS).unref();
  }

  /** The requests in flight under each stop signal, aborted together when it fires (one listener each). */
  private readonly inFlight = new WeakMap<AbortSignal, Set<ResponseHandler>>();

  private abortsOf(signal: AbortSignal): Set<ResponseHandler> {
    let handlers = this.inFlight.get(signal);
    if (handlers === undefined) {
      const set = new Set<ResponseHandler>();
      handlers = set;
      this.inFlight.set(signal, set);
      signal.addEventListener(
        "abort",
        () => {
          for (const handler of set) handler.abort(signal.reason);
          set.clear();
        },
        { once: true },
      );
    }
    return handlers;
  }

  /**
   * The parts of a URL a request uses, read once per URL object: targets keep theirs, and each getter
   * of a WHATWG URL builds a new string.
   */
  private readonly urlParts = new WeakMap<URL, UrlParts>();

  private partsOf(request: HttpRequest): UrlParts {
    const { url, pathname } = request;
    if (pathname !== undefined) {
      // A path of its own: the URL object is the request's alone, nothing to keep.
      return {
        protocol: url.protocol,
        hostname: url.hostname,
        origin: url.origin,
        path: `${pathname}${url.search}`,
        described: describeUrl(url, pathname),
      };
    }
    let parts = this.urlParts.get(url);
    if (parts === undefined) {
      parts = {
        protocol: url.protocol,
        hostname: url.hostname,
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        described: describeUrl(url),
      };
      this.urlParts.set(url, parts);
    }
    return parts;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    await Promise.all([this.agent.destroy(), this.strictAgent.destroy()]);
  }

  /** Header names found valid, by name as given, with their lower-case form (the same few on every request). */
  private readonly headerNames = new Map<string, string>();

  private headersFor(request: HttpRequest, what: () => string): Record<string, string> {
    const headers: Record<string, string> = { "user-agent": this.userAgent };
    const names = this.headerNames;
    for (const name in request.headers) {
      const value = request.headers[name] as string;
      let lower = names.get(name);
      try {
        if (lower === undefined) {
          http.validateHeaderName(name);
          lower = name.toLowerCase();
          if (names.size >= 1000) names.clear();
          names.set(name, lower);
        }
        http.validateHeaderValue(name, value);
      } catch {
        throw new DeliveryError(
          HttpErrorCode.InvalidParameter,
          `${what()}: header ${JSON.stringify(name)} has a name or value HTTP does not allow`,
          { retryable: false },
        );
      }
      headers[lower] = value;
    }
    if (request.body !== undefined) headers["content-length"] = String(Buffer.byteLength(request.body));
    return headers;
  }
}

/**
 * The most of a body read and dropped (a success's, or an error's past what is kept of it) before the
 * connection is closed instead: a target answering errors with endless bodies had the server read
 * them at loopback speed, each attempt, a core's worth at two events a second.
 */
const MAX_DROPPED_BODY_BYTES = 64 * 1024;

/**
 * One response, read with undici's dispatch handler callbacks: the status and raw headers, the start
 * of the body when it is kept (never a success's, unless asked for), then the outcome.
 */
class ResponseHandler implements Dispatcher.DispatchHandler {
  #abort: ((reason?: Error) => void) | undefined;
  #settled = false;
  #status = 0;
  #rawHeaders: Buffer[] = [];
  #keep = false;
  #chunks: Buffer[] = [];
  #kept = 0;
  #seen = 0;
  #truncated = false;
  #unfinished = false;

  constructor(
    private readonly resolve: (response: HttpResponse) => void,
    private readonly reject: (error: unknown) => void,
    private readonly maxBodyBytes: number,
    private readonly readSuccessBody: boolean,
    private readonly aborts: Set<ResponseHandler>,
    private readonly deadlines: Set<ResponseHandler>,
    /** Called once when a request {@link arm}ed settles. */
    private readonly onSettled: () => void,
  ) {
    aborts.add(this);
  }

  /** When the request is ended if it has not finished, in milliseconds since the epoch (once armed). */
  deadline = Infinity;

  get settled(): boolean {
    return this.#settled;
  }

  /** The request is dispatched now, to end by `deadline`. */
  arm(deadline: number): void {
    this.deadline = deadline;
    this.deadlines.add(this);
  }

  /**
   * The deadline passed: a response whose 2xx status arrived is a success (the receiver accepted the
   * event; the rest of its body is not waited for), a response of another status is what arrived of
   * it, and a request without a status yet is a timeout. The connection is closed.
   */
  pastDeadline(): void {
    if (this.#settled) return;
    if (this.#status >= 200) {
      this.#truncated = true;
      this.#unfinished = true;
      this.#succeed();
      this.#abort?.();
      return;
    }
    const error = Object.assign(new Error("the attempt took longer than its timeout"), {
      code: ATTEMPT_DEADLINE_CODE,
    });
    if (this.#abort !== undefined) this.#abort(error);
    else this.#settle(undefined, error);
  }

  /** Ends the request (the stop signal fired). */
  abort(reason: unknown): void {
    if (this.#settled) return;
    if (this.#abort !== undefined) this.#abort(reason instanceof Error ? reason : undefined);
    else this.#settle(undefined, reason ?? new Error("aborted"));
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.#settled) abort(new Error("aborted"));
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx: the response is still to come
    this.#status = statusCode;
    this.#rawHeaders = rawHeaders;
    this.#keep = statusCode >= 300 || this.readSuccessBody;
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (!this.#keep) {
      // Nobody reads a success's body: drop it (a long one closes the connection instead, once).
      if (this.#settled) return true;
      this.#seen += chunk.length;
      if (this.#seen > MAX_DROPPED_BODY_BYTES) {
        this.#succeed();
        this.#abort?.();
      }
      return true;
    }
    const room = this.maxBodyBytes - this.#kept;
    if (room <= 0) {
      // Read and dropped, so that the connection stays usable; a long one closes it instead, once.
      this.#truncated = true;
      if (this.#settled) return true;
      this.#seen += chunk.length;
      if (this.#seen > MAX_DROPPED_BODY_BYTES) {
        this.#succeed();
        this.#abort?.();
      }
      return true;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#truncated ||= part.length < chunk.length;
    this.#chunks.push(part);
    this.#kept += part.length;
    return true;
  }

  onComplete(): void {
    this.#succeed();
  }

  onError(error: Error): void {
    this.#settle(undefined, error);
  }

  #succeed(): void {
    const status = this.#status;
    if (!this.#keep) {
      this.#settle(new ClientResponse(status, "", this.#rawHeaders, "", false, this.#unfinished));
      return;
    }
    this.#settle(
      new ClientResponse(
        status,
        http.STATUS_CODES[status] ?? "",
        this.#rawHeaders,
        this.#chunks.length === 1
          ? (this.#chunks[0] as Buffer).toString("utf8")
          : Buffer.concat(this.#chunks).toString("utf8"),
        this.#truncated,
        this.#unfinished,
      ),
    );
  }

  #settle(response: HttpResponse | undefined, error?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.aborts.delete(this);
    if (this.deadlines.delete(this)) this.onSettled();
    if (response !== undefined) this.resolve(response);
    else this.reject(error);
  }
}

/** A response; its headers are parsed from undici's raw list when first read (most never are). */
class ClientResponse implements HttpResponse {
  #raw: Buffer[];
  #headers: Record<string, string | string[]> | undefined;

  constructor(
    readonly status: number,
    readonly statusMessage: string,
    raw: Buffer[],
    readonly body: string,
    readonly truncated: boolean,
    readonly unfinished: boolean,
  ) {
    this.#raw = raw;
  }

  get headers(): Readonly<Record<string, string | string[]>> {
    if (this.#headers === undefined) {
      const headers: Record<string, string | string[]> = Object.create(null) as Record<
        string,
        string | string[]
      >;
      const raw = this.#raw;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = (raw[i] as Buffer).toString("latin1").toLowerCase();
        const value = (raw[i + 1] as Buffer).toString("latin1");
        const had = headers[name];
        if (had === undefined) headers[name] = value;
        else if (typeof had === "string") headers[name] = [had, value];
        else had.push(value);
      }
      this.#headers = headers;
    }
    return this.#headers;
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
