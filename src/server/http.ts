/**
 * The HTTP front: one port for the EventBridge and SQS APIs, health, readiness and metrics. Bodies
 * are bounded; a request over the limit gets 413 in the AWS error shape of its API, its body read and
 * dropped (up to DRAIN_LIMIT_BYTES) so that the client can read the 413, and never kept. The bodies
 * held at once are bounded too (a request past the bound gets 503, which the AWS SDKs retry), and so
 * is the time a body may take to arrive (408).
 */
import {
  createServer,
  maxHeaderSize,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { Server as NetServer, isIPv6, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { randomUUID, timingSafeEqual } from "node:crypto";
import {
  SQS_TARGET_PREFIX,
  sqsAuthFailure,
  sqsErrorResponse,
  sqsQueryErrorResponse,
  LazyAbort,
  type RawRequest,
  type RawResponse,
} from "../api/wire/index.js";
import { AuthError, claimedAccessKey, type CredentialLookup } from "../auth/index.js";
import type { MetricsCaller, MetricsScrape } from "../metrics/index.js";
import { MAX_KEYED_SCRAPES, MAX_SCRAPES_PER_KEY, ScrapeSlots } from "./scrape-slots.js";
import { QueueError, type SqsErrorCode } from "../queues/errors/index.js";

/** How requests are answered. */
export interface HttpHandlers {
  readonly maxBodyBytes: number;
  /**
   * BUSBAR_MAX_BYTES_IN_FLIGHT: the request bodies held at once, each from when it is let in until its
   * operation has answered (see {@link BodyBudget}): a request that does not fit waits its turn, then
   * gets 503.
   */
  readonly maxBytesInFlight: number;
  /** BUSBAR_REQUEST_TIMEOUT_MS: how long a request's body may take to arrive before the 408. */
  readonly requestTimeoutMs: number;
  /** Answers `POST /` requests with an X-Amz-Target. */
  readonly api: (request: RawRequest) => Promise<RawResponse>;
  /** Whether the node is ready to accept events. */
  readonly ready: () => boolean;
  /**
   * The Prometheus text exposition of the node's metrics (`GET /metrics`), compressed when `gzip`; with
   * a caller (HTTP Basic credentials: an access key), its account's series alone, or a refusal.
   */
  readonly metrics?: MetricsScrape;
  /**
   * When set, `GET /metrics` without an access key's credentials needs `Authorization: Bearer
   * <metricsToken>` (BUSBAR_METRICS_TOKEN).
   */
  readonly metricsToken?: string | undefined;
  /**
   * BUSBAR_MAX_CONNECTIONS: the connections served at once (each holds a file descriptor, and a long
   * poll its waiter: 20,000 of them took a server to its descriptor limit and 1.4 GB). Past it, room
   * is made for the new one (see {@link RoomMaker}), which is closed as it comes only when none can
   * be: 10,000 connections opened and left silent kept every client out for two minutes.
   */
  readonly maxConnections?: number;
  /**
   * Whether a request with a large or chunked body names an access key this server knows, asked from
   * its headers before the body takes a share of {@link maxBytesInFlight}: the error to answer it with
   * at once when not, so that no one without a key can hold the bodies' room from those with one; else
   * whom the request's share is counted against, the key's account (see {@link BodyBudget.own}).
   * See {@link vouchBy}.
   */
  readonly vouch?: (req: IncomingMessage) => Promise<AuthError | string | undefined>;
  /**
   * Room shared with what makes large replies (the queues' receives): what of a reply the system's
   * socket buffers did not take is held in it too, until written or its connection closed, and such
   * replies are held to a pace while the room is wanted (see {@link BodyBudget}).
   */
  readonly replyRoom?: ReplyRoom;
}

/** See {@link HttpHandlers.replyRoom}. */
export interface ReplyRoom {
  hold(bytes: number): void;
  give(bytes: number): void;
  /** Whether someone waits for room. */
  wanted(): boolean;
}

/** Requests with a body over this many bytes, or a chunked one, are vouched for (HttpHandlers.vouch). */
export const VOUCH_ABOVE_BYTES = 16 * 1024;

/**
 * An {@link HttpHandlers.vouch} that asks `lookup` whether the key a request names exists: its account
 * (else the key) is whom the request's share of the bodies' room counts against, so that one account's
 * many keys hold no more of it than one key would.
 */
export function vouchBy(lookup: CredentialLookup): NonNullable<HttpHandlers["vouch"]> {
  return async (req) => {
    const url = req.url ?? "";
    const q = url.indexOf("?");
    try {
      const { accessKeyId, accountId } = await claimedAccessKey(
        { headers: req.headers, query: q === -1 ? "" : url.slice(q + 1) },
        lookup,
      );
      return accountId === undefined ? `key ${accessKeyId}` : `account ${accountId}`;
    } catch (e) {
      if (e instanceof AuthError) return e;
      // The lookup failed (the store's, a broken disk's): the body takes no share of its own, and the
      // request's authentication, which looks the key up again, answers that failure in its API's
      // shape, logged as the store's failures are. (It answered a bare 500 in EventBridge's shape.)
      return undefined;
    }
  };
}

/** What {@link HttpHandlers.vouch} says of a request, when its body is one to vouch for. */
async function vouched(
  req: IncomingMessage,
  handlers: HttpHandlers,
): Promise<AuthError | string | undefined> {
  if (handlers.vouch === undefined) return undefined;
  const chunked =
    req.headers["content-length"] === undefined && req.headers["transfer-encoding"] !== undefined;
  const declared = declaredLength(req);
  // A body over the limit takes no share either: its 413 comes first.
  if ((!chunked && declared <= VOUCH_ABOVE_BYTES) || declared > handlers.maxBodyBytes) return undefined;
  return handlers.vouch(req);
}

/**
 * A request target in origin form (`/path?query`): one in absolute form (`http://host/path`, as a
 * client talking to a proxy sends it), which servers must accept, without its scheme and authority.
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-3.2.2
 */
function originForm(target: string): string {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (m === null) return target;
  const rest = target.slice(m[0].length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/** Resolves at the first of `events` on the response (each listener removed then). */
function firstOf(res: ServerResponse, events: readonly ("drain" | "finish" | "close")[]): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      for (const event of events) res.off(event, done);
      resolve();
    };
    for (const event of events) res.once(event, done);
  });
}

/**
 * Whether the request's Accept-Encoding takes gzip (Prometheus sends `gzip`): named, or by `*`, and
 * not with `q=0`.
 * @see https://www.rfc-editor.org/rfc/rfc9110#name-accept-encoding
 */
function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers["accept-encoding"];
  if (header === undefined) return false;
  for (const item of header.split(",")) {
    const [coding = "", ...params] = item.split(";").map((p) => p.trim().toLowerCase());
    if (coding !== "gzip" && coding !== "x-gzip" && coding !== "*") continue;
    const q = params.find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/**
 * Whether the request's Authorization header is `Bearer <token>`: the scheme in any case (RFC 7235),
 * the token compared in constant time.
 */
function bearerIs(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const space = header.indexOf(" ");
  if (space === -1 || header.slice(0, space).toLowerCase() !== "bearer") return false;
  const given = Buffer.from(header.slice(space + 1));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const BASIC_CHALLENGE = 'Basic realm="busbar metrics", charset="UTF-8"';

/**
 * The access key in an `Authorization: Basic` header (RFC 7617: base64 of `<id>:<secret>`); undefined
 * without one, "malformed" when it is not of that form.
 */
function basicCredentials(req: IncomingMessage): MetricsCaller | "malformed" | undefined {
  const header = (req.headers.authorization ?? "").trim();
  const space = header.indexOf(" ");
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== "basic") return undefined;
  const encoded = space === -1 ? "" : header.slice(space + 1).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return "malformed";
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0 || colon === decoded.length - 1) return "malformed";
  return { accessKeyId: decoded.slice(0, colon), secretAccessKey: decoded.slice(colon + 1) };
}

/** A reply being written: how many of its bytes the socket has not yet handed to the system. */
interface Sending {
  unsent(): number;
}

/**
 * Bodies larger than this are written a piece of this size at a time, each once the one before is in
 * the system's socket buffers: how much of a large reply its client has taken then shows (see
 * {@link BodyBudget.replied}); written whole, it showed only once all of it was.
 */
export const REPLY_PIECE_BYTES = 256 * 1024;

function send(res: ServerResponse, r: RawResponse): Sending {
  const length = Buffer.byteLength(r.body);
  res.writeHead(r.status, { ...r.headers, "content-length": length });
  if (length <= REPLY_PIECE_BYTES) {
    res.end(r.body);
    return { unsent: () => res.socket?.writableLength ?? 0 };
  }
  const body = Buffer.from(r.body);
  let written = 0;
  const next = (error?: Error | null): void => {
    if (error != null || res.destroyed) return;
    if (written === body.length) {
      res.end();
      return;
    }
    const piece = body.subarray(written, written + REPLY_PIECE_BYTES);
    res.write(piece, (e) => {
      if (e == null) written += piece.length;
      next(e);
    });
  };
  next();
  return { unsent: () => (res.destroyed ? 0 : body.length - written) };
}

/**
 * A request refused before its operation, in the error shape of its API (SQS JSON, SQS query as XML,
 * or EventBridge's AWS JSON 1.1), with the SQS code's status for all three.
 */
function refusal(
  req: IncomingMessage,
  code: SqsErrorCode,
  eventsType: string,
  message: string,
  eventsStatus?: number,
): RawResponse {
  const target = req.headers["x-amz-target"];
  const form = (req.headers["content-type"] ?? "")
    .toLowerCase()
    .startsWith("application/x-www-form-urlencoded");
  const error = new QueueError(code, message);
  if (form) return sqsQueryErrorResponse(error);
  if (typeof target === "string" && target.startsWith(SQS_TARGET_PREFIX)) return sqsErrorResponse(error);
  return {
    status: eventsStatus ?? error.httpStatus,
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-errortype": eventsType,
      "x-amzn-requestid": randomUUID(),
    },
    body: JSON.stringify({ __type: eventsType, message }),
  };
}

/** The 413 of a body over `limit` bytes. */
function tooLarge(limit: number, req: IncomingMessage): RawResponse {
  return refusal(
    req,
    "RequestEntityTooLarge",
    "RequestEntityTooLargeException",
    `Request body exceeds ${limit} bytes.`,
  );
}

/** The answer to a request refused before its body was read for the credentials it names (see HttpHandlers.vouch). */
function unauthenticated(e: AuthError, req: IncomingMessage): RawResponse {
  return refusal(req, sqsAuthFailure(e).code, e.awsType, e.message, e.httpStatus);
}

/** The codings of a coding header, lower case, without `identity` (which changes nothing). */
function codings(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
}

/**
 * The refusal of a request the server does not read (/healthz, /readyz and /metrics are answered
 * before it): one without a Host header (HTTP/1.1 requires it), or whose body is sent in a coding the
 * server does not decode: a transfer coding other than `chunked` (501, as RFC 9112 asks) or any
 * content coding (415). The connection is closed after it (the body is not read). Node's parser takes
 * `Transfer-Encoding: gzip, chunked` and hands the body on compressed, and no AWS SDK compresses these
 * APIs' requests.
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-3.2
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-6.1
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-8.4.1
 */
function unreadable(req: IncomingMessage): RawResponse | undefined {
  if (req.headers.host === undefined && req.httpVersion !== "1.0") {
    return refusal(
      req,
      "MalformedInput",
      "SerializationException",
      "The request has no Host header, which every HTTP/1.1 request must have (and SigV4 signs).",
    );
  }
  const transfer = req.headers["transfer-encoding"];
  if (codings(transfer).some((c) => c !== "chunked")) {
    return refusal(
      req,
      "NotImplemented",
      "NotImplementedException",
      `Transfer-Encoding ${transfer ?? ""} is not supported: send the body as is, with Content-Length or Transfer-Encoding: chunked.`,
    );
  }
  const content = req.headers["content-encoding"];
  if (codings(content).length > 0) {
    return refusal(
      req,
      "UnsupportedMediaType",
      "UnsupportedMediaTypeException",
      `Content-Encoding ${content ?? ""} is not supported: send the body uncompressed.`,
    );
  }
  return undefined;
}

/** The 503 of a request that would take the bodies held past `limit` bytes: the SDKs retry it. */
function busy(limit: number, req: IncomingMessage): RawResponse {
  const r = refusal(
    req,
    "ServiceUnavailable",
    "ServiceUnavailableException",
    `The server is busy: the request bodies it holds would exceed ${limit} bytes (BUSBAR_MAX_BYTES_IN_FLIGHT). Retry shortly.`,
  );
  return { ...r, headers: { ...r.headers, "retry-after": "1" } };
}

/** The 408 of a body that took longer than `ms` to arrive: the SDKs retry it. */
function timedOut(ms: number, req: IncomingMessage): RawResponse {
  return refusal(
    req,
    "RequestTimeout",
    "RequestTimeoutException",
    `The request body did not arrive within ${ms} ms (BUSBAR_REQUEST_TIMEOUT_MS).`,
  );
}

/** The 408 of a body given up for falling behind while others waited for room (see SHED_PACE_MS). */
function fellBehind(req: IncomingMessage): RawResponse {
  return refusal(
    req,
    "RequestTimeout",
    "RequestTimeoutException",
    `The request body arrived too slowly while other requests waited for room among the bodies held (BUSBAR_MAX_BYTES_IN_FLIGHT): it must arrive at ${SHED_MIN_BYTES_PER_S} bytes a second or more, and at least as fast as would bring it whole within ${SHED_PACE_MS / 1000} s.`,
  );
}

/**
 * How long a request whose body does not fit beside the bodies held waits for room, its connection
 * not read meanwhile (so that it takes neither memory nor a share of the network from the requests
 * being read), before its 503; less if BUSBAR_REQUEST_TIMEOUT_MS is shorter.
 */
export const ADMISSION_WAIT_MS = 10_000;

/**
 * While requests wait for room, a body let in by its declared length must arrive at least as fast as
 * one that arrives whole within this long (and at {@link SHED_MIN_BYTES_PER_S} at least), once its
 * grace (a fifth of the admission wait) is over; one that falls behind is given up for them (its 408):
 * a client that declares large bodies and sends them a byte at a time would otherwise hold the room of
 * the bodies in flight, to every other client's 503, with nothing but an access key id to name.
 */
export const SHED_PACE_MS = 10_000;

/** The least rate a body is held to while others wait (see {@link SHED_PACE_MS}). */
export const SHED_MIN_BYTES_PER_S = 16 * 1024;

/**
 * How long the rest of a reply that the system's socket buffers did not take may wait for its client at
 * any pace before it is held to one. Shorter than a body's: a client that reads takes some of it at
 * once, and while the room is wanted, receives wait for what such replies hold (250 ms cut off
 * replies that a loaded client was reading, in the tests).
 */
export const SHED_REPLY_GRACE_MS = 1000;

/** How often bodies are looked at for falling behind while requests wait for room. */
const SHED_CHECK_MS = 100;

/**
 * Bytes on their way (see {@link SHED_PACE_MS}): a body let in by its declared length, still arriving,
 * or a reply the client has not yet taken whole.
 */
interface Moving {
  readonly bytes: number;
  /** When they began to move, and how long they may move at any pace before they are held to one. */
  readonly since: number;
  readonly graceMs: number;
  /** How many of them have moved so far. */
  readonly moved: () => number;
  /** Gives them up (the share given back; a body's 408 answered, a reply's connection closed). */
  readonly shed: () => void;
}

/** A request waiting for room in a {@link BodyBudget}. */
interface Waiter {
  readonly res: ServerResponse;
  readonly bytes: number;
  readonly admit: (admitted: boolean) => void;
}

/**
 * The request bodies and replies a server holds, bounded by {@link HttpHandlers.maxBytesInFlight}: each
 * request's share is taken before its body is read (its declared length); once its reply is answered,
 * the share becomes what of the reply the socket has not handed to the system yet (nothing, mostly), given
 * back when that is written or the connection closes. Without it, a client that asked for a reply larger
 * than the system's socket buffers take (ten 1 MiB messages) and read none of it had the server hold the
 * rest until its connection fell idle (120 s), and so, once the system's socket memory ran short, every
 * such reply.
 * A request that does not fit, or comes while others wait, waits its turn, first come first served,
 * for up to {@link ADMISSION_WAIT_MS}; one alone is always taken, whatever its size. A request that
 * already holds a share and needs more (a chunked body, which takes its share as it arrives) goes
 * ahead of those that hold none: they may be waiting for the very room it holds, which it gives back
 * sooner by finishing. While requests wait, a body that arrives too slowly, or a reply taken too slowly,
 * is given up for them (see {@link SHED_PACE_MS}).
 */
class BodyBudget {
  #inFlight = 0;
  readonly #held = new Map<ServerResponse, number>();
  readonly #waiting: Waiter[] = [];
  readonly #moving = new Map<ServerResponse, Moving>();
  #watching: NodeJS.Timeout | undefined;

  /** `graceMs`: how long a body is let arrive at any pace before it is held to one. */
  constructor(
    private readonly max: number,
    private readonly graceMs: number,
    private readonly replyRoom?: ReplyRoom,
  ) {}

  /** What each reply holds of the {@link replyRoom}. */
  readonly #roomHeld = new Map<ServerResponse, number>();

  /** The account (or access key) each vouched-for request's share counts against (see {@link own}). */
  readonly #owner = new Map<ServerResponse, string>();
  /** What the requests of each account (or access key) hold. */
  readonly #ownerHeld = new Map<string, number>();

  /**
   * Counts the share of `res` (a request whose large body named a key this server knows) against
   * `owner`, the key's account (see {@link vouchBy}): while it holds a share for another request, an
   * account's requests hold half the room at most, and those waiting behind them go first once it
   * holds that much. One key's slow uploads of large bodies held the whole room (60 of 5 MiB at
   * 600 KiB/s, fast enough not to be given up), and another account's requests waited up to 8 s;
   * counted by key, one account's several keys still did.
   */
  own(res: ServerResponse, owner: string): void {
    if (this.#owner.has(res)) return;
    this.#owner.set(res, owner);
    this.#ownerAdd(res, this.#held.get(res) ?? 0);
  }

  #ownerAdd(res: ServerResponse, bytes: number): void {
    const owner = this.#owner.get(res);
    if (owner === undefined || bytes === 0) return;
    const held = (this.#ownerHeld.get(owner) ?? 0) + bytes;
    if (held === 0) this.#ownerHeld.delete(owner);
    else this.#ownerHeld.set(owner, held);
  }

  /**
   * Whether the share `res` is let in with, `bytes`, keeps its owner to half the room (or is the
   * owner's only share). A chunked body that holds a share already grows by its chunks unchecked: its
   * chunks wait only for room, as it may be the one the others of its owner wait for.
   */
  #ownerFits(res: ServerResponse, bytes: number): boolean {
    const owner = this.#owner.get(res);
    if (owner === undefined || (this.#held.get(res) ?? 0) > 0) return true;
    const held = this.#ownerHeld.get(owner) ?? 0;
    return held === 0 || held + bytes <= this.max / 2;
  }

  /** Whether `bytes` more fit beside what other requests than that of `res` hold. */
  #fits(res: ServerResponse, bytes: number): boolean {
    return this.#inFlight <= (this.#held.get(res) ?? 0) || this.#inFlight + bytes <= this.max;
  }

  #add(res: ServerResponse, bytes: number): void {
    this.#inFlight += bytes;
    this.#held.set(res, (this.#held.get(res) ?? 0) + bytes);
    this.#ownerAdd(res, bytes);
  }

  /** How many waiting requests go ahead of one for `res` (see the class's doc): all, or those that hold a share. */
  #ahead(res: ServerResponse): number {
    const holding = (r: ServerResponse): boolean => (this.#held.get(r) ?? 0) > 0;
    if (!holding(res)) return this.#waiting.length;
    const firstWithout = this.#waiting.findIndex((w) => !holding(w.res));
    return firstWithout === -1 ? this.#waiting.length : firstWithout;
  }

  /** Takes `bytes` more for the request of `res` now, if they fit and none waits ahead of it. */
  take(res: ServerResponse, bytes: number): boolean {
    if ((bytes > 0 && this.#ahead(res) > 0) || !this.#fits(res, bytes) || !this.#ownerFits(res, bytes))
      return false;
    this.#add(res, bytes);
    return true;
  }

  /**
   * Takes `bytes` for the request of `res` once they fit, in turn; false after `ms` or when given back
   * first, and at once when it holds a share and so does every other request with one, all of them
   * waiting: none could ever be let in (two chunked bodies growing into each other's room).
   */
  wait(res: ServerResponse, bytes: number, ms: number): Promise<boolean> {
    const held = this.#held.get(res) ?? 0;
    if (held > 0) {
      const waiting = new Set(this.#waiting.map((w) => w.res));
      let stuck = true;
      for (const [other, share] of this.#held)
        if (share > 0 && other !== res && !waiting.has(other)) stuck = false;
      if (stuck) return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.#waiting.indexOf(waiter);
        if (i !== -1) this.#waiting.splice(i, 1);
        resolve(false);
        this.#admitWaiting(); // the next in line may fit
      }, ms);
      const waiter: Waiter = {
        res,
        bytes,
        admit: (admitted) => {
          clearTimeout(timer);
          resolve(admitted);
        },
      };
      this.#waiting.splice(this.#ahead(res), 0, waiter);
      // Those ahead may all wait for their keys' shares, not for room.
      this.#admitWaiting();
      this.#watch();
    });
  }

  /**
   * Whether room is wanted: a request waits for it, replies their clients are slow to take fill it, or
   * a receive waits in the {@link replyRoom}.
   */
  #pressed(): boolean {
    return this.#waiting.length > 0 || this.#inFlight > this.max || this.replyRoom?.wanted() === true;
  }

  /**
   * Gives up laggards now if room is wanted, and looks again every {@link SHED_CHECK_MS} while it is,
   * or while a reply is unsent (a receive may come to wait for the room it holds).
   */
  #watch(): void {
    if (this.#pressed()) this.#shedLaggards();
    this.#watching ??= setInterval(() => {
      if (this.#pressed()) return this.#shedLaggards();
      if (this.#roomHeld.size > 0) return;
      clearInterval(this.#watching);
      this.#watching = undefined;
    }, SHED_CHECK_MS).unref();
  }

  /**
   * Watches the body of `res`, let in by its `declared` length, as it arrives (`received`: how much
   * has); its reader says when it is done with {@link arrived}.
   */
  arriving(res: ServerResponse, declared: number, received: () => number, shed: () => void): void {
    this.#moving.set(res, {
      bytes: declared,
      since: Date.now(),
      graceMs: this.graceMs,
      moved: received,
      shed,
    });
  }

  /** The body of `res` is whole (or given up): no longer watched. */
  arrived(res: ServerResponse): void {
    this.#moving.delete(res);
  }

  /**
   * The reply of `res` has been answered: its share becomes what of it the socket has not handed to the
   * system yet, given back once that is written (the response's "close") and held to a pace meanwhile,
   * its connection closed if it falls behind; nothing, at once, when the socket took it all.
   */
  replied(res: ServerResponse, sending: Sending): void {
    const pending = sending.unsent();
    if (pending === 0 || res.writableFinished || res.destroyed) return this.release(res);
    this.#inFlight += pending - (this.#held.get(res) ?? 0);
    this.#ownerAdd(res, pending - (this.#held.get(res) ?? 0));
    this.#held.set(res, pending);
    if (this.replyRoom !== undefined) {
      this.replyRoom.hold(pending);
      this.#roomHeld.set(res, pending);
    }
    this.#moving.set(res, {
      bytes: pending,
      since: Date.now(),
      graceMs: SHED_REPLY_GRACE_MS,
      moved: () => pending - sending.unsent(),
      shed: () => {
        res.destroy();
        this.release(res);
      },
    });
    this.#admitWaiting();
    this.#watch();
  }

  /** Gives up, least moved first, the bodies and replies behind their pace, until room is no longer wanted. */
  #shedLaggards(): void {
    const now = Date.now();
    const behind = [...this.#moving.values()].filter((m) => {
      const late = now - m.since - m.graceMs;
      const rate = Math.max(SHED_MIN_BYTES_PER_S, (m.bytes * 1000) / SHED_PACE_MS);
      return late > 0 && m.moved() < (rate * late) / 1000;
    });
    behind.sort((a, b) => a.moved() / a.bytes - b.moved() / b.bytes);
    for (const laggard of behind) {
      if (!this.#pressed()) return;
      laggard.shed();
    }
  }

  /** Whether the request of `res` was let in (and holds its share). */
  holds(res: ServerResponse): boolean {
    return this.#held.has(res);
  }

  /** Gives back what the request of `res` holds (and stops its wait), then lets in who now fits. */
  release(res: ServerResponse): void {
    const i = this.#waiting.findIndex((w) => w.res === res);
    if (i !== -1) this.#waiting.splice(i, 1)[0]?.admit(false);
    this.#moving.delete(res);
    const roomHeld = this.#roomHeld.get(res);
    if (roomHeld !== undefined) {
      this.#roomHeld.delete(res);
      this.replyRoom?.give(roomHeld);
    }
    const held = this.#held.get(res);
    if (held !== undefined) this.#ownerAdd(res, -held);
    this.#owner.delete(res);
    if (held === undefined) return;
    this.#inFlight -= held;
    this.#held.delete(res);
    this.#admitWaiting();
  }

  /**
   * Lets the waiting requests in, in turn, while they fit; one whose key holds half the room already
   * (see {@link own}) stays, and those behind it go first.
   */
  #admitWaiting(): void {
    const waiting = this.#waiting;
    let kept = 0;
    let i = 0;
    for (; i < waiting.length; i++) {
      const w = waiting[i] as Waiter;
      if (!this.#fits(w.res, w.bytes)) break;
      if (!this.#ownerFits(w.res, w.bytes)) {
        waiting[kept++] = w;
        continue;
      }
      this.#add(w.res, w.bytes);
      w.admit(true);
    }
    if (kept === i) return; // none let in
    // One pass: a splice per request let in moved every request behind it (quadratic in those waiting).
    waiting.copyWithin(kept, i);
    waiting.length -= i - kept;
  }
}

/**
 * A body over the limit is still read, and dropped, up to this many bytes in all before the 413: a
 * client still sending when the reply came would see its connection reset instead of the 413 (and an
 * SDK would retry the upload). Past it, the 413 goes at once and the connection is closed.
 */
export const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;

/** Bodies larger than this wait for a turn of the event loop before they are handled. */
const YIELD_BODY_BYTES = 256 * 1024;

/** The body length a request declares (Content-Length; 0 without one). */
function declaredLength(req: IncomingMessage): number {
  return Number(req.headers["content-length"] ?? 0);
}

/** Lets a request of `declared` body bytes in: at once if it fits, else once room is made, in turn. */
function admit(
  res: ServerResponse,
  declared: number,
  limits: Pick<HttpHandlers, "requestTimeoutMs">,
  budget: BodyBudget,
): Promise<boolean> | boolean {
  if (budget.take(res, declared)) return true;
  return budget.wait(res, declared, Math.min(ADMISSION_WAIT_MS, limits.requestTimeoutMs));
}

/** How long a connection may see no bytes move either way, a request or a reply in progress, before it is closed. */
export const SOCKET_IDLE_TIMEOUT_MS = 120_000;

/**
 * Why a request's body was not kept: over the limit, no room among the bodies held, too slow (past
 * its time, or behind its pace while others waited for room), or not to be kept at all (its request
 * refused for its credentials before it was read).
 */
type Refused = "too-large" | "busy" | "timeout" | "shed" | "unwanted";

/**
 * The request's body, or why it was not kept. It is read once its share of the bodies held is taken
 * (see {@link BodyBudget}); a body without a declared length (chunked) takes its share chunk by chunk,
 * and a chunk that does not fit waits its turn the same way, unread after it. A body over the limit,
 * or one that found no room in time, is read to its end and dropped (unless past DRAIN_LIMIT_BYTES);
 * one still arriving `requestTimeoutMs` after its share was taken (not counting its waits for room) is
 * given up at once.
 */
async function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limits: Pick<HttpHandlers, "maxBodyBytes" | "requestTimeoutMs">,
  budget: BodyBudget,
  wanted = true,
): Promise<Buffer | Refused> {
  const declared = declaredLength(req);
  if (declared > DRAIN_LIMIT_BYTES) {
    draining(req);
    return "too-large";
  }
  let refused: Refused | undefined;
  if (!wanted) refused = "unwanted";
  else if (declared > limits.maxBodyBytes) refused = "too-large";
  else if (!budget.holds(res)) {
    // (A request that asked to continue was let in before its 100 Continue.)
    req.pause();
    if (!(await admit(res, declared, limits, budget))) refused = "busy";
    if (res.destroyed) {
      // The client went away while it waited: its share, if it took one since, goes back.
      budget.release(res);
      return "busy";
    }
    req.resume();
  }
  reading(req);
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const drop = (why: Refused): void => {
      refused ??= why;
      chunks = [];
      budget.release(res);
      draining(req);
    };
    if (refused !== undefined) drop(refused);
    const giveUp = (why: "timeout" | "shed"): void => {
      clearTimeout(timer);
      drop(why);
      resolve(why);
      req.pause();
    };
    let timeLeft = limits.requestTimeoutMs;
    let timerSetAt = Date.now();
    let timer = setTimeout(() => giveUp("timeout"), timeLeft);
    // A chunked body takes its share as it arrives: only what it sent; one of a declared length holds
    // all of it from the start, and is held to a pace while others wait.
    if (refused === undefined && declared > 0) {
      budget.arriving(
        res,
        declared,
        () => size,
        () => giveUp("shed"),
      );
    }
    /** A chunk waiting for room (the body is not read meanwhile, nor its end taken). */
    let waiting: Promise<void> | undefined;
    const waitForRoom = (chunk: Buffer): Promise<void> => {
      req.pause();
      held(req);
      // Its wait for room is not the client's slowness: the timeout stops meanwhile.
      clearTimeout(timer);
      timeLeft -= Date.now() - timerSetAt;
      return budget
        .wait(res, chunk.length, Math.min(ADMISSION_WAIT_MS, limits.requestTimeoutMs))
        .then((admitted) => {
          waiting = undefined;
          reading(req);
          if (res.destroyed) return resolve("busy"); // the client went away while it waited
          if (admitted) chunks.push(chunk);
          else drop("busy");
          timerSetAt = Date.now();
          timer = setTimeout(() => giveUp("timeout"), timeLeft);
          req.resume();
        });
    };
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_LIMIT_BYTES) {
        clearTimeout(timer);
        drop("too-large");
        resolve(refused ?? "too-large");
        req.pause();
        return;
      }
      if (refused !== undefined) return;
      if (size > limits.maxBodyBytes) drop("too-large");
      else if (size <= declared || budget.take(res, chunk.length)) chunks.push(chunk);
      else waiting = waitForRoom(chunk);
    });
    req.on("end", () => {
      budget.arrived(res);
      const finish = (): void => {
        clearTimeout(timer);
        resolve(refused ?? Buffer.concat(chunks, size));
      };
      if (waiting === undefined) finish();
      else void waiting.then(finish);
    });
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The requests a server has begun to receive and not yet answered, and whether it is closing. */
interface Answering {
  readonly open: Set<ServerResponse>;
  /** Each open connection (see {@link Connection}). */
  readonly connections: Map<Socket, Connection>;
  closing: boolean;
  drained?: () => void;
  /**
   * The long polls waiting for messages, oldest first, and how to end each one's wait (its reply then
   * goes with the messages it has: none): at the connection limit the oldest makes room (see
   * {@link RoomMaker}).
   */
  readonly polls: Map<ServerResponse, Poll>;
  /** The open connections of each client ({@link clientOf}; see {@link RoomMaker}). */
  readonly byAddress: Map<string, ClientConnections>;
}

/**
 * A client's open connections: `open`, and `order`, every one in the order they opened (youngest
 * last), with some that have closed since (dropped when they reach its end, or when they are as many
 * as the open ones).
 */
interface ClientConnections {
  readonly open: Set<Socket>;
  order: Socket[];
}

/** An open connection: its responses not yet ended, in the order of their requests, and since when it has had none. */
interface Connection {
  readonly responses: Set<ServerResponse>;
  quietSince: number;
  /** The number the next request on it gets (see {@link order}). */
  next: number;
  /** The number of the earliest response that closes it (`Connection: close`); Infinity when none does. */
  closeAt: number;
  /** The response of the latest request begun on it. */
  last?: ServerResponse | undefined;
  /** The bytes read from its socket when it fell idle: more since, and a request is on its way. */
  readWhenIdle: number;
  /** The client it came from ({@link clientOf}). */
  readonly client: string;
}

/**
 * A request's body as the connection limit sees it (see {@link RoomMaker}): held back by the server
 * since `heldSince` (its key's check, a reply before it on the connection, a wait for room), or being
 * read (the bytes its socket had read at two marks, the rate taken from the older one, at least
 * {@link STALLED_AFTER_MS} before: a burst at its start does not keep it from counting as stalled once
 * it stops), or read only to be dropped (`draining`: refused, or given up).
 */
interface Arrival {
  heldSince: number | undefined;
  draining: boolean;
  olderAt: number;
  olderRead: number;
  newerAt: number;
  newerRead: number;
}

/** A long poll waiting for messages: since when, and how to end its wait (see {@link Answering.polls}). */
interface Poll {
  readonly since: number;
  readonly hurry: () => void;
}

/** The requests whose bodies are not all read yet, by request (see {@link Arrival}). */
const arrivals = new WeakMap<IncomingMessage, Arrival>();

/** The {@link Arrival} of `req`, made (held back since now) if it has none yet. */
function arrivalOf(req: IncomingMessage): Arrival {
  let a = arrivals.get(req);
  if (a === undefined) {
    const now = Date.now();
    a = { heldSince: now, draining: false, olderAt: now, olderRead: 0, newerAt: now, newerRead: 0 };
    arrivals.set(req, a);
  }
  return a;
}

/** The server holds back the body of `req` from now (a request starts so, until its body is read). */
function held(req: IncomingMessage): void {
  const a = arrivalOf(req);
  if (a.heldSince === undefined && !a.draining) a.heldSince = Date.now();
}

/** The body of `req` is being read from now: its rate counts from here. */
function reading(req: IncomingMessage): void {
  const a = arrivalOf(req);
  if (a.draining) return;
  const now = Date.now();
  const read = req.socket.bytesRead;
  a.heldSince = undefined;
  a.olderAt = a.newerAt = now;
  a.olderRead = a.newerRead = read;
}

/** The body of `req` is read only to be dropped (or no longer read): its connection goes first. */
function draining(req: IncomingMessage): void {
  const a = arrivalOf(req);
  a.draining = true;
  a.heldSince = undefined;
}

/**
 * A request (or its headers) still arriving after this long at less than {@link SHED_MIN_BYTES_PER_S}
 * is stalled: at the connection limit, with no connection idle, the slowest stalled one is closed to
 * make room for a new one (see {@link RoomMaker}).
 */
export const STALLED_AFTER_MS = 1000;

/**
 * A connection counts as idle, to close for a new one at the limit, once it has been so for this long:
 * one just opened (or just answered) may have its next request on its way, not yet read.
 */
export const IDLE_AFTER_MS = 100;

/** The least time between two looks over every connection for stalled ones (see {@link RoomMaker}). */
const STALLED_SCAN_MS = 100;

/**
 * Makes room for a new connection at the limit, in this order: closes the connection idle longest
 * (that has not begun sending a request); else one whose request body is read only to be dropped
 * (refused, or given up), or whose request (its headers or its body) has been arriving slowest
 * (stalled: {@link STALLED_AFTER_MS}); else ends the wait of the oldest long poll (that has waited a
 * second or more), whose reply (without
 * messages) then closes its connection; else closes the connection whose request body the server has
 * held back longest, a second or more (waiting for room among the bodies, which it would otherwise
 * get, or a 503, only when room came or the wait ended); else closes the youngest connection not being
 * served (no request in hand, or one whose headers or body are still arriving, at any pace) of the
 * client ({@link clientOf}: an IPv4 address, or an IPv6 /64) that holds the most, when the new one's
 * client holds at least two fewer. Without the steps after the first, 10,000 connections that trickled their bodies a
 * byte at a time, or one tenant's 10,000 long polls, kept every other client out; without the last,
 * one address's flood of connections younger than a second (too young to count as stalled), or of
 * uploads kept just fast enough, did. Behind a proxy every client shares the proxy's address: the
 * last step then takes from the proxy's connections only for a client that reaches the server
 * directly (a health check, a scraper).
 *
 * What it does per new connection is small whatever the number of connections: the stalled and held
 * ones are found by a look over all of them at most every {@link STALLED_SCAN_MS} and taken from that
 * look's lists (a look per connection had the main thread at 100% with 10,000 connections stalled and
 * their clients opening new ones as the old were closed, and no other client got in).
 */
class RoomMaker {
  readonly #state: Answering;
  readonly #idle: Map<Socket, Connection>;
  /** The stalled connections of the last look, slowest last. */
  #stalled: Socket[] = [];
  /** The connections of the last look whose bodies the server held back a second or more, longest last. */
  #held: Socket[] = [];
  #lookedAt = Number.NEGATIVE_INFINITY;
  /** The address holding the most connections at the last look at the addresses, and when that was. */
  #hog: string | undefined;
  #hogLookedAt = Number.NEGATIVE_INFINITY;

  constructor(state: Answering, idle: Map<Socket, Connection>) {
    this.#state = state;
    this.#idle = idle;
  }

  /** Closes (or has close) a connection for a new one from `address`; false when none of them may go. */
  make(address: string): boolean {
    const now = Date.now();
    for (const [s, c] of this.#idle) {
      // The rest fell idle later still. (One just opened has not been read from yet, though its
      // request may be on its way: a client's first request was closed on it.)
      if (now - c.quietSince < IDLE_AFTER_MS) break;
      // One whose headers are on their way is not idle, though no request has been parsed yet: it
      // leaves the list (its request's end brings it back), so that the next look does not pass it.
      this.#idle.delete(s);
      if (s.bytesRead === c.readWhenIdle) {
        this.#close(s);
        return true;
      }
    }
    if (this.#closeFrom(this.#stalled, now, "stalled")) return true;
    if (now - this.#lookedAt >= STALLED_SCAN_MS) {
      this.#look(now);
      if (this.#closeFrom(this.#stalled, now, "stalled")) return true;
    }
    for (const [res, poll] of this.#state.polls) {
      // The rest waited less still. One that waited less than a second stays: its client may be one
      // whose poll was just ended to make room, polling again (with more pollers than the limit, each
      // poll ended had the next one ended at once, 1,180 a second).
      if (now - poll.since < STALLED_AFTER_MS) break;
      this.#state.polls.delete(res);
      if (res.destroyed || res.writableEnded) continue;
      closeAfter(this.#state, res);
      poll.hurry();
      return true;
    }
    return this.#closeFrom(this.#held, now, "held") || this.#closeForShare(address, now);
  }

  /**
   * The last step (see the class's doc): the youngest connection not being served of the client that
   * holds the most, for a new one from a client holding at least two fewer. The client is found by a
   * look at every client at most every {@link STALLED_SCAN_MS}.
   */
  #closeForShare(address: string, now: number): boolean {
    const { byAddress, connections } = this.#state;
    if (now - this.#hogLookedAt >= STALLED_SCAN_MS) {
      this.#hogLookedAt = now;
      this.#hog = undefined;
      let most = 0;
      for (const [a, held] of byAddress) {
        if (held.open.size > most) {
          most = held.open.size;
          this.#hog = a;
        }
      }
    }
    const hog = this.#hog === undefined ? undefined : byAddress.get(this.#hog);
    const own = byAddress.get(address)?.open.size ?? 0;
    if (hog === undefined || hog.open.size <= own + 1) return false;
    // Youngest first: a flood's newest connections, not a client's upload well under way.
    const { order } = hog;
    for (let i = order.length - 1; i >= 0; i--) {
      const s = order[i] as Socket;
      if (!hog.open.has(s)) {
        if (i === order.length - 1) order.pop();
        continue;
      }
      const c = connections.get(s);
      if (c !== undefined && !served(c)) {
        this.#close(s);
        return true;
      }
    }
    return false;
  }

  /** Closes the last connection of `list` that is still `kind`, dropping those that are not. */
  #closeFrom(list: Socket[], now: number, kind: "stalled" | "held"): boolean {
    for (let s = list.pop(); s !== undefined; s = list.pop()) {
      const c = this.#state.connections.get(s);
      if (c !== undefined && standing(s, c, now)?.kind === kind) {
        this.#close(s);
        return true;
      }
    }
    return false;
  }

  #look(now: number): void {
    this.#lookedAt = now;
    const stalled: Array<{ socket: Socket; by: number }> = [];
    const held: Array<{ socket: Socket; by: number }> = [];
    for (const [socket, c] of this.#state.connections) {
      const found = standing(socket, c, now);
      if (found !== undefined) (found.kind === "stalled" ? stalled : held).push({ socket, by: found.by });
    }
    // Slowest (for held ones: held longest) last.
    stalled.sort((a, b) => b.by - a.by);
    held.sort((a, b) => b.by - a.by);
    this.#stalled = stalled.map((f) => f.socket);
    this.#held = held.map((f) => f.socket);
  }

  #close(socket: Socket): void {
    this.#idle.delete(socket);
    const c = this.#state.connections.get(socket);
    this.#state.connections.delete(socket);
    if (c !== undefined) this.#state.byAddress.get(c.client)?.open.delete(socket);
    socket.destroy();
  }
}

/**
 * The client a connection's address stands for, as the connection limit's share counts them (see
 * {@link RoomMaker}): an IPv4 address (also when written IPv4-mapped, `::ffff:a.b.c.d`, as a
 * dual-stack socket gives it), or an IPv6 address's /64 network, which one host is commonly given whole.
 */
export function clientOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return "";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (mapped !== null) return mapped[1] as string;
  // NAT64's well-known prefix: each IPv4 host behind it is a client of its own.
  const nat64 = /^64:ff9b::(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(remoteAddress);
  if (nat64 !== null) {
    if (nat64[1] !== undefined) return nat64[1];
    const high = parseInt(nat64[2] as string, 16);
    const low = parseInt(nat64[3] as string, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  if (!isIPv6(remoteAddress)) return remoteAddress;
  // The first four groups, written out in full (`::` expanded), are the /64.
  const [head = "", tail = ""] = remoteAddress.split("%")[0]!.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === "" ? [] : tail.split(":");
  const groups = remoteAddress.includes("::")
    ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups]
    : headGroups;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * The request a connection has in hand: the latest (those before it on the connection are all there),
 * or one that asked to continue and waits for its 100 Continue (no response of the connection's yet);
 * undefined when it has none (it is idle, or the headers of its next request are on their way).
 */
function inHandOf(c: Connection): ServerResponse | undefined {
  const last = c.last;
  return c.responses.size > 0 || (last !== undefined && !last.writableFinished && !last.destroyed)
    ? last
    : undefined;
}

/**
 * Whether a connection's request is being served: all of it is there (its handler runs, or its reply
 * is being written, or a long poll waits). Not when it has none in hand, or its request's headers or
 * body are still arriving (or held back).
 */
function served(c: Connection): boolean {
  return inHandOf(c)?.req.complete === true;
}

/**
 * Whether a connection may be closed for a new one, besides an idle one (see {@link RoomMaker}):
 * `stalled`, `by` the rate (bytes a second) its request or its headers have been arriving at, -1 for a
 * body read only to be dropped; or `held`, `by` when the server began to hold its body back. Undefined
 * when neither: nothing is arriving, or it is arriving fast enough, or it was held back less than
 * {@link STALLED_AFTER_MS}, or its request is all there (being served).
 */
function standing(
  socket: Socket,
  c: Connection,
  now: number,
): { readonly kind: "stalled" | "held"; readonly by: number } | undefined {
  const inHand = inHandOf(c);
  if (inHand === undefined) {
    // Headers on their way since it fell idle (or opened); none at all, and it is idle.
    const bytes = socket.bytesRead - c.readWhenIdle;
    // More than headers can hold, and still no request: bytes the parser passes over (empty lines
    // before a request line, which Node does not count against its header limit), sent at any pace.
    if (bytes > 2 * maxHeaderSize) return { kind: "stalled", by: -1 };
    const elapsed = now - c.quietSince;
    if (bytes === 0 || elapsed < STALLED_AFTER_MS) return undefined;
    const rate = (bytes * 1000) / elapsed;
    return rate < SHED_MIN_BYTES_PER_S ? { kind: "stalled", by: rate } : undefined;
  }
  const a = inHand.req.complete ? undefined : arrivals.get(inHand.req);
  if (a === undefined) return undefined;
  if (a.draining) return { kind: "stalled", by: -1 };
  if (a.heldSince !== undefined) {
    return now - a.heldSince >= STALLED_AFTER_MS ? { kind: "held", by: now - a.heldSince } : undefined;
  }
  // Being read: the rate since the older mark, which moves up once the newer is a second old.
  const read = socket.bytesRead;
  if (now - a.newerAt >= STALLED_AFTER_MS) {
    a.olderAt = a.newerAt;
    a.olderRead = a.newerRead;
    a.newerAt = now;
    a.newerRead = read;
  }
  const elapsed = now - a.olderAt;
  if (elapsed < STALLED_AFTER_MS) return undefined;
  const rate = ((read - a.olderRead) * 1000) / elapsed;
  return rate < SHED_MIN_BYTES_PER_S ? { kind: "stalled", by: rate } : undefined;
}

/**
 * Waits until `res` has been handed to the socket whole, or is gone: a request pipelined behind it
 * runs only then, so that a client that sends many requests at once and reads none of the replies
 * holds one reply in the server, not one per request (40 such connections of 6 ReceiveMessage calls
 * of 2.6 MB replies each took the server to 2.8 GB).
 */
function sent(res: ServerResponse): Promise<void> | undefined {
  if (res.writableFinished || res.destroyed || res.closed) return undefined;
  return firstOf(res, ["finish", "close"]);
}

/** Each response's number among its connection's requests (pipelined requests are answered in order). */
const order = new WeakMap<ServerResponse, number>();

/**
 * Has the connection of `res` close once `res` is sent (`Connection: close`): a request pipelined
 * behind it will never be answered, so it is not run either (see {@link closesBefore}).
 */
function closeAfter(state: Answering, res: ServerResponse): void {
  if (!res.headersSent) res.setHeader("connection", "close");
  const connection = state.connections.get(res.req.socket);
  if (connection !== undefined) connection.closeAt = Math.min(connection.closeAt, order.get(res) ?? -1);
}

/**
 * Whether a response before `res` on its connection closes it: `res` would never be sent, so its
 * request is not run (node:http would drop the reply of an operation done, and a client that sent
 * the request again would do it twice).
 */
function closesBefore(state: Answering, res: ServerResponse): boolean {
  const connection = state.connections.get(res.req.socket);
  return connection !== undefined && connection.closeAt < (order.get(res) ?? Infinity);
}

/**
 * A stop closes a connection without a request in progress once it has had none for this long: a
 * client that got a reply moments before the stop (without `Connection: close`) may have sent its next
 * request already, still unread, which closing the connection would cut off.
 */
export const QUIET_BEFORE_CLOSE_MS = 100;

const answering = new WeakMap<Server, Answering>();

/**
 * Stops a server made by {@link createHttpServer}: it accepts no more connections, answers every
 * request it has begun to receive (one whose body is still arriving too, for up to
 * {@link UPLOAD_GRACE_MS}) with `Connection: close`, and closes each connection as its reply ends;
 * what is left `graceMs` after the last reply is closed.
 */
export async function closeHttpServer(server: Server, graceMs: number): Promise<void> {
  const state = answering.get(server);
  // Stops accepting. (http's close() would also close the idle connections at once, cutting off a
  // request sent on one and not yet read: closeConnectionsAsAnswered closes them once quiet.)
  const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
  if (state !== undefined) {
    state.closing = true;
    // Each connection closes after the last reply it has begun: the requests pipelined before it are
    // answered first, and those after it are not run (closesBefore).
    for (const connection of state.connections.values()) {
      let last: ServerResponse | undefined;
      for (const res of connection.responses) last = res;
      if (last !== undefined) closeAfter(state, last);
    }
    // A body still not all there after UPLOAD_GRACE_MS will not come (a stalled client): its
    // connection is closed rather than holding the stop for ever.
    const stalled = setTimeout(() => {
      for (const res of state.open) if (!res.req.complete) res.req.socket.destroy();
    }, UPLOAD_GRACE_MS);
    // Connections close as they are answered and fall quiet from now on, not once every request is
    // answered: an idle one would take new requests all the while a slow upload is finished.
    let deadline = Number.POSITIVE_INFINITY;
    const closing = closeConnectionsAsAnswered(state, () => deadline);
    if (state.open.size > 0) await new Promise<void>((resolve) => (state.drained = resolve));
    clearTimeout(stalled);
    deadline = Date.now() + graceMs;
    await closing;
  }
  if (state === undefined) server.closeIdleConnections();
  server.closeAllConnections();
  await closed;
}

/**
 * Closes the server's connections as their replies end (the last reply of each says
 * `Connection: close`) and as they fall quiet ({@link QUIET_BEFORE_CLOSE_MS}), until `deadline()`.
 * Closing them all at once would cut off a reply still being written, or a request already sent.
 */
async function closeConnectionsAsAnswered(state: Answering, deadline: () => number): Promise<void> {
  for (;;) {
    // Looked at after the event loop's poll for I/O, not in the timer's phase before it: after a stall
    // (a long pause of the collector, a starved CPU), a request that came during it is read first,
    // rather than its connection found quiet for as long as the stall and closed on it.
    await new Promise((resolve) => setImmediate(resolve));
    const now = Date.now();
    for (const [socket, c] of state.connections) {
      if (c.responses.size === 0 && now - c.quietSince >= QUIET_BEFORE_CLOSE_MS) socket.destroy();
    }
    if (state.connections.size === 0 || now >= deadline()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Creates the HTTP server (not yet listening). */
export function createHttpServer(handlers: HttpHandlers): Server {
  const state: Answering = {
    open: new Set(),
    connections: new Map(),
    closing: false,
    polls: new Map(),
    byAddress: new Map(),
  };
  /**
   * The connections without a request in hand, longest idle first (see {@link HttpHandlers.maxConnections}):
   * the first makes room when the limit is reached.
   */
  const idle = new Map<Socket, Connection>();
  const room = new RoomMaker(state, idle);
  const scrapes = new ScrapeSlots();
  const budget = new BodyBudget(
    handlers.maxBytesInFlight,
    Math.min(ADMISSION_WAIT_MS, handlers.requestTimeoutMs) / 5,
    handlers.replyRoom,
  );
  const answered = (res: ServerResponse): void => {
    budget.release(res);
    if (state.open.delete(res) && state.open.size === 0) state.drained?.();
  };
  // Node's own limit on receiving a request is a backstop behind the 408 of readBody; the headers'
  // limit must not exceed it.
  const requestTimeout = ADMISSION_WAIT_MS + handlers.requestTimeoutMs + 5_000;
  /**
   * A request's number and what it waits for before it runs (the reply before it on its connection,
   * see sent()), claimed once, as Node parses it: an `Expect: 100-continue` request claims its place
   * in "checkContinue", before the requests pipelined behind it, whose "request" events come first.
   */
  const waits = new WeakMap<ServerResponse, Promise<void> | undefined>();
  const claim = (req: IncomingMessage, res: ServerResponse): Promise<void> | undefined => {
    if (waits.has(res)) return waits.get(res);
    const connection = state.connections.get(req.socket);
    let before: Promise<void> | undefined;
    if (connection !== undefined) {
      order.set(res, connection.next++);
      before = connection.last === undefined ? undefined : sent(connection.last);
      connection.last = res;
    }
    waits.set(res, before);
    return before;
  };
  /** Whether a waiting request's connection went away meanwhile (its reply can no longer be sent). */
  const gone = (req: IncomingMessage, res: ServerResponse): boolean =>
    res.destroyed || req.socket.destroyed || !state.connections.has(req.socket);
  const server = createServer(
    // A request without Host is refused in the APIs' shape (unreadable), not with Node's bare 400.
    { requestTimeout, headersTimeout: Math.min(66_000, requestTimeout), requireHostHeader: false },
    (req, res) => {
      state.open.add(res);
      held(req);
      const connection = state.connections.get(req.socket);
      idle.delete(req.socket);
      const before = claim(req, res);
      if (state.closing && !closesBefore(state, res)) closeAfter(state, res);
      connection?.responses.add(res);
      res.once("close", () => {
        if (connection !== undefined && connection.responses.delete(res) && connection.responses.size === 0) {
          connection.quietSince = Date.now();
          connection.readWhenIdle = req.socket.bytesRead;
          if (state.connections.has(req.socket)) idle.set(req.socket, connection);
        }
        answered(res);
      });
      const run = (): void => {
        void handle(req, res, handlers, budget, state, scrapes).catch(() => {
          if (!res.headersSent) {
            res.writeHead(500, { "content-type": "application/json" });
            res.end('{"__type":"InternalException","message":"internal error"}');
          } else res.destroy();
        });
      };
      // A request pipelined behind one whose reply is not sent yet waits for it (see sent()).
      if (before === undefined) run();
      else void before.then(() => (gone(req, res) ? undefined : run()));
    },
  );
  // The responses of each connection: a pipelined request's response queued behind another never
  // emits "close" when the connection closes, so the connection's own "close" answers for them (a
  // SIGTERM waited for them for ever).
  server.on("connection", (socket: Socket) => {
    const max = handlers.maxConnections;
    const address = clientOf(socket.remoteAddress);
    if (max !== undefined && state.connections.size >= max && !room.make(address)) {
      socket.destroy();
      return;
    }
    const connection: Connection = {
      responses: new Set(),
      quietSince: Date.now(),
      next: 0,
      closeAt: Number.POSITIVE_INFINITY,
      readWhenIdle: 0,
      client: address,
    };
    state.connections.set(socket, connection);
    idle.set(socket, connection);
    let fromClient = state.byAddress.get(address);
    if (fromClient === undefined) state.byAddress.set(address, (fromClient = { open: new Set(), order: [] }));
    const held = fromClient;
    held.open.add(socket);
    held.order.push(socket);
    if (held.order.length > 2 * held.open.size + 16) held.order = held.order.filter((s) => held.open.has(s));
    socket.once("close", () => {
      state.connections.delete(socket);
      idle.delete(socket);
      held.open.delete(socket);
      if (held.open.size === 0 && state.byAddress.get(address) === held) state.byAddress.delete(address);
      for (const r of connection.responses) answered(r);
      connection.responses.clear();
    });
  });
  // `Expect: 100-continue` with a declared body over the limit: the 413 at once, instead of a
  // 100 Continue that has the client upload the whole body first.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    idle.delete(req.socket);
    held(req);
    const before = claim(req, res);
    const declared = declaredLength(req);
    const refused = declared > handlers.maxBodyBytes ? tooLarge(handlers.maxBodyBytes, req) : unreadable(req);
    if (refused !== undefined) {
      closeAfter(state, res);
      send(res, refused);
      return;
    }
    // Vouched for and let in before the body is asked for: one refused, or that finds no room, gets
    // its answer without sending it.
    res.once("close", () => budget.release(res));
    void (async () => {
      // After the reply before it, as any pipelined request: it takes no room while it waits.
      if (before !== undefined) {
        await before;
        if (gone(req, res)) return;
        waits.set(res, undefined);
      }
      const vouch = await vouched(req, handlers);
      const denied = vouch instanceof AuthError ? vouch : undefined;
      if (denied !== undefined || res.destroyed || req.socket.destroyed) {
        closeAfter(state, res);
        if (denied !== undefined && !res.destroyed) send(res, unauthenticated(denied, req));
        return;
      }
      if (typeof vouch === "string") budget.own(res, vouch);
      const admitted = await admit(res, declared, handlers, budget);
      if (res.destroyed) return;
      if (!admitted) {
        closeAfter(state, res);
        send(res, busy(handlers.maxBytesInFlight, req));
        return;
      }
      res.writeContinue();
      server.emit("request", req, res);
    })().catch(() => res.destroy());
  });
  // A request that is not HTTP/1.1 (bytes after a GET that declared no body, say): answered in the
  // APIs' error shape rather than with Node's bare 400, and the connection closed.
  server.on("clientError", (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    // The client ended its side in the middle of a request's body: that request can never be whole,
    // and the refusal below would wait for its reply (until its time ran out: 10,000 connections that
    // sent 10 bytes of a 1,000-byte body and closed were held, and every new client refused, for 60 s).
    if (error.code === "HPE_INVALID_EOF_STATE") {
      const responses = state.connections.get(socket as Socket)?.responses;
      if (responses === undefined || [...responses].some((r) => !r.req.complete)) {
        socket.destroy();
        return;
      }
    }
    const [status, reason] =
      error.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large"]
        : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "Request Timeout"]
          : [400, "Bad Request"];
    const type = status === 408 ? "RequestTimeoutException" : "SerializationException";
    const body = JSON.stringify({
      __type: type,
      message: `The request is not valid HTTP/1.1 (${error.message.replace(/[\r\n]+/g, " ")}): the connection is closed.`,
    });
    const refusal =
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-errortype: ${type}\r\n` +
      `x-amzn-requestid: ${randomUUID()}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
    // Requests read before the bad bytes (pipelined) run and are answered first, in order: sent at
    // once, the refusal came before their replies (the client took it for the first one's, which had
    // run) and ended the connection under them.
    const pending = [...(state.connections.get(socket as Socket)?.responses ?? [])]
      .map(sent)
      .filter((p) => p !== undefined);
    void Promise.all(pending).then(() => {
      if (socket.writable) socket.end(refusal);
      else socket.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  // A connection on which nothing moves for this long (a client that stopped reading its replies, or
  // sending) is closed: its replies would otherwise be held without end.
  server.timeout = SOCKET_IDLE_TIMEOUT_MS;
  answering.set(server, state);
  return server;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  handlers: HttpHandlers,
  budget: BodyBudget,
  state: Answering,
  scrapes: ScrapeSlots,
): Promise<void> {
  if (closesBefore(state, res)) return; // never to be answered: not run
  const url = originForm(req.url ?? "/");
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  // HEAD too: probes that only look at the status (node sends no body for HEAD).
  const get = req.method === "GET" || req.method === "HEAD";
  if (get && path === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    return;
  }
  if (get && path === "/readyz") {
    const ready = handlers.ready();
    res.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready\n" : "not ready\n");
    return;
  }
  if (get && path === "/metrics" && handlers.metrics !== undefined) {
    // An access key's credentials (HTTP Basic, as Prometheus's basic_auth sends them) see its account's
    // series; the bearer token, or no credentials when no token is set, every account's.
    const given = basicCredentials(req);
    // Open (no token), /metrics answers anyone every account's series: credentials not of the form
    // are ignored there, as they were before keys could be given (a proxy's own Basic auth, say).
    const caller = given === "malformed" && handlers.metricsToken === undefined ? undefined : given;
    if (caller === "malformed") {
      res
        .writeHead(401, { "content-type": "text/plain", "www-authenticate": BASIC_CHALLENGE })
        .end("/metrics: Authorization: Basic must carry base64 of <access key id>:<secret access key>\n");
      return;
    }
    if (
      caller === undefined &&
      handlers.metricsToken !== undefined &&
      !bearerIs(req, handlers.metricsToken)
    ) {
      res
        .writeHead(401, {
          "content-type": "text/plain",
          "www-authenticate": ['Bearer realm="busbar metrics"', BASIC_CHALLENGE],
        })
        .end(
          "/metrics needs Authorization: Bearer <BUSBAR_METRICS_TOKEN>, or an access key as Basic <access key id>:<secret access key> for its account's series\n",
        );
      return;
    }
    // A key's scrapes are held to a few at once: each reply is held whole until the client reads it.
    if (caller !== undefined) {
      if (!scrapes.take(caller.accessKeyId)) {
        res
          .writeHead(429, { "content-type": "text/plain", "retry-after": "1" })
          .end(
            `/metrics: at most ${MAX_SCRAPES_PER_KEY} scrapes with one access key at once, and ${MAX_KEYED_SCRAPES} with any; retry shortly\n`,
          );
        return;
      }
      res.once("close", () => scrapes.give(caller.accessKeyId));
    }
    // Compressed as it is written, on libuv's threads: a large node's scrape is ~180 MB of text.
    const m = await handlers.metrics(acceptsGzip(req), caller);
    if ("status" in m) {
      res
        .writeHead(m.status, {
          "content-type": "text/plain",
          ...(m.status === 401 && { "www-authenticate": BASIC_CHALLENGE }),
        })
        .end(`${m.message}\n`);
      return;
    }
    if (m.gzipped !== undefined) {
      res
        .writeHead(200, {
          "content-type": m.contentType,
          "content-encoding": "gzip",
          vary: "accept-encoding",
        })
        .end(m.gzipped);
      return;
    }
    res.writeHead(200, { "content-type": m.contentType, vary: "accept-encoding" });
    // Piece by piece, as the socket takes them: never the whole text encoded at once.
    for (const piece of m.pieces) {
      // Until the socket took what it was given, or the response closed.
      if (!res.write(piece) && !res.destroyed) await firstOf(res, ["drain", "close"]);
      if (res.destroyed) return;
    }
    res.end();
    return;
  }
  const unread = unreadable(req);
  if (unread !== undefined) {
    closeAfter(state, res);
    send(res, unread);
    return;
  }
  // (A request let in before its 100 Continue was vouched for then.)
  const vouch = budget.holds(res) ? undefined : await vouched(req, handlers);
  // The client went away while its key was looked up: nothing to read, and no share to take (it was
  // held until the body's time ran out, and counted against the key: its next large body waited).
  if (res.destroyed || req.socket.destroyed) return;
  const denied = vouch instanceof AuthError ? vouch : undefined;
  if (typeof vouch === "string") budget.own(res, vouch);
  const body = await readBody(req, res, handlers, budget, denied === undefined);
  if (denied !== undefined) {
    closeAfter(state, res);
    send(res, unauthenticated(denied, req));
    return;
  }
  // ("unwanted" comes only with `denied`, answered above: listed for the type's sake.)
  if (body === "too-large" || body === "timeout" || body === "shed" || body === "unwanted") {
    closeAfter(state, res);
    send(
      res,
      body === "too-large"
        ? tooLarge(handlers.maxBodyBytes, req)
        : body === "shed"
          ? fellBehind(req)
          : timedOut(handlers.requestTimeoutMs, req),
    );
    return;
  }
  if (body === "busy") {
    send(res, busy(handlers.maxBytesInFlight, req));
    return;
  }
  // A large body is parsed in a turn of its own: bodies that end together would otherwise be parsed
  // back to back (tens of ms each at 4 MiB) while every other connection, /healthz too, waits.
  if (body.length > YIELD_BODY_BYTES) await new Promise<void>((resolve) => setImmediate(resolve));
  // A reply before this one (a 413 after its body, say) has come to close the connection meanwhile.
  if (closesBefore(state, res)) return;
  const response = await handlers.api({
    method: req.method ?? "GET",
    path,
    query: q === -1 ? "" : url.slice(q + 1),
    // Repeated headers as a list each, so that SigV4 canonicalises them exactly.
    headers: req.headersDistinct,
    body,
    client: new ResponseClient(res, state.polls),
  });
  // The body and what was made of it are done with: the share becomes what of the reply waits for a
  // client slow to read it.
  budget.replied(res, send(res, response));
}

/**
 * The client of a request served here: gone when its connection closes before the reply is written
 * (watched from the first call of `signal`).
 */
class ResponseClient extends LazyAbort {
  #res: ServerResponse | undefined;
  readonly #polls: Map<ServerResponse, Poll>;

  /** `polls`: where a receive about to wait is registered (see {@link Answering.polls}). */
  constructor(res: ServerResponse, polls: Map<ServerResponse, Poll>) {
    super();
    this.#res = res;
    this.#polls = polls;
  }

  override signal(): AbortSignal {
    const res = this.#res;
    if (res !== undefined) {
      this.#res = undefined;
      if (res.destroyed) this.abort();
      else {
        this.#polls.set(res, { since: Date.now(), hurry: () => this.abort() });
        res.once("close", () => {
          this.#polls.delete(res);
          if (!res.writableFinished) this.abort();
        });
      }
    }
    return super.signal();
  }
}

/** How long a stop waits for the last replies to reach the network before closing their connections. */
export const REPLY_GRACE_MS = 2_000;

/** How long a stop waits for the bodies of requests still arriving (see {@link closeHttpServer}). */
export const UPLOAD_GRACE_MS = 10_000;

/** An HTTP listener of the node: its URL, and its two-step close. */
export interface Listener {
  readonly url: string;
  /** Stops accepting; resolves once the requests taken are answered. */
  close(): Promise<void>;
  /** Closes every connection that is left. */
  closeConnections(): Promise<void>;
}

/** The base URL of a listening address (`http://[::1]:8380` for IPv6). */
export function urlOf(a: Pick<AddressInfo, "address" | "family" | "port">): string {
  return `http://${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`;
}

/** Serves HTTP on the calling thread (BUSBAR_HTTP_THREADS=0). */
export async function listenOnMain(
  address: {
    readonly host: string;
    readonly port: number;
    readonly maxBodyBytes: number;
    readonly maxBytesInFlight: number;
    readonly requestTimeoutMs: number;
    readonly metricsToken: string | undefined;
    readonly maxConnections: number;
  },
  api: HttpHandlers["api"],
  ready: () => boolean,
  metrics: NonNullable<HttpHandlers["metrics"]>,
  credentials: CredentialLookup,
  replyRoom?: ReplyRoom,
): Promise<Listener> {
  const { maxBodyBytes, maxBytesInFlight, requestTimeoutMs, metricsToken, maxConnections } = address;
  const server = createHttpServer({
    maxBodyBytes,
    maxBytesInFlight,
    requestTimeoutMs,
    api,
    ready,
    metrics,
    metricsToken,
    maxConnections,
    vouch: vouchBy(credentials),
    ...(replyRoom !== undefined && { replyRoom }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  let closed: Promise<void> | undefined;
  return {
    url: urlOf(server.address() as AddressInfo),
    close() {
      return (closed ??= closeHttpServer(server, REPLY_GRACE_MS));
    },
    async closeConnections() {
      server.closeAllConnections();
      await closed;
    },
  };
}
